"""The window fits: its key columns, its docks' widths, its size on a screen, its words and
buttons in agreement, the address-space legend's rows."""

from __future__ import annotations

from PyQt6.QtCore import QRect, Qt
from PyQt6.QtGui import QTextDocument

from gui.controls import Controls, controls
from gui.models import ProcessModel
from gui.views.columns import column_menu
from gui.views.memory_docks import STATE_COLOURS

DISPLAY = Qt.ItemDataRole.DisplayRole


def process_table_fits(window) -> None:
    """Every key column is wide enough for every cell's text, and nothing scrolls sideways."""
    view = window.process_dock.process_view
    model = window.process_dock.processes
    metrics = view.fontMetrics()
    assert view.horizontalScrollBar().maximum() == 0
    visible = [c for c in range(model.columnCount()) if not view.isColumnHidden(c)]
    assert visible == list(ProcessModel.KEY_COLUMNS)
    assert sum(view.columnWidth(c) for c in visible) <= view.viewport().width()
    for column in visible:
        for row in range(model.rowCount()):
            text = model.index(row, column).data(DISPLAY)
            assert metrics.horizontalAdvance(text) < view.columnWidth(column), (column, text)


def test_the_process_table_shows_its_key_columns_without_scrolling(demo, shots_dir):
    demo.run_frames(30)
    demo.wait_snapshot(lambda s: s.frame == 30)
    process_table_fits(demo.window)
    headers = [demo.window.process_dock.processes.headerData(c, Qt.Orientation.Horizontal)
               for c in ProcessModel.KEY_COLUMNS]
    assert headers == ["pid", "name", "status", "instructions", "faults"]
    demo.window.process_dock.grab().save(str(shots_dir / "process_dock.png"))


def test_the_header_menu_shows_the_other_columns(demo):
    view = demo.window.process_dock.process_view
    menu = column_menu(view)
    entries = {act.text(): act for act in menu.actions()}
    assert [act.text() for act in menu.actions() if act.isChecked()] == ["pid", "name", "status", "instructions",
                                                                          "faults"]
    assert view.isColumnHidden(ProcessModel.TITLE)
    entries["title"].setChecked(True)
    assert not view.isColumnHidden(ProcessModel.TITLE)
    entries["title"].setChecked(False)
    assert view.isColumnHidden(ProcessModel.TITLE)


def test_docks_keep_their_widths_when_the_guests_exit(gui_programs):
    driver = gui_programs(["hello", "ipc_client", "ipc_server"])
    window = driver.window
    driver.wait_snapshot(lambda s: bool(s.processes))
    driver.qtbot.waitUntil(lambda: window._docks_pinned)
    driver.qtbot.wait(200)  # the pinned sizes laid out
    before = {d.objectName(): (d.width(), d.height()) for d in window.docks() if d.isVisible()}
    assert driver.call(lambda emu: emu.run().reason) == "all exited"
    driver.wait_snapshot(lambda s: all(p.status != "running" for p in s.processes))
    driver.qtbot.wait(200)  # let a relayout, if any, happen
    after = {d.objectName(): (d.width(), d.height()) for d in window.docks() if d.isVisible()}
    assert after == before
    process_table_fits(window)


def test_at_scale_2_the_window_fits_the_screen_and_the_screens_scroll(demo, shots_dir):
    from gui.layout import fit_to_screen

    window = demo.window
    window.screens.set_scale(2)
    laptop = QRect(0, 0, 1366, 738)  # a 1366x768 screen less a panel
    fit_to_screen(window, window.screens.minimumSize(), laptop)
    demo.qtbot.wait(100)
    assert laptop.contains(window.frameGeometry())
    area = window.centralWidget()
    assert window.screens.size().width() == 800 and window.screens.size().height() == 968
    assert area.verticalScrollBar().maximum() > 0  # the screens do not fit: they scroll, whole
    # on the screen it is on (offscreen: 800x800), the window fits too
    fit_to_screen(window, window.screens.minimumSize())
    demo.qtbot.wait(100)
    assert window.screen().availableGeometry().contains(window.frameGeometry())
    window.grab().save(str(shots_dir / "scale2_fitted.png"))


def test_at_scale_2_a_big_screen_gives_the_screens_their_room(demo):
    from gui.layout import fit_to_screen

    window = demo.window
    window.screens.set_scale(2)
    big = QRect(0, 0, 2560, 1400)
    fit_to_screen(window, window.screens.minimumSize(), big)
    demo.qtbot.wait(100)
    area = window.centralWidget()
    assert big.contains(window.frameGeometry())
    assert area.verticalScrollBar().maximum() == 0 and area.horizontalScrollBar().maximum() == 0


def shown_controls(window) -> Controls:
    return Controls(window.state_label.text(), window.run_action.isEnabled(), window.pause_action.isEnabled(),
                    window.step_action.isEnabled())


def test_status_bar_and_buttons_agree_in_every_state(gui_programs):
    driver = gui_programs(["fb", "hello"])
    window = driver.window
    driver.wait_snapshot(lambda s: True)
    assert shown_controls(window) == Controls("paused", run=True, pause=False, step=True)
    window.run_action.trigger()
    driver.wait_snapshot(lambda s: s.running)
    assert shown_controls(window) == Controls("running", run=False, pause=True, step=False)
    window.pause_action.trigger()
    driver.wait_snapshot(lambda s: not s.running)
    assert shown_controls(window) == Controls("paused", run=True, pause=False, step=True)
    assert driver.call(lambda emu: emu.run(frames=5).reason) == "frames done"  # a quick command: no flicker
    assert shown_controls(window) == Controls("paused", run=True, pause=False, step=True)
    answers = []  # a long command (as the console's emu.run()): the window says running, Pause stops it
    window.session.call(lambda emu: emu.run(frames=10**9).reason, lambda reason, error: answers.append(reason))
    driver.qtbot.waitUntil(lambda: shown_controls(window) == Controls("running", run=False, pause=True, step=False),
                           timeout=10_000)
    window.pause_action.trigger()
    driver.qtbot.waitUntil(lambda: bool(answers), timeout=10_000)
    assert answers == ["paused"]
    assert shown_controls(window) == Controls("paused", run=True, pause=False, step=True)
    window.step_action.trigger()
    driver.wait_snapshot(lambda s: s.reason == "stepped")
    assert shown_controls(window) == Controls("stepped", run=True, pause=False, step=True)
    driver.call(lambda emu: [emu.kernel.end_process(p.process, -1) for p in emu.processes if p.alive])
    driver.wait_snapshot(lambda s: all(p.status != "running" for p in s.processes))
    assert shown_controls(window) == Controls("all exited", run=False, pause=False, step=False)


def test_the_live_window_says_all_exited_as_the_capture_does(gui_programs):
    driver = gui_programs(["hello"])
    window = driver.window
    window.run_action.trigger()
    driver.wait_snapshot(lambda s: not s.running and s.reason == "all exited")
    assert shown_controls(window) == Controls("all exited", run=False, pause=False, step=False)


def test_controls_decide_words_and_buttons_together():
    assert controls(running=False, busy=False, reason="ready", alive=2, processes=2) == Controls(
        "paused", run=True, pause=False, step=True)
    assert controls(running=False, busy=True, reason="paused", alive=2, processes=2) == Controls(
        "running", run=False, pause=True, step=False)
    assert controls(running=False, busy=False, reason="deadlock", alive=1, processes=1) == Controls(
        "deadlock", run=False, pause=False, step=False)
    assert controls(running=False, busy=False, reason="watchpoint", alive=1, processes=1) == Controls(
        "watchpoint", run=True, pause=False, step=True)
    for reason in ("paused", "ready", "all exited", "breakpoint"):  # nothing alive: all exited, whatever ran
        assert controls(running=False, busy=False, reason=reason, alive=0, processes=2).state == "all exited"


def legend_lines(html: str, width: int, font) -> list[str]:
    """The legend's lines as Qt lays the label's rich text out at ``width`` pixels."""
    doc = QTextDocument()
    doc.setDefaultFont(font)
    doc.setDocumentMargin(0)
    doc.setHtml(html)
    doc.setTextWidth(width)
    doc.size()  # lays it out
    lines = []
    block = doc.begin()
    while block.isValid():
        layout = block.layout()
        for i in range(layout.lineCount()):
            line = layout.lineAt(i)
            lines.append(block.text()[line.textStart(): line.textStart() + line.textLength()].strip())
        block = block.next()
    return lines


def test_the_address_space_legend_wraps_whole_entries(demo, shots_dir):
    from gui.views.memory_docks import legend_html

    legend = demo.window.space_dock.legend
    names = [state.name.lower() for state in STATE_COLOURS]
    for width in (120, 200, 330, 480, 2000):
        lines = legend_lines(legend_html(STATE_COLOURS), width, legend.font())
        shown = []
        for line in lines:  # each line: whole entries, a swatch then its name, never a swatch alone at the end
            assert line.startswith("\u25a0") and not line.endswith("\u25a0"), (width, lines)
            shown += [piece.strip() for piece in line.split("\u25a0")[1:]]
        assert shown == names, (width, lines)
        assert (len(lines) > 1) == (width < 1000)
    assert legend.text() == legend_html(STATE_COLOURS) and legend.wordWrap()
    demo.window.space_dock.grab().save(str(shots_dir / "address_space_legend.png"))
