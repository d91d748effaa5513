/*
 * ipc_client - the client of ipc_server's "hlm:test": every command, every reply checked.
 *
 * Gets a session with srvGetServiceHandle, which waits until the server has
 * registered the service, so the two programs may start in either order. The
 * protocol is described in ipc_server.c and hlemu/guest/README.md. Besides the
 * normal commands it sends two hostile requests whose buffers point at unmapped
 * memory: the kernel must fail svcSendSyncRequest itself (the server never sees
 * them) and not crash anything; the server must answer the next request as usual.
 * It also opens a second session, uses it, closes it, and checks that the closed
 * handle is refused. Then, without ipc_server, it tests the other IPC SVCs inside this
 * process: a private port (CreatePort with no name, max 1 session; CreateSessionToPort;
 * a second connection is refused with 0xD0401834 while the first is open) and a bare
 * session pair (CreateSession), each served by a helper thread that answers one Add and
 * then sees the client close the session (0xC920181A). Quit comes last.
 *
 * Expected output:
 *   ipc_client: start
 *   srv: initialised ok
 *   srv: got a session to hlm:test ok
 *   add: 1234 + 4321 = 5555 ok
 *   add: 4294967295 + 2 = 1 (wraps) ok
 *   echo: 37 bytes came back reversed in static buffer 0, checksum 0x039c882f ok
 *   sum: 5000 bytes across 3 pages, sum 637404 ok
 *   fill: 3000 bytes set to i*7+1, guard bytes untouched ok
 *   getevent: moved event handle received ok
 *   getevent: the server signalled it (first wait returns at once) ok
 *   getevent: oneshot (second wait times out) ok
 *   getpid: the server saw our process id ok
 *   unknown command: header 0x00000040, result 0xd900182f ok
 *   hostile: mapped buffer at unmapped 0x00001000 refused by SendSyncRequest ok
 *   hostile: static buffer at unmapped 0x00002000 refused by SendSyncRequest ok
 *   hostile: the server still answers: 7 + 35 = 42 ok
 *   session 2: a second session to hlm:test ok
 *   session 2: 100 + 200 = 300 ok
 *   session 2: closed, then its handle is refused ok
 *   private port: CreatePort(NULL, 1) and CreateSessionToPort ok
 *   private port: a second session is refused while the port is full ok
 *   private port: a thread accepted the session and answered 20 + 22 = 42 ok
 *   private port: the serving thread saw the session close ok
 *   session pair: CreateSession gave a server and a client end ok
 *   session pair: a thread answered 5 + 6 = 11 ok
 *   session pair: the serving thread saw the session close ok
 *   quit: the server acknowledged ok
 *   ipc_client: 0 failures
 * Exit status: the number of failures.
 */

#include <stdio.h>
#include <string.h>

#include "check.h"
#include "hlemu.h"
#include "ipc.h"
#include "srv.h"

#define SERVICE_NAME "hlm:test"
#define PAGE HLEMU_PAGE_SIZE

#define ECHO_TEXT "Hello, IPC static buffers! 0123456789"
#define SUM_OFFSET 4000u /* [4000, 9000): crosses two page boundaries */
#define SUM_SIZE 5000u
#define FILL_OFFSET 0xF01u /* odd and unaligned, crosses a page boundary */
#define FILL_SIZE 3000u
#define GUARD 16u
#define GUARD_BYTE 0xEE
#define UNMAPPED_A 0x00001000u
#define UNMAPPED_B 0x00002000u

static u8 sum_area[3 * PAGE] __attribute__((aligned(PAGE)));
static u8 fill_area[2 * PAGE] __attribute__((aligned(PAGE)));
static u8 echo_reply[64] __attribute__((aligned(4)));

/* The same order-dependent checksum as the server's. */
static u32 echo_checksum(const u8 *data, u32 len)
{
    u32 sum = 0;
    for (u32 i = 0; i < len; i++)
        sum = sum * 31u + data[i];
    return sum;
}

/* Send the request in the command buffer; a failed SendSyncRequest is reported as-is,
 * otherwise the result is the reply's word 1. */
static Result call(Handle session, u32 *cmdbuf)
{
    Result res = svcSendSyncRequest(session);
    return R_FAILED(res) ? res : (Result)cmdbuf[1];
}

/* Add: a + b, or 0xFFFFFFFF with *ok false on any protocol error. */
static u32 add(Handle session, u32 a, u32 b, bool *ok)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x1, 2, 0);
    cmdbuf[1] = a;
    cmdbuf[2] = b;
    Result res = call(session, cmdbuf);
    *ok = res == RESULT_SUCCESS && cmdbuf[0] == IPC_MakeHeader(0x1, 2, 0);
    return *ok ? cmdbuf[2] : 0xFFFFFFFFu;
}

static void test_add(Handle session)
{
    bool ok;
    u32 sum = add(session, 1234, 4321, &ok);
    check(ok && sum == 5555, "add: 1234 + 4321 = %lu", (unsigned long)sum);
    sum = add(session, 0xFFFFFFFFu, 2, &ok);
    check(ok && sum == 1, "add: 4294967295 + 2 = %lu (wraps)", (unsigned long)sum);
}

static void test_echo(Handle session)
{
    static const char text[] = ECHO_TEXT;
    const u32 len = sizeof(text) - 1;

    /* Our static buffer 0 receives the reply's StaticBuffer(len, 0); keep the old entry,
     * as libctru's callers do. */
    u32 *static_buffers = getThreadStaticBuffers();
    u32 saved0 = static_buffers[0], saved1 = static_buffers[1];
    static_buffers[0] = IPC_Desc_StaticBuffer(sizeof(echo_reply), 0);
    static_buffers[1] = (u32)echo_reply;
    memset(echo_reply, 0, sizeof(echo_reply));

    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x2, 1, 2);
    cmdbuf[1] = len;
    cmdbuf[2] = IPC_Desc_StaticBuffer(len, 0);
    cmdbuf[3] = (u32)text;
    Result res = call(session, cmdbuf);

    bool reversed = true;
    for (u32 i = 0; i < len; i++)
        reversed &= echo_reply[i] == (u8)text[len - 1 - i];
    bool ok = res == RESULT_SUCCESS && cmdbuf[0] == IPC_MakeHeader(0x2, 3, 2) && cmdbuf[2] == len &&
              cmdbuf[3] == echo_checksum((const u8 *)text, len) && IPC_IsStaticBufferDesc(cmdbuf[4]) &&
              IPC_StaticBufferSize(cmdbuf[4]) == len && cmdbuf[5] == (u32)echo_reply && reversed;
    check(ok, "echo: %lu bytes came back reversed in static buffer 0, checksum 0x%08lx", (unsigned long)cmdbuf[2],
          (unsigned long)cmdbuf[3]);

    static_buffers[0] = saved0;
    static_buffers[1] = saved1;
}

static void test_sum_buffer(Handle session)
{
    u8 *data = sum_area + SUM_OFFSET;
    u32 expected = 0;
    for (u32 i = 0; i < SUM_SIZE; i++) {
        data[i] = (u8)(i * 31 + 7);
        expected += data[i];
    }
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x3, 1, 2);
    cmdbuf[1] = SUM_SIZE;
    cmdbuf[2] = IPC_Desc_Buffer(SUM_SIZE, IPC_BUFFER_R);
    cmdbuf[3] = (u32)data;
    Result res = call(session, cmdbuf);
    bool ok = res == RESULT_SUCCESS && cmdbuf[0] == IPC_MakeHeader(0x3, 2, 2) && cmdbuf[2] == expected;
    check(ok, "sum: %lu bytes across 3 pages, sum %lu", (unsigned long)SUM_SIZE, (unsigned long)cmdbuf[2]);
}

static void test_fill_buffer(Handle session)
{
    memset(fill_area, GUARD_BYTE, sizeof(fill_area));
    u8 *data = fill_area + FILL_OFFSET;
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x4, 1, 2);
    cmdbuf[1] = FILL_SIZE;
    cmdbuf[2] = IPC_Desc_Buffer(FILL_SIZE, IPC_BUFFER_W);
    cmdbuf[3] = (u32)data;
    Result res = call(session, cmdbuf);

    u32 right = 0;
    for (u32 i = 0; i < FILL_SIZE; i++)
        right += data[i] == (u8)(i * 7 + 1);
    bool guards = true;
    for (u32 i = 1; i <= GUARD; i++)
        guards &= data[-(s32)i] == GUARD_BYTE && data[FILL_SIZE - 1 + i] == GUARD_BYTE;
    bool ok = res == RESULT_SUCCESS && cmdbuf[0] == IPC_MakeHeader(0x4, 1, 2) && right == FILL_SIZE && guards;
    check(ok, "fill: %lu bytes set to i*7+1, guard bytes untouched", (unsigned long)right);
}

static void test_get_event(Handle session)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x5, 0, 0);
    Result res = call(session, cmdbuf);
    Handle event = cmdbuf[3];
    bool ok = res == RESULT_SUCCESS && cmdbuf[0] == IPC_MakeHeader(0x5, 1, 2) &&
              cmdbuf[2] == IPC_Desc_MoveHandles(1) && event != 0;
    check(ok, "getevent: moved event handle received");
    if (!ok)
        return;
    res = svcWaitSynchronization(event, 0);
    check(res == RESULT_SUCCESS, "getevent: the server signalled it (first wait returns at once)");
    res = svcWaitSynchronization(event, 0);
    check(res == RESULT_TIMEOUT, "getevent: oneshot (second wait times out)");
    svcCloseHandle(event);
}

static void test_get_pid(Handle session)
{
    u32 mine = 0;
    svcGetProcessId(&mine, CUR_PROCESS_HANDLE);
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x6, 0, 2);
    cmdbuf[1] = IPC_Desc_CurProcessHandle();
    cmdbuf[2] = 0xDEADBEEFu; /* a placeholder the kernel overwrites */
    Result res = call(session, cmdbuf);
    bool ok = res == RESULT_SUCCESS && cmdbuf[0] == IPC_MakeHeader(0x6, 2, 0) && cmdbuf[2] == mine;
    check(ok, "getpid: the server saw our process id");
}

static void test_unknown(Handle session)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x42, 0, 0);
    Result res = svcSendSyncRequest(session);
    bool ok = res == RESULT_SUCCESS && cmdbuf[0] == IPC_MakeHeader(0, 1, 0) &&
              cmdbuf[1] == (u32)RESULT_INVALID_COMMAND;
    check(ok, "unknown command: header 0x%08lx, result 0x%08lx", (unsigned long)cmdbuf[0], (unsigned long)cmdbuf[1]);
}

static void test_hostile(Handle session)
{
    /* A read-only mapped buffer over memory this process does not have. */
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x3, 1, 2);
    cmdbuf[1] = 0x100;
    cmdbuf[2] = IPC_Desc_Buffer(0x100, IPC_BUFFER_R);
    cmdbuf[3] = UNMAPPED_A;
    Result res = svcSendSyncRequest(session);
    check(R_FAILED(res), "hostile: mapped buffer at unmapped 0x%08x refused by SendSyncRequest", UNMAPPED_A);

    /* A static buffer whose source is unmapped: the kernel cannot copy it. */
    cmdbuf[0] = IPC_MakeHeader(0x2, 1, 2);
    cmdbuf[1] = 16;
    cmdbuf[2] = IPC_Desc_StaticBuffer(16, 0);
    cmdbuf[3] = UNMAPPED_B;
    res = svcSendSyncRequest(session);
    check(R_FAILED(res), "hostile: static buffer at unmapped 0x%08x refused by SendSyncRequest", UNMAPPED_B);

    bool ok;
    u32 sum = add(session, 7, 35, &ok);
    check(ok && sum == 42, "hostile: the server still answers: 7 + 35 = %lu", (unsigned long)sum);
}

static void test_second_session(Handle first)
{
    Handle second = 0;
    Result res = srvGetServiceHandle(&second, SERVICE_NAME);
    check(R_SUCCEEDED(res) && second != 0 && second != first, "session 2: a second session to %s", SERVICE_NAME);
    if (R_FAILED(res))
        return;
    bool ok;
    u32 sum = add(second, 100, 200, &ok);
    check(ok && sum == 300, "session 2: 100 + 200 = %lu", (unsigned long)sum);

    res = svcCloseHandle(second);
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x1, 2, 0);
    cmdbuf[1] = 1;
    cmdbuf[2] = 2;
    Result after = svcSendSyncRequest(second);
    check(res == RESULT_SUCCESS && after == RESULT_INVALID_HANDLE, "session 2: closed, then its handle is refused");
}

/* ---- ports and sessions inside this process: CreatePort, CreateSessionToPort, CreateSession ---- */

#define HELPER_PRIORITY 0x2F /* above the main thread's 0x30: it runs until it blocks */
#define JOIN_TIMEOUT_NS 5000000000LL
#define PORT_FULL ((Result)0xD0401834) /* CreateSessionToPort on a port at its session limit */

static u8 helper_stack[0x2000] __attribute__((aligned(8)));

/* What the helper thread saw; main prints it after joining (only main uses stdio). */
typedef struct {
    Handle port;    /* a server port to accept on first, or 0 */
    Handle session; /* the server session (set here after AcceptSession) */
    Result accept_result;
    Result serve_result;
    Result close_result;
    s32 close_index;
    u32 answered;
} Helper;

/* Accept (if given a port), answer one Add, then wait for the client to hang up. */
static void helper_main(void *arg)
{
    Helper *h = arg;
    u32 *cmdbuf = getThreadCommandBuffer();
    s32 index = -1;
    if (h->port != 0) {
        cmdbuf[0] = 0xFFFF0000u;
        h->accept_result = svcReplyAndReceive(&index, &h->port, 1, 0);
        if (h->accept_result == RESULT_SUCCESS)
            h->accept_result = svcAcceptSession(&h->session, h->port);
    }
    cmdbuf[0] = 0xFFFF0000u;
    h->serve_result = svcReplyAndReceive(&index, &h->session, 1, 0);
    if (h->serve_result == RESULT_SUCCESS && cmdbuf[0] == IPC_MakeHeader(0x1, 2, 0)) {
        h->answered = cmdbuf[1] + cmdbuf[2];
        cmdbuf[0] = IPC_MakeHeader(0x1, 2, 0);
        cmdbuf[1] = RESULT_SUCCESS;
        cmdbuf[2] = h->answered;
        h->close_index = -1;
        h->close_result = svcReplyAndReceive(&h->close_index, &h->session, 1, h->session);
    }
    svcCloseHandle(h->session);
    svcExitThread();
}

static Handle start_helper(Helper *h)
{
    Handle thread = 0;
    u32 *top = (u32 *)(helper_stack + sizeof(helper_stack));
    if (R_FAILED(svcCreateThread(&thread, helper_main, (u32)h, top, HELPER_PRIORITY, PROCESSOR_ID_APPCORE)))
        return 0;
    return thread;
}

/* Send Add on `client`, close it, join the helper; report what both sides saw. */
static void finish_helper(Handle thread, Handle client, Helper *h, u32 a, u32 b, const char *what)
{
    bool ok;
    u32 sum = add(client, a, b, &ok);
    svcCloseHandle(client);
    Result joined = svcWaitSynchronization(thread, JOIN_TIMEOUT_NS);
    svcCloseHandle(thread);
    bool accepted = h->port == 0 || h->accept_result == RESULT_SUCCESS;
    check(ok && accepted && sum == a + b && h->answered == a + b, "%s: a thread %sanswered %lu + %lu = %lu", what,
          h->port != 0 ? "accepted the session and " : "", (unsigned long)a, (unsigned long)b, (unsigned long)sum);
    check(joined == RESULT_SUCCESS && h->close_result == RESULT_SESSION_CLOSED && h->close_index == 0,
          "%s: the serving thread saw the session close", what);
}

static void test_private_port(void)
{
    Helper h = {0};
    Handle client_port = 0, client = 0, extra = 0;
    Result res = svcCreatePort(&h.port, &client_port, NULL, 1);
    if (R_SUCCEEDED(res))
        res = svcCreateSessionToPort(&client, client_port);
    check(R_SUCCEEDED(res) && h.port != 0 && client_port != 0 && client != 0,
          "private port: CreatePort(NULL, 1) and CreateSessionToPort");
    if (R_FAILED(res))
        return;
    Result full = svcCreateSessionToPort(&extra, client_port);
    check(full == PORT_FULL, "private port: a second session is refused while the port is full");
    if (R_SUCCEEDED(full))
        svcCloseHandle(extra);

    Handle thread = start_helper(&h);
    if (thread == 0) {
        check(false, "private port: CreateThread");
        return;
    }
    finish_helper(thread, client, &h, 20, 22, "private port");
    svcCloseHandle(client_port);
    svcCloseHandle(h.port);
}

static void test_session_pair(void)
{
    Helper h = {0};
    Handle client = 0;
    Result res = svcCreateSession(&h.session, &client);
    check(R_SUCCEEDED(res) && h.session != 0 && client != 0 && h.session != client,
          "session pair: CreateSession gave a server and a client end");
    if (R_FAILED(res))
        return;
    Handle thread = start_helper(&h);
    if (thread == 0) {
        check(false, "session pair: CreateThread");
        return;
    }
    finish_helper(thread, client, &h, 5, 6, "session pair");
}

static void test_quit(Handle session)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0xFF, 0, 0);
    Result res = call(session, cmdbuf);
    check(res == RESULT_SUCCESS && cmdbuf[0] == IPC_MakeHeader(0xFF, 1, 0), "quit: the server acknowledged");
}

int main(void)
{
    printf("ipc_client: start\n");
    Result res = srvInit();
    check(R_SUCCEEDED(res), "srv: initialised");
    if (R_FAILED(res))
        return check_failures;

    Handle session = 0;
    res = srvGetServiceHandle(&session, SERVICE_NAME);
    check(R_SUCCEEDED(res) && session != 0, "srv: got a session to %s", SERVICE_NAME);
    if (R_FAILED(res)) {
        srvExit();
        return check_failures;
    }

    test_add(session);
    test_echo(session);
    test_sum_buffer(session);
    test_fill_buffer(session);
    test_get_event(session);
    test_get_pid(session);
    test_unknown(session);
    test_hostile(session);
    test_second_session(session);
    test_private_port();
    test_session_pair();
    test_quit(session);

    svcCloseHandle(session);
    srvExit();
    printf("ipc_client: %d failures\n", check_failures);
    return check_failures;
}
