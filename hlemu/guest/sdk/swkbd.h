/*
 * swkbd.h - the software keyboard library applet (app id 0x401), as libctru's
 * <3ds/applets/swkbd.h> lays out its parameter and its swkbdInputText drives it:
 *
 *   1. a page-aligned heap buffer for the text (max_text_len + 1 UTF-16 units, rounded to
 *      words, then to pages) made a memory block with svcCreateMemoryBlock(RW, RW); the
 *      initial text, if any, at offset 0 (initial_text_offset = 0);
 *   2. aptLaunchLibraryApplet(APPID_SOFTWARE_KEYBOARD, &state, sizeof state, block):
 *      PrepareToStartLibraryApplet, IsRegistered until true, SendParameter REQUEST (capture
 *      info), ReceiveParameter RESPONSE, SendCaptureBufferInfo, StartLibraryApplet with the
 *      state and the block, then ReceiveParameter until the keyboard's WAKEUP_EXIT, whose
 *      data (the state, filled in) is copied back over `state`;
 *   3. the text: text_length UTF-16 units at block + text_offset; the button from `result`.
 *
 * With a filter callback the keyboard first sends the state as a MESSAGE; the callback's
 * verdict goes back in callback_result (and callback_msg) with SendParameter MESSAGE.
 *
 * Text is converted between UTF-8 and UTF-16 for the Basic Multilingual Plane and surrogate
 * pairs (the SDK has no libctru utf.h).
 */
#ifndef HLEMU_SWKBD_H
#define HLEMU_SWKBD_H

#include <stddef.h>

#include "hlemu.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { SWKBD_TYPE_NORMAL = 0, SWKBD_TYPE_QWERTY, SWKBD_TYPE_NUMPAD, SWKBD_TYPE_WESTERN } SwkbdType;

typedef enum {
    SWKBD_ANYTHING = 0,
    SWKBD_NOTEMPTY,
    SWKBD_NOTEMPTY_NOTBLANK,
    SWKBD_NOTBLANK,
    SWKBD_FIXEDLEN,
} SwkbdValidInput;

typedef enum { SWKBD_BUTTON_LEFT = 0, SWKBD_BUTTON_MIDDLE, SWKBD_BUTTON_RIGHT, SWKBD_BUTTON_NONE } SwkbdButton;
#define SWKBD_BUTTON_CONFIRM SWKBD_BUTTON_RIGHT

typedef enum { SWKBD_PASSWORD_NONE = 0, SWKBD_PASSWORD_HIDE, SWKBD_PASSWORD_HIDE_DELAY } SwkbdPasswordMode;

#define SWKBD_FILTER_DIGITS (1u << 0)
#define SWKBD_FILTER_AT (1u << 1)
#define SWKBD_FILTER_PERCENT (1u << 2)
#define SWKBD_FILTER_BACKSLASH (1u << 3)
#define SWKBD_FILTER_PROFANITY (1u << 4)
#define SWKBD_FILTER_CALLBACK (1u << 5)

#define SWKBD_MULTILINE (1u << 3)

typedef enum { SWKBD_CALLBACK_OK = 0, SWKBD_CALLBACK_CLOSE, SWKBD_CALLBACK_CONTINUE } SwkbdCallbackResult;

typedef enum {
    SWKBD_NONE = -1,
    SWKBD_INVALID_INPUT = -2,
    SWKBD_OUTOFMEM = -3,
    SWKBD_D0_CLICK = 0,
    SWKBD_D1_CLICK0,
    SWKBD_D1_CLICK1,
    SWKBD_D2_CLICK0,
    SWKBD_D2_CLICK1,
    SWKBD_D2_CLICK2,
    SWKBD_HOMEPRESSED = 10,
    SWKBD_RESETPRESSED,
    SWKBD_POWERPRESSED,
    SWKBD_PARENTAL_OK = 20,
    SWKBD_PARENTAL_FAIL,
    SWKBD_BANNED_INPUT = 30,
} SwkbdResult;

#define SWKBD_MAX_BUTTON_TEXT_LEN 16
#define SWKBD_MAX_HINT_TEXT_LEN 64
#define SWKBD_MAX_CALLBACK_MSG_LEN 256

typedef SwkbdCallbackResult (*SwkbdCallbackFn)(void *user, const char **ppMessage, const char *text, size_t textlen);

/* What the SDK keeps beside the state while the keyboard runs (libctru's SwkbdExtra; it
 * shares the state's reserved tail and is never read by the applet). */
typedef struct {
    const char *initial_text;
    const void *dict;
    void *status_data;
    void *learning_data;
    SwkbdCallbackFn callback;
    void *callback_user;
} SwkbdExtra;

/* The 0x400-byte parameter (libctru SwkbdState); offsets are checked below. */
typedef struct {
    int type;
    int num_buttons_m1;
    int valid_input;
    int password_mode;
    int is_parental_screen;
    int darken_top_screen;
    u32 filter_flags;
    u32 save_state_flags;
    u16 max_text_len;
    u16 dict_word_count;
    u16 max_digits;
    u16 button_text[3][SWKBD_MAX_BUTTON_TEXT_LEN + 1];
    u16 numpad_keys[2];
    u16 hint_text[SWKBD_MAX_HINT_TEXT_LEN + 1];
    bool predictive_input;
    bool multiline;
    bool fixed_width;
    bool allow_home;
    bool allow_reset;
    bool allow_power;
    bool unknown;
    bool default_qwerty;
    bool button_submits_text[4];
    u16 language;
    int initial_text_offset;
    int dict_offset;
    int initial_status_offset;
    int initial_learning_offset;
    size_t shared_memory_size;
    u32 version;
    SwkbdResult result;
    int status_offset;
    int learning_offset;
    int text_offset;
    u16 text_length;
    int callback_result;
    u16 callback_msg[SWKBD_MAX_CALLBACK_MSG_LEN + 1];
    bool skip_at_check;
    union {
        u8 reserved[171];
        SwkbdExtra extra;
    };
} SwkbdState;

_Static_assert(sizeof(SwkbdState) == 0x400, "SwkbdState is 0x400 bytes");
_Static_assert(offsetof(SwkbdState, max_text_len) == 0x20, "max_text_len");
_Static_assert(offsetof(SwkbdState, button_text) == 0x26, "button_text");
_Static_assert(offsetof(SwkbdState, hint_text) == 0x90, "hint_text");
_Static_assert(offsetof(SwkbdState, multiline) == 0x113, "multiline");
_Static_assert(offsetof(SwkbdState, button_submits_text) == 0x11A, "button_submits_text");
_Static_assert(offsetof(SwkbdState, initial_text_offset) == 0x120, "initial_text_offset");
_Static_assert(offsetof(SwkbdState, result) == 0x138, "result");
_Static_assert(offsetof(SwkbdState, text_offset) == 0x144, "text_offset");
_Static_assert(offsetof(SwkbdState, text_length) == 0x148, "text_length");
_Static_assert(offsetof(SwkbdState, callback_result) == 0x14C, "callback_result");
_Static_assert(offsetof(SwkbdState, callback_msg) == 0x150, "callback_msg");

/* libctru's defaults: the right button submits text, no offsets, version 5, result NONE;
 * maxTextLength <= 0 means 0xFDE8. */
void swkbdInit(SwkbdState *swkbd, SwkbdType type, int numButtons, int maxTextLength);
void swkbdSetHintText(SwkbdState *swkbd, const char *text);
void swkbdSetButton(SwkbdState *swkbd, SwkbdButton button, const char *text, bool submit);
void swkbdSetInitialText(SwkbdState *swkbd, const char *text);
void swkbdSetFeatures(SwkbdState *swkbd, u32 features); /* only SWKBD_MULTILINE here */
void swkbdSetFilterCallback(SwkbdState *swkbd, SwkbdCallbackFn callback, void *user);

static inline void swkbdSetPasswordMode(SwkbdState *swkbd, SwkbdPasswordMode mode)
{
    swkbd->password_mode = mode;
}

static inline void swkbdSetValidation(SwkbdState *swkbd, SwkbdValidInput validInput, u32 filterFlags, int maxDigits)
{
    swkbd->valid_input = validInput;
    swkbd->filter_flags = filterFlags;
    swkbd->max_digits = (filterFlags & SWKBD_FILTER_DIGITS) ? maxDigits : 0;
}

/* Show the keyboard and wait; the text (UTF-8, NUL-terminated, cut to bufsize) goes to buf.
 * Returns the button pressed (SWKBD_BUTTON_NONE when it could not run: see swkbd->result). */
SwkbdButton swkbdInputText(SwkbdState *swkbd, char *buf, size_t bufsize);

#ifdef __cplusplus
}
#endif

#endif /* HLEMU_SWKBD_H */
