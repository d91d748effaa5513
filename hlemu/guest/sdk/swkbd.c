/*
 * swkbd.c - swkbdInputText and the state setters (see swkbd.h for the protocol).
 */

#include "swkbd.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "apt.h"

/* UTF-8 -> UTF-16, at most `max` units, then a NUL; returns the units written. Bytes that do
 * not start a valid sequence become U+FFFD. */
static size_t to_utf16(u16 *out, const char *in, size_t max)
{
    const u8 *s = (const u8 *)in;
    size_t n = 0;
    while (s != NULL && *s != 0 && n < max) {
        u32 cp = 0xFFFD;
        int extra = 0;
        if (*s < 0x80) {
            cp = *s;
        } else if ((*s & 0xE0) == 0xC0) {
            cp = *s & 0x1F, extra = 1;
        } else if ((*s & 0xF0) == 0xE0) {
            cp = *s & 0x0F, extra = 2;
        } else if ((*s & 0xF8) == 0xF0) {
            cp = *s & 0x07, extra = 3;
        }
        s++;
        for (; extra > 0 && (*s & 0xC0) == 0x80; extra--, s++)
            cp = (cp << 6) | (*s & 0x3F);
        if (extra > 0)
            cp = 0xFFFD;
        if (cp >= 0x10000) {
            if (n + 2 > max)
                break;
            cp -= 0x10000;
            out[n++] = (u16)(0xD800 | (cp >> 10));
            out[n++] = (u16)(0xDC00 | (cp & 0x3FF));
        } else {
            out[n++] = (u16)cp;
        }
    }
    out[n] = 0;
    return n;
}

/* UTF-16 (NUL-terminated) -> UTF-8, at most `max` bytes, then a NUL. */
static void to_utf8(char *out, const u16 *in, size_t max)
{
    size_t n = 0;
    for (; *in != 0; in++) {
        u32 cp = *in;
        if (cp >= 0xD800 && cp < 0xDC00 && in[1] >= 0xDC00 && in[1] < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (in[1] - 0xDC00);
            in++;
        }
        u8 bytes[4];
        int len;
        if (cp < 0x80) {
            bytes[0] = (u8)cp, len = 1;
        } else if (cp < 0x800) {
            bytes[0] = (u8)(0xC0 | (cp >> 6)), bytes[1] = (u8)(0x80 | (cp & 0x3F)), len = 2;
        } else if (cp < 0x10000) {
            bytes[0] = (u8)(0xE0 | (cp >> 12)), bytes[1] = (u8)(0x80 | ((cp >> 6) & 0x3F));
            bytes[2] = (u8)(0x80 | (cp & 0x3F)), len = 3;
        } else {
            bytes[0] = (u8)(0xF0 | (cp >> 18)), bytes[1] = (u8)(0x80 | ((cp >> 12) & 0x3F));
            bytes[2] = (u8)(0x80 | ((cp >> 6) & 0x3F)), bytes[3] = (u8)(0x80 | (cp & 0x3F)), len = 4;
        }
        if (n + (size_t)len > max)
            break;
        memcpy(out + n, bytes, (size_t)len);
        n += (size_t)len;
    }
    out[n] = 0;
}

void swkbdInit(SwkbdState *swkbd, SwkbdType type, int numButtons, int maxTextLength)
{
    memset(swkbd, 0, sizeof(*swkbd));
    swkbd->type = type;
    swkbd->num_buttons_m1 = numButtons - 1;
    swkbd->max_text_len = maxTextLength > 0 ? (u16)maxTextLength : 0xFDE8;
    swkbd->button_submits_text[SWKBD_BUTTON_CONFIRM] = true;
    swkbd->initial_text_offset = -1;
    swkbd->dict_offset = -1;
    swkbd->initial_status_offset = -1;
    swkbd->initial_learning_offset = -1;
    swkbd->version = 5;
    swkbd->result = SWKBD_NONE;
    swkbd->status_offset = -1;
    swkbd->learning_offset = -1;
    swkbd->text_offset = -1;
}

void swkbdSetHintText(SwkbdState *swkbd, const char *text)
{
    to_utf16(swkbd->hint_text, text, SWKBD_MAX_HINT_TEXT_LEN);
}

void swkbdSetButton(SwkbdState *swkbd, SwkbdButton button, const char *text, bool submit)
{
    to_utf16(swkbd->button_text[button], text, SWKBD_MAX_BUTTON_TEXT_LEN);
    swkbd->button_submits_text[button] = submit;
}

void swkbdSetInitialText(SwkbdState *swkbd, const char *text)
{
    swkbd->extra.initial_text = text;
}

void swkbdSetFeatures(SwkbdState *swkbd, u32 features)
{
    swkbd->multiline = (features & SWKBD_MULTILINE) != 0;
}

void swkbdSetFilterCallback(SwkbdState *swkbd, SwkbdCallbackFn callback, void *user)
{
    swkbd->extra.callback = callback;
    swkbd->extra.callback_user = callback ? user : NULL;
}

static u8 *swkbd_memory; /* the text block while the keyboard runs */

/* A MESSAGE from the keyboard: run the filter callback on its text and send the verdict. */
static void swkbd_message(void *user, NS_APPID sender, void *msg, size_t msgsize)
{
    SwkbdExtra *extra = (SwkbdExtra *)user;
    SwkbdState *state = (SwkbdState *)msg;
    if (sender != APPID_SOFTWARE_KEYBOARD || msgsize != sizeof(SwkbdState))
        return;
    u16 *text16 = (u16 *)(swkbd_memory + state->text_offset);
    size_t bytes = 4u * state->text_length + 1;
    char *text8 = malloc(bytes);
    if (text8 == NULL)
        svcBreak(USERBREAK_PANIC);
    to_utf8(text8, text16, bytes - 1);
    const char *message = NULL;
    state->callback_result = extra->callback(extra->callback_user, &message, text8, strlen(text8));
    if (state->callback_result > SWKBD_CALLBACK_OK)
        to_utf16(state->callback_msg, message, SWKBD_MAX_CALLBACK_MSG_LEN);
    else
        state->callback_msg[0] = 0;
    free(text8);
    APT_SendParameter(envGetAptAppId(), sender, APTCMD_MESSAGE, state, sizeof(*state), 0);
}

SwkbdButton swkbdInputText(SwkbdState *swkbd, char *buf, size_t bufsize)
{
    SwkbdExtra extra = swkbd->extra;
    size_t size = (sizeof(u16) * (swkbd->max_text_len + 1u) + 3) & ~3u;
    size = (size + 0xFFF) & ~0xFFFu;
    swkbd->shared_memory_size = size;
    swkbd_memory = memalign(0x1000, size);
    if (swkbd_memory == NULL) {
        swkbd->result = SWKBD_OUTOFMEM;
        return SWKBD_BUTTON_NONE;
    }
    Handle block = 0;
    if (R_FAILED(svcCreateMemoryBlock(&block, (u32)swkbd_memory, size, MEMPERM_READWRITE, MEMPERM_READWRITE))) {
        free(swkbd_memory);
        swkbd->result = SWKBD_OUTOFMEM;
        return SWKBD_BUTTON_NONE;
    }
    if (extra.initial_text != NULL) {
        swkbd->initial_text_offset = 0;
        to_utf16((u16 *)swkbd_memory, extra.initial_text, swkbd->max_text_len);
    }
    if (extra.callback != NULL)
        swkbd->filter_flags |= SWKBD_FILTER_CALLBACK;
    else
        swkbd->filter_flags &= ~SWKBD_FILTER_CALLBACK;
    memset(swkbd->reserved, 0, sizeof(swkbd->reserved));
    if (extra.callback != NULL)
        aptSetMessageCallback(swkbd_message, &extra);
    aptLaunchLibraryApplet(APPID_SOFTWARE_KEYBOARD, swkbd, sizeof(*swkbd), block);
    if (extra.callback != NULL)
        aptSetMessageCallback(NULL, NULL);
    svcCloseHandle(block);

    SwkbdButton button = SWKBD_BUTTON_NONE;
    switch (swkbd->result) {
    case SWKBD_D1_CLICK0:
    case SWKBD_D2_CLICK0:
        button = SWKBD_BUTTON_LEFT;
        break;
    case SWKBD_D2_CLICK1:
        button = SWKBD_BUTTON_MIDDLE;
        break;
    case SWKBD_D0_CLICK:
    case SWKBD_D1_CLICK1:
    case SWKBD_D2_CLICK2:
        button = SWKBD_BUTTON_RIGHT;
        break;
    default:
        break;
    }
    buf[0] = 0;
    if (swkbd->text_offset >= 0 && (size_t)swkbd->text_offset + 2u * swkbd->text_length + 2 <= size) {
        u16 *text16 = (u16 *)(swkbd_memory + swkbd->text_offset);
        text16[swkbd->text_length] = 0;
        to_utf8(buf, text16, bufsize - 1);
    }
    free(swkbd_memory);
    swkbd_memory = NULL;
    return button;
}
