"""Driving the debugger: pause, step, breakpoints, registers, disassembly, memory edits, crashes,
input, the console, reset, and screenshots of every dock."""

from __future__ import annotations

from PyQt6.QtCore import QPoint, Qt
from PyQt6.QtTest import QTest
from PyQt6.QtWidgets import QMessageBox

from gui.models.base import ROW_ROLE
from hlemu.guest import program_path


def rows(model) -> list:
    return [model.index(r, 0).data(ROW_ROLE) for r in range(model.rowCount())]


def test_step_runs_one_instruction_and_shows_its_registers(demo):
    demo.run_frames(2)
    demo.window.step_action.trigger()
    snap = demo.wait_snapshot(lambda s: s.reason == "stepped")
    thread = snap.detail.thread
    truth = demo.call(lambda emu: emu.thread_view(next(t for p in emu.processes for t in p.process.threads
                                                       if t.tid == thread.tid), vfp=True))
    regs = {r[0]: r[1] for r in rows(demo.window.register_dock.model)}
    assert regs["pc"] == f"{truth.pc:08x}" and regs["sp"] == f"{truth.registers['sp']:08x}"
    assert regs["cpsr"] == f"{truth.registers['cpsr']:08x}" and "d15" in regs and "fpscr" in regs
    before = demo.call(lambda emu: emu.kernel.instructions)
    demo.window.step_action.trigger()
    demo.wait_snapshot(lambda s: s.serial > snap.serial and s.reason == "stepped")
    assert demo.call(lambda emu: emu.kernel.instructions) == before + 1


def test_disassembly_follows_the_pc_in_arm_mode(demo):
    demo.run_frames(2)
    demo.window.step_action.trigger()
    snap = demo.wait_snapshot(lambda s: s.reason == "stepped")
    pc = snap.detail.thread.pc
    model = demo.window.disasm_dock.model
    lines = rows(model)
    at = next(i for i, line in enumerate(lines) if line.address == pc)
    pid = snap.detail.pid
    truth = demo.call(lambda emu: emu.process(pid).disasm(pc, 1, thumb=False)[0])
    assert truth.endswith(lines[at].text) and model.index(at, 0).data() == "\u25b6"
    assert demo.window.disasm_dock.windowTitle() == "Disassembly (arm)"


def test_breakpoint_from_the_disassembly_stops_the_run_before_its_instruction(demo):
    demo.run_frames(2)
    demo.window.step_action.trigger()
    snap = demo.wait_snapshot(lambda s: s.reason == "stepped")
    pid, tid = snap.detail.pid, snap.detail.thread.tid
    # the instruction after the SVC the thread waits in runs when the next VBlank wakes it
    target = demo.call(lambda emu: next(t for t in emu.process(pid).threads if t.tid == tid).pc)
    demo.window.select(pid, tid)
    demo.window.disasm_dock.toggle_breakpoint.emit(target)
    demo.wait_snapshot(lambda s: (pid, target) in s.breakpoints)
    assert rows(demo.window.break_dock.model) == [(pid, target)]
    demo.window.run_action.trigger()
    snap = demo.wait_snapshot(lambda s: s.reason == "breakpoint")
    assert not snap.running
    assert demo.call(lambda emu: next(t for t in emu.process(pid).threads if t.tid == tid).pc) == target
    demo.window.break_dock.view.selectRow(0)
    demo.window.break_dock._remove()
    demo.wait_snapshot(lambda s: not s.breakpoints)
    assert rows(demo.window.break_dock.model) == []
    frame = snap.frame
    demo.window.run_action.trigger()
    demo.wait_snapshot(lambda s: s.frame >= frame + 3)  # runs on without stopping again
    demo.window.pause_action.trigger()
    demo.wait_snapshot(lambda s: not s.running)


def test_hex_view_shows_memory_and_edits_write_it(demo, qtbot):
    demo.run_frames(2)
    pid = demo.session.selection.pid
    stack = demo.call(lambda emu: emu.process(pid).threads[0].registers["sp"]) & ~0xFF
    demo.window.hex_dock.goto.emit(stack)
    demo.wait_snapshot(lambda s: s.detail.memory_at == stack)
    model = demo.window.hex_dock.model
    memory = demo.call(lambda emu: emu.process(pid).peek(stack, 256))
    assert model.data_bytes == memory and model.index(0, 3).data() == f"{memory[3]:02x}"
    assert model.headerData(1, Qt.Orientation.Vertical) == f"{stack + 16:08x}"
    assert model.setData(model.index(0, 3), "a5")
    qtbot.waitUntil(lambda: demo.call(lambda emu: emu.process(pid).peek(stack + 3, 1)) == b"\xa5")
    assert not model.setData(model.index(0, 4), "zz")  # not hex: refused, memory unchanged
    demo.window.hex_dock.address.setText("0x7000_0000")
    demo.window.hex_dock._go()
    demo.wait_snapshot(lambda s: s.detail.memory_at == 0x70000000)
    assert model.rowCount() == 0 and "not mapped" in demo.window.hex_dock.status.text()


def test_a_guest_crash_opens_a_dialog_and_highlights_the_faulting_page(gui_programs):
    driver = gui_programs(["hello", "faults"])
    driver.run_frames(1)  # no display: runs until every process has ended
    driver.wait_snapshot(lambda s: any(r.crash for r in s.processes))
    dialogs = driver.window.crash_dialogs
    assert len(dialogs) == 1 and dialogs[0].isVisible()
    crash = dialogs[0].crash
    truth = driver.call(lambda emu: (emu.process(crash.pid).crash, emu.process(crash.pid).crash_address))
    assert (crash.report, crash.address) == truth and crash.address is not None
    assert "=== guest crash" in driver.window.output_dock.text.toPlainText()
    driver.window.show_crash_page(crash)
    dock = driver.window.page_dock
    driver.qtbot.waitUntil(lambda: dock.model.highlight_vpn == crash.address >> 12
                           and dock.model.snapshot is not None and dock.model.snapshot.pid == crash.pid)
    row = dock.view.currentIndex().row()
    assert dock.model.vpn_at(row) == crash.address >> 12
    assert dock.model.index(row, 0).data(Qt.ItemDataRole.BackgroundRole) is not None
    rows_ = {r.pid: r for r in rows(driver.window.process_dock.processes)}
    assert rows_[crash.pid].status == "crashed" and "exited (7)" in {r.status for r in rows_.values()}


def test_a_file_that_will_not_load_is_an_error_dialog_and_the_rest_runs_on(demo, tmp_path, monkeypatch):
    bad = tmp_path / "bad.elf"
    bad.write_bytes(b"\x7fELF this is not an ELF file")
    said: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: said.append(text))
    before = len(rows(demo.window.process_dock.processes))
    demo.window.open_program(str(bad))
    demo.qtbot.waitUntil(lambda: bool(said))
    assert said[0].startswith(f"Cannot load {bad}")
    assert len(rows(demo.window.process_dock.processes)) == before
    demo.window.open_program(str(program_path("hello")))
    demo.qtbot.waitUntil(lambda: len(rows(demo.window.process_dock.processes)) == before + 1)
    assert demo.run_frames(3) == "frames done"


def test_keys_and_touch_reach_the_pad(demo):
    demo.run_frames(1)
    QTest.keyPress(demo.window, Qt.Key.Key_X)  # A
    QTest.keyPress(demo.window, Qt.Key.Key_Right)
    QTest.keyPress(demo.window, Qt.Key.Key_L)  # circle pad right
    assert demo.call(lambda emu: (emu.kernel.hid.pad.buttons, emu.kernel.hid.pad.circle)) == (1 | 1 << 4, (156, 0))
    QTest.keyRelease(demo.window, Qt.Key.Key_X)
    QTest.keyRelease(demo.window, Qt.Key.Key_Right)
    QTest.keyRelease(demo.window, Qt.Key.Key_L)
    assert demo.call(lambda emu: (emu.kernel.hid.pad.buttons, emu.kernel.hid.pad.circle)) == (0, (0, 0))
    screens = demo.window.screens
    rect = screens.rects()["bottom"]
    scale = screens.effective_scale()
    QTest.mousePress(screens, Qt.MouseButton.LeftButton, pos=QPoint(rect.x() + 10 * scale, rect.y() + 20 * scale))
    assert demo.call(lambda emu: emu.kernel.hid.pad.touch) == (10, 20)
    QTest.mouseRelease(screens, Qt.MouseButton.LeftButton, pos=QPoint(rect.x() + 10 * scale, rect.y() + 20 * scale))
    assert demo.call(lambda emu: emu.kernel.hid.pad.touch) is None


def test_holding_the_d_pad_moves_the_square_on_the_bottom_screen(demo):
    demo.run_frames(2)
    before = demo.window.screens.pixels("bottom").copy()
    QTest.keyPress(demo.window, Qt.Key.Key_Left)
    demo.run_frames(10)
    QTest.keyRelease(demo.window, Qt.Key.Key_Left)
    after = demo.window.screens.pixels("bottom")
    moved = [x for x in range(320) if (before[:, x] != after[:, x]).any()]
    assert moved and min(moved) < 144  # the square (at x 144..175) went left


def test_console_runs_python_on_the_emulator(demo):
    console = demo.window.console_dock
    console.submit("p = emu.process('fb')")
    console.submit("print(p.name, len(p.maps()) > 3)")
    demo.qtbot.waitUntil(lambda: console.busy == 0)
    assert "fb True" in console.output.toPlainText()
    console.submit("emu.run(frames=5).reason")
    demo.qtbot.waitUntil(lambda: console.busy == 0)
    assert "'frames done'" in console.output.toPlainText()
    assert demo.window.snapshot.frame == 5  # the window shows what the console did
    console.submit("1/0")
    demo.qtbot.waitUntil(lambda: console.busy == 0)
    assert "ZeroDivisionError" in console.output.toPlainText()
    console.prompt.setText("p.na")
    QTest.keyPress(console.prompt, Qt.Key.Key_Tab)
    demo.qtbot.waitUntil(lambda: console.prompt.text() == "p.name")


def test_pause_interrupts_a_long_console_run(gui_programs):
    driver = gui_programs(["hello"])
    console = driver.window.console_dock
    console.submit("p = emu.processes[0]; p.poke(p.threads[0].pc, bytes.fromhex('feffffea'))")  # b . (forever)
    emu = driver.call(lambda emu: emu)
    start = driver.call(lambda emu: emu.instructions)
    console.submit("r = emu.run(instructions=10**12)")
    # Guest time, not wall time: ten million instructions into the run (read between the kernel's
    # slices; the count only grows)...
    driver.qtbot.waitUntil(lambda: emu.instructions > start + 10_000_000, timeout=60_000)
    assert console.busy == 1  # ...it is still under way
    driver.qtbot.waitUntil(lambda: driver.window.state_label.text() == "running", timeout=10_000)
    assert driver.window.pause_action.isEnabled()  # as the window says: running, so Pause can stop it
    driver.window.pause_action.trigger()
    driver.qtbot.waitUntil(lambda: console.busy == 0, timeout=10_000)
    console.submit("print(r.reason, emu.paused)")
    driver.qtbot.waitUntil(lambda: console.busy == 0)
    assert "paused True" in console.output.toPlainText()
    assert driver.window.snapshot.reason == "paused" and not driver.window.snapshot.running


def test_reset_starts_the_programs_again(demo):
    demo.run_frames(30)
    demo.window.open_program(str(program_path("hello")))
    demo.qtbot.waitUntil(lambda: len(demo.window.snapshot.processes) == 5)
    demo.window.reset_action.trigger()
    snap = demo.wait_snapshot(lambda s: s.frame == 0 and s.reason == "ready")
    assert snap.generation == 2 and demo.window.ipc_dock.model.rowCount() == 0
    assert not demo.window.fault_dock.plot.series
    assert [r.name for r in snap.processes] == ["ipc_server", "ipc_client", "fb", "console", "hello"]  # opened too
    assert all(r.status == "running" and r.instructions == 0 for r in snap.processes)
    assert demo.run_frames(2) == "frames done"


def test_screenshots_of_the_window_and_every_dock(demo, shots_dir):
    demo.window.page_dock.show()
    demo.window._want_pages()
    demo.run_frames(90)
    demo.window.step_action.trigger()
    demo.wait_snapshot(lambda s: s.reason == "stepped")
    demo.window.console_dock.submit("emu.processes")
    demo.qtbot.waitUntil(lambda: demo.window.console_dock.busy == 0)
    saved = []
    for dock in demo.window.docks():
        dock.show()
        dock.raise_()
        image = dock.grab()
        path = shots_dir / f"dock_{dock.objectName()}.png"
        assert image.save(str(path)) and image.width() > 50
        saved.append(path)
    assert demo.window.grab().save(str(shots_dir / "window_debugging.png"))
    assert len(saved) == 17  # 16 and the GPU dock
