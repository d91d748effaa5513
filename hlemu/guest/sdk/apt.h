/*
 * apt.h - a client of the applet manager (APT:S / APT:A / APT:U), after libctru's
 * <3ds/services/apt.h> and source/services/apt.c, with 3dbrew "NS and APT Services".
 *
 * Commands (request header -> reply words; every reply has [1]=result):
 *
 *   GetLockHandle               0x00010040  [1]=flags -> [2]=attributes, [3]=state, [5]=lock mutex
 *   Initialize                  0x00020080  [1]=app id, [2]=attributes
 *                                            -> [3]=notification event, [4]=parameter (resume) event
 *   Enable                      0x00030040  [1]=attributes
 *   IsRegistered                0x00090040  [1]=app id -> [2]=registered
 *   InquireNotification         0x000B0040  [1]=app id -> [2]=signal (APT_Signal)
 *   SendParameter               0x000C0104  [1]=source, [2]=destination, [3]=command, [4]=size,
 *                                            [5..6]=handle, [7..8]=static buffer 0 (the data)
 *   ReceiveParameter            0x000D0080  [1]=app id, [2]=buffer size (static buffer 0 set up
 *   GlanceParameter             0x000E0080   in TLS) -> [2]=sender, [3]=command, [4]=actual size,
 *                                            [5..6]=moved handle
 *   PrepareToCloseApplication   0x00220040  [1]=cancel preload
 *   CloseApplication            0x00270044  [1]=size, [2..3]=handle, [4..5]=static buffer 0
 *   PrepareToJumpToHomeMenu     0x002B0000
 *   JumpToHomeMenu              0x002C0044  as CloseApplication
 *   ReplySleepQuery             0x003E0080  [1]=app id, [2]=reply
 *   SendCaptureBufferInfo       0x00400042  [1]=size, [2..3]=static buffer 0
 *   NotifyToWait                0x00430040  [1]=app id
 *   AppletUtility               0x004B00C2  [1]=id, [2]=input size, [3]=output size,
 *                                            [4..5]=input (static 1); output in static buffer 0
 *                                            -> [2]=the utility's own result
 *   PrepareToStartLibraryApplet 0x00180040  [1]=app id
 *   StartLibraryApplet          0x001E0084  [1]=app id, [2]=size, [3..4]=handle (the applet's
 *                                            memory block), [5..6]=static buffer 0 (the parameter)
 *   CheckNew3DS                 0x01020000  -> [2]=1 on a New 3DS
 *
 * As libctru's aptSendCommand does, every command takes the APT lock mutex, opens a new
 * session to the first of APT:S, APT:A, APT:U that srv: gives, sends, and closes it.
 *
 * Unlike libctru, there is no APT event thread (the SDK's newlib is single-threaded): the
 * notification and parameter events are polled by aptMainLoop() in the caller's thread, so
 * notifications are handled once per main-loop iteration. The state machine is libctru's:
 * HOME (if allowed) jumps to the HOME menu and waits for its wake-up parameter; POWER does the
 * same, and the HOME menu then sends SHUTDOWN; SHUTDOWN and ORDERTOCLOSE make aptMainLoop()
 * return false.
 */
#ifndef HLEMU_APT_H
#define HLEMU_APT_H

#include "hlemu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* NS application ids (libctru NS_APPID; only the ones this SDK names). */
typedef enum {
    APPID_NONE = 0,
    APPID_HOMEMENU = 0x101,
    APPID_APPLICATION = 0x300,
    APPID_SOFTWARE_KEYBOARD = 0x401,
} NS_APPID;

/* Applet position and attributes (libctru aptMakeAppletAttr). */
typedef u8 APT_AppletAttr;
#define APTPOS_APP 0
static inline APT_AppletAttr aptMakeAppletAttr(int pos, bool manualGpuRights, bool manualDspRights)
{
    return (APT_AppletAttr)((pos & 7) | (manualGpuRights ? 1u << 3 : 0) | (manualDspRights ? 1u << 4 : 0));
}

typedef enum {
    APTREPLY_REJECT = 0,
    APTREPLY_ACCEPT = 1,
    APTREPLY_LATER = 2,
} APT_QueryReply;

/* Notifications (InquireNotification). */
typedef enum {
    APTSIGNAL_NONE = 0,
    APTSIGNAL_HOMEBUTTON = 1,
    APTSIGNAL_HOMEBUTTON2 = 2,
    APTSIGNAL_SLEEP_QUERY = 3,
    APTSIGNAL_SLEEP_CANCEL = 4,
    APTSIGNAL_SLEEP_ENTER = 5,
    APTSIGNAL_SLEEP_WAKEUP = 6,
    APTSIGNAL_SHUTDOWN = 7,
    APTSIGNAL_POWERBUTTON = 8,
    APTSIGNAL_POWERBUTTON2 = 9,
    APTSIGNAL_TRY_SLEEP = 10,
    APTSIGNAL_ORDERTOCLOSE = 11,
} APT_Signal;

/* Parameter commands (Send/Receive/GlanceParameter). */
typedef enum {
    APTCMD_NONE = 0,
    APTCMD_WAKEUP = 1,
    APTCMD_REQUEST = 2,
    APTCMD_RESPONSE = 3,
    APTCMD_EXIT = 4,
    APTCMD_MESSAGE = 5,
    APTCMD_HOMEBUTTON_ONCE = 6,
    APTCMD_HOMEBUTTON_TWICE = 7,
    APTCMD_DSP_SLEEP = 8,
    APTCMD_DSP_WAKEUP = 9,
    APTCMD_WAKEUP_EXIT = 10,
    APTCMD_WAKEUP_PAUSE = 11,
    APTCMD_WAKEUP_CANCEL = 12,
    APTCMD_WAKEUP_CANCELALL = 13,
    APTCMD_WAKEUP_POWERBUTTON = 14,
    APTCMD_WAKEUP_JUMPTOHOME = 15,
    APTCMD_SYSAPPLET_REQUEST = 16,
    APTCMD_WAKEUP_LAUNCHAPP = 17,
} APT_Command;

/* aptHook callbacks (libctru APT_HookType). */
typedef enum {
    APTHOOK_ONSUSPEND = 0,
    APTHOOK_ONRESTORE,
    APTHOOK_ONSLEEP,
    APTHOOK_ONWAKEUP,
    APTHOOK_ONEXIT,
    APTHOOK_COUNT,
} APT_HookType;

typedef void (*aptHookFn)(APT_HookType hook, void *param);
typedef struct tag_aptHookCookie {
    struct tag_aptHookCookie *next;
    aptHookFn callback;
    void *param;
} aptHookCookie;

/* hlemu addition: called from aptMainLoop() with every notification it reads (libctru only
 * has a debug hook for this), so a program can show what the system told it. */
typedef void (*aptSignalFn)(APT_Signal signal, void *param);
void aptSetSignalHook(aptSignalFn callback, void *param);

/* GetLockHandle, Initialize, Enable, then the wake-up wait (NotifyToWait and
 * ReceiveParameter until a WAKEUP command). Reference-counted. */
Result aptInit(void);
/* PrepareToCloseApplication and CloseApplication (after the ONEXIT hooks when the system
 * asked us to close), then close the events and the lock. */
void aptExit(void);

/* Handle pending notifications (and a HOME/POWER jump); false once the application should
 * close (SHUTDOWN, ORDERTOCLOSE). */
bool aptMainLoop(void);
bool aptShouldClose(void);
bool aptIsActive(void);
bool aptIsHomeAllowed(void);
void aptSetHomeAllowed(bool allowed);
bool aptShouldJumpToHome(void);
/* True once after a HOME press that was refused because HOME is not allowed. */
bool aptCheckHomePressRejected(void);
/* The HOME menu round trip libctru makes: capture-buffer request, JumpToHomeMenu, wake-up. */
void aptJumpToHomeMenu(void);

/* Called with every MESSAGE parameter received while waiting (libctru's aptMessageCb; the
 * software keyboard's filter callback comes this way). */
typedef void (*aptMessageCb)(void *user, NS_APPID sender, void *msg, size_t msgsize);
void aptSetMessageCallback(aptMessageCb callback, void *user);
/* Start library applet `appId` with `buf` and `handle` and wait until it returns; its answer
 * is copied over `buf` (libctru's aptLaunchLibraryApplet). */
void aptLaunchLibraryApplet(NS_APPID appId, void *buf, size_t bufsize, Handle handle);

void aptHook(aptHookCookie *cookie, aptHookFn callback, void *param);
void aptUnhook(aptHookCookie *cookie);

/* The app id the launcher gave (crt0.S's __apt_appid; 0x300 unless changed). */
NS_APPID envGetAptAppId(void);

/* Send a command in `aptcmdbuf` (header first) the way every APT_ call does; the reply is
 * copied back into it. Returns the IPC result or the reply's result word. */
Result aptSendCommand(u32 *aptcmdbuf);

Result APT_GetLockHandle(u16 flags, Handle *lockHandle);
Result APT_Initialize(NS_APPID appId, APT_AppletAttr attr, Handle *signalEvent, Handle *resumeEvent);
Result APT_Enable(APT_AppletAttr attr);
Result APT_IsRegistered(NS_APPID appID, bool *out);
Result APT_InquireNotification(u32 appID, APT_Signal *signalType);
Result APT_NotifyToWait(NS_APPID appID);
Result APT_GlanceParameter(NS_APPID appID, void *buffer, size_t bufferSize, NS_APPID *sender, APT_Command *command,
                           size_t *actualSize, Handle *parameter);
Result APT_ReceiveParameter(NS_APPID appID, void *buffer, size_t bufferSize, NS_APPID *sender, APT_Command *command,
                            size_t *actualSize, Handle *parameter);
Result APT_SendParameter(NS_APPID source, NS_APPID dest, APT_Command command, const void *buffer, u32 bufferSize,
                         Handle parameter);
Result APT_SendCaptureBufferInfo(const void *captureBuf, u32 size);
Result APT_ReplySleepQuery(NS_APPID appID, APT_QueryReply reply);
Result APT_AppletUtility(int id, void *out, size_t outSize, const void *in, size_t inSize);
Result APT_SleepIfShellClosed(void);
Result APT_UnlockTransition(u32 transition);
Result APT_PrepareToJumpToHomeMenu(void);
Result APT_JumpToHomeMenu(const void *param, size_t paramSize, Handle handle);
Result APT_PrepareToCloseApplication(bool cancelPreload);
Result APT_CloseApplication(const void *param, size_t paramSize, Handle handle);
Result APT_CheckNew3DS(bool *out);
Result APT_PrepareToStartLibraryApplet(NS_APPID appID);
Result APT_StartLibraryApplet(NS_APPID appID, const void *param, size_t paramSize, Handle handle);

#ifdef __cplusplus
}
#endif

#endif /* HLEMU_APT_H */
