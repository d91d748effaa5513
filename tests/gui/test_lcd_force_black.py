"""The window while GSP holds the LCDs black (SetLcdForceBlack, which libctru's gfxExit sends):
both screens go black at once, and come back whole when it is cleared, though no framebuffer
page changed (the demo's bottom screen is drawn once)."""

from __future__ import annotations

import numpy as np


def force_black(on: bool):
    def set_it(emu):
        emu.kernel.gsp.lcd_black = on  # what gsp::Gpu SetLcdForceBlack (0x000B) sets
        return [emu.kernel.display.render(s) for s in ("top", "bottom")]
    return set_it


def test_force_black_blanks_both_screens_and_clearing_it_brings_them_back(demo):
    demo.run_frames(5)
    shown = demo.call(force_black(False))
    assert all(image.any() for image in shown)
    assert np.array_equal(demo.window.screens.pixels("top"), shown[0])
    assert np.array_equal(demo.window.screens.pixels("bottom"), shown[1])
    demo.call(force_black(True))
    assert not demo.window.screens.pixels("top").any() and not demo.window.screens.pixels("bottom").any()
    demo.call(force_black(False))
    assert np.array_equal(demo.window.screens.pixels("bottom"), shown[1])
    assert np.array_equal(demo.window.screens.pixels("top"), demo.call(lambda emu: emu.kernel.display.render("top")))
