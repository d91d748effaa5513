/*
 * sdmc_files - files and directories on the SD card through fs:USER, with libctru's requests
 * (the SDK's fs.c; commands in sdk/fs.h), then paths that try to leave the SD card's folder.
 *
 * In the SDMC archive: make /hlemu_test, create a file, write it, read it back (whole and at
 * an offset), resize it, open one with a UTF-16 path, list the directory, rename the file and
 * a directory, delete them, ask for the free bytes; leave /hlemu_test/kept.txt ("kept\n")
 * and /hlemu_test/utf16 é.txt ("utf-16 path\n"). Then every escape is refused with the result
 * Citra/Azahar answers (kernel/services/fs_paths.py): ".." above the root, a path without the
 * leading "/", a drive or device prefix, a NUL inside the path, a name longer than 255 UTF-16
 * units, a path longer than 1024, a binary path; an absolute host path such as /etc/hostname
 * is the SD card's own (not found). /escape_link (a host symlink out of the folder, if the
 * host made one) can be neither entered nor listed. Last, a closed archive handle is refused.
 * Exit status: the number of failed checks.
 *
 * Output (free bytes as kernel.fs.free_bytes says; tests/guest/test_service_programs.py sets
 * 0x12345000):
 *
 *   sdmc_files: start
 *   fsInit ok
 *   sd card detected ok
 *   open SDMC archive ok
 *   ... one line per check ...
 *   sdmc_files: 0 failures
 */

#include <stdio.h>
#include <string.h>

#include "check.h"
#include "fs.h"

static FS_Archive sdmc;

static FS_Path ascii(const char *path)
{
    return fsMakePath(PATH_ASCII, path);
}

static Result write_file(const char *path, const char *text, u32 flags)
{
    Handle file = 0;
    Result res = FSUSER_OpenFile(&file, sdmc, ascii(path), FS_OPEN_WRITE | flags, 0);
    if (R_FAILED(res))
        return res;
    u32 written = 0;
    res = FSFILE_Write(file, &written, 0, text, strlen(text), FS_WRITE_FLUSH);
    if (R_SUCCEEDED(res) && written != strlen(text))
        res = -1;
    FSFILE_Close(file);
    return res;
}

/* Read all of `path` (at most size - 1 bytes) into `out`, NUL-terminated. */
static Result read_file(const char *path, char *out, u32 size, u64 offset)
{
    Handle file = 0;
    out[0] = '\0';
    Result res = FSUSER_OpenFile(&file, sdmc, ascii(path), FS_OPEN_READ, 0);
    if (R_FAILED(res))
        return res;
    u32 got = 0;
    res = FSFILE_Read(file, &got, offset, out, size - 1);
    out[R_SUCCEEDED(res) ? got : 0] = '\0';
    FSFILE_Close(file);
    return res;
}

static void utf16_to_ascii(const u16 *name, char *out, size_t size)
{
    size_t i = 0;
    for (; name[i] != 0 && i + 1 < size; i++)
        out[i] = name[i] < 0x80 ? (char)name[i] : '?';
    out[i] = '\0';
}

/* List `path`, one entry per FSDIR_Read; prints "name (size)" or "name/"; returns the count. */
static int list(const char *path, const char *want_absent)
{
    Handle dir = 0;
    Result res = FSUSER_OpenDirectory(&dir, sdmc, ascii(path));
    check(R_SUCCEEDED(res), "list %s: OpenDirectory 0x%08lx", path, (unsigned long)res);
    if (R_FAILED(res))
        return -1;
    static FS_DirectoryEntry entry;
    int count = 0;
    bool absent = true;
    for (;;) {
        u32 read = 0;
        res = FSDIR_Read(dir, &read, 1, &entry);
        if (R_FAILED(res) || read == 0)
            break;
        char name[64];
        utf16_to_ascii(entry.name, name, sizeof(name));
        if (want_absent != NULL && strcmp(name, want_absent) == 0)
            absent = false;
        if (entry.attributes & FS_ATTRIBUTE_DIRECTORY)
            printf("  %s/\n", name);
        else
            printf("  %s (%lu bytes)\n", name, (unsigned long)entry.fileSize);
        count++;
    }
    check(R_SUCCEEDED(res), "list %s: %d entries, FSDIR_Read 0x%08lx", path, count, (unsigned long)res);
    if (want_absent != NULL)
        check(absent, "list %s: %s is not listed", path, want_absent);
    check(R_SUCCEEDED(FSDIR_Close(dir)), "list %s: FSDIR_Close", path);
    return count;
}

static void files(void)
{
    char text[64];
    Result res = FSUSER_CreateDirectory(sdmc, ascii("/hlemu_test"), 0);
    check(R_SUCCEEDED(res), "mkdir /hlemu_test: 0x%08lx", (unsigned long)res);
    res = FSUSER_CreateFile(sdmc, ascii("/hlemu_test/hello.txt"), 0, 0);
    check(R_SUCCEEDED(res), "create /hlemu_test/hello.txt (0 bytes): 0x%08lx", (unsigned long)res);
    res = FSUSER_CreateFile(sdmc, ascii("/hlemu_test/hello.txt"), 0, 0);
    check(res == FS_RESULT_ALREADY_EXISTS, "create it again: 0x%08lx (already exists)", (unsigned long)res);
    res = write_file("/hlemu_test/hello.txt", "Hello, SD card!\n", 0);
    check(R_SUCCEEDED(res), "write 16 bytes: 0x%08lx", (unsigned long)res);
    res = read_file("/hlemu_test/hello.txt", text, sizeof(text), 0);
    check(R_SUCCEEDED(res) && strcmp(text, "Hello, SD card!\n") == 0, "read back: \"Hello, SD card!\\n\"");
    res = read_file("/hlemu_test/hello.txt", text, 8, 7);
    check(R_SUCCEEDED(res) && strcmp(text, "SD card") == 0, "read 7 bytes at offset 7: \"%s\"", text);

    Handle file = 0;
    u64 size = 0;
    res = FSUSER_OpenFile(&file, sdmc, ascii("/hlemu_test/hello.txt"), FS_OPEN_READ | FS_OPEN_WRITE, 0);
    check(R_SUCCEEDED(res) && R_SUCCEEDED(FSFILE_GetSize(file, &size)) && size == 16, "GetSize: %lu",
          (unsigned long)size);
    res = FSFILE_SetSize(file, 5);
    check(R_SUCCEEDED(res) && R_SUCCEEDED(FSFILE_GetSize(file, &size)) && size == 5, "SetSize(5), then GetSize: %lu",
          (unsigned long)size);
    check(R_SUCCEEDED(FSFILE_Flush(file)), "Flush");
    check(R_SUCCEEDED(FSFILE_Close(file)), "Close");
    res = read_file("/hlemu_test/hello.txt", text, sizeof(text), 0);
    check(strcmp(text, "Hello") == 0, "after SetSize: \"%s\"", text);

    /* UTF-16 path, opened with CREATE: "utf16 é.txt". */
    static const u16 wide[] = {'/', 'h', 'l', 'e', 'm', 'u', '_', 't', 'e', 's', 't', '/', 'u', 't', 'f', '1', '6',
                               ' ', 0xE9, '.', 't', 'x', 't', 0};
    res = FSUSER_OpenFile(&file, sdmc, fsMakePath(PATH_UTF16, wide), FS_OPEN_WRITE | FS_OPEN_CREATE, 0);
    check(R_SUCCEEDED(res), "open with a UTF-16 path, CREATE: 0x%08lx", (unsigned long)res);
    if (R_SUCCEEDED(res)) {
        u32 written = 0;
        FSFILE_Write(file, &written, 0, "utf-16 path\n", 12, 0);
        check(written == 12 && R_SUCCEEDED(FSFILE_Close(file)), "write 12 bytes through it");
    }

    res = FSUSER_CreateDirectory(sdmc, ascii("/hlemu_test/sub"), 0);
    check(R_SUCCEEDED(res), "mkdir /hlemu_test/sub: 0x%08lx", (unsigned long)res);
    printf("listing /hlemu_test:\n");
    check(list("/hlemu_test", NULL) == 3, "three entries");

    res = FSUSER_RenameFile(sdmc, ascii("/hlemu_test/hello.txt"), sdmc, ascii("/hlemu_test/renamed.txt"));
    check(R_SUCCEEDED(res), "rename hello.txt -> renamed.txt: 0x%08lx", (unsigned long)res);
    res = read_file("/hlemu_test/hello.txt", text, sizeof(text), 0);
    check(res == FS_RESULT_NOT_FOUND, "hello.txt is gone: 0x%08lx", (unsigned long)res);
    res = read_file("/hlemu_test/renamed.txt", text, sizeof(text), 0);
    check(R_SUCCEEDED(res) && strcmp(text, "Hello") == 0, "renamed.txt holds \"%s\"", text);
    res = FSUSER_RenameDirectory(sdmc, ascii("/hlemu_test/sub"), sdmc, ascii("/hlemu_test/sub2"));
    check(R_SUCCEEDED(res), "rename directory sub -> sub2: 0x%08lx", (unsigned long)res);
    res = FSUSER_DeleteFile(sdmc, ascii("/hlemu_test/renamed.txt"));
    check(R_SUCCEEDED(res), "delete renamed.txt: 0x%08lx", (unsigned long)res);
    res = FSUSER_DeleteFile(sdmc, ascii("/hlemu_test/renamed.txt"));
    check(res == FS_RESULT_NOT_FOUND, "delete it again: 0x%08lx (not found)", (unsigned long)res);
    res = FSUSER_DeleteDirectory(sdmc, ascii("/hlemu_test/sub2"));
    check(R_SUCCEEDED(res), "rmdir sub2: 0x%08lx", (unsigned long)res);
    res = write_file("/hlemu_test/kept.txt", "kept\n", FS_OPEN_CREATE);
    check(R_SUCCEEDED(res), "create kept.txt with OpenFile(CREATE): 0x%08lx", (unsigned long)res);
    printf("listing /hlemu_test:\n");
    check(list("/hlemu_test", NULL) == 2, "two entries");

    u64 free_bytes = 0;
    res = FSUSER_GetFreeBytes(&free_bytes, sdmc);
    /* in KiB: newlib-nano's printf has no %ll */
    check(R_SUCCEEDED(res), "free bytes: %lu KiB", (unsigned long)(free_bytes >> 10));
}

/* CreateFile at `path` (`size` bytes of path data) must fail with `want`. */
static void refused(const char *what, FS_Path path, Result want)
{
    Result res = FSUSER_CreateFile(sdmc, path, 0, 0);
    check(res == want, "escape: %s refused: 0x%08lx", what, (unsigned long)res);
}

static void escapes(void)
{
    refused("/../outside.txt", ascii("/../outside.txt"), FS_RESULT_INVALID_PATH);
    refused("/hlemu_test/../../outside.txt", ascii("/hlemu_test/../../outside.txt"), FS_RESULT_INVALID_PATH);
    refused("outside.txt (not absolute)", ascii("outside.txt"), FS_RESULT_INVALID_PATH);
    refused("sdmc:/outside.txt (a drive prefix)", ascii("sdmc:/outside.txt"), FS_RESULT_INVALID_PATH);
    static const char nul[] = "/hlemu_test/ok.txt\0/../../outside.txt";
    FS_Path with_nul = {PATH_ASCII, sizeof(nul), nul};
    refused("a NUL inside the path", with_nul, FS_RESULT_INVALID_PATH);

    static char long_name[1 + 256 + 1];
    long_name[0] = '/';
    memset(long_name + 1, 'n', 256);
    refused("a 256-unit name", ascii(long_name), FS_RESULT_PATH_TOO_LONG);
    static char long_path[1100];
    for (int i = 0; i + 2 < (int)sizeof(long_path); i += 2) {
        long_path[i] = '/';
        long_path[i + 1] = 'd';
    }
    refused("a 1098-unit path", ascii(long_path), FS_RESULT_PATH_TOO_LONG);
    static const u8 binary[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    FS_Path bin = {PATH_BINARY, sizeof(binary), binary};
    refused("a binary path", bin, FS_RESULT_INVALID_PATH);

    char text[32];
    Result res = read_file("/etc/hostname", text, sizeof(text), 0);
    check(res == FS_RESULT_NOT_FOUND, "escape: /etc/hostname is the SD card's, not the host's: 0x%08lx",
          (unsigned long)res);

    res = FSUSER_CreateFile(sdmc, ascii("/escape_link/evil.txt"), 0, 0);
    check(R_FAILED(res), "escape: create through /escape_link refused: 0x%08lx", (unsigned long)res);
    Handle dir = 0;
    res = FSUSER_OpenDirectory(&dir, sdmc, ascii("/escape_link"));
    check(R_FAILED(res), "escape: open /escape_link as a directory refused: 0x%08lx", (unsigned long)res);
    printf("listing /:\n");
    list("/", "escape_link");
}

int main(void)
{
    printf("sdmc_files: start\n");
    Result res = fsInit();
    check(R_SUCCEEDED(res), "fsInit");
    if (R_FAILED(res))
        return 1;
    bool detected = false;
    check(R_SUCCEEDED(FSUSER_IsSdmcDetected(&detected)) && detected, "sd card detected");
    res = FSUSER_OpenArchive(&sdmc, ARCHIVE_SDMC, fsMakePath(PATH_EMPTY, ""));
    check(R_SUCCEEDED(res), "open SDMC archive");
    if (R_SUCCEEDED(res)) {
        files();
        escapes();
        check(R_SUCCEEDED(FSUSER_CloseArchive(sdmc)), "close the archive");
        res = FSUSER_CreateFile(sdmc, ascii("/late.txt"), 0, 0);
        check(res == FS_RESULT_INVALID_ARCHIVE_HANDLE, "closed archive handle refused: 0x%08lx",
              (unsigned long)res);
    }
    fsExit();
    printf("sdmc_files: %d failures\n", check_failures);
    return check_failures;
}
