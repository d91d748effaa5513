/*
 * fs.c - the fs:USER client and its file and directory sessions (see fs.h for the layouts).
 *
 * Every call builds its request in the thread's command buffer, sends it with
 * svcSendSyncRequest and reads the reply from the same buffer, as libctru's fs.c does: a
 * failed SendSyncRequest is returned as it is, otherwise word 1 of the reply.
 */

#include "fs.h"

#include <string.h>

#include "ipc.h"
#include "srv.h"

static Handle fs_session;
static int fs_refcount;

Handle *fsGetSessionHandle(void)
{
    return &fs_session;
}

FS_Path fsMakePath(FS_PathType type, const void *path)
{
    FS_Path p = {type, 0, path};
    if (type == PATH_ASCII) {
        p.size = strlen((const char *)path) + 1;
    } else if (type == PATH_UTF16) {
        const u16 *unit = (const u16 *)path;
        while (*unit++ != 0)
            p.size++;
        p.size = (p.size + 1) * 2;
    } else if (type == PATH_EMPTY) {
        p.size = 1;
        p.data = "";
    }
    return p;
}

/* Send the request in the command buffer to `session`; the reply's result. */
static Result fs_call(Handle session)
{
    Result res = svcSendSyncRequest(session);
    return R_FAILED(res) ? res : (Result)getThreadCommandBuffer()[1];
}

Result FSUSER_Initialize(Handle session)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x801, 0, 2);
    cmdbuf[1] = IPC_Desc_CurProcessId();
    cmdbuf[2] = 0;
    return fs_call(session);
}

Result fsInit(void)
{
    if (fs_refcount++ > 0)
        return RESULT_SUCCESS;
    Result res = srvInit();
    if (R_SUCCEEDED(res)) {
        res = srvGetServiceHandle(&fs_session, "fs:USER");
        if (R_SUCCEEDED(res)) {
            res = FSUSER_Initialize(fs_session);
            if (R_FAILED(res))
                svcCloseHandle(fs_session);
        }
        if (R_FAILED(res))
            srvExit();
    }
    if (R_FAILED(res)) {
        fs_session = 0;
        fs_refcount = 0;
    }
    return res;
}

void fsExit(void)
{
    if (fs_refcount == 0 || --fs_refcount > 0)
        return;
    svcCloseHandle(fs_session);
    fs_session = 0;
    srvExit();
}

/* Words [at], [at+1] = a 64-bit archive handle. */
static void put_archive(u32 *cmdbuf, int at, FS_Archive archive)
{
    cmdbuf[at] = (u32)archive;
    cmdbuf[at + 1] = (u32)(archive >> 32);
}

Result FSUSER_OpenArchive(FS_Archive *archive, FS_ArchiveID id, FS_Path path)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x80C, 3, 2);
    cmdbuf[1] = id;
    cmdbuf[2] = path.type;
    cmdbuf[3] = path.size;
    cmdbuf[4] = IPC_Desc_StaticBuffer(path.size, 0);
    cmdbuf[5] = (u32)path.data;
    Result res = fs_call(fs_session);
    if (R_SUCCEEDED(res))
        *archive = cmdbuf[2] | (u64)cmdbuf[3] << 32;
    return res;
}

Result FSUSER_CloseArchive(FS_Archive archive)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x80E, 2, 0);
    put_archive(cmdbuf, 1, archive);
    return fs_call(fs_session);
}

Result FSUSER_OpenFile(Handle *out, FS_Archive archive, FS_Path path, u32 openFlags, u32 attributes)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x802, 7, 2);
    cmdbuf[1] = 0; /* transaction */
    put_archive(cmdbuf, 2, archive);
    cmdbuf[4] = path.type;
    cmdbuf[5] = path.size;
    cmdbuf[6] = openFlags;
    cmdbuf[7] = attributes;
    cmdbuf[8] = IPC_Desc_StaticBuffer(path.size, 0);
    cmdbuf[9] = (u32)path.data;
    Result res = fs_call(fs_session);
    if (out != NULL)
        *out = R_SUCCEEDED(res) ? cmdbuf[3] : 0;
    return res;
}

Result FSUSER_OpenFileDirectly(Handle *out, FS_ArchiveID archiveId, FS_Path archivePath, FS_Path filePath,
                               u32 openFlags, u32 attributes)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x803, 8, 4);
    cmdbuf[1] = 0;
    cmdbuf[2] = archiveId;
    cmdbuf[3] = archivePath.type;
    cmdbuf[4] = archivePath.size;
    cmdbuf[5] = filePath.type;
    cmdbuf[6] = filePath.size;
    cmdbuf[7] = openFlags;
    cmdbuf[8] = attributes;
    cmdbuf[9] = IPC_Desc_StaticBuffer(archivePath.size, 2);
    cmdbuf[10] = (u32)archivePath.data;
    cmdbuf[11] = IPC_Desc_StaticBuffer(filePath.size, 0);
    cmdbuf[12] = (u32)filePath.data;
    Result res = fs_call(fs_session);
    if (out != NULL)
        *out = R_SUCCEEDED(res) ? cmdbuf[3] : 0;
    return res;
}

/* DeleteFile, DeleteDirectory(Recursively): transaction, archive, path. */
static Result fs_path_command(u16 id, FS_Archive archive, FS_Path path)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(id, 5, 2);
    cmdbuf[1] = 0;
    put_archive(cmdbuf, 2, archive);
    cmdbuf[4] = path.type;
    cmdbuf[5] = path.size;
    cmdbuf[6] = IPC_Desc_StaticBuffer(path.size, 0);
    cmdbuf[7] = (u32)path.data;
    return fs_call(fs_session);
}

Result FSUSER_DeleteFile(FS_Archive archive, FS_Path path)
{
    return fs_path_command(0x804, archive, path);
}

Result FSUSER_DeleteDirectory(FS_Archive archive, FS_Path path)
{
    return fs_path_command(0x806, archive, path);
}

Result FSUSER_DeleteDirectoryRecursively(FS_Archive archive, FS_Path path)
{
    return fs_path_command(0x807, archive, path);
}

/* RenameFile, RenameDirectory: source in static buffer 1, target in 2. */
static Result fs_rename(u16 id, FS_Archive srcArchive, FS_Path srcPath, FS_Archive dstArchive, FS_Path dstPath)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(id, 9, 4);
    cmdbuf[1] = 0;
    put_archive(cmdbuf, 2, srcArchive);
    cmdbuf[4] = srcPath.type;
    cmdbuf[5] = srcPath.size;
    put_archive(cmdbuf, 6, dstArchive);
    cmdbuf[8] = dstPath.type;
    cmdbuf[9] = dstPath.size;
    cmdbuf[10] = IPC_Desc_StaticBuffer(srcPath.size, 1);
    cmdbuf[11] = (u32)srcPath.data;
    cmdbuf[12] = IPC_Desc_StaticBuffer(dstPath.size, 2);
    cmdbuf[13] = (u32)dstPath.data;
    return fs_call(fs_session);
}

Result FSUSER_RenameFile(FS_Archive srcArchive, FS_Path srcPath, FS_Archive dstArchive, FS_Path dstPath)
{
    return fs_rename(0x805, srcArchive, srcPath, dstArchive, dstPath);
}

Result FSUSER_RenameDirectory(FS_Archive srcArchive, FS_Path srcPath, FS_Archive dstArchive, FS_Path dstPath)
{
    return fs_rename(0x80A, srcArchive, srcPath, dstArchive, dstPath);
}

Result FSUSER_CreateFile(FS_Archive archive, FS_Path path, u32 attributes, u64 fileSize)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x808, 8, 2);
    cmdbuf[1] = 0;
    put_archive(cmdbuf, 2, archive);
    cmdbuf[4] = path.type;
    cmdbuf[5] = path.size;
    cmdbuf[6] = attributes;
    cmdbuf[7] = (u32)fileSize;
    cmdbuf[8] = (u32)(fileSize >> 32);
    cmdbuf[9] = IPC_Desc_StaticBuffer(path.size, 0);
    cmdbuf[10] = (u32)path.data;
    return fs_call(fs_session);
}

Result FSUSER_CreateDirectory(FS_Archive archive, FS_Path path, u32 attributes)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x809, 6, 2);
    cmdbuf[1] = 0;
    put_archive(cmdbuf, 2, archive);
    cmdbuf[4] = path.type;
    cmdbuf[5] = path.size;
    cmdbuf[6] = attributes;
    cmdbuf[7] = IPC_Desc_StaticBuffer(path.size, 0);
    cmdbuf[8] = (u32)path.data;
    return fs_call(fs_session);
}

Result FSUSER_OpenDirectory(Handle *out, FS_Archive archive, FS_Path path)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x80B, 4, 2);
    put_archive(cmdbuf, 1, archive);
    cmdbuf[3] = path.type;
    cmdbuf[4] = path.size;
    cmdbuf[5] = IPC_Desc_StaticBuffer(path.size, 0);
    cmdbuf[6] = (u32)path.data;
    Result res = fs_call(fs_session);
    if (out != NULL)
        *out = R_SUCCEEDED(res) ? cmdbuf[3] : 0;
    return res;
}

Result FSUSER_GetFreeBytes(u64 *freeBytes, FS_Archive archive)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x812, 2, 0);
    put_archive(cmdbuf, 1, archive);
    Result res = fs_call(fs_session);
    if (R_SUCCEEDED(res) && freeBytes != NULL)
        *freeBytes = cmdbuf[2] | (u64)cmdbuf[3] << 32;
    return res;
}

Result FSUSER_IsSdmcDetected(bool *detected)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x817, 0, 0);
    Result res = fs_call(fs_session);
    if (R_SUCCEEDED(res))
        *detected = (cmdbuf[2] & 0xFF) != 0;
    return res;
}

/* -- file sessions ----------------------------------------------------------------------- */

Result FSFILE_Read(Handle handle, u32 *bytesRead, u64 offset, void *buffer, u32 size)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x802, 3, 2);
    cmdbuf[1] = (u32)offset;
    cmdbuf[2] = (u32)(offset >> 32);
    cmdbuf[3] = size;
    cmdbuf[4] = IPC_Desc_Buffer(size, IPC_BUFFER_W);
    cmdbuf[5] = (u32)buffer;
    Result res = svcSendSyncRequest(handle);
    if (R_FAILED(res))
        return res;
    if (bytesRead != NULL)
        *bytesRead = cmdbuf[2];
    return (Result)cmdbuf[1];
}

Result FSFILE_Write(Handle handle, u32 *bytesWritten, u64 offset, const void *buffer, u32 size, u32 flags)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x803, 4, 2);
    cmdbuf[1] = (u32)offset;
    cmdbuf[2] = (u32)(offset >> 32);
    cmdbuf[3] = size;
    cmdbuf[4] = flags;
    cmdbuf[5] = IPC_Desc_Buffer(size, IPC_BUFFER_R);
    cmdbuf[6] = (u32)buffer;
    Result res = svcSendSyncRequest(handle);
    if (R_FAILED(res))
        return res;
    if (bytesWritten != NULL)
        *bytesWritten = cmdbuf[2];
    return (Result)cmdbuf[1];
}

Result FSFILE_GetSize(Handle handle, u64 *size)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x804, 0, 0);
    Result res = fs_call(handle);
    if (R_SUCCEEDED(res) && size != NULL)
        *size = cmdbuf[2] | (u64)cmdbuf[3] << 32;
    return res;
}

Result FSFILE_SetSize(Handle handle, u64 size)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x805, 2, 0);
    cmdbuf[1] = (u32)size;
    cmdbuf[2] = (u32)(size >> 32);
    return fs_call(handle);
}

Result FSFILE_Flush(Handle handle)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x809, 0, 0);
    return fs_call(handle);
}

/* Close (0x808 on a file, 0x802 on a directory), then the handle. */
static Result fs_close(Handle handle, u16 id)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(id, 0, 0);
    Result res = fs_call(handle);
    return R_SUCCEEDED(res) ? svcCloseHandle(handle) : res;
}

Result FSFILE_Close(Handle handle)
{
    return fs_close(handle, 0x808);
}

/* -- directory sessions ------------------------------------------------------------------ */

Result FSDIR_Read(Handle handle, u32 *entriesRead, u32 entryCount, FS_DirectoryEntry *entries)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x801, 1, 2);
    cmdbuf[1] = entryCount;
    cmdbuf[2] = IPC_Desc_Buffer(entryCount * sizeof(FS_DirectoryEntry), IPC_BUFFER_W);
    cmdbuf[3] = (u32)entries;
    Result res = svcSendSyncRequest(handle);
    if (R_FAILED(res))
        return res;
    if (entriesRead != NULL)
        *entriesRead = cmdbuf[2];
    return (Result)cmdbuf[1];
}

Result FSDIR_Close(Handle handle)
{
    return fs_close(handle, 0x802);
}
