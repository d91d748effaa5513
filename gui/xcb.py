"""Before the window opens on X11: are the libraries Qt's xcb platform plugin loads there?

When one is missing, Qt prints "xcb-cursor0 or libxcb-cursor0 is needed" (whichever is
missing) and aborts the process (exit status 134). This check loads each library the
way the plugin would (``dlopen`` by soname) and names the Debian packages to install.

The list is what ``ldd`` shows for PyQt6's ``plugins/platforms/libqxcb.so`` and its
``libQt6XcbQpa.so.6`` (PyQt6 6.x wheels), less glibc, libstdc++ and Qt's own libraries.

>>> missing_libraries({"libc.so.6": "libc6", "libhlemu-nonexistent.so.9": "hlemu-fake9"})
{'libhlemu-nonexistent.so.9': 'hlemu-fake9'}
>>> print(advice({"libxcb-icccm.so.4": "libxcb-icccm4"}).splitlines()[1])
  sudo apt-get install libxcb-icccm4
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Mapping

# soname -> the Debian (and Ubuntu) package that ships it
XCB_LIBRARIES = {
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
}


def platform_is_xcb(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether Qt will pick its xcb (X11) plugin: asked for by name, or by default on an X
    display (a Wayland session with WAYLAND_DISPLAY gets the wayland plugin instead).

    >>> platform_is_xcb({"DISPLAY": ":0"}), platform_is_xcb({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"})
    (True, False)
    """
    asked = environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if asked:
        return asked == "xcb"
    wayland = environ.get("WAYLAND_DISPLAY") and environ.get("XDG_SESSION_TYPE") == "wayland"
    return bool(environ.get("DISPLAY")) and not wayland


def missing_libraries(libraries: Mapping[str, str] = XCB_LIBRARIES) -> dict[str, str]:
    """The sonames of ``libraries`` (soname -> package) that cannot be loaded, with their packages."""
    missing = {}
    for soname, package in libraries.items():
        try:
            ctypes.CDLL(soname)
        except OSError:
            missing[soname] = package
    return missing


def advice(missing: Mapping[str, str]) -> str:
    """What to tell the user about ``missing`` (soname -> package)."""
    packages = " ".join(sorted(set(missing.values())))
    return (f"the window needs X11 libraries that are not installed ({', '.join(missing)}); on Debian or Ubuntu:\n"
            f"  sudo apt-get install {packages}\n"
            "or capture the window without a display: hlemu gui --screenshot out.png --frames 120")
