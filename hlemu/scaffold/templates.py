"""The files ``hlemu new NAME`` writes: a program, its build settings, a README and a
``.gitignore``. ``{name}`` is replaced by the program's name (nothing else is formatted, so
the C braces stay as they are)."""

from __future__ import annotations

MAIN_C = """\
/*
 * {name} - a guest program for hlemu, built with the hlemu SDK.
 *
 *   hlemu build            # build/{name}.elf (with debug info) and build/{name}.3dsx
 *   hlemu run build/{name}.elf
 *
 * printf goes to the terminal (hlemu prints it as "[{name}:PID] ..."); the value main
 * returns is the process's exit status. hlemu.h has the 3DS system calls (svc*), in
 * libctru's names; the SDK's other headers are the services (gspgpu.h, hid.h, console.h...).
 */

#include <stdio.h>

#include "hlemu.h"

int main(void)
{
    u32 pid = 0;
    svcGetProcessId(&pid, CUR_PROCESS_HANDLE);
    printf("Hello from {name}, process %lu!\\n", (unsigned long)pid);

    /* Guest time: 268,111,856 ticks a second. A sleeping program costs nothing, the kernel
     * skips ahead. (newlib's small printf has no %llu, hence the milliseconds.) */
    for (int i = 1; i <= 3; i++) {
        svcSleepThread(100 * 1000 * 1000LL); /* 0.1 s, in nanoseconds */
        printf("tick %d at %lu ms\\n", i, (unsigned long)(svcGetSystemTick() / 268111));
    }
    return 0;
}
"""

SETTINGS = """\
# Build settings for `hlemu build` (see docs/guest-programs.md in hlemu).
name = "{name}"                        # build/{name}.elf and build/{name}.3dsx
title = "{name}"                       # the 3DSX's title: the window shows it
description = "A guest program for hlemu"
author = "me"
sources = ["main.c"]                   # C (.c) and assembler (.S) files, in this folder
optimize = "0"                         # gcc -O level: 0 is easiest to debug, 2 is fastest
cflags = []                            # more compiler flags, e.g. ["-DDEBUG"]
"""

README = """\
# {name}

A guest program for hlemu, the 3DS-style emulator in Python.

    hlemu build                      # compile main.c with the hlemu SDK into build/
    hlemu run build/{name}.elf       # run it; its printf output comes out here
    hlemu gui build/{name}.3dsx      # or in the window, with the debugger
    hlemu gdb build/{name}.elf       # stopped at the first instruction, for gdb-multiarch

`hlemu.toml` holds the build settings (sources, title, optimisation). A folder `romfs/`
here, if you make one, becomes the 3DSX's RomFS. Building needs Debian's
`gcc-arm-none-eabi` and `libnewlib-arm-none-eabi`.
"""

GITIGNORE = """\
build/
"""

FILES = {"main.c": MAIN_C, "hlemu.toml": SETTINGS, "README.md": README, ".gitignore": GITIGNORE}
