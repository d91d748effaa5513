/*
 * cfg.c - the config service client (see cfg.h for the commands and blocks).
 */

#include "cfg.h"

#include "ipc.h"
#include "srv.h"

static Handle cfg_session;
static int cfg_refcount;

Result cfguInit(void)
{
    if (cfg_refcount++ > 0)
        return RESULT_SUCCESS;
    Result res = srvInit();
    if (R_SUCCEEDED(res)) {
        static const char *const names[3] = {"cfg:i", "cfg:s", "cfg:u"};
        res = -1;
        for (int i = 0; i < 3 && R_FAILED(res); i++)
            res = srvGetServiceHandle(&cfg_session, names[i]);
        if (R_FAILED(res))
            srvExit();
    }
    if (R_FAILED(res)) {
        cfg_session = 0;
        cfg_refcount = 0;
    }
    return res;
}

void cfguExit(void)
{
    if (cfg_refcount == 0 || --cfg_refcount > 0)
        return;
    svcCloseHandle(cfg_session);
    cfg_session = 0;
    srvExit();
}

/* A command with no parameters whose reply [2] is one value. */
static Result cfg_get(u16 id, u32 *value)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(id, 0, 0);
    Result res = svcSendSyncRequest(cfg_session);
    if (R_FAILED(res))
        return res;
    *value = cmdbuf[2];
    return (Result)cmdbuf[1];
}

static Result cfg_get_u8(u16 id, u8 *out)
{
    u32 value = 0;
    Result res = cfg_get(id, &value);
    *out = (u8)(value & 0xFF);
    return res;
}

Result CFGU_SecureInfoGetRegion(u8 *region)
{
    return cfg_get_u8(0x2, region);
}

Result CFGU_GetRegionCanadaUSA(u8 *value)
{
    return cfg_get_u8(0x4, value);
}

Result CFGU_GetSystemModel(u8 *model)
{
    return cfg_get_u8(0x5, model);
}

Result CFGU_GetModelNintendo2DS(u8 *value)
{
    return cfg_get_u8(0x6, value);
}

Result CFGU_GenHashConsoleUnique(u32 appIDSalt, u64 *hash)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x3, 1, 0);
    cmdbuf[1] = appIDSalt;
    Result res = svcSendSyncRequest(cfg_session);
    if (R_FAILED(res))
        return res;
    *hash = cmdbuf[2] | (u64)cmdbuf[3] << 32;
    return (Result)cmdbuf[1];
}

Result CFGU_GetCountryCodeString(u16 code, u16 *string)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x9, 1, 0);
    cmdbuf[1] = code;
    Result res = svcSendSyncRequest(cfg_session);
    if (R_FAILED(res))
        return res;
    *string = (u16)(cmdbuf[2] & 0xFFFF);
    return (Result)cmdbuf[1];
}

Result CFGU_GetConfigInfoBlk2(u32 size, u32 blkID, void *outData)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x1, 2, 2);
    cmdbuf[1] = size;
    cmdbuf[2] = blkID;
    cmdbuf[3] = IPC_Desc_Buffer(size, IPC_BUFFER_W);
    cmdbuf[4] = (u32)outData;
    Result res = svcSendSyncRequest(cfg_session);
    return R_FAILED(res) ? res : (Result)cmdbuf[1];
}

Result CFGU_GetSystemLanguage(u8 *language)
{
    return CFGU_GetConfigInfoBlk2(1, 0x000A0002, language);
}
