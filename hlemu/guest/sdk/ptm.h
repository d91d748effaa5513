/*
 * ptm.h - clients of the power services ptm:u and ptm:sysm, after libctru's
 * <3ds/services/ptmu.h>, <3ds/services/ptmsysm.h> and their sources, with 3dbrew
 * "PTM Services".
 *
 * ptm:u commands (every reply has [1]=result, then [2]=the value):
 *   GetAdapterState        0x00050000  charger plugged in
 *   GetShellState          0x00060000  1 = shell open
 *   GetBatteryLevel        0x00070000  0 (empty) .. 5 (full)
 *   GetBatteryChargeState  0x00080000  1 = charging
 *   GetPedometerState      0x00090000  1 = counting
 *   GetTotalStepCount      0x000C0000  steps
 * ptm:sysm:
 *   ConfigureNew3DSCPU     0x08180040  [1]=value (bit 0: 804 MHz, bit 1: L2 cache)
 */
#ifndef HLEMU_PTM_H
#define HLEMU_PTM_H

#include "hlemu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* srv: session to ptm:u. Reference-counted. */
Result ptmuInit(void);
void ptmuExit(void);

Result PTMU_GetAdapterState(bool *out);
Result PTMU_GetShellState(u8 *out);
Result PTMU_GetBatteryLevel(u8 *out);
Result PTMU_GetBatteryChargeState(u8 *out);
Result PTMU_GetPedometerState(u8 *out);
Result PTMU_GetTotalStepCount(u32 *steps);

/* srv: session to ptm:sysm. Reference-counted. */
Result ptmSysmInit(void);
void ptmSysmExit(void);

Result PTMSYSM_ConfigureNew3DSCPU(u8 value);

#ifdef __cplusplus
}
#endif

#endif /* HLEMU_PTM_H */
