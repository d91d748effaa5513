"""The guest side of the fuzz campaigns: a driven program and a bystander.

The driven program is nothing but SVC instructions: its code page repeats

    0xEF000000   svc #0
    0xEAFFFFFD   b   .-4       @ back to the svc

so a thread started at any word of it traps into the kernel at once, over and
over. :class:`~hlemu.fuzz.driver.SvcDriver` answers each trap by choosing the SVC
number and r0..r7 itself and handing them to the kernel's real dispatch
(``Kernel.dispatch_svc``, the function the CPU's interrupt hook calls), so the
case rate is that of the SVC path, not of guest code that decodes scripts.

Besides the code page the image has a read-write scratch area (port names,
handle arrays and buffers the fuzzers point SVCs at) and a read-only page, so
pointers can land in memory of every permission.

The bystander is the bundled ``hello`` program: it must always finish with
its normal output, whatever the fuzzed processes beside it do.
"""

from __future__ import annotations

from hlemu.guest import program_path
from hlemu.loaders import Image, Segment, load_image
from hlemu.memory import MemoryPermission

CODE = 0x00100000
CODE_SIZE = 0x1000
SCRATCH = 0x00200000
SCRATCH_SIZE = 0x4000
RODATA = 0x00300000
SVC_LOOP = (0xEF000000).to_bytes(4, "little") + (0xEAFFFFFD).to_bytes(4, "little")  # svc #0; b .-4

BYSTANDER = "hello"
BYSTANDER_EXIT = 7
BYSTANDER_OUTPUT = [
    "Hello from hlemu!",
    "heap: 65536 bytes in the heap region",
    "checksum: 0x1c984dc5",
    "direct: svcOutputDebugString",
    "exiting with 7",
]


def driven_program(name: str = "fuzzed") -> Image:
    """An image whose every code word is on an ``svc``/``b`` loop."""
    return Image(name, CODE, segments=[
        Segment(vaddr=CODE, data=SVC_LOOP * (CODE_SIZE // len(SVC_LOOP)), size=CODE_SIZE,
                perm=MemoryPermission.RX),
        Segment(vaddr=SCRATCH, data=b"", size=SCRATCH_SIZE, perm=MemoryPermission.RW),
        Segment(vaddr=RODATA, data=bytes(range(256)) * 16, size=0x1000, perm=MemoryPermission.R),
    ])


_bystander: Image | None = None


def bystander_image() -> Image:
    global _bystander
    if _bystander is None:
        _bystander = load_image(program_path(BYSTANDER))
    return _bystander


def bystander_problem(process: object) -> str | None:
    """Why the bystander did not finish normally, or None."""
    exit_code = getattr(process, "exit_code", None)
    output = getattr(process, "output", [])
    crash = getattr(process, "crash", None)
    if crash:
        return f"the bystander crashed: {crash.splitlines()[0]}"
    if exit_code is None:
        return f"the bystander did not finish (still {getattr(process, 'status', 'running')})"
    if exit_code != BYSTANDER_EXIT or output != BYSTANDER_OUTPUT:
        shown = "; ".join(output[-3:])
        return f"the bystander ended with {exit_code!r} and output [{shown}] instead of exit {BYSTANDER_EXIT}"
    return None
