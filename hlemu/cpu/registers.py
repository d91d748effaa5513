"""``RegisterFile``: the user-visible state of one ARM11 thread, as plain data.

It is what :meth:`hlemu.cpu.Cpu.registers` returns and :meth:`~hlemu.cpu.Cpu.set_registers`
loads, and it is also a thread's saved context while another thread of its process is
loaded (the kernel swaps it on thread switches), so the debugger, the scripting API,
the GDB stub and save states all read and write one kind of object.

Contents (one ``uint64`` slot each, in this order, in :attr:`RegisterFile.raw`):

====== ======================= =============================================
slots  registers               notes
====== ======================= =============================================
0-15   r0-r12, sp, lr, pc      32-bit values
16     cpsr                    NZCVQ, GE, IT, E, T, mode (user mode: 0x10)
17-32  d0-d15                  VFPv2 double registers, raw 64-bit patterns
33     fpscr                   VFP status and control
34     fpexc                   VFP enable (bit 30)
35     tpidruro                CP15 c13 read-only thread id: the TLS pointer
====== ======================= =============================================

Not in it, because no user-mode thread can tell: banked registers of other modes,
CPACR (the CPU grants VFP access once), the exclusive monitor of ``ldrex``/``strex``
(a switch between threads may leave another thread's reservation; ``strex`` still
compares the value, so an atomic sequence stays atomic, it may only retry less).

Serializable as it is: ``raw`` is a numpy array (``raw.tobytes()`` / ``np.frombuffer``)
and :meth:`as_dict` / :meth:`from_dict` give named integers.

>>> regs = RegisterFile.for_thread(entry=0x00100001, sp=0x10000000, arg=7, tls=0x1FF82000)
>>> regs.pc, regs.sp, int(regs.r[0]), regs.thumb, regs.tpidruro == 0x1FF82000
(1048576, 268435456, 7, True, True)
>>> regs["r0"] = 9; regs.copy() == regs
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

GPR_NAMES = [f"r{i}" for i in range(13)] + ["sp", "lr", "pc"]
VFP_NAMES = [f"d{i}" for i in range(16)]
NAMES = [*GPR_NAMES, "cpsr", *VFP_NAMES, "fpscr", "fpexc", "tpidruro"]
SLOT = {name: i for i, name in enumerate(NAMES)}
SLOT.update({"r13": 13, "r14": 14, "r15": 15})
SLOTS = len(NAMES)
CPSR, D0, FPSCR, FPEXC, TPIDRURO = SLOT["cpsr"], SLOT["d0"], SLOT["fpscr"], SLOT["fpexc"], SLOT["tpidruro"]
_WIDE = set(range(D0, D0 + 16))  # slots that hold 64 bits; the rest are 32-bit registers

CPSR_T = 1 << 5
USER_MODE = 0x10
FPEXC_EN = 0x40000000
DEFAULT_FPSCR = 0x03C00000  # Citra's: flush to zero, default NaN, round to zero


def _zeros() -> np.ndarray:
    return np.zeros(SLOTS, dtype=np.uint64)


@dataclass(eq=False)
class RegisterFile:
    """r0-r15, CPSR, d0-d15, FPSCR, FPEXC and TPIDRURO of one thread (see the module doc).

    Index by name (``regs["lr"]``, ``regs["d3"]``) or use the properties; ``r`` and ``d``
    are views into :attr:`raw`. Values are masked to the register's width when set by name;
    the 32-bit slots hold values below 2**32 (the CPU writes only their low halves).
    """

    raw: np.ndarray = field(default_factory=_zeros)

    def __post_init__(self) -> None:
        if self.raw.shape != (SLOTS,) or self.raw.dtype != np.uint64:
            raise ValueError(f"a RegisterFile holds {SLOTS} uint64 slots, not {self.raw.dtype}{self.raw.shape}")
        if not (self.raw.flags.c_contiguous and self.raw.flags.writeable):
            self.raw = self.raw.copy()  # the CPU reads registers straight into it

    @classmethod
    def for_thread(cls, entry: int, sp: int, arg: int, tls: int, fpscr: int = DEFAULT_FPSCR) -> RegisterFile:
        """A new user-mode thread: every register 0 but pc = ``entry``, sp, r0 = ``arg``, the TLS
        pointer and VFP enabled. An odd ``entry`` is Thumb code (the ELF and svcCreateThread
        convention, as for ``bx``): it starts at ``entry & ~1`` with CPSR.T set."""
        regs = cls()
        raw = regs.raw
        raw[15] = entry & 0xFFFFFFFE
        raw[CPSR] = USER_MODE | (CPSR_T if entry & 1 else 0)
        raw[13] = sp & 0xFFFFFFFF
        raw[0] = arg & 0xFFFFFFFF
        raw[FPSCR] = fpscr
        raw[FPEXC] = FPEXC_EN
        raw[TPIDRURO] = tls & 0xFFFFFFFF
        return regs

    # named access
    def __getitem__(self, name: str) -> int:
        return int(self.raw[SLOT[name]])

    def __setitem__(self, name: str, value: int) -> None:
        slot = SLOT[name]
        self.raw[slot] = value & (0xFFFFFFFFFFFFFFFF if slot in _WIDE else 0xFFFFFFFF)

    @property
    def r(self) -> np.ndarray:
        """r0-r15 (a view: writes go into this register file)."""
        return self.raw[:16]

    @property
    def d(self) -> np.ndarray:
        """d0-d15 as raw 64-bit patterns (a view)."""
        return self.raw[D0 : D0 + 16]

    @property
    def pc(self) -> int:
        return int(self.raw[15])

    @property
    def sp(self) -> int:
        return int(self.raw[13])

    @property
    def lr(self) -> int:
        return int(self.raw[14])

    @property
    def cpsr(self) -> int:
        return int(self.raw[CPSR])

    @property
    def fpscr(self) -> int:
        return int(self.raw[FPSCR])

    @property
    def fpexc(self) -> int:
        return int(self.raw[FPEXC])

    @property
    def tpidruro(self) -> int:
        return int(self.raw[TPIDRURO])

    @property
    def thumb(self) -> bool:
        return bool(self.raw[CPSR] & CPSR_T)

    # plain data
    def copy(self) -> RegisterFile:
        return RegisterFile(self.raw.copy())

    def as_dict(self) -> dict[str, int]:
        """Every register by name (``r0``…``pc``, ``cpsr``, ``d0``…, ``fpscr``, ``fpexc``, ``tpidruro``)."""
        return dict(zip(NAMES, self.raw.tolist(), strict=True))

    @classmethod
    def from_dict(cls, values: dict[str, int]) -> RegisterFile:
        """The inverse of :meth:`as_dict`; registers left out are 0."""
        regs = cls()
        for name, value in values.items():
            regs[name] = value
        return regs

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RegisterFile) and bool(np.array_equal(self.raw, other.raw))

    def __repr__(self) -> str:
        gprs = " ".join(f"{n}={int(v):#010x}" for n, v in zip(GPR_NAMES, self.raw[:16].tolist(), strict=True))
        return f"RegisterFile({gprs} cpsr={self.cpsr:#010x})"
