/*
 * crt0.S - process entry point of the hlemu guest SDK.
 *
 * The kernel starts the main thread at _start (the ELF entry) with
 * sp = 0x10000000, the top of the main thread's stack, and, as on the 3DS,
 * guarantees nothing else: no argc/argv, no useful lr, other registers
 * undefined. (devkitPro's 3dsx_crt0.s makes the same assumptions; hlemu
 * loads plain ELFs, so there is no 3DSX header or "_prm" block here.)
 *
 * Start-up, in order:
 *   1. zero .bss (the loader zero-fills it too; doing it here keeps the
 *      program correct on a loader that only maps file bytes);
 *   2. register __libc_fini_array with atexit and run the constructors
 *      (__libc_init_array: .preinit_array, _init, .init_array);
 *   3. call main(0, argv) with argv = { NULL };
 *   4. exit(main's return value): newlib runs atexit handlers, flushes
 *      stdio, and calls _exit (syscalls.c), which ends the process with
 *      svcExitProcess and the status in r0.
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

    /* 2. Destructors at exit, then constructors now. */
    ldr r0, =__libc_fini_array
    bl atexit
    bl __libc_init_array

    /* 3. main(0, { NULL }). */
    mov r0, #0
    ldr r1, =__hlemu_empty_argv
    bl main

    /* 4. exit() does not return. */
    bl exit
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

/* argv for main: just the terminating NULL (argc is 0). */
    .section .rodata.__hlemu_empty_argv, "a", %progbits
    .balign 4
    .type __hlemu_empty_argv, %object
__hlemu_empty_argv:
    .word 0
    .size __hlemu_empty_argv, . - __hlemu_empty_argv

    .section .note.GNU-stack, "", %progbits
