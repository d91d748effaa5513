"""The Unicorn engine every :class:`~hlemu.cpu.Cpu` runs on, made one way.

Making one costs about 3 ms, nearly all of it Unicorn's lazy machine set-up on the first
register write (measured on the 2-core machine; the size of the translation buffer makes no
difference). A save state's load pays it once per live CPU.
"""

from __future__ import annotations

from unicorn import UC_ARCH_ARM, UC_MODE_ARM, Uc
from unicorn import arm_const as arm

CPACR_VFP = 0x00F00000  # cp10/cp11 (VFP) full access, granted once for every thread


def new_engine() -> Uc:
    """An ARM11 MPCore engine with VFP access granted, its machine built."""
    uc = Uc(UC_ARCH_ARM, UC_MODE_ARM)
    uc.ctl_set_cpu_model(arm.UC_CPU_ARM_11MPCORE)
    uc.reg_write(arm.UC_ARM_REG_C1_C0_2, CPACR_VFP)
    return uc
