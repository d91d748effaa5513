"""The window runs guests on the slowmem CPU backend (issue 15) as on the others."""

from __future__ import annotations


def test_the_window_runs_hello_on_the_slowmem_cpu(gui_programs):
    driver = gui_programs(["hello"], backend="slowmem")
    driver.window.run_action.trigger()
    snap = driver.wait_snapshot(lambda s: not s.running and s.reason == "all exited")
    row = snap.processes[0]
    assert (snap.backend, row.status, row.instructions) == ("slowmem", "exited (7)", 989_735)
    cpu = driver.call(lambda emu: (emu.kernel.cpu_config.backend, emu.kernel.processes[row.pid].cpu.data_accesses))
    assert cpu == ("slowmem", (67_043, 66_867))
