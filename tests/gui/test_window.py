"""The window on the demo: every model's rows against the kernel's own state."""

from __future__ import annotations

import numpy as np

from gui.models.base import ROW_ROLE
from gui.models.pages import PageTableModel
from gui.state import FAULT_KINDS
from kernel.display import SCREEN_HEIGHT


def rows(model) -> list:
    return [model.index(r, 0).data(ROW_ROLE) for r in range(model.rowCount())]


def test_demo_frames_show_on_the_screens_as_the_kernel_renders_them(demo, shots_dir):
    assert demo.run_frames(60) == "frames done"
    top, bottom, frame = demo.call(lambda emu: (emu.kernel.display.render("top"),
                                                emu.kernel.display.render("bottom"), emu.frame))
    assert frame == 60 and demo.window.snapshot.frame == 60
    assert np.array_equal(demo.window.screens.pixels("top"), top)
    assert np.array_equal(demo.window.screens.pixels("bottom"), bottom)
    assert top.shape == (SCREEN_HEIGHT, 400, 3) and len(np.unique(top.reshape(-1, 3), axis=0)) > 3  # the bars
    demo.window.grab().save(str(shots_dir / "main_window.png"))


def test_screens_are_patched_from_dirty_pages_not_copied_whole(demo):
    demo.run_frames(5)
    drawn = demo.window.screens.columns_drawn
    demo.run_frames(30)
    per_frame = (demo.window.screens.columns_drawn - drawn) / 30
    # fb writes 15 of the top screen's 70 pages a frame (about 5.7 columns a page) and leaves the
    # bottom screen alone: far less than the 720 columns of both screens.
    assert 0 < per_frame < 200
    assert np.array_equal(demo.window.screens.pixels("top"), demo.call(lambda emu: emu.kernel.display.render("top")))


def test_process_and_thread_rows_match_the_kernel(demo):
    demo.run_frames(30)
    truth = demo.call(lambda emu: [(p.pid, p.name, p.status, p.process.cpu.instructions, p.faults)
                                   for p in emu.processes])
    shown = sorted((r.pid, r.name, r.status, r.instructions, r.faults)
                   for r in rows(demo.window.process_dock.processes))
    assert shown == sorted(truth)
    threads = demo.call(lambda emu: sorted((p.pid, t.tid, t.name, t.state, t.priority)
                                           for p in emu.processes for t in p.threads))
    shown_threads = rows(demo.window.process_dock.threads)
    assert sorted((t.pid, t.tid, t.name, t.state, t.priority) for t in shown_threads) == threads
    # the fb process is running and selected (the first live process)
    assert demo.session.selection.pid == next(pid for pid, name, *_ in truth if name == "fb")


def test_memory_map_rows_match_maps_and_sharing(demo):
    demo.run_frames(10)
    pid = demo.session.selection.pid
    truth = demo.call(lambda emu: [(r.base, r.size, int(r.perm), int(r.state), r.phys, r.shared_with)
                                   for r in emu.process(pid).maps()])
    shown = [(r.base, r.size, int(r.perm), int(r.state), r.phys, r.shared_with)
             for r in rows(demo.window.map_dock.model)]
    assert shown == truth
    vram = next(r for r in truth if r[0] == 0x1F000000)
    assert sorted(vram[5]) == sorted(p for p, *_ in demo.call(lambda emu: [(q.pid,) for q in emu.processes])
                                     if p != pid)  # every process maps VRAM
    text = demo.window.map_dock.model.index(0, 0).data()
    assert text == f"{truth[0][0]:08x}"


def test_page_table_model_rows_and_filters_match_the_page_table(demo):
    demo.window.page_dock.show()
    demo.window.page_dock.raise_()
    demo.window._want_pages()
    demo.run_frames(10)
    model: PageTableModel = demo.window.page_dock.model
    pid = demo.session.selection.pid
    mapped, specials = demo.call(lambda emu: (int((emu.process(pid).page_table.frame >= 0).sum()),
                                              int((emu.process(pid).page_table.special != 0).sum())))
    assert model.snapshot is not None and model.snapshot.pid == pid
    assert model.rowCount() == mapped
    for row in (0, model.rowCount() // 2, model.rowCount() - 1):
        vpn = model.vpn_at(row)
        page = demo.call(lambda emu, v=vpn: emu.process(pid).page(v << 12))
        texts = [model.index(row, c).data() for c in range(model.columnCount())]
        assert texts[0] == f"{vpn << 12:08x}"
        phys = demo.call(lambda emu, v=vpn: emu.process(pid).space.translate(v << 12))
        assert texts[1] == f"{phys:08x}"
        assert texts[3] == page.state.name.lower()
    model.set_filter("all pages")
    assert model.rowCount() == 1 << 20
    model.set_filter("special")
    assert model.rowCount() == specials > 0  # the framebuffers are write-tracked
    assert all(model.index(r, PageTableModel.SPECIAL).data() for r in range(model.rowCount()))
    model.set_filter("faulted")
    counts = demo.call(lambda emu: emu.process(pid).space.faults.array.copy())
    faulted = np.flatnonzero(counts.any(axis=0))
    assert list(model.rows) == list(faulted)
    vpn = int(faulted[0])
    for i, _kind in enumerate(FAULT_KINDS):
        assert model.index(0, PageTableModel.SPECIAL + 1 + i).data() == f"{int(counts[i, vpn]):,}"


def test_jump_to_address_scrolls_to_the_page_and_widens_the_filter(demo):
    demo.window.page_dock.show()
    demo.window._want_pages()
    demo.run_frames(2)
    dock = demo.window.page_dock
    row = dock.jump_to(0x00100123)
    assert dock.model.vpn_at(row) == 0x100
    row = dock.jump_to(0x7000_0000)  # unmapped: the filter widens to all pages
    assert dock.filter_box.currentText() == "all pages" and dock.model.vpn_at(row) == 0x70000
    dock.jump_to_text("nonsense")
    assert "not a hexadecimal address" in dock.status.text()


def test_address_strip_colours_mapped_pages_and_click_opens_the_page_table(demo, qtbot):
    demo.window.space_dock.show()
    demo.window._want_pages()
    demo.run_frames(2)
    strip = demo.window.space_dock.strip
    assert strip.state is not None
    strip.lo, strip.hi = 0x100, 0x100 + strip.width()  # one page a pixel from the code
    colours = strip.colours(strip.width())
    assert tuple(colours[0]) != tuple(colours[-1])  # code at the left, free space further on
    strip.clicked.emit(0x00101000)
    assert demo.window.page_dock.model.vpn_at(demo.window.page_dock.view.currentIndex().row()) == 0x101


def test_handles_rows_match_handle_info(demo):
    demo.run_frames(10)
    pid = demo.session.selection.pid
    truth = demo.call(lambda emu: [(h.handle, h.type, h.object_id, h.holders) for h in emu.process(pid).handle_info()])
    assert [(h.handle, h.type, h.object_id, h.holders) for h in rows(demo.window.handle_dock.model)] == truth
    assert truth  # fb holds service sessions, events and shared memory


def test_ipc_recorder_shows_every_message_decoded_and_filters(demo):
    log: list = []
    demo.call(lambda emu: emu.on_ipc(lambda m: log.append((m.sender, m.service, m.command, m.reply))))
    assert demo.call(lambda emu: list(log)) == []  # paused: no guest runs, no message
    demo.run_frames(20)
    shown = [(r.sender, r.service, r.command, r.reply) for r in rows(demo.window.ipc_dock.model)]
    assert len(log) > 0 and shown[-len(log):] == log
    dock = demo.window.ipc_dock
    index = dock.service_box.findData("gsp::Gpu")
    assert index > 0
    dock.service_box.setCurrentIndex(index)
    assert rows(dock.model) and all(r.service == "gsp::Gpu" for r in rows(dock.model))
    dock.filter.setText("reply")
    assert 0 < dock.proxy.rowCount() < dock.model.rowCount()


def test_debug_output_per_process(demo):
    demo.run_frames(61)
    dock = demo.window.output_dock
    assert "fb: frame 60, bar 0 at page 59" in dock.text.toPlainText()
    fb = demo.session.selection.pid
    dock.process_box.setCurrentIndex(dock.process_box.findData(fb))
    text = dock.text.toPlainText()
    assert text.startswith("fb: start") and "ipc_client" not in text


def test_fault_plot_follows_the_counters(demo):
    demo.run_frames(10)
    demo.run_frames(10)
    plot = demo.window.fault_dock.plot
    fb = demo.session.selection.pid
    write_track = demo.call(lambda emu: emu.process(fb).faults["write_track"])
    assert write_track > 0 and plot.series[(fb, "write_track")][-1] == write_track
    demo.window.fault_dock.kind_box.setCurrentText("write_track")
    assert {kind for (_, kind), _ in plot.visible()} == {"write_track"}


def test_status_bar_shows_frames_and_backend(demo):
    demo.run_frames(3)
    backend = demo.call(lambda emu: emu.backend)
    assert demo.window.backend_label.text() == f"memory: {backend}"
    assert demo.window.frame_label.text().startswith("frame 3 ")


def test_run_and_pause(demo):
    demo.window.run_action.trigger()
    demo.wait_snapshot(lambda s: s.running and s.frame >= 3)
    demo.window.pause_action.trigger()
    snap = demo.wait_snapshot(lambda s: not s.running)
    assert snap.reason == "paused"
    # Paused means paused: requests queued behind the pause see the same guest frame.
    assert demo.call(lambda emu: emu.frame) == snap.frame
    assert demo.call(lambda emu: emu.frame) == snap.frame
    demo.window.run_action.trigger()
    demo.wait_snapshot(lambda s: s.frame >= snap.frame + 30)  # and run runs on
    demo.window.pause_action.trigger()
    demo.wait_snapshot(lambda s: not s.running)


def _limiter(throttle: bool, ticks: int, clock: tuple[float, int]):
    from types import SimpleNamespace

    return SimpleNamespace(throttle=throttle, emu=SimpleNamespace(ticks=ticks), _clock=clock)


def test_the_frame_limiter_waits_for_wall_time_to_catch_up_with_guest_time():
    """The limiter's delay is guest time ahead of wall time (a pure function of both; the achieved
    frame rate is measured by ``hlemu bench gui``, not asserted here)."""
    from gui.worker import EmuWorker
    from kernel.layout import SYSTEM_TICK_HZ

    one_second = SYSTEM_TICK_HZ  # guest ticks
    worker = _limiter(True, one_second, (100.0, 0))
    assert EmuWorker._delay_ms(worker, 100.25) == 750  # 1 s of guest time after 0.25 s of wall time
    assert EmuWorker._delay_ms(worker, 101.0) == 0
    assert EmuWorker._delay_ms(_limiter(False, one_second, (100.0, 0)), 100.25) == 0  # unthrottled
    behind = _limiter(True, one_second, (100.0, 0))
    assert EmuWorker._delay_ms(behind, 101.5) == 0  # half a second behind: no catching up...
    assert behind._clock == (101.5, one_second)  # ...the limiter starts afresh from now
    slightly = _limiter(True, one_second, (100.0, 0))
    assert EmuWorker._delay_ms(slightly, 101.125) == 0 and slightly._clock == (100.0, 0)


def test_a_running_snapshot_keeps_the_memory_map_until_the_faults_refresh(qtbot):
    """While the guests run, the memory map (its sharers cost most of a snapshot) is taken as
    often as the fault totals; a stopped emulator's every snapshot has the map as it is."""
    from gui.worker import EmuWorker
    from hlemu.memory import MemoryPermission, MemoryState

    worker = EmuWorker(["hello"], backend="semifastmem", rewind=False)
    snaps = []
    worker.snapshot.connect(snaps.append)
    worker._build()
    try:
        emu = worker.emu
        pid = emu.processes[0].pid
        worker.selection.update(pid=pid, auto=False)
        worker._emit_snapshot()  # stopped: the map as it is, kept for the running ones
        frames = emu.kernel.allocate("SYSTEM", 1)
        emu.process(pid).process.space.map(0x30000000, frames, MemoryPermission.RW, MemoryState.SHARED)
        bases = lambda: [r.base for r in snaps[-1].detail.regions]  # noqa: E731
        worker.running = True
        worker._last_faults = 1e18  # the fault totals were just taken: the map is kept
        worker._emit_snapshot()
        assert 0x30000000 not in bases()
        worker._last_faults = 0.0  # their interval is over: both are taken anew
        worker._emit_snapshot()
        assert 0x30000000 in bases()
        emu.process(pid).process.space.unmap(0x30000000, 0x1000)
        worker.running = False  # stopped: always the map as it is
        worker._last_faults = 1e18
        worker._emit_snapshot()
        assert 0x30000000 not in bases()
    finally:
        worker.emu.close()
