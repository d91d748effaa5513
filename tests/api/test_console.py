"""The console from a script: settings (``Emulator(cfg=...)``, ``emu.cfg``), the SD card folder,
HOME and POWER (``emu.press_home()`` / ``emu.press_power()``), and what a 3DSX calls itself
(``Proc.title``, ``.publisher``, ``.icon``)."""

from __future__ import annotations

import numpy as np
import pytest

from hlemu.guest import program_path
from hlemu.loaders.smdh import build_smdh
from hlemu.loaders.threedsx_writer import elf_to_3dsx
from kernel.services.apt import Signal
from kernel.services.cfg import MODELS, REGIONS


def titled_3dsx(path, title: str = "Hello", publisher: str = "hlemu"):
    """hello.elf as a 3DSX with an SMDH: a red icon with a white diagonal."""
    icon = np.zeros((48, 48, 3), dtype=np.uint8)
    icon[:, :, 0] = 0xF8
    icon[np.arange(48), np.arange(48)] = 0xF8
    smdh = build_smdh(title, f"{title}, as a 3DSX", publisher, icon)
    path.write_bytes(elf_to_3dsx(program_path("hello").read_bytes(), smdh=smdh))
    return path, icon


def test_cfg_given_to_the_emulator_is_what_cfg_answers(emulator, tmp_path):
    emu = emulator(cfg={"language": "fr", "region": "EUR", "model": "N3DS", "username": "Ada",
                        "birthday": "12-10"}, sdmc=tmp_path)
    s = emu.kernel.cfg.settings
    assert (s.language, s.region, s.model, s.username, s.birthday) == (2, REGIONS["EUR"], MODELS["New 3DS"],
                                                                        "Ada", (12, 10))
    assert emu.kernel.fs.sdmc_root == tmp_path
    assert repr(emu.cfg) == "<cfg language=fr region=EUR model=N3DS username=Ada birthday=12-10>"


def test_stored_forms_are_taken_too(emulator):
    emu = emulator(cfg={"language": 3, "birthday": (7, 4), "model": 5})
    assert (emu.cfg.language, emu.cfg.birthday, emu.cfg.model) == (3, (7, 4), 5)


def test_emu_cfg_checks_what_a_script_sets_and_the_guest_sees_the_change(emulator):
    emu = emulator()
    emu.cfg.language = "japanese"
    emu.cfg.model = "2DS"
    emu.cfg.username = "Bob"
    assert (emu.kernel.cfg.settings.language, emu.kernel.cfg.settings.model) == (0, MODELS["2DS"])
    assert emu.cfg.settings is emu.kernel.cfg.settings and emu.cfg.username == "Bob"
    with pytest.raises(ValueError, match=r"region: unknown value 'Atlantis' \(accepted: JPN, USA"):
        emu.cfg.region = "Atlantis"
    with pytest.raises(AttributeError, match="no console setting 'volume'"):
        emu.cfg.volume = 3
    assert emu.kernel.cfg.settings.region == REGIONS["USA"]  # a refused value changes nothing
    assert sorted(dir(emu.cfg)) == ["birthday", "language", "model", "region", "settings", "username"]


@pytest.mark.parametrize(("cfg", "message"), [
    ({"colour": "blue"}, "unknown setting 'colour'"),
    ({"birthday": "31-12"}, "birthday: '31-12' is not a day of the year"),
    ({"username": None}, "username: expected text or a number, got None"),
    ({"language": True}, "language: expected text or a number"),
])
def test_a_bad_setting_is_refused_before_any_kernel_is_made(cfg, message, monkeypatch):
    import kernel.api.emulator as module
    from kernel.api import Emulator

    monkeypatch.setattr(module, "Kernel", lambda *a, **k: pytest.fail("a kernel was made"))
    with pytest.raises(ValueError, match=message):
        Emulator(echo=False, cfg=cfg)


def test_home_and_power_reach_apt_for_every_registered_application(emulator):
    emu = emulator()
    a, b = emu.spawn("hello", name="a"), emu.spawn("hello", name="b")
    assert emu.press_home() == 0  # nobody called aptInit yet
    apt = emu.kernel.apt
    for proc in (a, b):
        apt.applet(proc.process).registered = True  # as APT:Enable leaves it
    assert emu.press_home() == 2
    assert emu.press_power(b) == 1
    assert list(apt.applet(a.process).notifications) == [Signal.HOMEBUTTON]
    assert list(apt.applet(b.process).notifications) == [Signal.HOMEBUTTON, Signal.POWERBUTTON]
    assert apt.applet(b.process).power_pending and not apt.applet(a.process).power_pending


def test_a_3dsx_process_has_its_smdh_title_publisher_and_icon(emulator, tmp_path):
    path, icon = titled_3dsx(tmp_path / "hello.3dsx")
    emu = emulator(sdmc=tmp_path / "sdmc")
    p = emu.spawn(path)
    elf = emu.spawn("hello")
    assert (p.name, p.title, p.publisher) == ("hello", "Hello", "hlemu")
    assert p.icon.shape == (48, 48, 3) and p.icon.dtype == np.uint8
    assert np.abs(p.icon.astype(int) - icon).max() <= 7  # RGB565 keeps the top 5 or 6 bits
    assert [(q.title, q.icon is None) for q in emu.processes] == [("Hello", False), (None, True)]
    assert (elf.title, elf.publisher, elf.icon) == (None, None, None)
    p.icon[:] = 0  # a copy: the process's icon stays
    assert p.icon.any()
    assert emu.run().reason == "all exited" and p.exit_code == 7
