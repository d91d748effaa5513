"""The ELF campaign: mutated bundled ELFs must be refused cleanly or run without harm.

A case mutates one of the bundled programs (``hlemu/guest/bin/*.elf``) one to
three times: bit flips, edits of ELF and program header fields (``e_phoff``,
``e_phnum``, ``e_phentsize``, ``e_entry``, ``e_shoff``, ``e_shnum``,
``e_shstrndx``, ``p_type``, ``p_offset``, ``p_vaddr``, ``p_filesz``, ``p_memsz``,
``p_flags``, ``p_align``) to values that break loaders (0, -1, off by one or by a
page, past the end of the file), and truncation. The loader must either refuse
it with a :class:`~hlemu.loaders.LoaderError` (any other exception is a
finding), or the kernel must spawn it and run it for a bounded number of
instructions while the bystander still finishes with its normal output.
"""

from __future__ import annotations

import random
import struct
import time
import traceback
from pathlib import Path

from hlemu.fuzz.driver import Case, CaseResult, where
from hlemu.guest import program_path
from hlemu.loaders import LOADERS, Image, LoaderError

PROGRAMS = ("hello", "compute", "threads", "faults", "shmem", "ipc_client", "ipc_server", "fb")
RUN_INSTRUCTIONS = 20_000_000  # the mutant and the bystander (~1M instructions) share them
# ELF32 header fields: (name, offset, struct format)
ELF_FIELDS = (("e_type", 16, "<H"), ("e_machine", 18, "<H"), ("e_entry", 24, "<I"), ("e_phoff", 28, "<I"),
              ("e_shoff", 32, "<I"), ("e_ehsize", 40, "<H"), ("e_phentsize", 42, "<H"), ("e_phnum", 44, "<H"),
              ("e_shentsize", 46, "<H"), ("e_shnum", 48, "<H"), ("e_shstrndx", 50, "<H"))
# Elf32_Phdr fields: (name, offset within the entry)
PH_FIELDS = (("p_type", 0), ("p_offset", 4), ("p_vaddr", 8), ("p_paddr", 12), ("p_filesz", 16),
             ("p_memsz", 20), ("p_flags", 24), ("p_align", 28))
PH_WEIGHTS = (1, 3, 3, 0.3, 3, 3, 1, 1)

_sources: dict[str, bytes] = {}


def source(name: str) -> bytes:
    if name not in _sources:
        _sources[name] = Path(program_path(name)).read_bytes()
    return _sources[name]


def _interesting(rng: random.Random, old: int, bits: int, file_size: int) -> int:
    top = (1 << bits) - 1
    choices = (0, 1, top, top >> 1, old + 1, old - 1, old + 0x1000, old - 0x1000, old << 1, old >> 1,
               file_size, file_size + 1, file_size - 4, 0x1000, 0x00100000, 0x04000000, 0xFFFFF000,
               rng.getrandbits(bits))
    return rng.choice(choices) & top


def mutate(data: bytes, rng: random.Random) -> tuple[bytes, list[str]]:
    """``data`` mutated 1-3 times, and what was done (for the report)."""
    out = bytearray(data)
    done = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        roll = rng.random()
        if roll < 0.3:
            done.append(_flip(out, rng))
        elif roll < 0.55:
            done.append(_edit_elf_field(out, rng))
        elif roll < 0.9:
            done.append(_edit_program_header(out, rng))
        else:
            cut = rng.choice((rng.randrange(0, 64), rng.randrange(0, max(len(out), 1))))
            del out[cut:]
            done.append(f"truncated to {cut} bytes")
    return bytes(out), done


def _flip(out: bytearray, rng: random.Random) -> str:
    if not out:
        return "flip: nothing to flip"
    span = 0x100 if rng.random() < 0.6 else len(out)  # headers more often than anything else
    flips = []
    for _ in range(rng.randrange(1, 9)):
        i = rng.randrange(min(span, len(out)))
        bit = rng.randrange(8)
        out[i] ^= 1 << bit
        flips.append(f"{i:#x}.{bit}")
    return "bit flips at " + " ".join(flips)


def _edit_elf_field(out: bytearray, rng: random.Random) -> str:
    name, offset, fmt = rng.choice(ELF_FIELDS)
    size = struct.calcsize(fmt)
    if offset + size > len(out):
        return f"{name}: past the end"
    old = struct.unpack_from(fmt, out, offset)[0]
    new = _interesting(rng, old, 8 * size, len(out))
    struct.pack_into(fmt, out, offset, new)
    return f"{name} {old:#x} -> {new:#x}"


def _edit_program_header(out: bytearray, rng: random.Random) -> str:
    if len(out) < 52:
        return "phdr: no header"
    phoff, phentsize, phnum = struct.unpack_from("<I", out, 28)[0], *struct.unpack_from("<HH", out, 42)
    if not phnum or phoff + 32 > len(out):
        return "phdr: none"
    index = rng.randrange(phnum)
    (name, field_offset), = rng.choices(PH_FIELDS, PH_WEIGHTS)
    at = phoff + index * max(phentsize, 32) + field_offset
    if at + 4 > len(out):
        return f"phdr {index} {name}: past the end"
    old = struct.unpack_from("<I", out, at)[0]
    new = _interesting(rng, old, 32, len(out))
    struct.pack_into("<I", out, at, new)
    return f"phdr {index} {name} {old:#x} -> {new:#x}"


def load(data: bytes, name: str) -> Image:
    """The registered loaders' verdict, as ``load_image`` gives it for a file."""
    for loader in LOADERS:
        if loader.is_compatible(data):
            return loader.load(data, name=name, source=name)
    raise LoaderError(f"{name}: not a guest executable")


def run_elf_case(seed: int, backend: str = "auto", max_instructions: int = RUN_INSTRUCTIONS) -> CaseResult:
    """One mutant. Refused by the loader: nothing reached a kernel, so none is booted. Accepted: it
    runs beside the bystander in a fresh kernel (the kernel may still refuse it at spawn)."""
    started = time.perf_counter()
    rng = random.Random(seed)
    program = rng.choice(PROGRAMS)
    data, mutations = mutate(source(program), rng)
    note = f"{program}.elf: {'; '.join(mutations)}"
    try:
        image = load(data, f"{program}-mutant")
    except LoaderError:
        return CaseResult("elf", seed, refused=True, note=note, seconds=time.perf_counter() - started)
    except Exception as exc:  # noqa: BLE001 - the loader must only ever raise LoaderError
        result = CaseResult("elf", seed, note=note, seconds=time.perf_counter() - started)
        result.failures.append({"kind": "escaped", "message": f"ElfLoader.load: {where(exc)}",
                                "detail": note + "\n" + traceback.format_exc()})
        return result
    case = Case("elf", seed, backend, check_every=0)
    case.result.note = note
    def spawn() -> None:
        try:
            case.kernel.spawn(image)
        except LoaderError:  # the kernel may refuse an image, but only this way
            case.result.refused = True

    case.guarded("Kernel.spawn", spawn)
    if not case.broken:  # refused at spawn or not, the bystander runs to its end
        case.run(max_instructions)
    result = case.finish()
    for failure in result.failures:
        failure["detail"] = f"{note}\n{failure.get('detail', '')}"
    return result

