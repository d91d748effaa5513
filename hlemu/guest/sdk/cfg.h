/*
 * cfg.h - a client of the config service (cfg:i, cfg:s or cfg:u), after libctru's
 * <3ds/services/cfgu.h> and source/services/cfgu.c, with 3dbrew "Config Services" and
 * "Config Savegame" (the block ids and layouts).
 *
 * Commands (every reply has [1]=result):
 *   GetConfigInfoBlk2       0x00010082  [1]=size, [2]=block id, [3..4]=buffer (W)
 *   SecureInfoGetRegion     0x00020000  -> [2]=region (CFG_Region)
 *   GenHashConsoleUnique    0x00030040  [1]=salt -> [2..3]=hash
 *   GetRegionCanadaUSA      0x00040000  -> [2]=1 for a USA console set to the US or Canada
 *   GetSystemModel          0x00050000  -> [2]=model (CFG_SystemModel)
 *   GetModelNintendo2DS     0x00060000  -> [2]=0 for a 2DS
 *   GetCountryCodeString    0x00090040  [1]=country id -> [2]=two letters (low byte first)
 *
 * Blocks read through GetConfigInfoBlk2 (size, layout):
 *   0x000A0000  0x1C  user name: 10 UTF-16 units (NUL-padded), then a word and the NG-word flag
 *   0x000A0001  2     birthday: month, day
 *   0x000A0002  1     language (CFG_Language)
 *   0x000B0000  4     country info: 2 bytes, state/province, country id
 */
#ifndef HLEMU_CFG_H
#define HLEMU_CFG_H

#include "hlemu.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CFG_REGION_JPN = 0,
    CFG_REGION_USA = 1,
    CFG_REGION_EUR = 2,
    CFG_REGION_AUS = 3,
    CFG_REGION_CHN = 4,
    CFG_REGION_KOR = 5,
    CFG_REGION_TWN = 6,
} CFG_Region;

typedef enum {
    CFG_LANGUAGE_JP = 0,
    CFG_LANGUAGE_EN = 1,
    CFG_LANGUAGE_FR = 2,
    CFG_LANGUAGE_DE = 3,
    CFG_LANGUAGE_IT = 4,
    CFG_LANGUAGE_ES = 5,
    CFG_LANGUAGE_ZH = 6,
    CFG_LANGUAGE_KO = 7,
    CFG_LANGUAGE_NL = 8,
    CFG_LANGUAGE_PT = 9,
    CFG_LANGUAGE_RU = 10,
    CFG_LANGUAGE_TW = 11,
} CFG_Language;

typedef enum {
    CFG_MODEL_3DS = 0,
    CFG_MODEL_3DSXL = 1,
    CFG_MODEL_N3DS = 2,
    CFG_MODEL_2DS = 3,
    CFG_MODEL_N3DSXL = 4,
    CFG_MODEL_N2DSXL = 5,
} CFG_SystemModel;

/* The first of cfg:i, cfg:s, cfg:u that srv: gives (libctru's order). Reference-counted. */
Result cfguInit(void);
void cfguExit(void);

Result CFGU_SecureInfoGetRegion(u8 *region);
Result CFGU_GenHashConsoleUnique(u32 appIDSalt, u64 *hash);
Result CFGU_GetRegionCanadaUSA(u8 *value);
Result CFGU_GetSystemModel(u8 *model);
Result CFGU_GetModelNintendo2DS(u8 *value);
Result CFGU_GetCountryCodeString(u16 code, u16 *string);
Result CFGU_GetConfigInfoBlk2(u32 size, u32 blkID, void *outData);
/* Block 0x000A0002, one byte. */
Result CFGU_GetSystemLanguage(u8 *language);

#ifdef __cplusplus
}
#endif

#endif /* HLEMU_CFG_H */
