/*
 * ipc_server - an IPC service "hlm:test" served the way 3DS system modules serve.
 *
 * Registers "hlm:test" with srv: (at most 4 sessions) and loops on
 * svcReplyAndReceive over [server port, accepted sessions...], replying to the
 * session whose request it handled last (Luma3DS's sm and libctru's services
 * have the same shape). The port's index means a client is connecting:
 * AcceptSession adds it. RESULT_SESSION_CLOSED (0xC920181A) names a session
 * whose client closed it: CloseHandle and drop it. Commands (the protocol is
 * also in hlemu/guest/README.md; ipc_client is the matching client):
 *
 *   0x0001 Add        req IPC_MakeHeader(1, 2, 0): a, b
 *                     rep IPC_MakeHeader(1, 2, 0): result, a + b (mod 2^32)
 *   0x0002 Echo       req IPC_MakeHeader(2, 1, 2): length, StaticBuffer(length, 0), pointer
 *                     The bytes arrive in this server's static buffer 0 (TLS + 0x180).
 *                     rep IPC_MakeHeader(2, 3, 2): result, length, checksum,
 *                     StaticBuffer(length, 0), pointer to the bytes reversed (the kernel
 *                     copies them into the client's static buffer 0)
 *   0x0003 SumBuffer  req IPC_MakeHeader(3, 1, 2): size, Buffer(size, R), pointer
 *                     rep IPC_MakeHeader(3, 2, 2): result, sum of the bytes, Buffer(size, R), pointer
 *   0x0004 FillBuffer req IPC_MakeHeader(4, 1, 2): size, Buffer(size, W), pointer
 *                     byte i := (i * 7 + 1) & 0xFF
 *                     rep IPC_MakeHeader(4, 1, 2): result, Buffer(size, W), pointer
 *   0x0005 GetEvent   req IPC_MakeHeader(5, 0, 0)
 *                     rep IPC_MakeHeader(5, 1, 2): result, MoveHandles(1), event; the event
 *                     (ONESHOT) is signalled before the reply, so the client's first wait
 *                     returns at once and its second times out
 *   0x0006 GetPid     req IPC_MakeHeader(6, 0, 2): 0x20 (CurProcessId), 0 (the kernel writes
 *                     the client's process id)
 *                     rep IPC_MakeHeader(6, 2, 0): result, that process id
 *   0x00FF Quit       req IPC_MakeHeader(0xFF, 0, 0)
 *                     rep IPC_MakeHeader(0xFF, 1, 0): result. The server then stops accepting
 *                     sessions and exits once every client has closed its session.
 *   other             rep IPC_MakeHeader(0, 1, 0): 0xD900182F (invalid command); a known command
 *                     with a wrong header gets the same reply and counts as a failure here.
 *
 * The reply to a mapped-buffer command carries the buffer's descriptor back, which is how a
 * 3DS server has the kernel unmap it (3dbrew "IPC").
 *
 * Expected output against ipc_client (every line is fixed by the client's requests, which
 * are synchronous; session closes are only counted, since their order against other events
 * is the kernel's choice):
 *   ipc_server: start
 *   srv: registered hlm:test ok
 *   session 1 accepted
 *   add: 1234 + 4321 = 5555
 *   add: 4294967295 + 2 = 1
 *   echo: 37 bytes in static buffer 0 ok
 *   sum: 5000-byte read-only mapped buffer, sum 637404 ok
 *   fill: 3000-byte write-only mapped buffer ok
 *   getevent: moved a signalled event to the client
 *   getevent: the moved handle is closed in the server ok
 *   getpid: kernel wrote the client's process id ok
 *   unknown command 0x0042: replied 0xd900182f
 *   add: 7 + 35 = 42
 *   session 2 accepted
 *   add: 100 + 200 = 300
 *   quit: waiting for clients to hang up
 *   ipc_server: 2 sessions accepted, 2 closed, 11 requests
 *   ipc_server: 0 failures
 * Exit status: the number of failures.
 */

#include <stdio.h>

#include "check.h"
#include "hlemu.h"
#include "ipc.h"
#include "srv.h"

#define SERVICE_NAME "hlm:test"
#define MAX_SESSIONS 4
#define STATIC_BUFFER_SIZE 256

/* Command ids. */
enum {
    CMD_ADD = 0x0001,
    CMD_ECHO = 0x0002,
    CMD_SUM_BUFFER = 0x0003,
    CMD_FILL_BUFFER = 0x0004,
    CMD_GET_EVENT = 0x0005,
    CMD_GET_PID = 0x0006,
    CMD_QUIT = 0x00FF,
};

/* What a server with nothing to reply to leaves in word 0 before ReplyAndReceive
 * (Luma3DS's sm does this; it is not a valid header). */
#define NO_REPLY_HEADER 0xFFFF0000u

/* The kernel copies static-buffer data here; the echo reply is built in `echo_out`. */
static u8 echo_in[STATIC_BUFFER_SIZE] __attribute__((aligned(4)));
static u8 echo_out[STATIC_BUFFER_SIZE] __attribute__((aligned(4)));

/* The server's state: handles[0] is the port while it listens, then the sessions. */
typedef struct {
    Handle port;
    Handle sessions[MAX_SESSIONS];
    int session_count;
    Handle event;          /* created on the first GetEvent */
    Handle moved_event;    /* a handle moved out in the last reply, to check it is gone */
    bool quitting;
    int accepted, closed, requests;
} Server;

/* A checksum of the echoed bytes that depends on their order. */
static u32 echo_checksum(const u8 *data, u32 len)
{
    u32 sum = 0;
    for (u32 i = 0; i < len; i++)
        sum = sum * 31u + data[i];
    return sum;
}

static void reply_invalid(u32 *cmdbuf)
{
    cmdbuf[0] = IPC_MakeHeader(0, 1, 0);
    cmdbuf[1] = (u32)RESULT_INVALID_COMMAND;
}

/* A known command whose header does not match its protocol. */
static void reply_malformed(u32 *cmdbuf, const char *what)
{
    check(false, "%s: unexpected request header 0x%08lx", what, (unsigned long)cmdbuf[0]);
    reply_invalid(cmdbuf);
}

static void do_add(u32 *cmdbuf)
{
    if (cmdbuf[0] != IPC_MakeHeader(CMD_ADD, 2, 0)) {
        reply_malformed(cmdbuf, "add");
        return;
    }
    u32 a = cmdbuf[1], b = cmdbuf[2];
    printf("add: %lu + %lu = %lu\n", (unsigned long)a, (unsigned long)b, (unsigned long)(a + b));
    cmdbuf[0] = IPC_MakeHeader(CMD_ADD, 2, 0);
    cmdbuf[1] = RESULT_SUCCESS;
    cmdbuf[2] = a + b;
}

static void do_echo(u32 *cmdbuf)
{
    u32 len = cmdbuf[1];
    u32 desc = cmdbuf[2];
    if (cmdbuf[0] != IPC_MakeHeader(CMD_ECHO, 1, 2) || !IPC_IsStaticBufferDesc(desc) || len > STATIC_BUFFER_SIZE) {
        reply_malformed(cmdbuf, "echo");
        return;
    }
    /* The kernel rewrites the pointer to our own static buffer 0 and keeps the size. */
    const u8 *data = (const u8 *)cmdbuf[3];
    check(IPC_StaticBufferSize(desc) == len && IPC_StaticBufferId(desc) == 0 && data == echo_in,
          "echo: %lu bytes in static buffer 0", (unsigned long)len);
    for (u32 i = 0; i < len; i++)
        echo_out[i] = data[len - 1 - i];
    cmdbuf[0] = IPC_MakeHeader(CMD_ECHO, 3, 2);
    cmdbuf[1] = RESULT_SUCCESS;
    cmdbuf[2] = len;
    cmdbuf[3] = echo_checksum(data, len);
    cmdbuf[4] = IPC_Desc_StaticBuffer(len, 0);
    cmdbuf[5] = (u32)echo_out;
}

static void do_sum_buffer(u32 *cmdbuf)
{
    u32 size = cmdbuf[1];
    u32 desc = cmdbuf[2];
    if (cmdbuf[0] != IPC_MakeHeader(CMD_SUM_BUFFER, 1, 2) || !IPC_IsBufferDesc(desc)) {
        reply_malformed(cmdbuf, "sum");
        return;
    }
    const volatile u8 *data = (const volatile u8 *)cmdbuf[3];
    u32 sum = 0;
    for (u32 i = 0; i < size; i++)
        sum += data[i];
    check(IPC_BufferSize(desc) == size && IPC_BufferRightsOf(desc) == IPC_BUFFER_R,
          "sum: %lu-byte read-only mapped buffer, sum %lu", (unsigned long)size, (unsigned long)sum);
    cmdbuf[0] = IPC_MakeHeader(CMD_SUM_BUFFER, 2, 2);
    cmdbuf[1] = RESULT_SUCCESS;
    cmdbuf[2] = sum;
    cmdbuf[3] = desc; /* hand the mapping back */
    cmdbuf[4] = (u32)data;
}

static void do_fill_buffer(u32 *cmdbuf)
{
    u32 size = cmdbuf[1];
    u32 desc = cmdbuf[2];
    if (cmdbuf[0] != IPC_MakeHeader(CMD_FILL_BUFFER, 1, 2) || !IPC_IsBufferDesc(desc)) {
        reply_malformed(cmdbuf, "fill");
        return;
    }
    volatile u8 *data = (volatile u8 *)cmdbuf[3];
    for (u32 i = 0; i < size; i++)
        data[i] = (u8)(i * 7 + 1);
    check(IPC_BufferSize(desc) == size && IPC_BufferRightsOf(desc) == IPC_BUFFER_W,
          "fill: %lu-byte write-only mapped buffer", (unsigned long)size);
    cmdbuf[0] = IPC_MakeHeader(CMD_FILL_BUFFER, 1, 2);
    cmdbuf[1] = RESULT_SUCCESS;
    cmdbuf[2] = desc;
    cmdbuf[3] = (u32)data;
}

static void do_get_event(Server *server, u32 *cmdbuf)
{
    if (cmdbuf[0] != IPC_MakeHeader(CMD_GET_EVENT, 0, 0)) {
        reply_malformed(cmdbuf, "getevent");
        return;
    }
    /* The server keeps `event` and moves a duplicate, signalled beforehand: after the
     * reply the duplicate is gone from this process and the client owns it. */
    Handle copy = 0;
    Result res = 0;
    if (server->event == 0)
        res = svcCreateEvent(&server->event, RESET_ONESHOT);
    if (R_SUCCEEDED(res))
        res = svcDuplicateHandle(&copy, server->event);
    if (R_SUCCEEDED(res))
        res = svcSignalEvent(server->event);
    if (R_FAILED(res)) {
        check(false, "getevent: event setup 0x%08lx", (unsigned long)res);
        cmdbuf[0] = IPC_MakeHeader(CMD_GET_EVENT, 1, 0);
        cmdbuf[1] = (u32)res;
        return;
    }
    printf("getevent: moved a signalled event to the client\n");
    server->moved_event = copy;
    cmdbuf[0] = IPC_MakeHeader(CMD_GET_EVENT, 1, 2);
    cmdbuf[1] = RESULT_SUCCESS;
    cmdbuf[2] = IPC_Desc_MoveHandles(1);
    cmdbuf[3] = copy;
}

static void do_get_pid(u32 *cmdbuf)
{
    if (cmdbuf[0] != IPC_MakeHeader(CMD_GET_PID, 0, 2)) {
        reply_malformed(cmdbuf, "getpid");
        return;
    }
    /* The descriptor word stays 0x20; the word after it now holds the sender's id. */
    check(cmdbuf[1] == IPC_Desc_CurProcessId(), "getpid: kernel wrote the client's process id");
    u32 pid = cmdbuf[2];
    cmdbuf[0] = IPC_MakeHeader(CMD_GET_PID, 2, 0);
    cmdbuf[1] = RESULT_SUCCESS;
    cmdbuf[2] = pid;
}

static void do_quit(Server *server, u32 *cmdbuf)
{
    printf("quit: waiting for clients to hang up\n");
    server->quitting = true;
    cmdbuf[0] = IPC_MakeHeader(CMD_QUIT, 1, 0);
    cmdbuf[1] = RESULT_SUCCESS;
}

/* Handle the request in the command buffer and leave the reply there. */
static void dispatch(Server *server, u32 *cmdbuf)
{
    server->requests++;
    u16 command = IPC_CommandId(cmdbuf[0]);
    switch (command) {
    case CMD_ADD:
        do_add(cmdbuf);
        break;
    case CMD_ECHO:
        do_echo(cmdbuf);
        break;
    case CMD_SUM_BUFFER:
        do_sum_buffer(cmdbuf);
        break;
    case CMD_FILL_BUFFER:
        do_fill_buffer(cmdbuf);
        break;
    case CMD_GET_EVENT:
        do_get_event(server, cmdbuf);
        break;
    case CMD_GET_PID:
        do_get_pid(cmdbuf);
        break;
    case CMD_QUIT:
        do_quit(server, cmdbuf);
        break;
    default:
        printf("unknown command 0x%04x: replied 0x%08lx\n", (unsigned)command, (unsigned long)RESULT_INVALID_COMMAND);
        reply_invalid(cmdbuf);
        break;
    }
}

/* The wait list: the port first while listening, then every session. */
static int build_handles(const Server *server, Handle *handles, int *first_session)
{
    int n = 0;
    if (!server->quitting)
        handles[n++] = server->port;
    *first_session = n;
    for (int i = 0; i < server->session_count; i++)
        handles[n++] = server->sessions[i];
    return n;
}

static void accept_session(Server *server)
{
    Handle session = 0;
    Result res = svcAcceptSession(&session, server->port);
    if (R_FAILED(res)) {
        check(false, "accept: 0x%08lx", (unsigned long)res);
        return;
    }
    if (server->session_count == MAX_SESSIONS) {
        /* srv: enforces the limit; a kernel that let one more through gets it closed. */
        check(false, "accept: more than %d sessions", MAX_SESSIONS);
        svcCloseHandle(session);
        return;
    }
    server->sessions[server->session_count++] = session;
    server->accepted++;
    printf("session %d accepted\n", server->accepted);
}

static void drop_session(Server *server, int slot)
{
    svcCloseHandle(server->sessions[slot]);
    for (int i = slot + 1; i < server->session_count; i++)
        server->sessions[i - 1] = server->sessions[i];
    server->session_count--;
    server->closed++;
}

/* After a reply that moved a handle, the handle must be gone from this process. */
static void check_moved_handle(Server *server)
{
    if (server->moved_event == 0)
        return;
    Result res = svcSignalEvent(server->moved_event);
    check(res == RESULT_INVALID_HANDLE, "getevent: the moved handle is closed in the server");
    server->moved_event = 0;
}

static void serve(Server *server)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    Handle reply_target = 0;
    Handle handles[1 + MAX_SESSIONS];

    while (!(server->quitting && server->session_count == 0)) {
        int first_session = 0;
        int count = build_handles(server, handles, &first_session);
        if (reply_target == 0)
            cmdbuf[0] = NO_REPLY_HEADER;
        s32 index = -1;
        Result res = svcReplyAndReceive(&index, handles, count, reply_target);
        Handle replied_to = reply_target;
        reply_target = 0;

        if (res == RESULT_SESSION_CLOSED) {
            /* index -1: the client of the reply target went away before the reply. */
            if (index < 0) {
                for (index = 0; index < count && handles[index] != replied_to; index++)
                    ;
            }
            if (index >= first_session && index < count)
                drop_session(server, index - first_session);
            else
                check(false, "receive: closed handle index %ld is not a session", (long)index);
            continue;
        }
        if (R_FAILED(res) || index < 0 || index >= count) {
            check(false, "receive: ReplyAndReceive 0x%08lx index %ld", (unsigned long)res, (long)index);
            break;
        }
        check_moved_handle(server);
        if (index < first_session) {
            accept_session(server);
            continue;
        }
        dispatch(server, cmdbuf);
        reply_target = handles[index];
    }
}

int main(void)
{
    printf("ipc_server: start\n");

    /* Static buffer 0 receives what clients send with StaticBuffer(size, 0). */
    u32 *static_buffers = getThreadStaticBuffers();
    static_buffers[0] = IPC_Desc_StaticBuffer(sizeof(echo_in), 0);
    static_buffers[1] = (u32)echo_in;

    Result res = srvInit();
    if (R_FAILED(res)) {
        printf("srv: init failed 0x%08lx\n", (unsigned long)res);
        return 1;
    }
    Server server = {0};
    res = srvRegisterService(&server.port, SERVICE_NAME, MAX_SESSIONS);
    check(R_SUCCEEDED(res) && server.port != 0, "srv: registered %s", SERVICE_NAME);
    if (R_FAILED(res)) {
        srvExit();
        return check_failures;
    }

    serve(&server);

    /* Only after a failure are sessions left over. */
    for (int i = 0; i < server.session_count; i++)
        svcCloseHandle(server.sessions[i]);
    if (server.event != 0)
        svcCloseHandle(server.event);
    svcCloseHandle(server.port);
    srvUnregisterService(SERVICE_NAME);
    srvExit();

    printf("ipc_server: %d sessions accepted, %d closed, %d requests\n", server.accepted, server.closed,
           server.requests);
    printf("ipc_server: %d failures\n", check_failures);
    return check_failures;
}
