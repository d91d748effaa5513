"""The Heap, Footprints and Scanner docks (issue 13), offscreen, on two instances of inspect
stopped in checkpoint(): what their models show, what hovering says, and screenshots."""

from __future__ import annotations

from PyQt6.QtCore import Qt

from gui.models import ProcessModel
from gui.models.inspect import FootprintModel, HeapBlockModel, ScanModel, kib
from hlemu.inspect.footprint import SHARED
from hlemu.loaders import load_image
from hlemu.memory import MemoryPermission
from hlemu.run import resolve
from kernel.api.inspect import physical_owners
from kernel.layout import SYSTEM_TICK_HZ

DISPLAY = Qt.ItemDataRole.DisplayRole


def shown(model, row: int, column: int) -> str:
    return model.index(row, column).data(DISPLAY)


def stop_at_checkpoint(driver, rounds: int = 1) -> int:
    """Break the selected process (the first inspect) in checkpoint(), run ``rounds`` times;
    its pid."""
    pid = driver.session.selection.pid

    def arm(emu):
        emu.process(pid).break_at("checkpoint")

    driver.call(arm)
    for _ in range(rounds):
        driver.call(lambda emu: emu.run().reason)
    return pid


def test_heap_dock_shows_the_blocks_inspect_allocates(gui_programs, shots_dir):
    driver = gui_programs(["inspect", "inspect"])
    pid = stop_at_checkpoint(driver)
    dock = driver.window.heap_dock
    dock.show()
    dock.raise_()
    now = driver.call(lambda emu: emu.ticks / SYSTEM_TICK_HZ)
    driver.qtbot.waitUntil(lambda: dock.sample is not None and dock.sample.seconds == now, timeout=30_000)
    heap = driver.call(lambda emu: emu.process(pid).heap())
    sample = dock.sample
    assert sample.error is None and sample.pid == pid
    assert [(b.address, b.size, b.used) for b in sample.blocks] == [(c.address, c.size, c.used) for c in heap.chunks]
    model = dock.model
    assert model.rowCount() == len(heap.chunks)
    first = heap.chunks[0]
    assert shown(model, 0, HeapBlockModel.ADDRESS) == f"{first.address:08x}"
    assert shown(model, 0, HeapBlockModel.SIZE) == f"{first.size:,}"
    assert {shown(model, r, HeapBlockModel.STATE) for r in range(model.rowCount())} == {"used", "free"}
    assert f"{len(heap.chunks)} blocks, {heap.used:,} used" in dock.summary.text()
    free = heap.free_chunks()[0]
    assert dock._strip_hover(free.address - heap.start + 1, 0.5).startswith(
        f"{free.address:08x}: free block of {free.size:,} bytes")
    # The lines grow by one point per guest moment the dock sees, and hovering names it.
    driver.call(lambda emu: emu.run().reason)  # to the next checkpoint: a later guest time
    driver.qtbot.waitUntil(lambda: len(dock.history) == 2, timeout=30_000)
    assert dock._lines_hover(dock.history[0][0], 0) == (f"{now:.6f} s: used {heap.used:,}, free {heap.free:,}, "
                                                        f"high water {heap.high_water:,}")
    assert len(dock.curves["used"].getData()[0]) == 2
    dock.resize(700, 420)
    assert dock.grab().save(str(shots_dir / "dock_heap_inspect.png"))


def test_footprint_dock_halves_the_shared_code(gui_programs, shots_dir):
    driver = gui_programs(["inspect", "inspect"])
    stop_at_checkpoint(driver)
    dock = driver.window.footprint_dock
    dock.show()
    dock.raise_()
    driver.qtbot.waitUntil(lambda: len(dock.rows) == 3, timeout=30_000)  # two processes, the system
    code = sum(seg.size for seg in load_image(resolve("inspect")).segments if not seg.perm & MemoryPermission.W)
    model = dock.model
    names = [shown(model, r, FootprintModel.NAME) for r in range(model.rowCount())]
    assert names == ["inspect", "inspect", "system"]
    code_column = next(i for i, c in enumerate(model.COLUMNS) if c.title == "code PSS")
    for row in (0, 1):
        assert shown(model, row, code_column) == kib(code // 2)  # two sharers: half each
    system = dock.rows[2]
    assert shown(model, 2, FootprintModel.PID) == "all" and system.pss == dock.rows[0].pss + dock.rows[1].pss
    assert dock._hover(0, 0).startswith(f"{dock.rows[0].pid} inspect: RSS {kib(dock.rows[0].rss)}")
    assert len(dock.bars) == 3
    # The picture of physical memory: one pixel a frame, 256 a row, coloured by holder.
    picture = dock.picture
    owners = driver.call(lambda emu: physical_owners(emu))
    assert (picture.owners == owners).all()
    a, b = dock.rows[0].pid, dock.rows[1].pid
    counts = picture.counts()
    assert counts[a] * 4096 == dock.rows[0].uss and counts[b] * 4096 == dock.rows[1].uss
    code_frame = driver.call(lambda emu: int(emu.process(a).page(0x00100000).frame))
    assert owners[code_frame] == SHARED
    assert picture.describe(code_frame).endswith(": shared by processes")
    assert dock._physical_hover(code_frame % 256 + 0.5, code_frame // 256 + 0.5) == picture.describe(code_frame)
    assert dock.image.image.shape == (-(-len(owners) // 256), 256, 3)
    assert f"{a} inspect: {kib(counts[a] * 4096)}" in dock.legend_label.text()
    dock.resize(700, 560)
    assert dock.grab().save(str(shots_dir / "dock_footprints_inspect.png"))


def test_scanner_dock_narrows_to_the_counter(gui_programs, shots_dir):
    driver = gui_programs(["inspect", "inspect"])
    pid = stop_at_checkpoint(driver)
    dock = driver.window.scanner_dock
    dock.show()
    dock.raise_()
    driver.qtbot.waitUntil(lambda: dock.pid == pid)
    dock.value.setText("3")
    dock.scan_button.click()
    driver.qtbot.waitUntil(lambda: dock.result is not None, timeout=30_000)
    first = dock.result.count
    assert first > 1 and dock.status.text().startswith(f"process {pid}, 4-byte values: {first:,} candidates")
    for value in (6, 9):
        driver.call(lambda emu: emu.run().reason)
        dock.condition.setCurrentText("increased")
        dock.rescan_button.click()
        driver.qtbot.waitUntil(lambda: len(dock.result.history) % 2 == 0, timeout=30_000)
        dock.condition.setCurrentText("equal")
        dock.value.setText(str(value))
        dock.rescan_button.click()
        driver.qtbot.waitUntil(lambda: len(dock.result.history) % 2 == 1, timeout=30_000)
    counter = driver.call(lambda emu: emu.process(pid).address_of("counter"))
    model = dock.model
    rows = {shown(model, r, ScanModel.ADDRESS): r for r in range(model.rowCount())}
    assert f"{counter:08x}" in rows and len(rows) < first
    at = rows[f"{counter:08x}"]
    assert shown(model, at, ScanModel.SYMBOL) == "counter"
    assert shown(model, at, ScanModel.VALUE) == "0x9" and shown(model, at, ScanModel.DECIMAL) == "9"
    assert " -> " in dock.status.text() and len(dock.result.history) == 5
    dock.range.setText("00100000-08000000")  # the image and the heap only: no stack copies
    dock.scan_button.click()
    driver.qtbot.waitUntil(lambda: len(dock.result.history) == 1, timeout=30_000)
    symbols = [shown(model, r, ScanModel.SYMBOL) for r in range(model.rowCount())]
    assert "counter" in symbols and len(symbols) < 3  # (a 9 in the grid array too)
    assert all(0x00100000 <= row.address < 0x08000000 for row in dock.result.rows)
    dock.range.setText("08000000-00100000")
    dock.scan_button.click()
    assert dock.status.text() == "the range 08000000-00100000 ends before it starts"
    dock.range.clear()
    dock.value.setText("nine")
    dock.scan_button.click()
    assert dock.status.text() == "'nine' is not a number (decimal, or hex with 0x)"
    dock.resize(700, 360)
    assert dock.grab().save(str(shots_dir / "dock_scanner_inspect.png"))


def test_fault_plot_draws_with_pyqtgraph_and_names_counts_on_hover(demo, shots_dir):
    demo.run_frames(10)
    demo.run_frames(10)
    plot = demo.window.fault_dock.plot
    fb = demo.session.selection.pid
    write_track = demo.call(lambda emu: emu.process(fb).faults["write_track"])
    assert set(plot.curves) == {key for key, _ in plot.visible()} and (fb, "write_track") in plot.curves
    xs, ys = plot.curves[(fb, "write_track")].getData()
    assert ys[-1] == write_track and xs[-1] == plot.frames[-1]
    assert f"{fb} write track {write_track:,}" in plot._hover(plot.frames[-1], 0)
    demo.window.fault_dock.kind_box.setCurrentText("write_track")
    assert {kind for _, kind in plot.curves} == {"write_track"}
    demo.window.fault_dock.show()
    demo.window.fault_dock.raise_()
    demo.window.fault_dock.resize(640, 300)
    assert demo.window.fault_dock.grab().save(str(shots_dir / "dock_fault_plot_pyqtgraph.png"))
    demo.window.fault_dock.kind_box.setCurrentText("all kinds")
    plot.clear()
    assert not plot.curves and plot.empty.isVisible()


def test_processes_dock_shows_each_footprint(gui_programs):
    driver = gui_programs(["inspect", "inspect"])
    stop_at_checkpoint(driver)
    expected = driver.call(lambda emu: {p.pid: p.footprint() for p in emu.processes})
    model = driver.window.process_dock.processes
    assert model.headerData(ProcessModel.PSS, Qt.Orientation.Horizontal) == "PSS"
    for row in range(model.rowCount()):
        pid = int(shown(model, row, ProcessModel.PID))
        fp = expected[pid]
        assert [shown(model, row, c) for c in (ProcessModel.RSS, ProcessModel.PSS, ProcessModel.USS)] == [
            kib(fp.rss), kib(fp.pss), kib(fp.uss)]
        assert fp.pss < fp.rss  # VRAM and the code are shared
