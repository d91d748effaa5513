/*
 * fs.h - a client of the filesystem service "fs:USER" and of the file and directory
 * sessions it opens, after libctru's <3ds/services/fs.h> and source/services/fs.c, with
 * 3dbrew "Filesystem services", "File service", "Directory service".
 *
 * A path is FS_Path {type, size, data}: in a request, type and size are normal words and the
 * data goes in a static buffer (id 0; RenameFile/RenameDirectory: source id 1, target id 2;
 * OpenFileDirectly: archive path id 2, file path id 0). Archive handles are 64-bit.
 *
 * fs:USER (every reply has [1]=result)
 *   Initialize            0x08010002  [1]=0x20 (pid descriptor), [2]=0 (the kernel writes the pid)
 *   OpenFile              0x080201C2  [1]=0, [2..3]=archive, [4]=type, [5]=size, [6]=flags,
 *                                      [7]=attributes, [8..9]=path -> [3]=file session (moved)
 *   OpenFileDirectly      0x08030204  [1]=0, [2]=archive id, [3..4]=archive path type/size,
 *                                      [5..6]=file path type/size, [7]=flags, [8]=attributes,
 *                                      [9..10]=archive path, [11..12]=file path -> [3]=file
 *   DeleteFile            0x08040142  [1]=0, [2..3]=archive, [4..5]=path type/size, [6..7]=path
 *   RenameFile            0x08050244  [1]=0, [2..3]=src archive, [4..5]=src type/size,
 *                                      [6..7]=dst archive, [8..9]=dst type/size, [10..13]=paths
 *   DeleteDirectory       0x08060142  as DeleteFile
 *   DeleteDirectoryRecursively 0x08070142
 *   CreateFile            0x08080202  [1]=0, [2..3]=archive, [4..5]=type/size, [6]=attributes,
 *                                      [7..8]=size (u64), [9..10]=path
 *   CreateDirectory       0x08090182  [1]=0, [2..3]=archive, [4..5]=type/size, [6]=attributes,
 *                                      [7..8]=path
 *   RenameDirectory       0x080A0244  as RenameFile
 *   OpenDirectory         0x080B0102  [1..2]=archive, [3..4]=type/size, [5..6]=path
 *                                      -> [3]=directory session (moved)
 *   OpenArchive           0x080C00C2  [1]=archive id, [2..3]=type/size, [4..5]=path
 *                                      -> [2..3]=archive handle
 *   CloseArchive          0x080E0080  [1..2]=archive
 *   GetFreeBytes          0x08120080  [1..2]=archive -> [2..3]=free bytes
 *   IsSdmcDetected        0x08170000  -> [2]=detected
 * file session
 *   Read    0x080200C2  [1..2]=offset, [3]=size, [4..5]=buffer (W) -> [2]=bytes read
 *   Write   0x08030102  [1..2]=offset, [3]=size, [4]=flags, [5..6]=buffer (R) -> [2]=written
 *   GetSize 0x08040000  -> [2..3]=size;  SetSize 0x08050080 [1..2]=size
 *   Close   0x08080000 (then the handle is closed);  Flush 0x08090000
 * directory session
 *   Read    0x08010042  [1]=entry count, [2..3]=buffer (W) of FS_DirectoryEntry -> [2]=entries read
 *   Close   0x08020000 (then the handle is closed)
 */
#ifndef HLEMU_FS_H
#define HLEMU_FS_H

#include "hlemu.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef u64 FS_Archive;

typedef enum {
    ARCHIVE_ROMFS = 0x3,
    ARCHIVE_SAVEDATA = 0x4,
    ARCHIVE_EXTDATA = 0x6,
    ARCHIVE_SDMC = 0x9,
    ARCHIVE_SDMC_WRITE_ONLY = 0xA,
} FS_ArchiveID;

typedef enum {
    PATH_INVALID = 0,
    PATH_EMPTY = 1,
    PATH_BINARY = 2,
    PATH_ASCII = 3, /* 8-bit, NUL-terminated; the size counts the NUL */
    PATH_UTF16 = 4, /* UTF-16LE, NUL-terminated; the size counts the 16-bit NUL */
} FS_PathType;

typedef struct {
    FS_PathType type;
    u32 size;
    const void *data;
} FS_Path;

/* Open flags, attributes and write flags (libctru FS_OPEN_*, FS_ATTRIBUTE_*, FS_WRITE_*). */
#define FS_OPEN_READ 0x1u
#define FS_OPEN_WRITE 0x2u
#define FS_OPEN_CREATE 0x4u
#define FS_ATTRIBUTE_DIRECTORY 0x1u
#define FS_ATTRIBUTE_HIDDEN 0x100u
#define FS_ATTRIBUTE_ARCHIVE 0x10000u
#define FS_ATTRIBUTE_READ_ONLY 0x1000000u
#define FS_WRITE_FLUSH 0x1u

/* FS results this SDK's programs name (Citra/Azahar file_sys/errors.h values). */
#define FS_RESULT_NOT_FOUND ((Result)0xC8804478)
#define FS_RESULT_ALREADY_EXISTS ((Result)0xC82044BE)
#define FS_RESULT_INVALID_PATH ((Result)0xE0E046BE)
#define FS_RESULT_PATH_TOO_LONG ((Result)0xE0E046BF)
#define FS_RESULT_INVALID_ARCHIVE_HANDLE ((Result)0xC8804465)

/* One entry of FSDIR_Read (0x228 bytes). */
typedef struct {
    u16 name[0x106];   /* UTF-16, NUL-terminated */
    char shortName[0x0A];
    char shortExt[0x04];
    u8 valid;
    u8 reserved;
    u32 attributes;
    u64 fileSize;
} FS_DirectoryEntry;

/* A path of `type` over `path`; the size is worked out as libctru's fsMakePath does
 * (PATH_EMPTY: size 1, data ""). For PATH_BINARY give the size yourself. */
FS_Path fsMakePath(FS_PathType type, const void *path);

/* srv: session to fs:USER, then Initialize. Reference-counted. */
Result fsInit(void);
void fsExit(void);
Handle *fsGetSessionHandle(void);

Result FSUSER_Initialize(Handle session);
Result FSUSER_OpenArchive(FS_Archive *archive, FS_ArchiveID id, FS_Path path);
Result FSUSER_CloseArchive(FS_Archive archive);
Result FSUSER_OpenFile(Handle *out, FS_Archive archive, FS_Path path, u32 openFlags, u32 attributes);
Result FSUSER_OpenFileDirectly(Handle *out, FS_ArchiveID archiveId, FS_Path archivePath, FS_Path filePath,
                               u32 openFlags, u32 attributes);
Result FSUSER_DeleteFile(FS_Archive archive, FS_Path path);
Result FSUSER_RenameFile(FS_Archive srcArchive, FS_Path srcPath, FS_Archive dstArchive, FS_Path dstPath);
Result FSUSER_DeleteDirectory(FS_Archive archive, FS_Path path);
Result FSUSER_DeleteDirectoryRecursively(FS_Archive archive, FS_Path path);
Result FSUSER_CreateFile(FS_Archive archive, FS_Path path, u32 attributes, u64 fileSize);
Result FSUSER_CreateDirectory(FS_Archive archive, FS_Path path, u32 attributes);
Result FSUSER_RenameDirectory(FS_Archive srcArchive, FS_Path srcPath, FS_Archive dstArchive, FS_Path dstPath);
Result FSUSER_OpenDirectory(Handle *out, FS_Archive archive, FS_Path path);
Result FSUSER_GetFreeBytes(u64 *freeBytes, FS_Archive archive);
Result FSUSER_IsSdmcDetected(bool *detected);

Result FSFILE_Read(Handle handle, u32 *bytesRead, u64 offset, void *buffer, u32 size);
Result FSFILE_Write(Handle handle, u32 *bytesWritten, u64 offset, const void *buffer, u32 size, u32 flags);
Result FSFILE_GetSize(Handle handle, u64 *size);
Result FSFILE_SetSize(Handle handle, u64 size);
Result FSFILE_Flush(Handle handle);
Result FSFILE_Close(Handle handle);

Result FSDIR_Read(Handle handle, u32 *entriesRead, u32 entryCount, FS_DirectoryEntry *entries);
Result FSDIR_Close(Handle handle);

#ifdef __cplusplus
}
#endif

#endif /* HLEMU_FS_H */
