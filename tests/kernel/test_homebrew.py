"""A 3DSX's start-up as a homebrew launcher gives it: the argument list in libctru's
parameter block (devkitARM 3dsx_crt0.s: ``b startup``, ``"_prm"``, ``__service_ptr``,
``__apt_appid``, heap sizes, ``__system_arglist``, ``__system_runflags``) and the file
placed at ``sdmc:/3ds/NAME.3dsx``."""

from __future__ import annotations

from hlemu.loaders.threedsx_writer import Program, build_3dsx
from kernel.kernel import Kernel
from tests.kernel.asm import assemble

# The crt0 head, then: r0 = __system_arglist; OutputDebugString(argv[0]); exit(argc).
PROGRAM = """
b startup
.ascii "_prm"
.word 0, 0x300, 0x1800000, 0x1800000, 0, 0
startup:
ldr r4, [pc, #-16]           @ __system_arglist (at 0x00100018; pc reads 8 ahead)
ldr r5, [r4]                 @ argc
add r0, r4, #4               @ argv[0]
mov r1, r0
count:
ldrb r2, [r1], #1
cmp r2, #0
bne count
sub r1, r1, r0
sub r1, r1, #1
svc 0x3D                     @ OutputDebugString(argv[0], its length)
mov r0, r5
svc 0x03                     @ ExitProcess(argc)
"""


def make_3dsx(tmp_path, name: str = "game.3dsx", prm: bool = True):
    source = PROGRAM if prm else PROGRAM.replace('.ascii "_prm"', '.ascii "_xyz"')
    code = assemble(source, 0x00100000)
    path = tmp_path / name
    path.write_bytes(build_3dsx(Program(code=code)))
    return path


def test_a_3dsx_finds_its_own_sdmc_path_in_argv(tmp_path):
    lines: list[str] = []
    sdmc = tmp_path / "sd"
    kernel = Kernel(backend="semifastmem", output=lambda _p, line: lines.append(line), sdmc_root=sdmc)
    try:
        path = make_3dsx(tmp_path)
        process = kernel.spawn(path)
        assert kernel.run().reason == "all exited"
        assert process.exit_code == 1 and lines == ["sdmc:/3ds/game.3dsx"]
        placed = sdmc / "3ds" / "game.3dsx"
        assert placed.read_bytes() == path.read_bytes()  # where argv[0] says, for romfsInit
        assert process.space.peek(0x00100018, 4) == (0x00101000).to_bytes(4, "little")  # the page after the code
        assert process.space.peek(0x00101000, 4) == (1).to_bytes(4, "little")  # argc
    finally:
        kernel.close()


def test_a_3dsx_without_the_parameter_block_gets_no_argument_page(tmp_path):
    kernel = Kernel(backend="semifastmem", output=lambda _p, _line: None, sdmc_root=tmp_path / "sd")
    try:
        process = kernel.spawn(make_3dsx(tmp_path, prm=False))
        assert process.space.table.state[(0x00100000 + 0x1000) >> 12] == 0  # nothing after the code
        assert not (tmp_path / "sd").exists()
    finally:
        kernel.close()


# libctru 2.x's __system_allocateHeaps: everything the COMMIT limit leaves, half linear.
ALLOCATE_ALL = """
b startup
.ascii "_prm"
.word 0, 0x300, 0, 0, 0, 0
startup:
ldr r1, current_process      @ CUR_PROCESS_HANDLE
svc 0x38                     @ GetResourceLimit(&handle, process)
mov r6, r1
sub sp, sp, #32
mov r0, #1
str r0, [sp, #16]            @ names[0] = RESLIMIT_COMMIT
mov r0, sp
mov r1, r6
add r2, sp, #16
mov r3, #1
svc 0x39                     @ GetResourceLimitLimitValues(&max, handle, names, 1)
add r0, sp, #8
mov r1, r6
add r2, sp, #16
mov r3, #1
svc 0x3A                     @ GetResourceLimitCurrentValues(&current, handle, names, 1)
ldr r7, [sp]
ldr r8, [sp, #8]
sub r7, r7, r8
bic r7, r7, #0xF00
bic r7, r7, #0xFF            @ remaining, whole pages
lsr r9, r7, #1
bic r9, r9, #0xF00
bic r9, r9, #0xFF            @ linear: half
sub r10, r7, r9              @ heap: the rest
mov r0, #3
mov r1, #0x08000000
mov r2, #0
mov r3, r10
mov r4, #3
svc 0x01                     @ ControlMemory(&addr, HEAP, 0, heap, COMMIT, RW)
mov r11, r0
mov r0, #0x10000
orr r0, r0, #3
mov r1, #0
mov r2, #0
mov r3, r9
mov r4, #3
svc 0x01                     @ ControlMemory(&addr, 0, 0, linear, COMMIT | LINEAR, RW)
orr r0, r0, r11
svc 0x03                     @ ExitProcess: both results, or'ed (0: both succeeded)
current_process:
.word 0xFFFF8001
"""


def test_a_3dsx_can_commit_all_the_memory_its_limit_leaves(tmp_path):
    """The launcher's argument pointer goes into the code before it is mapped: written after,
    it cost the process a private copy of its shared first code page, and the shared one
    stayed held by the image cache for nobody, so the heap sizing of libctru 2.0 and later
    (every byte the COMMIT limit leaves) came up one frame short and the program panicked
    at start-up (every citro2d build from 2022 on did)."""
    path = tmp_path / "all.3dsx"
    path.write_bytes(build_3dsx(Program(code=assemble(ALLOCATE_ALL, 0x00100000))))
    kernel = Kernel(backend="semifastmem", output=lambda _p, _line: None, sdmc_root=tmp_path / "sd")
    try:
        process = kernel.spawn(path)
        code_frame = int(process.space.table.frame[0x00100000 >> 12])
        assert kernel.memory.phys.image[code_frame]  # the code page is still the shared one
        assert process.space.peek(0x00100018, 4) == (0x00101000).to_bytes(4, "little")
        assert kernel.run().reason == "all exited"
        assert process.exit_code == 0, f"ControlMemory results or'ed: {process.exit_code:#x}"
    finally:
        kernel.close()
