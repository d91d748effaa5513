/*
 * apt.c - the APT client (see apt.h for the commands and how this differs from libctru).
 *
 * The flags and the order of calls in aptInit, aptJumpToHomeMenu, the wake-up wait and
 * aptExit are libctru's (source/services/apt.c); the signal handling is what libctru's
 * event thread does, run from aptMainLoop() instead.
 */

#include "apt.h"

#include <string.h>

#include "gspgpu.h"
#include "ipc.h"
#include "srv.h"

extern u32 __apt_appid; /* crt0.S */

enum {
    FLAG_ACTIVE = 1u << 0,
    FLAG_ALLOWSLEEP = 1u << 2,
    FLAG_ALLOWHOME = 1u << 4,
    FLAG_SHOULDHOME = 1u << 5,
    FLAG_HOMEREJECTED = 1u << 6,
    FLAG_POWERBUTTON = 1u << 7,
    FLAG_SHUTDOWN = 1u << 8,
    FLAG_ORDERTOCLOSE = 1u << 9,
    FLAG_CANCELLED = 1u << 10,
};

/* Transitions for AppletUtility 7 (UnlockTransition), as libctru names them. */
#define TR_JUMPTOMENU_UNLOCK 0x01u
#define TR_ENABLE_UNLOCK 0x10u

static int apt_refcount;
static Handle apt_lock;
static Handle apt_events[2]; /* [0] notification, [1] parameter (resume) */
static u32 apt_flags;
static u8 apt_home_button; /* 0, or 1/2 for HOMEBUTTON/HOMEBUTTON2 still to act on */
static u32 apt_parameter[0x1000 / 4];
static aptHookCookie apt_first_hook;
static aptSignalFn apt_signal_hook;
static void *apt_signal_param;
static aptMessageCb apt_message_callback;
static void *apt_message_param;

NS_APPID envGetAptAppId(void)
{
    return (NS_APPID)__apt_appid;
}

/* -- sending commands -------------------------------------------------------------------- */

static Result apt_session(Handle *out)
{
    static const char *const names[3] = {"APT:S", "APT:A", "APT:U"};
    static const char *chosen;
    if (chosen != NULL)
        return srvGetServiceHandle(out, chosen);
    Result res = -1;
    for (int i = 0; i < 3 && R_FAILED(res); i++) {
        res = srvGetServiceHandle(out, names[i]);
        if (R_SUCCEEDED(res))
            chosen = names[i];
    }
    return res;
}

static unsigned command_words(u32 header)
{
    return 1 + IPC_NormalParams(header) + IPC_TranslateParams(header);
}

Result aptSendCommand(u32 *aptcmdbuf)
{
    if (apt_lock != 0)
        svcWaitSynchronization(apt_lock, WAIT_FOREVER);
    Handle session = 0;
    Result res = apt_session(&session);
    if (R_SUCCEEDED(res)) {
        u32 *cmdbuf = getThreadCommandBuffer();
        memcpy(cmdbuf, aptcmdbuf, 4 * command_words(aptcmdbuf[0]));
        res = svcSendSyncRequest(session);
        if (R_SUCCEEDED(res)) {
            memcpy(aptcmdbuf, cmdbuf, 4 * command_words(cmdbuf[0]));
            res = (Result)aptcmdbuf[1];
        }
        svcCloseHandle(session);
    }
    if (apt_lock != 0)
        svcReleaseMutex(apt_lock);
    return res;
}

/* -- the commands ------------------------------------------------------------------------ */

Result APT_GetLockHandle(u16 flags, Handle *lockHandle)
{
    u32 cmd[16] = {IPC_MakeHeader(0x1, 1, 0), flags};
    Result res = aptSendCommand(cmd);
    if (R_SUCCEEDED(res))
        *lockHandle = cmd[5];
    return res;
}

Result APT_Initialize(NS_APPID appId, APT_AppletAttr attr, Handle *signalEvent, Handle *resumeEvent)
{
    u32 cmd[16] = {IPC_MakeHeader(0x2, 2, 0), appId, attr};
    Result res = aptSendCommand(cmd);
    if (R_SUCCEEDED(res)) {
        *signalEvent = cmd[3];
        *resumeEvent = cmd[4];
    }
    return res;
}

Result APT_Enable(APT_AppletAttr attr)
{
    u32 cmd[16] = {IPC_MakeHeader(0x3, 1, 0), attr};
    return aptSendCommand(cmd);
}

Result APT_IsRegistered(NS_APPID appID, bool *out)
{
    u32 cmd[16] = {IPC_MakeHeader(0x9, 1, 0), appID};
    Result res = aptSendCommand(cmd);
    if (R_SUCCEEDED(res))
        *out = (cmd[2] & 0xFF) != 0;
    return res;
}

Result APT_InquireNotification(u32 appID, APT_Signal *signalType)
{
    u32 cmd[16] = {IPC_MakeHeader(0xB, 1, 0), appID};
    Result res = aptSendCommand(cmd);
    if (R_SUCCEEDED(res))
        *signalType = (APT_Signal)cmd[2];
    return res;
}

Result APT_NotifyToWait(NS_APPID appID)
{
    u32 cmd[16] = {IPC_MakeHeader(0x43, 1, 0), appID};
    return aptSendCommand(cmd);
}

/* Glance (0xE) and Receive (0xD) share a layout: the data arrives in static buffer 0. */
static Result apt_parameter_command(u16 id, NS_APPID appID, void *buffer, size_t bufferSize, NS_APPID *sender,
                                    APT_Command *command, size_t *actualSize, Handle *parameter)
{
    u32 cmd[16] = {IPC_MakeHeader(id, 2, 0), appID, bufferSize};
    u32 *staticbufs = getThreadStaticBuffers();
    u32 saved[2] = {staticbufs[0], staticbufs[1]};
    staticbufs[0] = IPC_Desc_StaticBuffer(bufferSize, 0);
    staticbufs[1] = (u32)buffer;
    Result res = aptSendCommand(cmd);
    staticbufs[0] = saved[0];
    staticbufs[1] = saved[1];
    if (R_SUCCEEDED(res)) {
        if (sender)
            *sender = (NS_APPID)cmd[2];
        if (command)
            *command = (APT_Command)cmd[3];
        if (actualSize)
            *actualSize = cmd[4];
        if (parameter)
            *parameter = cmd[6];
        else if (cmd[6] != 0)
            svcCloseHandle(cmd[6]);
    }
    return res;
}

Result APT_GlanceParameter(NS_APPID appID, void *buffer, size_t bufferSize, NS_APPID *sender, APT_Command *command,
                           size_t *actualSize, Handle *parameter)
{
    return apt_parameter_command(0xE, appID, buffer, bufferSize, sender, command, actualSize, parameter);
}

Result APT_ReceiveParameter(NS_APPID appID, void *buffer, size_t bufferSize, NS_APPID *sender, APT_Command *command,
                            size_t *actualSize, Handle *parameter)
{
    return apt_parameter_command(0xD, appID, buffer, bufferSize, sender, command, actualSize, parameter);
}

Result APT_SendParameter(NS_APPID source, NS_APPID dest, APT_Command command, const void *buffer, u32 bufferSize,
                         Handle parameter)
{
    u32 cmd[16] = {IPC_MakeHeader(0xC, 4, 4), source, dest, command, bufferSize,
                   IPC_Desc_SharedHandles(1), parameter, IPC_Desc_StaticBuffer(bufferSize, 0), (u32)buffer};
    return aptSendCommand(cmd);
}

Result APT_SendCaptureBufferInfo(const void *captureBuf, u32 size)
{
    u32 cmd[16] = {IPC_MakeHeader(0x40, 1, 2), size, IPC_Desc_StaticBuffer(size, 0), (u32)captureBuf};
    return aptSendCommand(cmd);
}

Result APT_ReplySleepQuery(NS_APPID appID, APT_QueryReply reply)
{
    u32 cmd[16] = {IPC_MakeHeader(0x3E, 2, 0), appID, reply};
    return aptSendCommand(cmd);
}

Result APT_AppletUtility(int id, void *out, size_t outSize, const void *in, size_t inSize)
{
    u32 cmd[16] = {IPC_MakeHeader(0x4B, 3, 2), (u32)id, inSize, outSize, IPC_Desc_StaticBuffer(inSize, 1),
                   (u32)in};
    u32 *staticbufs = getThreadStaticBuffers();
    u32 saved[2] = {staticbufs[0], staticbufs[1]};
    staticbufs[0] = IPC_Desc_StaticBuffer(outSize, 0);
    staticbufs[1] = (u32)out;
    Result res = aptSendCommand(cmd);
    staticbufs[0] = saved[0];
    staticbufs[1] = saved[1];
    return R_SUCCEEDED(res) ? (Result)cmd[2] : res;
}

Result APT_SleepIfShellClosed(void)
{
    u8 out, in = 0;
    return APT_AppletUtility(4, &out, sizeof(out), &in, sizeof(in));
}

Result APT_UnlockTransition(u32 transition)
{
    u8 out;
    return APT_AppletUtility(7, &out, sizeof(out), &transition, sizeof(transition));
}

Result APT_PrepareToJumpToHomeMenu(void)
{
    u32 cmd[16] = {IPC_MakeHeader(0x2B, 0, 0)};
    return aptSendCommand(cmd);
}

/* JumpToHomeMenu (0x2C) and CloseApplication (0x27): size, a handle, the data. */
static Result apt_send_with_handle(u16 id, const void *param, size_t paramSize, Handle handle)
{
    u32 cmd[16] = {IPC_MakeHeader(id, 1, 4), paramSize, IPC_Desc_SharedHandles(1), handle,
                   IPC_Desc_StaticBuffer(paramSize, 0), (u32)param};
    return aptSendCommand(cmd);
}

Result APT_JumpToHomeMenu(const void *param, size_t paramSize, Handle handle)
{
    return apt_send_with_handle(0x2C, param, paramSize, handle);
}

Result APT_PrepareToCloseApplication(bool cancelPreload)
{
    u32 cmd[16] = {IPC_MakeHeader(0x22, 1, 0), cancelPreload};
    return aptSendCommand(cmd);
}

Result APT_CloseApplication(const void *param, size_t paramSize, Handle handle)
{
    return apt_send_with_handle(0x27, param, paramSize, handle);
}

Result APT_PrepareToStartLibraryApplet(NS_APPID appID)
{
    u32 cmd[16] = {IPC_MakeHeader(0x18, 1, 0), appID};
    return aptSendCommand(cmd);
}

Result APT_StartLibraryApplet(NS_APPID appID, const void *param, size_t paramSize, Handle handle)
{
    u32 cmd[16] = {IPC_MakeHeader(0x1E, 2, 4), appID, paramSize, IPC_Desc_SharedHandles(1), handle,
                   IPC_Desc_StaticBuffer(paramSize, 0), (u32)param};
    return aptSendCommand(cmd);
}

Result APT_CheckNew3DS(bool *out)
{
    u32 cmd[16] = {IPC_MakeHeader(0x102, 0, 0)};
    *out = false;
    Result res = aptSendCommand(cmd);
    if (R_SUCCEEDED(res))
        *out = (cmd[2] & 0xFF) != 0;
    return res;
}

/* -- hooks and flags --------------------------------------------------------------------- */

void aptHook(aptHookCookie *cookie, aptHookFn callback, void *param)
{
    if (callback == NULL)
        return;
    *cookie = apt_first_hook; /* the new hook goes first; the old first one moves into cookie */
    apt_first_hook.next = cookie;
    apt_first_hook.callback = callback;
    apt_first_hook.param = param;
}

void aptUnhook(aptHookCookie *cookie)
{
    for (aptHookCookie *hook = &apt_first_hook; hook != NULL; hook = hook->next) {
        if (hook->next == cookie) {
            *hook = *cookie;
            return;
        }
    }
}

static void apt_call_hooks(APT_HookType type)
{
    for (aptHookCookie *c = &apt_first_hook; c != NULL && c->callback != NULL; c = c->next)
        c->callback(type, c->param);
}

void aptSetSignalHook(aptSignalFn callback, void *param)
{
    apt_signal_hook = callback;
    apt_signal_param = param;
}

bool aptIsActive(void) { return (apt_flags & FLAG_ACTIVE) != 0; }
bool aptShouldClose(void) { return (apt_flags & (FLAG_ORDERTOCLOSE | FLAG_CANCELLED)) != 0; }
bool aptIsHomeAllowed(void) { return (apt_flags & FLAG_ALLOWHOME) != 0; }

void aptSetHomeAllowed(bool allowed)
{
    apt_flags = allowed ? apt_flags | FLAG_ALLOWHOME : apt_flags & ~FLAG_ALLOWHOME;
}

bool aptShouldJumpToHome(void)
{
    return apt_home_button != 0 || (apt_flags & (FLAG_SHOULDHOME | FLAG_POWERBUTTON)) != 0;
}

bool aptCheckHomePressRejected(void)
{
    bool rejected = (apt_flags & FLAG_HOMEREJECTED) != 0;
    apt_flags &= ~FLAG_HOMEREJECTED;
    return rejected;
}

static void apt_clear_jump_to_home(void)
{
    apt_home_button = 0;
    APT_UnlockTransition(TR_JUMPTOMENU_UNLOCK);
    APT_SleepIfShellClosed();
}

/* -- parameters and notifications -------------------------------------------------------- */

static bool is_wakeup(APT_Command cmd)
{
    return cmd == APTCMD_WAKEUP || (cmd >= APTCMD_WAKEUP_EXIT && cmd <= APTCMD_WAKEUP_JUMPTOHOME) ||
           cmd == APTCMD_WAKEUP_LAUNCHAPP;
}

/* The next parameter: wait for the parameter event, then ReceiveParameter; a MESSAGE goes to
 * the message callback (libctru's aptReceiveParameter). */
static Result apt_receive(APT_Command *cmd, Handle *handle)
{
    svcWaitSynchronization(apt_events[1], WAIT_FOREVER);
    NS_APPID sender = APPID_NONE;
    size_t size = 0;
    Result res = APT_ReceiveParameter(envGetAptAppId(), apt_parameter, sizeof(apt_parameter), &sender, cmd, &size,
                                      handle);
    if (R_SUCCEEDED(res) && *cmd == APTCMD_MESSAGE && apt_message_callback != NULL)
        apt_message_callback(apt_message_param, sender, apt_parameter, size);
    return res;
}

/* libctru's aptWaitForWakeUp: NotifyToWait, then parameters until a WAKEUP command. */
static APT_Command apt_wait_for_wakeup(bool enabling)
{
    APT_Command cmd = APTCMD_NONE;
    APT_NotifyToWait(envGetAptAppId());
    apt_flags &= ~FLAG_ACTIVE;
    if (!enabling)
        APT_SleepIfShellClosed();
    for (;;) {
        if (R_SUCCEEDED(apt_receive(&cmd, NULL)) && is_wakeup(cmd))
            break;
    }
    apt_flags |= FLAG_ACTIVE;
    if (cmd != APTCMD_WAKEUP && cmd != APTCMD_WAKEUP_CANCEL) {
        if (gspGpuGetSessionHandle() != 0)
            GSPGPU_AcquireRight(0);
        apt_call_hooks(APTHOOK_ONRESTORE);
    }
    if (cmd == APTCMD_WAKEUP_CANCEL)
        apt_flags |= FLAG_CANCELLED;
    if (cmd != APTCMD_WAKEUP_JUMPTOHOME) {
        APT_UnlockTransition(TR_ENABLE_UNLOCK);
        APT_SleepIfShellClosed();
    } else {
        apt_flags |= FLAG_SHOULDHOME;
        apt_home_button = 1;
    }
    if (!enabling && cmd != APTCMD_WAKEUP_JUMPTOHOME)
        apt_clear_jump_to_home();
    return cmd;
}

/* What libctru's event thread does with one notification. */
static void apt_signal(APT_Signal signal)
{
    if (apt_signal_hook != NULL)
        apt_signal_hook(signal, apt_signal_param);
    switch (signal) {
    case APTSIGNAL_HOMEBUTTON:
    case APTSIGNAL_HOMEBUTTON2:
        if (!aptIsActive())
            break;
        if (!aptIsHomeAllowed()) {
            apt_flags |= FLAG_HOMEREJECTED;
            apt_clear_jump_to_home();
        } else if (apt_home_button == 0) {
            apt_home_button = signal == APTSIGNAL_HOMEBUTTON ? 1 : 2;
        }
        break;
    case APTSIGNAL_SLEEP_QUERY:
        APT_ReplySleepQuery(envGetAptAppId(), aptShouldClose() ? APTREPLY_REJECT : APTREPLY_ACCEPT);
        break;
    case APTSIGNAL_SHUTDOWN:
        apt_flags |= FLAG_ORDERTOCLOSE | FLAG_SHUTDOWN;
        break;
    case APTSIGNAL_POWERBUTTON:
        apt_flags |= FLAG_POWERBUTTON;
        break;
    case APTSIGNAL_POWERBUTTON2:
        apt_flags &= ~FLAG_POWERBUTTON;
        break;
    case APTSIGNAL_ORDERTOCLOSE:
        apt_flags |= FLAG_ORDERTOCLOSE;
        break;
    default:
        break;
    }
}

/* Everything pending on the two events, without waiting. */
static void apt_poll(void)
{
    for (;;) {
        s32 index = -1;
        Result res = svcWaitSynchronizationN(&index, apt_events, 2, false, 0);
        if (res != RESULT_SUCCESS)
            return; /* RESULT_TIMEOUT: nothing pending */
        if (index == 1) {
            /* A parameter outside a wake-up wait (a MESSAGE, say): nobody here wants it. */
            APT_Command cmd;
            APT_ReceiveParameter(envGetAptAppId(), apt_parameter, sizeof(apt_parameter), NULL, &cmd, NULL, NULL);
            continue;
        }
        APT_Signal signal = APTSIGNAL_NONE;
        if (R_SUCCEEDED(APT_InquireNotification(envGetAptAppId(), &signal)) && signal != APTSIGNAL_NONE)
            apt_signal(signal);
    }
}

/* -- HOME menu, main loop, start and exit ------------------------------------------------ */

/* libctru's aptCaptureBufInfo, filled for two BGR8 screens (libctru reads the formats from
 * GSP; the stand-in HOME menu does not look at them). */
typedef struct {
    u32 size;
    u32 is3D;
    struct {
        u32 leftOffset, rightOffset, format;
    } top, bottom;
} apt_capture_info;

/* libctru's aptScreenTransfer: wait until `appId` is registered, send it the capture request
 * (SYSAPPLET_REQUEST to a system applet, REQUEST to a library applet), wait for its RESPONSE,
 * then SendCaptureBufferInfo. A library applet's capture block would be filled with the
 * screens here; hlemu's applets give none. */
static void apt_screen_transfer(NS_APPID appId, bool sysApplet)
{
    bool registered = false;
    while (R_FAILED(APT_IsRegistered(appId, &registered)) || !registered)
        svcSleepThread(10000000);
    const u32 bpp = 3;
    apt_capture_info info = {
        .size = bpp * 0x7000 + bpp * 0x19000 + bpp * 0x14000,
        .is3D = 0,
        .top = {bpp * 0x14000, bpp * 0x14000, GSP_BGR8_OES},
        .bottom = {0, 0, GSP_BGR8_OES},
    };
    while (R_FAILED(APT_SendParameter(envGetAptAppId(), appId, sysApplet ? APTCMD_SYSAPPLET_REQUEST : APTCMD_REQUEST,
                                      &info, sizeof(info), 0)))
        svcSleepThread(10000000);
    for (;;) {
        APT_Command cmd = APTCMD_NONE;
        Handle block = 0;
        Result res = apt_receive(&cmd, &block);
        if (block != 0)
            svcCloseHandle(block);
        if (R_SUCCEEDED(res) && cmd == APTCMD_RESPONSE)
            break;
    }
    APT_SendCaptureBufferInfo(&info, sizeof(info));
}

void aptJumpToHomeMenu(void)
{
    apt_flags &= ~FLAG_SHOULDHOME;
    APT_PrepareToJumpToHomeMenu();
    apt_call_hooks(APTHOOK_ONSUSPEND);
    apt_screen_transfer(APPID_HOMEMENU, true);
    if (gspGpuGetSessionHandle() != 0)
        GSPGPU_ReleaseRight();
    APT_JumpToHomeMenu(NULL, 0, 0);
    apt_flags &= ~FLAG_ACTIVE;
    apt_wait_for_wakeup(false);
}

void aptSetMessageCallback(aptMessageCb callback, void *user)
{
    apt_message_callback = callback;
    apt_message_param = user;
}

/* libctru's aptLaunchLibraryApplet, less its GSP VRAM save/restore: prepare, the capture
 * exchange, give up the GPU, start, wait for the applet's wake-up, copy its answer back. */
void aptLaunchLibraryApplet(NS_APPID appId, void *buf, size_t bufsize, Handle handle)
{
    APT_PrepareToStartLibraryApplet(appId);
    apt_call_hooks(APTHOOK_ONSUSPEND);
    apt_screen_transfer(appId, false);
    if (gspGpuGetSessionHandle() != 0)
        GSPGPU_ReleaseRight();
    APT_StartLibraryApplet(appId, buf, bufsize, handle);
    apt_flags &= ~FLAG_ACTIVE;
    apt_wait_for_wakeup(false);
    memcpy(buf, apt_parameter, bufsize);
}

bool aptMainLoop(void)
{
    apt_poll();
    if (aptShouldJumpToHome() && !aptShouldClose())
        aptJumpToHomeMenu();
    apt_poll(); /* what the HOME menu sent while we were away (POWER: SHUTDOWN) */
    return !aptShouldClose();
}

Result aptInit(void)
{
    if (apt_refcount++ > 0)
        return RESULT_SUCCESS;
    Result res = srvInit();
    if (R_SUCCEEDED(res))
        res = APT_GetLockHandle(0, &apt_lock);
    APT_AppletAttr attr = aptMakeAppletAttr(APTPOS_APP, false, false);
    if (R_SUCCEEDED(res))
        res = APT_Initialize(envGetAptAppId(), attr, &apt_events[0], &apt_events[1]);
    /* Sleep and HOME allowed, as libctru sets them outside safe mode. */
    apt_flags = FLAG_ALLOWSLEEP | FLAG_ALLOWHOME;
    if (R_SUCCEEDED(res))
        res = APT_Enable(attr);
    if (R_FAILED(res)) {
        aptExit();
        apt_refcount = 0;
        return res;
    }
    apt_wait_for_wakeup(true);
    return RESULT_SUCCESS;
}

void aptExit(void)
{
    if (apt_refcount > 1) {
        apt_refcount--;
        return;
    }
    apt_refcount = 0;
    if (apt_events[0] != 0) {
        if (aptShouldClose())
            apt_call_hooks(APTHOOK_ONEXIT);
        APT_PrepareToCloseApplication(true);
        APT_CloseApplication(NULL, 0, 0);
    }
    for (int i = 0; i < 2; i++) {
        if (apt_events[i] != 0)
            svcCloseHandle(apt_events[i]);
        apt_events[i] = 0;
    }
    if (apt_lock != 0)
        svcCloseHandle(apt_lock);
    apt_lock = 0;
    srvExit();
}
