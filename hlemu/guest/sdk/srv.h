/*
 * srv.h - a small client of the service manager port "srv:", as libctru's <3ds/srv.h>.
 *
 * Services are ports without a global name: a server registers one with srv:
 * (RegisterService) and gets the server end of a fresh port; clients ask srv:
 * for a session to it by name (GetServiceHandle). Command layouts are 3dbrew's
 * "SRV:" pages, checked against libctru's source/services/srv.c and Luma3DS's
 * sysmodules/sm (what a real srv: replies):
 *
 *   RegisterClient     0x00010002  [1]=0x20 (process id), [2]=0       -> [1]=result
 *   RegisterService    0x00030100  [1..2]=name, [3]=length, [4]=max sessions
 *                                   -> [1]=result, [2]=0x10 (move 1 handle), [3]=server port
 *   UnregisterService  0x000400C0  [1..2]=name, [3]=length            -> [1]=result
 *   GetServiceHandle   0x00050100  [1..2]=name, [3]=length, [4]=flags
 *                                   -> [1]=result, [2]=0x10 (move 1 handle), [3]=client session
 *
 * Names are at most 8 bytes, padded with NULs in words 1-2. GetServiceHandle with flags 0
 * blocks while the service is not registered yet and while its session limit is reached; with
 * bit 0 set a full port fails at once (3dbrew "SRV:GetServiceHandle"; Luma3DS sm).
 */
#ifndef HLEMU_SRV_H
#define HLEMU_SRV_H

#include "hlemu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The longest service name srv: accepts. */
#define SRV_NAME_MAX 8

/* ConnectToPort("srv:") and RegisterClient. Safe to call again: it counts references. */
Result srvInit(void);
/* Drop one reference; the last closes the srv: session. */
void srvExit(void);
/* The srv: session handle (0 before srvInit). */
Handle *srvGetSessionHandle(void);

/* 0x00010002: tell srv: which process this session belongs to (the kernel fills in the pid). */
Result srvRegisterClient(void);
/* 0x00050100 with flags 0: a session to service `name`; waits until it is registered. */
Result srvGetServiceHandle(Handle *out, const char *name);
/* 0x00050100 with explicit flags (bit 0: fail at once if the service's port is full). */
Result srvGetServiceHandleFlags(Handle *out, const char *name, u32 flags);
/* 0x00030100: register `name`; `out` receives the server port to accept sessions on. */
Result srvRegisterService(Handle *out, const char *name, int maxSessions);
/* 0x000400C0: unregister `name` (only the process that registered it may). */
Result srvUnregisterService(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* HLEMU_SRV_H */
