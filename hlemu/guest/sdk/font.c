/*
 * font.c - the shared system font (see font.h): APT_GetSharedFont, the libctru-style mapping
 * and the CMAP / CWDH / TGLP lookups, written from libctru's documented behaviour.
 */

#include "font.h"

#include "apt.h"
#include "ipc.h"

#define ALREADY_MAPPED ((Result)0xE0A01BF5) /* MapMemoryBlock: the range is in use */
#define NO_GLYPH 0xFFFF

static CFNT_s *shared_font;

Result APT_GetSharedFont(Handle *fontHandle, u32 *mapAddr)
{
    u32 cmd[16] = {IPC_MakeHeader(0x44, 0, 0)};
    Result res = aptSendCommand(cmd);
    if (R_SUCCEEDED(res)) {
        if (mapAddr)
            *mapAddr = cmd[2];
        if (fontHandle)
            *fontHandle = cmd[4];
    }
    return res;
}

Result fontEnsureMapped(void)
{
    if (shared_font)
        return 0;
    Handle handle = 0;
    u32 addr = 0;
    Result res = APT_GetSharedFont(&handle, &addr);
    if (R_FAILED(res))
        return res;
    res = svcMapMemoryBlock(handle, 0, MEMPERM_READ, MEMPERM_DONTCARE);
    svcCloseHandle(handle);
    if (R_FAILED(res) && res != ALREADY_MAPPED)
        return res;
    shared_font = (CFNT_s *)(addr + 0x80);
    return 0;
}

CFNT_s *fontGetSystemFont(void)
{
    return shared_font;
}

void fontUseSharedFont(CFNT_s *font)
{
    shared_font = font;
}

#define MOVED(p, delta) ((void *)((u32)(p) + (u32)(delta)))

void fontRebase(CFNT_s *font, s32 delta)
{
    FINF_s *finf = &font->finf;
    finf->tglp = MOVED(finf->tglp, delta);
    finf->tglp->sheetData = MOVED(finf->tglp->sheetData, delta);
    finf->cmap = MOVED(finf->cmap, delta);
    for (CMAP_s *cmap = finf->cmap; cmap->next; cmap = cmap->next)
        cmap->next = MOVED(cmap->next, delta);
    finf->cwdh = MOVED(finf->cwdh, delta);
    for (CWDH_s *cwdh = finf->cwdh; cwdh->next; cwdh = cwdh->next)
        cwdh->next = MOVED(cwdh->next, delta);
}

void fontFixPointers(CFNT_s *font)
{
    fontRebase(font, (s32)(u32)font);
}

static CFNT_s *or_system(CFNT_s *font)
{
    return font ? font : shared_font;
}

int fontGlyphIndexFromCodePoint(CFNT_s *font, u32 codePoint)
{
    font = or_system(font);
    if (!font)
        return -1;
    int index = NO_GLYPH;
    for (CMAP_s *cmap = font->finf.cmap; cmap && codePoint < 0x10000; cmap = cmap->next) {
        if (codePoint < cmap->codeBegin || codePoint > cmap->codeEnd)
            continue;
        if (cmap->mappingMethod == CMAP_TYPE_DIRECT) {
            index = cmap->indexOffset + (int)(codePoint - cmap->codeBegin);
            break;
        }
        if (cmap->mappingMethod == CMAP_TYPE_TABLE) {
            index = cmap->indexTable[codePoint - cmap->codeBegin]; /* 0xFFFF: not in the font */
            break;
        }
        int i = 0; /* a scan list: a code missing from it may still be in a later map */
        while (i < cmap->nScanEntries && cmap->scanEntries[i].code != codePoint)
            i++;
        if (i < cmap->nScanEntries) {
            index = cmap->scanEntries[i].glyphIndex;
            break;
        }
    }
    if (index == NO_GLYPH)
        return font->finf.alterCharIndex == NO_GLYPH ? -1 : font->finf.alterCharIndex;
    return index;
}

charWidthInfo_s *fontGetCharWidthInfo(CFNT_s *font, int glyphIndex)
{
    font = or_system(font);
    if (!font)
        return NULL;
    for (CWDH_s *cwdh = font->finf.cwdh; cwdh; cwdh = cwdh->next)
        if (glyphIndex >= cwdh->startIndex && glyphIndex <= cwdh->endIndex)
            return &cwdh->widths[glyphIndex - cwdh->startIndex];
    return &font->finf.defaultWidth;
}

void fontCalcGlyphPos(fontGlyphPos_s *out, CFNT_s *font, int glyphIndex, u32 flags, float scaleX, float scaleY)
{
    font = or_system(font);
    if (!font)
        return;
    TGLP_s *tglp = font->finf.tglp;
    charWidthInfo_s *widths = fontGetCharWidthInfo(font, glyphIndex);
    int per_sheet = tglp->nRows * tglp->nLines;
    int within = glyphIndex % per_sheet;
    int line = within / tglp->nRows, column = within % tglp->nRows;
    out->sheetIndex = glyphIndex / per_sheet;
    out->xOffset = scaleX * widths->left;
    out->xAdvance = scaleX * widths->charWidth;
    out->width = scaleX * widths->glyphWidth;
    /* cells have a one-texel gap before them; t = 1 is the sheet's top row */
    float left = (float)(column * (tglp->cellWidth + 1) + 1) / tglp->sheetWidth;
    float top = 1.0f - (float)(line * (tglp->cellHeight + 1) + 1) / tglp->sheetHeight;
    out->texcoord.left = left;
    out->texcoord.top = top;
    out->texcoord.right = left + (float)widths->glyphWidth / tglp->sheetWidth;
    out->texcoord.bottom = top - (float)tglp->cellHeight / tglp->sheetHeight;
    if (!(flags & GLYPH_POS_CALC_VTXCOORD))
        return;
    float x = out->xOffset, w = out->width, h = scaleY * tglp->cellHeight;
    float y = (flags & GLYPH_POS_AT_BASELINE) ? scaleY * tglp->baselinePos : 0.0f;
    out->vtxcoord.left = x;
    out->vtxcoord.right = x + w;
    if (flags & GLYPH_POS_Y_POINTS_UP) {
        out->vtxcoord.top = y;
        out->vtxcoord.bottom = y - h;
    } else {
        out->vtxcoord.top = -y;
        out->vtxcoord.bottom = h - y;
    }
}
