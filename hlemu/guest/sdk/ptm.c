/*
 * ptm.c - the ptm:u and ptm:sysm clients (see ptm.h for the commands).
 */

#include "ptm.h"

#include "ipc.h"
#include "srv.h"

typedef struct {
    const char *name;
    Handle session;
    int refcount;
} ptm_client;

static ptm_client ptmu = {"ptm:u", 0, 0};
static ptm_client ptmsysm = {"ptm:sysm", 0, 0};

static Result ptm_open(ptm_client *client)
{
    if (client->refcount++ > 0)
        return RESULT_SUCCESS;
    Result res = srvInit();
    if (R_SUCCEEDED(res)) {
        res = srvGetServiceHandle(&client->session, client->name);
        if (R_FAILED(res))
            srvExit();
    }
    if (R_FAILED(res)) {
        client->session = 0;
        client->refcount = 0;
    }
    return res;
}

static void ptm_close(ptm_client *client)
{
    if (client->refcount == 0 || --client->refcount > 0)
        return;
    svcCloseHandle(client->session);
    client->session = 0;
    srvExit();
}

Result ptmuInit(void) { return ptm_open(&ptmu); }
void ptmuExit(void) { ptm_close(&ptmu); }
Result ptmSysmInit(void) { return ptm_open(&ptmsysm); }
void ptmSysmExit(void) { ptm_close(&ptmsysm); }

/* A ptm:u getter: no parameters, the value in [2]. */
static Result ptmu_get(u16 id, u32 *value)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(id, 0, 0);
    Result res = svcSendSyncRequest(ptmu.session);
    if (R_FAILED(res))
        return res;
    *value = cmdbuf[2];
    return (Result)cmdbuf[1];
}

static Result ptmu_get_u8(u16 id, u8 *out)
{
    u32 value = 0;
    Result res = ptmu_get(id, &value);
    *out = (u8)(value & 0xFF);
    return res;
}

Result PTMU_GetAdapterState(bool *out)
{
    u32 value = 0;
    Result res = ptmu_get(0x5, &value);
    *out = (value & 0xFF) != 0;
    return res;
}

Result PTMU_GetShellState(u8 *out) { return ptmu_get_u8(0x6, out); }
Result PTMU_GetBatteryLevel(u8 *out) { return ptmu_get_u8(0x7, out); }
Result PTMU_GetBatteryChargeState(u8 *out) { return ptmu_get_u8(0x8, out); }
Result PTMU_GetPedometerState(u8 *out) { return ptmu_get_u8(0x9, out); }
Result PTMU_GetTotalStepCount(u32 *steps) { return ptmu_get(0xC, steps); }

Result PTMSYSM_ConfigureNew3DSCPU(u8 value)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x818, 1, 0);
    cmdbuf[1] = value;
    Result res = svcSendSyncRequest(ptmsysm.session);
    return R_FAILED(res) ? res : (Result)cmdbuf[1];
}
