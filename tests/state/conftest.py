from __future__ import annotations

import numpy as np

from hlemu.memory.constants import MemoryState
from hlemu.run import DEMO
from kernel.api import Emulator


def make(programs: tuple[str, ...] | list[str], backend: str) -> Emulator:
    emu = Emulator(backend=backend, echo=False)
    for name in programs:
        emu.spawn(name)
    return emu


def fingerprint(emu: Emulator) -> dict:
    """What must be equal between a run with a save/load in it and one without: output,
    counters, each process's status, every live thread's registers, every mapped memory
    page's contents (by virtual address, so physical frame numbers may differ), screens."""
    kernel = emu.kernel
    procs = {}
    for p in [*kernel.processes.values(), *kernel.reaped]:
        regs = {}
        for t in p.threads:
            r = kernel.scheduler.registers(t)
            regs[t.tid] = None if r is None else r.raw.tobytes()
        memory = b""
        if not p.released:
            space = p.space
            vpns = space.table.mapped_pages()
            vpns = vpns[(space.table.frame[vpns] >= 0) & (space.table.state[vpns] != MemoryState.IO)]
            memory = b"".join(space.peek(int(v) << 12, 0x1000) for v in vpns)
        procs[p.pid] = (p.name, p.status, list(p.output), regs, memory, vpns.tolist() if not p.released else [])
    vram = kernel.memory.phys.regions["VRAM"]
    screens = kernel.memory.phys.data[vram.first_frame << 12:(vram.first_frame + vram.num_frames) << 12]
    return {"instructions": emu.instructions, "ticks": emu.ticks, "frame": emu.frame,
            "switches": kernel.context_switches, "processes": procs,
            "screens": np.asarray(screens).tobytes(), "top": emu.display.render("top").tobytes()
            if hasattr(emu.display, "render") else b""}


__all__ = ["DEMO", "fingerprint", "make"]
