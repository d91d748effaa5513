/*
 * romfs_read - reads the RomFS inside its own .3dsx, as libctru's romfsInit does (the SDK's
 * romfs.c): argv[0] (sdmc:/3ds/NAME.3dsx, from the launcher's argument list) is opened with
 * fs:USER OpenFileDirectly, the 3DSX header gives the RomFS offset, and the RomFS level-3
 * header, hash tables and metadata tables are read; paths are looked up through the hash
 * tables.
 *
 * It lists the whole tree (sibling order, as the image stores it), then reads and checks the
 * files of the image tests/guest/test_service_programs.py builds, printing the text ones
 * (the contents are fixed there and here):
 *
 *   /hello.txt               "Hello from the RomFS!\n"
 *   /dir/nested.txt          "nested file\n"
 *   /dir/deeper/empty.bin    0 bytes
 *   /data.bin                5000 bytes, byte i = (i * 7 + 3) & 0xFF
 *   /\u00fcn\u00efc\u00f8de.txt   "unicode name\n"
 *
 * plus lookups that must fail, "." and "..", and a read past the end. Exit status: the
 * number of failed checks (1 when there is no RomFS).
 */

#include <stdio.h>
#include <string.h>

#include "check.h"
#include "fs.h"
#include "romfs.h"

static romfs_mount rom;

static void show_tree(const romfs_dir *dir, char *path, size_t len)
{
    char name[128];
    for (const romfs_file *f = romfsFileAt(&rom, dir->childFile); f; f = romfsFileAt(&rom, f->sibling)) {
        romfsNameToUtf8(f->name, f->nameLen / 2, name, sizeof(name));
        printf("  %s%s (%lu bytes)\n", path, name, (unsigned long)f->dataSize);
    }
    for (const romfs_dir *d = romfsDirAt(&rom, dir->childDir); d; d = romfsDirAt(&rom, d->sibling)) {
        romfsNameToUtf8(d->name, d->nameLen / 2, name, sizeof(name));
        printf("  %s%s/\n", path, name);
        size_t add = strlen(name) + 1;
        if (len + add + 1 < 256) {
            memcpy(path + len, name, add - 1);
            path[len + add - 1] = '/';
            path[len + add] = '\0';
            show_tree(d, path, len + add);
            path[len] = '\0';
        }
    }
}

/* The whole file at `path` (at most size - 1 bytes), NUL-terminated; -1 if it is missing. */
static long slurp(const char *path, char *out, u32 size)
{
    const romfs_file *file = romfsFindFile(&rom, path);
    if (file == NULL)
        return -1;
    u32 got = 0;
    if (R_FAILED(romfsRead(&rom, file, 0, out, size - 1, &got)))
        return -1;
    out[got] = '\0';
    return (long)got;
}

static void check_text(const char *path, const char *want)
{
    char text[128];
    long got = slurp(path, text, sizeof(text));
    size_t len = got > 0 ? strlen(text) : 0;
    bool newline = len > 0 && text[len - 1] == '\n';
    if (newline)
        text[len - 1] = '\0'; /* shown as \n, so each check stays one line */
    check(got == (long)strlen(want) && strncmp(text, want, len - newline) == 0 && (!newline || want[len - 1] == '\n'),
          "read %s: %ld bytes \"%s%s\"", path, got, got > 0 ? text : "", newline ? "\\n" : "");
}

static void check_data(void)
{
    const romfs_file *file = romfsFindFile(&rom, "/data.bin");
    check(file != NULL && file->dataSize == 5000, "find /data.bin: 5000 bytes");
    if (file == NULL)
        return;
    static u8 data[5000];
    u32 got = 0, bad = 0;
    /* In three reads of odd sizes, so the offsets go through romfsRead's arithmetic. */
    u32 parts[3] = {1, 2047, 5000 - 2048};
    u32 at = 0;
    for (int i = 0; i < 3; i++) {
        u32 n = 0;
        romfsRead(&rom, file, at, data + at, parts[i], &n);
        got += n;
        at += parts[i];
    }
    for (u32 i = 0; i < got; i++)
        bad += data[i] != (u8)((i * 7 + 3) & 0xFF);
    check(got == 5000 && bad == 0, "read /data.bin in 3 parts: %lu bytes, %lu wrong", (unsigned long)got,
          (unsigned long)bad);
    u32 n = 99;
    Result res = romfsRead(&rom, file, 4990, data, 100, &n);
    check(R_SUCCEEDED(res) && n == 10, "read 100 bytes at 4990: %lu (clipped to the end)", (unsigned long)n);
    res = romfsRead(&rom, file, 6000, data, 100, &n);
    check(R_SUCCEEDED(res) && n == 0, "read past the end: %lu bytes", (unsigned long)n);
}

int main(int argc, char **argv)
{
    printf("romfs_read: start, argc %d\n", argc);
    if (argc < 1 || argv[0] == NULL) {
        printf("no argv[0]: not started as a .3dsx by a launcher\n");
        return 1;
    }
    printf("argv[0]: %s\n", argv[0]);
    Result res = fsInit();
    check(R_SUCCEEDED(res), "fsInit");
    res = romfsMountSelf(&rom, argv[0]);
    check(R_SUCCEEDED(res), "romfsMountSelf: 0x%08lx", (unsigned long)res);
    if (R_FAILED(res))
        return 1;
    printf("RomFS at 0x%lx: %lu directory buckets, %lu file buckets\n", (unsigned long)rom.offset,
           (unsigned long)rom.header.dirHashTableSize / 4, (unsigned long)rom.header.fileHashTableSize / 4);

    char path[256] = "/";
    printf("tree:\n");
    show_tree(romfsDirAt(&rom, 0), path, 1);

    check_text("/hello.txt", "Hello from the RomFS!\n");
    check_text("/dir/nested.txt", "nested file\n");
    check_text("romfs:/dir/./../dir/nested.txt", "nested file\n");
    check_text("/\xc3\xbc" "n\xc3\xaf" "c\xc3\xb8" "de.txt", "unicode name\n");
    char text[8];
    check(slurp("/dir/deeper/empty.bin", text, sizeof(text)) == 0, "read /dir/deeper/empty.bin: 0 bytes");
    check_data();
    check(romfsFindFile(&rom, "/missing.txt") == NULL, "/missing.txt does not exist");
    check(romfsFindFile(&rom, "/dir") == NULL, "/dir is not a file");
    check(romfsFindDir(&rom, "/dir/deeper") != NULL, "/dir/deeper is a directory");
    check(romfsFindDir(&rom, "/hello.txt") == NULL, "/hello.txt is not a directory");
    check(romfsFindFile(&rom, "/HELLO.TXT") == NULL, "names are case-sensitive");

    romfsUnmount(&rom);
    fsExit();
    printf("romfs_read: %d failures\n", check_failures);
    return check_failures;
}
