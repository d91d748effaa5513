"""Debug > GDB server...: the stub served from the window, its calls made on the emulation thread."""

from __future__ import annotations

import time

from tests.gdb.test_protocol import Client
from tests.gui.test_debugger import rows


def test_gdb_server_menu_answers_and_its_breakpoints_reach_the_dock(demo):
    window = demo.window
    window.toggle_gdb_server(port=0)  # what the menu does once its dialog has a port
    demo.qtbot.waitUntil(lambda: window.gdb is not None, timeout=30_000)
    server = window.gdb[0]
    assert window.gdb_label.text() == f"gdb server on :{server.port}" and window.gdb_action.isChecked()
    c = Client(server.port)
    assert "PacketSize=4000" in c.ask("qSupported:multiprocess+;swbreak+")
    stop = c.ask("?")
    assert stop.startswith("T"), stop
    pid = int(stop.split("thread:p")[1].split(".")[0], 16) - 1  # the protocol's pids are the kernel's + 1
    entry = demo.call(lambda emu: emu.process(pid).thread().pc)  # code the thread runs
    assert c.ask(f"Z0,{entry:x},4") == "OK"
    demo.wait_snapshot(lambda s: (pid, entry) in s.breakpoints)
    assert (pid, entry) in rows(window.break_dock.model)
    assert c.ask(f"z0,{entry:x},4") == "OK"
    demo.wait_snapshot(lambda s: (pid, entry) not in s.breakpoints)
    c.close()
    window.gdb_action.trigger()  # a second trigger stops it
    assert window.gdb is None and not window.gdb_action.isChecked()


def test_closing_the_window_ends_a_gdb_continue_under_way(demo):
    window = demo.window
    window.toggle_gdb_server(port=0)
    demo.qtbot.waitUntil(lambda: window.gdb is not None, timeout=30_000)
    server, _, thread = window.gdb
    c = Client(server.port)
    assert c.ask("?").startswith("T")
    c.send_raw(b"$c#63")  # the guests run on the emulation thread, in the stub's call
    time.sleep(0.5)
    assert server._running  # the demo runs for ever: the continue is still under way
    started = time.perf_counter()
    window.close()  # stops the server (which interrupts the run), then the session
    assert time.perf_counter() - started < 10 and not thread.is_alive()
    assert not demo.session.emu_thread.isRunning()
    c.close()


def test_gdb_continue_shows_the_screens_and_the_windows_pause_stops_it(gui_programs):
    # fb and console run for hundreds of frames (the demo's IPC pair ends within 30: under a
    # loaded machine the continue could outlast it, and gdb was told the process exited)
    demo = gui_programs(["fb", "console"])
    window = demo.window
    window.toggle_gdb_server(port=0)
    demo.qtbot.waitUntil(lambda: window.gdb is not None, timeout=30_000)
    server = window.gdb[0]
    c = Client(server.port)
    assert c.ask("?").startswith("T")
    # gdb is connected and stopped: the window's Run and Step leave the guests to it
    before = demo.call(lambda emu: emu.instructions)
    window.run_action.trigger()
    window.step_action.trigger()
    assert "gdb is connected and stopped" in window.statusBar().currentMessage()
    assert demo.call(lambda emu: emu.instructions) == before
    drawn = window.screens.columns_drawn
    c.send_raw(b"$c#63")  # gdb's continue: the guests run on the emulation thread, in the stub's call
    demo.qtbot.waitUntil(lambda: window.screens.columns_drawn > drawn + 100, timeout=30_000)  # fb draws on
    assert server.client_running
    window.pause_action.trigger()  # the window's Pause ends gdb's continue as a Ctrl-C would
    reply = c.packet()
    assert reply.startswith("T02thread:p"), reply
    assert demo.call(lambda emu: emu.instructions) > before
    c.close()
