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
