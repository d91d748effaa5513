"""HLE library applets: what APT starts for PrepareToStartLibraryApplet / StartLibraryApplet.

:mod:`kernel.applets.base` has the protocol (capture request, start, the WAKEUP_EXIT return);
:mod:`kernel.applets.swkbd` the software keyboard. Any other library applet id gets a
stand-in that returns at once (:class:`~kernel.applets.base.ReturningApplet`), said in the
program's output, so a program that launches one goes on instead of waiting forever.
"""

from __future__ import annotations

from kernel.applets.base import LibraryApplet, ReturningApplet
from kernel.applets.swkbd import KeyboardAnswer, KeyboardInput, KeyboardRequest, SoftwareKeyboard

# app id -> applet (3dbrew "NS and APT Services#AppIDs"): 0x401 is the keyboard libctru's
# swkbdInputText starts; 0x201 the one system applets use.
LIBRARY_APPLETS: dict[int, type[LibraryApplet]] = {0x401: SoftwareKeyboard, 0x201: SoftwareKeyboard}

# names for the log (3dbrew AppIDs)
APPLET_NAMES = {0x401: "software keyboard", 0x402: "appletEd (Mii selector)", 0x404: "PNOTE", 0x405: "SNOTE",
                0x406: "error display", 0x407: "eShop (mint)", 0x408: "circle pad pro calibration",
                0x409: "notes (memolib)"}


def library_applet_class(app_id: int) -> type[LibraryApplet]:
    return LIBRARY_APPLETS.get(app_id, ReturningApplet)


__all__ = ["APPLET_NAMES", "LIBRARY_APPLETS", "KeyboardAnswer", "KeyboardInput", "KeyboardRequest",
           "LibraryApplet", "ReturningApplet", "SoftwareKeyboard", "library_applet_class"]
