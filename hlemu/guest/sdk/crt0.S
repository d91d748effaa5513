/*
 * crt0.S - process entry point of the hlemu guest SDK.
 *
 * The kernel starts the main thread at _start (the ELF entry) with
 * sp = 0x10000000, the top of the main thread's stack, and, as on the 3DS,
 * guarantees nothing else: no argc/argv, no useful lr, other registers
 * undefined.
 *
 * The first words are the parameter block a homebrew launcher fills in a
 * 3DSX (devkitARM's 3dsx_crt0.s has the same layout; libctru's env.c reads
 * it): a branch over the block, the magic "_prm" at code + 4, then
 * __service_ptr, __apt_appid, __ctru_heap_size, __ctru_linear_heap_size,
 * __system_arglist (code + 0x18) and __system_runflags. An ELF run, or a
 * launcher that fills nothing, leaves them as built: no argument list.
 * hlemu's kernel (kernel/homebrew.py) points __system_arglist at
 * { u32 argc; NUL-terminated arguments } with argv[0] = sdmc:/3ds/NAME.3dsx.
 *
 * Start-up, in order:
 *   1. zero .bss (the loader zero-fills it too; doing it here keeps the
 *      program correct on a loader that only maps file bytes);
 *   2. __hlemu_start (syscalls.c): register __libc_fini_array with atexit,
 *      run the constructors (__libc_init_array: .preinit_array, _init,
 *      .init_array), make argc/argv from __system_arglist (argc 0 and
 *      argv = { NULL } without one), call main(argc, argv) and exit() with
 *      its value: newlib runs atexit handlers, flushes stdio, and calls _exit
 *      (syscalls.c), which ends the process with svcExitProcess and the
 *      status in r0.
 *
 * The block, the start-up code and its literals take 0x50 bytes, so main
 * (the first function after them) keeps the address it had before the block.
 */

    .file "crt0.S"
    .syntax unified
    .arch armv6k
    .arm

    .section .crt0, "ax", %progbits
    .global _start
    .type _start, %function
    .balign 4
_start:
    b 2f

    /* The launcher's parameter block (3dsx_crt0.s). Only __system_arglist
     * is read by this SDK (syscalls.c) and __apt_appid by apt.c; the heap
     * sizes are 0 because _sbrk commits heap on demand. */
    .ascii "_prm"
    .global __service_ptr, __apt_appid, __ctru_heap_size, __ctru_linear_heap_size
    .global __system_arglist, __system_runflags
__service_ptr:          .word 0       /* services handed over by the launcher: none */
__apt_appid:            .word 0x300   /* NS_APPID application */
__ctru_heap_size:       .word 0
__ctru_linear_heap_size: .word 0
__system_arglist:       .word 0       /* { u32 argc; char args[] } or 0 */
__system_runflags:      .word 0

2:
    /* A zero frame pointer and link register end debugger backtraces here. */
    mov fp, #0
    mov lr, #0

    /* 1. Zero .bss, a word at a time (the linker script aligns both ends to 4). */
    ldr r0, =__bss_start__
    ldr r1, =__bss_end__
    mov r2, #0
1:  cmp r0, r1
    strlo r2, [r0], #4
    blo 1b

    /* 2. Constructors, main(argc, argv), exit(): never returns. */
    bl __hlemu_start
    .inst 0xe7f000f0
    .size _start, . - _start
    .ltorg

/*
 * newlib's __libc_init_array and __libc_fini_array call _init and _fini,
 * which normally come from gcc's crti.o/crtn.o. The SDK links with
 * -nostartfiles and keeps all start-up work in the arrays above, so
 * these are empty.
 */
    .section .text._init, "ax", %progbits
    .global _init
    .type _init, %function
    .balign 4
_init:
    bx lr
    .size _init, . - _init

    .section .text._fini, "ax", %progbits
    .global _fini
    .type _fini, %function
    .balign 4
_fini:
    bx lr
    .size _fini, . - _fini

    .section .note.GNU-stack, "", %progbits
