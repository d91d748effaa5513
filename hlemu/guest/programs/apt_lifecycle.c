/*
 * apt_lifecycle - an application's life under APT, as libctru's aptInit/aptMainLoop/aptExit
 * make it (the SDK's apt.c; commands in sdk/apt.h).
 *
 * aptInit: GetLockHandle, Initialize (-> notification and parameter events), Enable, then
 * NotifyToWait and ReceiveParameter until the HOME menu's WAKEUP. Then one main-loop
 * iteration per top-screen VBlank (gsp::Gpu) until aptMainLoop() returns false; every
 * notification aptMainLoop reads is printed, and so are the APT hooks it calls. HOME jumps
 * to the HOME menu (capture-buffer request, JumpToHomeMenu, wait for WAKEUP_PAUSE), which
 * sends the application back at once; POWER does the same and the HOME menu then says
 * SHUTDOWN; a close request (ORDERTOCLOSE) or SHUTDOWN ends the loop. aptExit:
 * PrepareToCloseApplication, CloseApplication. Exit status 0 (1 if a service is missing).
 *
 * With HOME pressed and then a close requested (tests/guest/test_service_programs.py):
 *
 *   apt_lifecycle: start
 *   aptInit: 0x00000000, app id 0x300, active yes
 *   new 3ds: no
 *   main loop: running
 *   signal: HOMEBUTTON (1)
 *   hook: ONSUSPEND
 *   hook: ONRESTORE
 *   main loop: back from the HOME menu, active yes
 *   signal: ORDERTOCLOSE (11)
 *   main loop: aptMainLoop() returned false (close requested: yes)
 *   hook: ONEXIT
 *   apt_lifecycle: exiting with 0
 */

#include <stdio.h>

#include "apt.h"
#include "gspgpu.h"

static const char *signal_name(APT_Signal signal)
{
    static const char *const names[] = {
        "NONE",     "HOMEBUTTON", "HOMEBUTTON2",  "SLEEP_QUERY", "SLEEP_CANCEL", "SLEEP_ENTER",
        "SLEEP_WAKEUP", "SHUTDOWN", "POWERBUTTON", "POWERBUTTON2", "TRY_SLEEP",  "ORDERTOCLOSE",
    };
    return (unsigned)signal < sizeof(names) / sizeof(names[0]) ? names[signal] : "?";
}

static void on_signal(APT_Signal signal, void *param)
{
    (void)param;
    printf("signal: %s (%d)\n", signal_name(signal), (int)signal);
}

static bool restored;

static void on_hook(APT_HookType hook, void *param)
{
    (void)param;
    static const char *const names[] = {"ONSUSPEND", "ONRESTORE", "ONSLEEP", "ONWAKEUP", "ONEXIT"};
    printf("hook: %s\n", (unsigned)hook < APTHOOK_COUNT ? names[hook] : "?");
    if (hook == APTHOOK_ONRESTORE)
        restored = true;
}

int main(void)
{
    printf("apt_lifecycle: start\n");
    Result res = gspGpuInit();
    if (R_FAILED(res)) {
        printf("gspGpuInit failed: 0x%08lx\n", (unsigned long)res);
        return 1;
    }
    res = aptInit();
    printf("aptInit: 0x%08lx, app id 0x%x, active %s\n", (unsigned long)res, (unsigned)envGetAptAppId(),
           aptIsActive() ? "yes" : "no");
    if (R_FAILED(res))
        return 1;
    bool new3ds = true;
    res = APT_CheckNew3DS(&new3ds);
    printf("new 3ds: %s\n", R_FAILED(res) ? "error" : new3ds ? "yes" : "no");

    aptHookCookie cookie;
    aptHook(&cookie, on_hook, NULL);
    aptSetSignalHook(on_signal, NULL);
    printf("main loop: running\n");
    while (aptMainLoop()) {
        if (restored) {
            restored = false;
            printf("main loop: back from the HOME menu, active %s\n", aptIsActive() ? "yes" : "no");
        }
        gspWaitForVBlank0(WAIT_FOREVER);
    }
    printf("main loop: aptMainLoop() returned false (close requested: %s)\n", aptShouldClose() ? "yes" : "no");
    aptExit();
    aptUnhook(&cookie);
    gspGpuExit();
    printf("apt_lifecycle: exiting with 0\n");
    return 0;
}
