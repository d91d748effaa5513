/*
 * romfs.c - the RomFS reader (see romfs.h for the layouts).
 *
 * Every table offset read from the image is checked against the table's size before it is
 * followed, so a damaged RomFS gives NULL or an error, not a wild read.
 */

#include "romfs.h"

#include <stdlib.h>
#include <string.h>

#include "fs.h"

#define THREEDSX_MAGIC 0x58534433u /* "3DSX" */
#define ROMFS_NAME_MAX 0x300       /* UTF-16 units of one path component we look up */

/* The extended 3DSX header (0x2C bytes) as libctru's romfsMountSelf reads it. */
typedef struct {
    u32 magic;
    u16 headerSize, relocHdrSize;
    u32 formatVer, flags;
    u32 codeSegSize, rodataSegSize, dataSegSize, bssSize;
    u32 smdhOffset, smdhSize;
    u32 fsOffset;
} threedsx_header;

/* libctru's result for a missing or unreadable RomFS (RL_FATAL, RS_NOTFOUND / RS_INVALIDSTATE,
 * RM_ROMFS = 101, RD_NOT_FOUND = 1018); and for a path it cannot take (RL_USAGE, RS_NOTSUPPORTED). */
#define ROMFS_RESULT_NOT_FOUND MAKERESULT(31, 4, 101, 1018)
#define ROMFS_RESULT_BAD_IMAGE MAKERESULT(31, 5, 101, 1018)
#define ROMFS_RESULT_OUT_OF_MEMORY MAKERESULT(31, 3, 101, 1011)
#define ROMFS_RESULT_BAD_PATH MAKERESULT(26, 6, 101, 1009)

static bool read_exact(const romfs_mount *m, u32 at, void *buffer, u32 size)
{
    u32 got = 0;
    return R_SUCCEEDED(FSFILE_Read(m->fd, &got, (u64)m->offset + at, buffer, size)) && got == size;
}

/* One table: malloc'd and read, or NULL. An empty table gets a 4-byte allocation. */
static void *read_table(const romfs_mount *m, u32 at, u32 size)
{
    void *table = malloc(size ? size : 4);
    if (table != NULL && size != 0 && !read_exact(m, at, table, size)) {
        free(table);
        table = NULL;
    }
    return table;
}

void romfsUnmount(romfs_mount *m)
{
    if (m->fd != 0)
        FSFILE_Close(m->fd);
    free(m->dirHashTable);
    free(m->dirTable);
    free(m->fileHashTable);
    free(m->fileTable);
    memset(m, 0, sizeof(*m));
}

Result romfsMountFromFile(romfs_mount *m, Handle fd, u32 offset)
{
    memset(m, 0, sizeof(*m));
    m->fd = fd;
    m->offset = offset;
    const romfs_header *h = &m->header;
    if (!read_exact(m, 0, &m->header, sizeof(m->header)) || h->headerSize < sizeof(romfs_header) ||
        h->dirTableSize < sizeof(romfs_dir) || h->dirHashTableSize % 4 || h->fileHashTableSize % 4) {
        romfsUnmount(m);
        return ROMFS_RESULT_BAD_IMAGE;
    }
    m->dirHashTable = read_table(m, h->dirHashTableOff, h->dirHashTableSize);
    m->dirTable = read_table(m, h->dirTableOff, h->dirTableSize);
    m->fileHashTable = read_table(m, h->fileHashTableOff, h->fileHashTableSize);
    m->fileTable = read_table(m, h->fileTableOff, h->fileTableSize);
    if (!m->dirHashTable || !m->dirTable || !m->fileHashTable || !m->fileTable) {
        romfsUnmount(m);
        return ROMFS_RESULT_BAD_IMAGE;
    }
    return RESULT_SUCCESS;
}

/* UTF-8 -> UTF-16 (surrogate pairs above U+FFFF); the number of units, or -1 on bad input
 * or when `out` (of `room` units) is too small. */
static int utf8_to_utf16(u16 *out, int room, const char *in, size_t len)
{
    int n = 0;
    const u8 *s = (const u8 *)in, *end = s + len;
    while (s < end) {
        u32 c = *s++;
        int extra = c < 0x80 ? 0 : c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : -1;
        if (extra < 0 || end - s < extra)
            return -1;
        c &= extra ? 0x3Fu >> extra : 0x7Fu;
        for (int i = 0; i < extra; i++) {
            if ((*s & 0xC0) != 0x80)
                return -1;
            c = c << 6 | (*s++ & 0x3F);
        }
        if (c >= 0x10000) {
            if (n + 2 > room)
                return -1;
            out[n++] = (u16)(0xD800 + ((c - 0x10000) >> 10));
            out[n++] = (u16)(0xDC00 + ((c - 0x10000) & 0x3FF));
        } else {
            if (n + 1 > room)
                return -1;
            out[n++] = (u16)c;
        }
    }
    return n;
}

void romfsNameToUtf8(const u16 *name, u32 units, char *out, size_t outSize)
{
    size_t n = 0;
    for (u32 i = 0; i < units && outSize > 0; i++) {
        u32 c = name[i];
        if (c >= 0xD800 && c < 0xDC00 && i + 1 < units)
            c = 0x10000 + ((c - 0xD800) << 10) + (name[++i] - 0xDC00);
        u8 bytes[4];
        int len = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
        static const u8 lead[5] = {0, 0x00, 0xC0, 0xE0, 0xF0};
        for (int k = len - 1; k > 0; k--) {
            bytes[k] = (u8)(0x80 | (c & 0x3F));
            c >>= 6;
        }
        bytes[0] = (u8)(lead[len] | c);
        if (n + len + 1 > outSize)
            break;
        memcpy(out + n, bytes, len);
        n += len;
    }
    if (outSize > 0)
        out[n] = '\0';
}

/* libctru's calcHash: the bucket of (parent, name). */
static u32 romfs_hash(u32 parent, const u16 *name, u32 units, u32 buckets)
{
    u32 hash = parent ^ 123456789u;
    for (u32 i = 0; i < units; i++) {
        hash = (hash >> 5) | (hash << 27);
        hash ^= name[i];
    }
    return hash % buckets;
}

const romfs_dir *romfsDirAt(const romfs_mount *m, u32 offset)
{
    if (offset == ROMFS_NONE || offset % 4 || offset > m->header.dirTableSize - sizeof(romfs_dir))
        return NULL;
    const romfs_dir *dir = (const romfs_dir *)(m->dirTable + offset);
    if (dir->nameLen > m->header.dirTableSize - offset - sizeof(romfs_dir))
        return NULL;
    return dir;
}

const romfs_file *romfsFileAt(const romfs_mount *m, u32 offset)
{
    if (m->header.fileTableSize < sizeof(romfs_file) || offset == ROMFS_NONE || offset % 4 ||
        offset > m->header.fileTableSize - sizeof(romfs_file))
        return NULL;
    const romfs_file *file = (const romfs_file *)(m->fileTable + offset);
    if (file->nameLen > m->header.fileTableSize - offset - sizeof(romfs_file))
        return NULL;
    return file;
}

static u32 dir_offset(const romfs_mount *m, const romfs_dir *dir)
{
    return (u32)((const u8 *)dir - m->dirTable);
}

static bool same_name(const u16 *a, u32 a_bytes, const u16 *b, u32 b_units)
{
    return a_bytes == b_units * 2 && memcmp(a, b, a_bytes) == 0;
}

static const romfs_dir *child_dir(const romfs_mount *m, const romfs_dir *parent, const u16 *name, u32 units)
{
    u32 buckets = m->header.dirHashTableSize / 4;
    if (buckets == 0)
        return NULL;
    u32 at = dir_offset(m, parent);
    u32 offset = m->dirHashTable[romfs_hash(at, name, units, buckets)];
    for (int guard = 0; guard < 0x10000; guard++) {
        const romfs_dir *dir = romfsDirAt(m, offset);
        if (dir == NULL)
            return NULL;
        if (dir->parent == at && same_name(dir->name, dir->nameLen, name, units))
            return dir;
        offset = dir->nextHash;
    }
    return NULL;
}

static const romfs_file *child_file(const romfs_mount *m, const romfs_dir *parent, const u16 *name, u32 units)
{
    u32 buckets = m->header.fileHashTableSize / 4;
    if (buckets == 0)
        return NULL;
    u32 at = dir_offset(m, parent);
    u32 offset = m->fileHashTable[romfs_hash(at, name, units, buckets)];
    for (int guard = 0; guard < 0x10000; guard++) {
        const romfs_file *file = romfsFileAt(m, offset);
        if (file == NULL)
            return NULL;
        if (file->parent == at && same_name(file->name, file->nameLen, name, units))
            return file;
        offset = file->nextHash;
    }
    return NULL;
}

/* Walk `path` from the root. With `leaf` non-NULL, the last component is not walked but
 * converted into leaf/leaf_units (for a file lookup). */
static const romfs_dir *walk(const romfs_mount *m, const char *path, u16 *leaf, u32 *leaf_units)
{
    const char *colon = strchr(path, ':');
    if (colon != NULL)
        path = colon + 1;
    const romfs_dir *dir = romfsDirAt(m, 0);
    static u16 units[ROMFS_NAME_MAX];
    while (dir != NULL && *path != '\0') {
        while (*path == '/')
            path++;
        const char *slash = strchr(path, '/');
        size_t len = slash ? (size_t)(slash - path) : strlen(path);
        bool last = slash == NULL || slash[strspn(slash, "/")] == '\0';
        if (len == 0)
            break;
        int n = utf8_to_utf16(last && leaf ? leaf : units, ROMFS_NAME_MAX, path, len);
        if (n < 0)
            return NULL;
        path += len;
        if (last && leaf) {
            *leaf_units = (u32)n;
            return dir;
        }
        if (len == 1 && units[0] == '.')
            continue;
        if (len == 2 && units[0] == '.' && units[1] == '.')
            dir = romfsDirAt(m, dir->parent);
        else
            dir = child_dir(m, dir, units, (u32)n);
    }
    if (leaf)
        return NULL; /* no last component: not a file path */
    return dir;
}

const romfs_dir *romfsFindDir(const romfs_mount *m, const char *path)
{
    return walk(m, path, NULL, NULL);
}

const romfs_file *romfsFindFile(const romfs_mount *m, const char *path)
{
    static u16 name[ROMFS_NAME_MAX];
    u32 units = 0;
    const romfs_dir *dir = walk(m, path, name, &units);
    return dir ? child_file(m, dir, name, units) : NULL;
}

Result romfsRead(const romfs_mount *m, const romfs_file *file, u64 offset, void *buffer, u32 size, u32 *bytesRead)
{
    *bytesRead = 0;
    if (offset >= file->dataSize)
        return RESULT_SUCCESS;
    if (size > file->dataSize - offset)
        size = (u32)(file->dataSize - offset);
    u64 at = (u64)m->offset + m->header.fileDataOff + file->dataOff + offset;
    return FSFILE_Read(m->fd, bytesRead, at, buffer, size);
}

Result romfsMountSelf(romfs_mount *m, const char *path)
{
    memset(m, 0, sizeof(*m));
    if (path == NULL)
        return ROMFS_RESULT_BAD_PATH;
    if (strncmp(path, "sdmc:/", 6) != 0)
        return ROMFS_RESULT_BAD_PATH; /* libctru also takes 3dslink:/, which hlemu never gives */
    static u16 units[1024 + 1];
    int n = utf8_to_utf16(units, 1024, path + 5, strlen(path + 5));
    if (n < 0)
        return ROMFS_RESULT_BAD_PATH;
    units[n] = 0;
    Handle fd = 0;
    FS_Path file_path = {PATH_UTF16, (u32)(n + 1) * 2, units};
    Result res = FSUSER_OpenFileDirectly(&fd, ARCHIVE_SDMC, fsMakePath(PATH_EMPTY, ""), file_path, FS_OPEN_READ, 0);
    if (R_FAILED(res))
        return res;
    threedsx_header hdr;
    u32 got = 0;
    res = FSFILE_Read(fd, &got, 0, &hdr, sizeof(hdr));
    if (R_FAILED(res) || got != sizeof(hdr) || hdr.magic != THREEDSX_MAGIC || hdr.headerSize < sizeof(hdr) ||
        hdr.fsOffset == 0) {
        FSFILE_Close(fd);
        return R_FAILED(res) ? res : ROMFS_RESULT_NOT_FOUND;
    }
    return romfsMountFromFile(m, fd, hdr.fsOffset);
}
