"""The committed guest ELFs have the layout the kernel's loader relies on."""

from __future__ import annotations

import pytest
from elftools.elf.constants import P_FLAGS
from elftools.elf.elffile import ELFFile

from hlemu.guest import program_path, programs

EXPECTED = {"hello", "threads", "shmem", "compute", "faults", "faults_ro", "faults_undef"}


def test_every_program_is_bundled():
    assert EXPECTED <= set(programs())
    with pytest.raises(FileNotFoundError, match="no bundled guest program 'nope'"):
        program_path("nope")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_elf_is_arm32_little_endian_at_the_3ds_code_address(name):
    with open(program_path(name), "rb") as f:
        elf = ELFFile(f)
        assert (elf.elfclass, elf.little_endian, elf["e_machine"]) == (32, True, "EM_ARM")
        assert elf["e_entry"] == 0x00100000
        loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
        assert loads[0]["p_vaddr"] == 0x00100000
        flags = [s["p_flags"] & (P_FLAGS.PF_R | P_FLAGS.PF_W | P_FLAGS.PF_X) for s in loads]
        assert flags[0] == P_FLAGS.PF_R | P_FLAGS.PF_X  # code is never writable
        assert all(not (f & P_FLAGS.PF_W and f & P_FLAGS.PF_X) for f in flags)
        assert all(s["p_vaddr"] % 0x1000 == 0 for s in loads)  # each segment maps on whole pages
