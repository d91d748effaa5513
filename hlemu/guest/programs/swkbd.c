/*
 * swkbd - three software keyboards, launched as libctru's swkbdInputText launches them (the
 * SDK's swkbd.c: a memory block for the text, PrepareToStartLibraryApplet, the capture
 * exchange, StartLibraryApplet, the wake-up with the filled-in SwkbdState); each prints the
 * button, the raw result and the text it got back:
 *
 *   1. "name": 2 buttons (Cancel, which submits no text, and OK), at most 16 characters, not
 *      empty and not blank, a hint;
 *   2. "code": 1 button, at most 8 characters, initial text "hlemu", no '@' nor '%', at most
 *      2 digits;
 *   3. "word": 3 buttons (Back, "I Forgot" and OK, both submitting), at most 32 characters,
 *      a filter callback: text containing "bad" is refused (CONTINUE: the keyboard asks
 *      again), "stop" closes the keyboard (CLOSE: result BANNED_INPUT, 30).
 *
 * With `--input` answers 0 TEXT "Ada", 0 TEXT "x1", 0 TEXT "bad", 0 TEXT "good"
 * (tests/services/test_swkbd.py):
 *
 *   swkbd: start
 *   name: button 2 (right), result 2, 3 units, "Ada"
 *   code: button 2 (right), result 0, 2 units, "x1"
 *   callback: "bad" refused
 *   callback: "good" ok
 *   word: button 2 (right), result 5, 4 units, "good"
 *   swkbd: exiting with 0
 */

#include <stdio.h>
#include <string.h>

#include "apt.h"
#include "swkbd.h"

static const char *button_name(SwkbdButton button)
{
    static const char *const names[] = {"left", "middle", "right", "none"};
    return (unsigned)button <= SWKBD_BUTTON_NONE ? names[button] : "?";
}

static void show(const char *what, const SwkbdState *kb, SwkbdButton button, const char *text)
{
    printf("%s: button %d (%s), result %d, %u units, \"%s\"\n", what, (int)button, button_name(button),
           (int)kb->result, (unsigned)kb->text_length, text);
}

static SwkbdCallbackResult filter(void *user, const char **message, const char *text, size_t length)
{
    (void)user;
    (void)length;
    if (strstr(text, "stop") != NULL) {
        printf("callback: \"%s\" closes the keyboard\n", text);
        *message = "Stopped.";
        return SWKBD_CALLBACK_CLOSE;
    }
    if (strstr(text, "bad") != NULL) {
        printf("callback: \"%s\" refused\n", text);
        *message = "No bad words.";
        return SWKBD_CALLBACK_CONTINUE;
    }
    printf("callback: \"%s\" ok\n", text);
    return SWKBD_CALLBACK_OK;
}

int main(void)
{
    printf("swkbd: start\n");
    Result res = aptInit();
    if (R_FAILED(res)) {
        printf("aptInit failed: 0x%08lx\n", (unsigned long)res);
        return 1;
    }
    char text[64];
    SwkbdState kb;

    swkbdInit(&kb, SWKBD_TYPE_NORMAL, 2, 16);
    swkbdSetHintText(&kb, "Your name");
    swkbdSetButton(&kb, SWKBD_BUTTON_LEFT, "Cancel", false);
    swkbdSetValidation(&kb, SWKBD_NOTEMPTY_NOTBLANK, 0, 0);
    SwkbdButton button = swkbdInputText(&kb, text, sizeof(text));
    show("name", &kb, button, text);

    swkbdInit(&kb, SWKBD_TYPE_WESTERN, 1, 8);
    swkbdSetInitialText(&kb, "hlemu");
    swkbdSetValidation(&kb, SWKBD_ANYTHING, SWKBD_FILTER_AT | SWKBD_FILTER_PERCENT | SWKBD_FILTER_DIGITS, 2);
    button = swkbdInputText(&kb, text, sizeof(text));
    show("code", &kb, button, text);

    swkbdInit(&kb, SWKBD_TYPE_QWERTY, 3, 32);
    swkbdSetButton(&kb, SWKBD_BUTTON_LEFT, "Back", false);
    swkbdSetButton(&kb, SWKBD_BUTTON_MIDDLE, "I Forgot", true);
    swkbdSetFilterCallback(&kb, filter, NULL);
    button = swkbdInputText(&kb, text, sizeof(text));
    show("word", &kb, button, text);

    aptExit();
    printf("swkbd: exiting with 0\n");
    return 0;
}
