"""Thumb entry points: an odd entry (ELF e_entry, svcCreateThread's entry) starts in Thumb state.

The ARM convention (as for ``bx``): bit 0 of a code address selects Thumb. The thread must
start at ``entry & ~1`` with CPSR.T set; started in ARM state, Thumb code decodes as
nonsense and ends in an unrelated abort.
"""

from __future__ import annotations

import pytest
from keystone import KS_ARCH_ARM, KS_MODE_ARM, KS_MODE_THUMB, Ks

from hlemu.loaders import Image, Segment, load_image
from hlemu.memory import MemoryPermission
from kernel.kernel import Kernel
from tests.tiny_elf import write_elf

BACKENDS = ["fastmem", "semifastmem"]
CODE, THUMB, DATA = 0x00100000, 0x00101000, 0x00200000
CPSR_T = 1 << 5

# exit code = r0 + 2 (a Thumb-only encoding: in ARM state these bytes are not this program)
THUMB_EXIT = """
    adds r0, #2
    svc  #0x03          @ ExitProcess, r0 the exit status
    b    .
"""


def assemble(source: str, address: int, mode: int) -> bytes:
    encoding, _ = Ks(KS_ARCH_ARM, mode).asm(source, address)
    return bytes(encoding or b"")


def image(main: bytes, entry: int, thumb: bytes = b"") -> Image:
    code = main.ljust(THUMB - CODE, b"\0") + thumb
    return Image("thumb", entry, segments=[
        Segment(vaddr=CODE, data=code, size=0x2000, perm=MemoryPermission.RX),
        Segment(vaddr=DATA, data=b"", size=0x1000, perm=MemoryPermission.RW),
    ])


def run(img: Image, backend: str) -> tuple[int | None, str | None, int]:
    """(exit code, crash report, CPSR when it stopped) of ``img`` run to the end."""
    kernel = Kernel(backend=backend, output=lambda process, line: None)
    try:
        process = kernel.spawn(img)
        result = kernel.run(max_instructions=100_000)
        assert result.reason == "all exited", result
        return process.exit_code, process.crash, process.cpu.cpsr
    finally:
        kernel.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_odd_image_entry_starts_in_thumb_state(backend):
    thumb = assemble("movs r0, #40\n" + THUMB_EXIT, THUMB, KS_MODE_THUMB)
    code, crash, cpsr = run(image(b"", THUMB | 1, thumb), backend)
    assert crash is None
    assert code == 42
    assert cpsr & CPSR_T


@pytest.mark.parametrize("backend", BACKENDS)
def test_even_entry_still_starts_in_arm_state(backend):
    main = assemble("mov r0, #40\nadd r0, r0, #3\nsvc #0x03\nb .", CODE, KS_MODE_ARM)
    code, crash, cpsr = run(image(main, CODE), backend)
    assert (code, crash) == (43, None)
    assert not cpsr & CPSR_T


@pytest.mark.parametrize("backend", BACKENDS)
def test_create_thread_with_odd_entry_runs_thumb(backend):
    # main (ARM): CreateThread(priority 0x30, entry THUMB|1, arg 5, stack, processor -2), then wait
    # for it forever; the Thumb thread exits the process with arg + 2 (the main thread never does).
    main = assemble(f"""
        ldr r0, =0x30
        ldr r1, ={THUMB | 1:#x}
        mov r2, #5
        ldr r3, ={DATA + 0x800:#x}
        mvn r4, #1
        svc #0x08              @ CreateThread -> r1 handle
        mov r0, r1
        mvn r2, #0
        mvn r3, #0
        svc #0x24              @ WaitSynchronization1(thread, forever)
        mov r0, #99            @ reached only if the thread ended without exiting the process
        svc #0x03
        b .
    """, CODE, KS_MODE_ARM)
    thumb = assemble(THUMB_EXIT, THUMB, KS_MODE_THUMB)
    code, crash, _ = run(image(main, CODE, thumb), backend)
    assert crash is None
    assert code == 7


@pytest.mark.parametrize("backend", BACKENDS)
def test_thumb_elf_runs_from_the_command_line(tmp_path, backend, capsys):
    from hlemu.cli import main

    path = write_elf(tmp_path / "thumb.elf", "movs r0, #40\n" + THUMB_EXIT, thumb=True)
    assert load_image(path).entry == CODE | 1
    assert main(["run", "--backend", backend, str(path)]) == 42
    assert "thumb: exited (42)" in capsys.readouterr().out
