"""What emu.gpu adds for the debugger (kernel/api/gpu.py): a draw's textures decoded, the
vertex shader disassembled (hlemu/gpu/disasm.py), one frame's counts; on the guest programs
gpu_triangles and gpu_textured, against their sources and an independent decoder."""

from __future__ import annotations

import numpy as np
import pytest

from hlemu.gpu.disasm import disassemble, instruction
from kernel.api import Emulator
from tests.gpu import reference
from tests.gpu.picalist import REPO, pica_asm

PROGRAMS = REPO / "hlemu" / "guest" / "programs"
TEX0, TEX1 = 0x1F280000, 0x1F281000  # gpu_textured.c's textures (virtual; VRAM 0x18280000...)


def source_lines(name: str) -> list[str]:
    """The instructions of a .pica file as written (no comments, directives or labels)."""
    lines = [line.split(";")[0].strip() for line in (PROGRAMS / f"{name}.pica").read_text().splitlines()]
    return [line for line in lines if line and not line.startswith(".") and not line.endswith(":")]


@pytest.fixture(scope="module")
def textured():
    emu = Emulator(backend="semifastmem", echo=False)
    emu.spawn("gpu_textured")
    emu.run()
    yield emu
    emu.close()


@pytest.fixture(scope="module")
def triangles():
    emu = Emulator(backend="fastmem", echo=False)
    emu.spawn("gpu_triangles")
    emu.run()
    yield emu
    emu.close()


# -- the disassembler ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["gpu_triangles", "gpu_textured"])
def test_the_guest_shaders_disassemble_to_their_source(name):
    program = pica_asm.assemble((PROGRAMS / f"{name}.pica").read_text())
    assert [i.text for i in disassemble(program.code, program.opdescs)] == source_lines(name)


def test_disassembly_assembles_back_to_the_same_words():
    source = """main:
        mov o1, -v1.wzyx
        mova a0.x, v2
        mov r0, c8[a0.x]
        mov r1, c9[al]
        cmp v0, lt, ge, r1
        add r2.xz, c3, -r1.yyyy
        mul r3, r2.xyzz, c5
        dp3 r5.w, c1[a0.y], r2
        rcp r4.x, r3.w
        sge r6, c2, v3
        max o2.yw, r1.zwxy, r3
        nop
        end"""
    program = pica_asm.assemble(source)
    text = [i.text for i in disassemble(program.code, program.opdescs)]
    assert text[3] == "mov r1, c9[aL]" and text[6] == "mul r3, c5, r2.xyz"  # commutative: c5 swapped into src1
    again = pica_asm.assemble("\n".join(text))
    assert again.code == program.code and again.opdescs == program.opdescs


@pytest.mark.parametrize(("word", "text"), [
    (0x24 << 26 | 0x010 << 10 | 4, "call 0x010, 4"),
    (0x26 << 26 | 3 << 22 | 0x020 << 10 | 2, "callu b3, 0x020, 2"),
    (0x27 << 26 | 1 << 22 | 0x00C << 10 | 2, "ifu b1, else 0x00c, 2"),
    (0x28 << 26 | 1 << 25 | 1 << 22 | 0x008 << 10 | 1, "ifc cmp.x && !cmp.y, else 0x008, 1"),
    (0x2C << 26 | 3 << 24 | 3 << 22 | 0x008 << 10, "jmpc cmp.y, 0x008"),
    (0x2D << 26 | 2 << 22 | 0x004 << 10 | 1, "jmpu !b2, 0x004"),
    (0x29 << 26 | 1 << 22 | 0x006 << 10, "loop i1, to 0x006"),
    (0x22 << 26, "end"), (0x21 << 26, "nop"),
    (0x11 << 26, ".word 0x44000000  ; opcode 0x11 is not documented"),
])
def test_flow_control_and_odd_words(word, text):
    assert instruction(word, []).text == text


def test_mad_and_madi_read_their_three_sources():
    # descriptor 1: mask xyzw, src1 xyzw, src2 -xyzw, src3 wzyx
    desc = 0xF | 0x1B << 5 | 1 << 13 | 0x1B << 14 | 0xE4 << 23
    mad = 0x38 << 26 | 0x11 << 24 | 1 << 22 | 0x02 << 17 | 0x25 << 10 | 0x13 << 5 | 1  # r1 = v2 * -c5[a0.x] + r3
    assert instruction(mad, [0, desc]).text == "mad r1, v2, -c5[a0.x], r3.wzyx"
    madi = 0x30 << 26 | 0x01 << 24 | 3 << 22 | 0x12 << 17 | 0x04 << 12 | 0x27 << 5 | 1  # o1 = r2 * -v4 + c7[aL]
    assert instruction(madi, [0, desc]).text == "madi o1, r2, -v4, c7[aL].wzyx"


# -- emu.gpu -------------------------------------------------------------------------------------------
def test_shader_lines_are_the_uploaded_program_with_its_entry_point(triangles):
    lines = triangles.gpu.shader()
    assert [line.split("  ", 2)[2].removesuffix("  ; main") for line in lines] == source_lines("gpu_triangles")
    assert lines[0] == "0x000  08020000  dp4 o0.x, c0, v0  ; main"
    assert [i.offset for i in triangles.gpu.instructions()] == list(range(6))


def test_frame_counts_add_up_the_last_frames_draws(triangles):
    counts, draws = triangles.gpu.frame_counts(), triangles.gpu.draws()
    assert counts["draws"] == 2 and counts["lists"] == len(triangles.gpu.lists())
    assert counts["triangles"] == sum(d.triangles for d in draws) == 2
    assert counts["pixels"] == sum(d.pixels for d in draws) > 0
    assert counts["frame"] == triangles.gpu.lists()[0].frame
    totals = triangles.gpu.counts
    assert all(totals[k] >= counts[k] for k in ("lists", "draws", "triangles", "pixels"))
    assert triangles.gpu.textures() == []  # it samples no texture


def test_textures_of_each_draw_decoded_as_the_program_wrote_them(textured):
    process = textured.processes[0]
    (rgba4,) = textured.gpu.textures(draw=0)
    assert (rgba4.unit, rgba4.address, rgba4.width, rgba4.height, rgba4.format) == (0, 0x18280000, 32, 32, "RGBA4")
    y, x = np.mgrid[0:32, 0:32]  # gpu_textured.c's make_textures: row y of memory is the top
    want = np.stack([(x >> 1) * 17, (y >> 1) * 17, np.where(((x >> 2) ^ (y >> 2)) & 1, 255, 0),
                     np.full_like(x, 255)], axis=2)
    assert (rgba4.rgba == want).all()
    assert rgba4.description.startswith("texture 0: 32x32 RGBA4 at 0x18280000, wrap repeat/repeat, linear")
    (etc1,) = textured.gpu.textures()  # the last draw's: unit 1
    assert (etc1.unit, etc1.address, etc1.format, etc1.rgba.shape) == (1, 0x18281000, "ETC1", (8, 8, 4))
    raw = np.frombuffer(process.peek(TEX1, 32), np.uint8)
    assert (etc1.rgba == reference.decode_texture(raw, 8, 8, 12)[::-1]).all()  # the reference's row 0 is the bottom
    assert (textured.gpu.physical(0x18280000, 2048) == np.frombuffer(process.peek(TEX0, 2048), np.uint8)).all()
    with pytest.raises(IndexError):
        textured.gpu.textures(draw=5)


def test_an_emulator_without_gpu_work_has_nothing_to_show():
    emu = Emulator(backend="semifastmem", echo=False)
    try:
        gpu = emu.gpu
        assert gpu.lists() == [] and gpu.textures() == [] and gpu.shader() == []
        assert gpu.frame_counts() == {"frame": 0, "lists": 0, "draws": 0, "triangles": 0, "pixels": 0}
    finally:
        emu.close()


def test_every_sampled_units_description_names_what_textures_decodes():
    """emu.gpu reads a draw's units back from Draw.textures (texture.Unit.describe()): a guard
    that the two keep agreeing, for every format and mipmapped units too."""
    from hlemu.gpu import regs as R
    from hlemu.gpu.texture import FORMAT_NAMES, UNIT_REGS, Unit
    from kernel.api.gpu import _UNIT

    for fmt, name in enumerate(FORMAT_NAMES):
        regs = R.RegisterFile()
        _, dim, param, lod, addr, kind = UNIT_REGS[1]
        regs.write(R.TEXUNIT_CONFIG, 0b010, 0xF)
        regs.write(dim, 64 << 16 | 32, 0xF)
        regs.write(param, 2 << 12 | 3 << 8 | 1 << 24, 0xF)
        regs.write(lod, 2 << 16, 0xF)
        regs.write(addr, 0x18280000 // 8, 0xF)
        regs.write(kind, fmt, 0xF)
        m = _UNIT.match(Unit(1, regs).describe())
        assert m is not None and (int(m[1]), int(m[2]), int(m[3]), m[4], int(m[5], 16)) == (1, 64, 32, name,
                                                                                            0x18280000)


def test_physical_reads_stay_inside_one_region(textured):
    with pytest.raises(ValueError, match="is not all guest memory"):
        textured.gpu.physical(0x18600000 - 16, 32)  # VRAM's last 16 bytes and beyond
    with pytest.raises(ValueError, match="is not all guest memory"):
        textured.gpu.physical(0x00000000, 4)
    assert len(textured.gpu.physical(0x18600000 - 16, 16)) == 16
