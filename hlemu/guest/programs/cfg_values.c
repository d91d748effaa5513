/*
 * cfg_values - what the console says about itself, through cfg (the first of cfg:i, cfg:s,
 * cfg:u), ptm:u, ptm:sysm and APT, with libctru's requests (the SDK's cfg.c, ptm.c, apt.c;
 * commands in their headers).
 *
 * Prints the language, region, model, user name, birthday, country, the console-unique hash
 * for one salt, the battery level, charging and adapter state, the shell state, the pedometer,
 * and whether APT says New 3DS; ConfigureNew3DSCPU(0) as libctru's start-up makes it. Every
 * value comes from kernel.cfg.settings (ConsoleSettings) and kernel.ptm.state (PowerState),
 * so a test can set them (tests/guest/test_service_programs.py). With the defaults:
 *
 *   cfg_values: start
 *   language: 1 (en)
 *   region: 1 (USA)
 *   model: 0 (3DS), 2DS flag 1
 *   username: hlemu
 *   birthday: 1/1
 *   country: 49 (US), state 2, Canada/USA 1
 *   ...
 *   cfg_values: 0 failures
 *
 * Exit status: the number of failed requests.
 */

#include <stdio.h>

#include "apt.h"
#include "cfg.h"
#include "check.h"
#include "ptm.h"
#include "srv.h"

static const char *pick(const char *const *names, unsigned count, unsigned value)
{
    return value < count ? names[value] : "?";
}

#define PICK(names, value) pick(names, sizeof(names) / sizeof(names[0]), value)

static bool ok(Result res, const char *what)
{
    if (R_FAILED(res)) {
        printf("%s failed: 0x%08lx\n", what, (unsigned long)res);
        check_failures++;
    }
    return R_SUCCEEDED(res);
}

static void config(void)
{
    static const char *const languages[] = {"ja", "en", "fr", "de", "it", "es", "zh", "ko", "nl", "pt", "ru", "tw"};
    static const char *const regions[] = {"JPN", "USA", "EUR", "AUS", "CHN", "KOR", "TWN"};
    static const char *const models[] = {"3DS", "3DS XL", "New 3DS", "2DS", "New 3DS XL", "New 2DS XL"};
    u8 value = 0, flag = 0;
    if (ok(CFGU_GetSystemLanguage(&value), "GetSystemLanguage"))
        printf("language: %u (%s)\n", value, PICK(languages, value));
    if (ok(CFGU_SecureInfoGetRegion(&value), "SecureInfoGetRegion"))
        printf("region: %u (%s)\n", value, PICK(regions, value));
    if (ok(CFGU_GetSystemModel(&value), "GetSystemModel") && ok(CFGU_GetModelNintendo2DS(&flag), "GetModelNintendo2DS"))
        printf("model: %u (%s), 2DS flag %u\n", value, PICK(models, value), flag);

    /* Block 0xA0000: the user name, 10 UTF-16 units. */
    u16 name[0x1C / 2] = {0};
    if (ok(CFGU_GetConfigInfoBlk2(0x1C, 0x000A0000, name), "GetConfigInfoBlk2(0xA0000)")) {
        char text[11];
        int i = 0;
        for (; i < 10 && name[i] != 0; i++)
            text[i] = name[i] < 0x80 ? (char)name[i] : '?';
        text[i] = '\0';
        printf("username: %s\n", text);
    }
    u8 birthday[2] = {0, 0};
    if (ok(CFGU_GetConfigInfoBlk2(2, 0x000A0001, birthday), "GetConfigInfoBlk2(0xA0001)"))
        printf("birthday: %u/%u\n", birthday[0], birthday[1]);
    u8 country[4] = {0};
    u16 letters = 0;
    if (ok(CFGU_GetConfigInfoBlk2(4, 0x000B0000, country), "GetConfigInfoBlk2(0xB0000)") &&
        ok(CFGU_GetCountryCodeString(country[3], &letters), "GetCountryCodeString") &&
        ok(CFGU_GetRegionCanadaUSA(&flag), "GetRegionCanadaUSA"))
        printf("country: %u (%c%c), state %u, Canada/USA %u\n", country[3], letters & 0xFF, letters >> 8, country[2],
               flag);
    u64 hash = 0;
    if (ok(CFGU_GenHashConsoleUnique(0x12345, &hash), "GenHashConsoleUnique"))
        printf("console hash (salt 0x12345): 0x%08lx%08lx\n", (unsigned long)(hash >> 32), (unsigned long)hash);
    /* A block with the wrong size is refused (Citra's CFG INVALID_SIZE). */
    Result res = CFGU_GetConfigInfoBlk2(1, 0x000A0001, birthday);
    printf("birthday block with size 1: 0x%08lx\n", (unsigned long)res);
}

static void power(void)
{
    u8 value = 0;
    bool adapter = false;
    u32 steps = 0;
    if (ok(PTMU_GetBatteryLevel(&value), "GetBatteryLevel"))
        printf("battery level: %u of 5\n", value);
    if (ok(PTMU_GetBatteryChargeState(&value), "GetBatteryChargeState"))
        printf("charging: %u\n", value);
    if (ok(PTMU_GetAdapterState(&adapter), "GetAdapterState"))
        printf("adapter: %u\n", adapter);
    if (ok(PTMU_GetShellState(&value), "GetShellState"))
        printf("shell open: %u\n", value);
    if (ok(PTMU_GetPedometerState(&value), "GetPedometerState") && ok(PTMU_GetTotalStepCount(&steps), "GetTotalStepCount"))
        printf("pedometer: counting %u, %lu steps\n", value, (unsigned long)steps);
}

int main(void)
{
    printf("cfg_values: start\n");
    ok(srvInit(), "srvInit"); /* as libctru's start-up does, for APT's per-command sessions */
    if (ok(cfguInit(), "cfguInit")) {
        config();
        cfguExit();
    }
    if (ok(ptmuInit(), "ptmuInit")) {
        power();
        ptmuExit();
    }
    if (ok(ptmSysmInit(), "ptmSysmInit")) {
        Result res = PTMSYSM_ConfigureNew3DSCPU(0);
        ok(res, "ConfigureNew3DSCPU");
        printf("ConfigureNew3DSCPU(0): 0x%08lx\n", (unsigned long)res);
        ptmSysmExit();
    }
    bool new3ds = true;
    if (ok(APT_CheckNew3DS(&new3ds), "APT_CheckNew3DS"))
        printf("new 3ds: %s\n", new3ds ? "yes" : "no");
    srvExit();
    printf("cfg_values: %d failures\n", check_failures);
    return check_failures;
}
