/*
 * font.h - the shared system font, after libctru's <3ds/font.h> (same structs, same names),
 * with 3dbrew "System Font" and "NS and APT Services" (APT:GetSharedFont, 0x00440000).
 *
 * APT_GetSharedFont gives a handle to a memory block and the address it belongs at: a
 * 0x80-byte header (status, region, font size), then a BCFNT whose every pointer is already
 * an address in that block (NS relocated it when it loaded the font), magic "CFNU".
 * fontEnsureMapped maps it the way libctru does: MapMemoryBlock(handle, 0, READ, DONTCARE),
 * address 0 meaning "where the kernel placed it", taking 0xE0A01BF5 (already mapped) as
 * success; the font is then at that address + 0x80.
 *
 * The lookups are libctru's algorithm: fontGlyphIndexFromCodePoint walks the CMAP chain
 * (direct, table, scan), falling back to the font's replacement glyph; fontGetCharWidthInfo
 * walks the CWDH chain; fontCalcGlyphPos gives the glyph's sheet, texture coordinates (t = 1
 * the top row of the sheet) and, on request, vertex coordinates.
 */
#ifndef HLEMU_FONT_H
#define HLEMU_FONT_H

#include "hlemu.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    s8 left;       /* where the ink starts, from the pen */
    u8 glyphWidth; /* the ink's width */
    u8 charWidth;  /* the advance */
} charWidthInfo_s;

typedef struct {
    u8 cellWidth;
    u8 cellHeight;
    u8 baselinePos;
    u8 maxCharWidth;
    u32 sheetSize; /* bytes a sheet */
    u16 nSheets;
    u16 sheetFmt; /* GPU texture format: 0xB, A4 */
    u16 nRows;    /* glyphs a row */
    u16 nLines;   /* rows a sheet */
    u16 sheetWidth;
    u16 sheetHeight;
    u8 *sheetData;
} TGLP_s;

typedef struct tag_CWDH_s CWDH_s;
struct tag_CWDH_s {
    u16 startIndex;
    u16 endIndex;
    CWDH_s *next;
    charWidthInfo_s widths[0];
};

enum {
    CMAP_TYPE_DIRECT = 0,
    CMAP_TYPE_TABLE = 1,
    CMAP_TYPE_SCAN = 2,
};

typedef struct tag_CMAP_s CMAP_s;
struct tag_CMAP_s {
    u16 codeBegin;
    u16 codeEnd;
    u16 mappingMethod;
    u16 reserved;
    CMAP_s *next;
    union {
        u16 indexOffset;
        u16 indexTable[0];
        struct {
            u16 nScanEntries;
            struct {
                u16 code;
                u16 glyphIndex;
            } scanEntries[0];
        };
    };
};

typedef struct {
    u32 signature; /* "FINF" */
    u32 sectionSize;
    u8 fontType;
    u8 lineFeed;
    u16 alterCharIndex;
    charWidthInfo_s defaultWidth;
    u8 encoding;
    TGLP_s *tglp;
    CWDH_s *cwdh;
    CMAP_s *cmap;
    u8 height;
    u8 width;
    u8 ascent;
    u8 padding;
} FINF_s;

typedef struct {
    u32 signature; /* "CFNU" in shared memory ("CFNT" in a file) */
    u16 endianness;
    u16 headerSize;
    u32 version;
    u32 fileSize;
    u32 nBlocks;
    FINF_s finf;
} CFNT_s;

typedef struct {
    int sheetIndex;
    float xOffset;
    float xAdvance;
    float width;
    struct {
        float left, top, right, bottom;
    } texcoord;
    struct {
        float left, top, right, bottom;
    } vtxcoord;
} fontGlyphPos_s;

enum {
    GLYPH_POS_CALC_VTXCOORD = 1 << 0,
    GLYPH_POS_AT_BASELINE = 1 << 1,
    GLYPH_POS_Y_POINTS_UP = 1 << 2,
};

/* APT:GetSharedFont -> the block's handle and the address it must be mapped at. */
Result APT_GetSharedFont(Handle *fontHandle, u32 *mapAddr);

/* Map the shared font as libctru does (see above); 0 once it is mapped. */
Result fontEnsureMapped(void);
/* The shared font (NULL until fontEnsureMapped succeeded, or fontUseSharedFont was called). */
CFNT_s *fontGetSystemFont(void);
/* hlemu addition: use `font` as the system font (a copy a program rebased itself). */
void fontUseSharedFont(CFNT_s *font);

/* libctru's: turn a loaded font's offsets into pointers (never for the shared font). */
void fontFixPointers(CFNT_s *font);
/* hlemu addition: add `delta` to every pointer of `font` (a copy of a relocated font). */
void fontRebase(CFNT_s *font, s32 delta);

int fontGlyphIndexFromCodePoint(CFNT_s *font, u32 codePoint);
charWidthInfo_s *fontGetCharWidthInfo(CFNT_s *font, int glyphIndex);
void fontCalcGlyphPos(fontGlyphPos_s *out, CFNT_s *font, int glyphIndex, u32 flags, float scaleX, float scaleY);

static inline void *fontGetGlyphSheetTex(CFNT_s *font, int sheetIndex)
{
    TGLP_s *tglp = font->finf.tglp;
    return &tglp->sheetData[sheetIndex * tglp->sheetSize];
}

#ifdef __cplusplus
}
#endif

#endif /* HLEMU_FONT_H */
