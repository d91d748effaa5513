/*
 * romfs.h - read the RomFS inside this program's own .3dsx, as libctru's romfs_dev.c does,
 * without newlib's device layer: open the file named by argv[0] (sdmc:/3ds/NAME.3dsx) with
 * fs:USER OpenFileDirectly, read the 3DSX header's RomFS offset, then the RomFS level-3
 * header, its hash tables and metadata tables, and look paths up through the hash tables.
 *
 * Layouts (3dbrew "RomFS"; libctru <3ds/romfs.h>): every offset in the header is from the
 * start of the RomFS; directory and file offsets are from the start of their metadata
 * table, 0xFFFFFFFF (ROMFS_NONE) for none; a file's data offset is from the header's
 * file data offset. Names are UTF-16 without a NUL; the root directory (offset 0) has none.
 * An entry's bucket is libctru's calcHash(parent offset, name) modulo the table's length.
 */
#ifndef HLEMU_ROMFS_H
#define HLEMU_ROMFS_H

#include "hlemu.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ROMFS_NONE 0xFFFFFFFFu

/* The level-3 header, 0x28 bytes. */
typedef struct {
    u32 headerSize;
    u32 dirHashTableOff, dirHashTableSize;
    u32 dirTableOff, dirTableSize;
    u32 fileHashTableOff, fileHashTableSize;
    u32 fileTableOff, fileTableSize;
    u32 fileDataOff;
} romfs_header;

/* A directory's metadata, 0x18 bytes and its name (padded to 4). */
typedef struct {
    u32 parent, sibling, childDir, childFile, nextHash;
    u32 nameLen; /* bytes */
    u16 name[];
} romfs_dir;

/* A file's metadata, 0x20 bytes and its name (padded to 4). Entries are only 4-aligned. */
typedef struct __attribute__((packed, aligned(4))) {
    u32 parent, sibling;
    u64 dataOff, dataSize;
    u32 nextHash;
    u32 nameLen; /* bytes */
    u16 name[];
} romfs_file;

/* A mounted RomFS: the open file and the four tables, read into the heap. */
typedef struct {
    Handle fd;
    u32 offset; /* of the RomFS in the file */
    romfs_header header;
    u32 *dirHashTable, *fileHashTable;
    u8 *dirTable, *fileTable;
} romfs_mount;

/* Mount the RomFS of the .3dsx at `path` ("sdmc:/..."; libctru takes argv[0]). Needs fsInit().
 * Fails with the FS result, or with MAKERESULT(...) as libctru does for a file that is not a
 * 3DSX with a RomFS or whose tables cannot be read. */
Result romfsMountSelf(romfs_mount *mount, const char *path);
/* Mount the RomFS at `offset` of the open file `fd` (which the mount then owns). */
Result romfsMountFromFile(romfs_mount *mount, Handle fd, u32 offset);
/* Close the file and free the tables. */
void romfsUnmount(romfs_mount *mount);

/* Entries by offset (NULL for ROMFS_NONE or an offset outside the table). */
const romfs_dir *romfsDirAt(const romfs_mount *mount, u32 offset);
const romfs_file *romfsFileAt(const romfs_mount *mount, u32 offset);

/* Look up "/dir/sub" or "/dir/file.txt" (UTF-8; an optional "romfs:" prefix; "." and ".."
 * allowed) through the hash tables. NULL when it does not exist. */
const romfs_dir *romfsFindDir(const romfs_mount *mount, const char *path);
const romfs_file *romfsFindFile(const romfs_mount *mount, const char *path);

/* Read up to `size` bytes of `file` from `offset` (clipped to the file's size). */
Result romfsRead(const romfs_mount *mount, const romfs_file *file, u64 offset, void *buffer, u32 size,
                 u32 *bytesRead);

/* An entry's name (`units` UTF-16 units) as NUL-terminated UTF-8 in `out`, cut to fit. */
void romfsNameToUtf8(const u16 *name, u32 units, char *out, size_t outSize);

#ifdef __cplusplus
}
#endif

#endif /* HLEMU_ROMFS_H */
