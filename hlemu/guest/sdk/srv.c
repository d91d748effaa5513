/*
 * srv.c - the client side of the service manager port "srv:" (see srv.h).
 *
 * Every call builds its request in the thread's command buffer, sends it with
 * svcSendSyncRequest and reads the reply from the same buffer. A failed
 * SendSyncRequest means srv: never saw the request; otherwise word 1 of the
 * reply is srv:'s result.
 */

#include "srv.h"

#include "ipc.h"

static Handle srv_session;
static int srv_refcount;

Handle *srvGetSessionHandle(void)
{
    return &srv_session;
}

Result srvInit(void)
{
    if (srv_refcount++ > 0)
        return RESULT_SUCCESS;
    Result res = svcConnectToPort(&srv_session, "srv:");
    if (R_SUCCEEDED(res))
        res = srvRegisterClient();
    if (R_FAILED(res)) {
        if (srv_session != 0)
            svcCloseHandle(srv_session);
        srv_session = 0;
        srv_refcount = 0;
    }
    return res;
}

void srvExit(void)
{
    if (srv_refcount == 0 || --srv_refcount > 0)
        return;
    if (srv_session != 0)
        svcCloseHandle(srv_session);
    srv_session = 0;
}

/* Words 1-2 hold the name, NUL-padded; returns the length srv: is told (at most 8). */
static u32 put_name(u32 *cmdbuf, const char *name)
{
    char *dst = (char *)&cmdbuf[1];
    u32 len = 0;
    while (len < SRV_NAME_MAX && name[len] != '\0') {
        dst[len] = name[len];
        len++;
    }
    for (u32 i = len; i < SRV_NAME_MAX; i++)
        dst[i] = '\0';
    return len;
}

/* Send the request already in the command buffer; srv:'s result, or the kernel's. */
static Result srv_call(u32 *cmdbuf)
{
    Result res = svcSendSyncRequest(srv_session);
    return R_FAILED(res) ? res : (Result)cmdbuf[1];
}

Result srvRegisterClient(void)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x1, 0, 2); /* 0x00010002 */
    cmdbuf[1] = IPC_Desc_CurProcessId();
    cmdbuf[2] = 0; /* the kernel writes our process id here */
    return srv_call(cmdbuf);
}

Result srvGetServiceHandleFlags(Handle *out, const char *name, u32 flags)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x5, 4, 0); /* 0x00050100 */
    cmdbuf[3] = put_name(cmdbuf, name);
    cmdbuf[4] = flags;
    Result res = srv_call(cmdbuf);
    if (R_SUCCEEDED(res))
        *out = cmdbuf[3];
    return res;
}

Result srvGetServiceHandle(Handle *out, const char *name)
{
    return srvGetServiceHandleFlags(out, name, 0);
}

Result srvRegisterService(Handle *out, const char *name, int maxSessions)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x3, 4, 0); /* 0x00030100 */
    cmdbuf[3] = put_name(cmdbuf, name);
    cmdbuf[4] = (u32)maxSessions;
    Result res = srv_call(cmdbuf);
    if (R_SUCCEEDED(res))
        *out = cmdbuf[3];
    return res;
}

Result srvUnregisterService(const char *name)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x4, 3, 0); /* 0x000400C0 */
    cmdbuf[3] = put_name(cmdbuf, name);
    return srv_call(cmdbuf);
}
