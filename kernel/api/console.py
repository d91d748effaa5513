"""``emu.cfg``: the console's settings as cfg:u answers them, checked when a script sets them.

A view over ``kernel.cfg.settings`` (:class:`~kernel.services.cfg.ConsoleSettings`):
setting an attribute runs the value through the same check as ``hlemu run --cfg``
(``kernel.services.cfg.setting_value``), so ``emu.cfg.language = "fr"`` stores 2 and
``emu.cfg.model = "Wii"`` is a ValueError naming what is accepted. Reading gives the
stored value (numbers, as the guest reads them). The guest sees a change at its next read.

>>> from kernel.api import Emulator
>>> emu = Emulator(backend="semifastmem", echo=False, cfg={"language": "ja", "birthday": "12-25"})
>>> emu.cfg.language, emu.cfg.birthday
(0, (12, 25))
>>> emu.cfg.region = "EUR"
>>> emu.cfg
<cfg language=ja region=EUR model=3DS username=hlemu birthday=12-25>
>>> emu.cfg.colour = "blue"
Traceback (most recent call last):
  ...
AttributeError: no console setting 'colour' (settable: language, region, model, username, birthday)
>>> emu.close()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.services.cfg import SETTING_KEYS, ConsoleSettings, describe_settings, setting_value

if TYPE_CHECKING:
    from kernel.kernel import Kernel


class ConsoleConfig:
    """``language``, ``region``, ``model``, ``username``, ``birthday``; ``settings`` is the
    whole :class:`ConsoleSettings` (country, console id, ... unchecked)."""

    _kernel: Kernel

    def __init__(self, kernel: Kernel) -> None:
        object.__setattr__(self, "_kernel", kernel)

    @property
    def settings(self) -> ConsoleSettings:
        return self._kernel.cfg.settings

    def __getattr__(self, key: str) -> object:
        if key in SETTING_KEYS:
            return getattr(self._kernel.cfg.settings, key)
        raise AttributeError(f"no console setting {key!r} (settable: {', '.join(SETTING_KEYS)})")

    def __setattr__(self, key: str, value: object) -> None:
        if key not in SETTING_KEYS:
            raise AttributeError(f"no console setting {key!r} (settable: {', '.join(SETTING_KEYS)})")
        setattr(self._kernel.cfg.settings, key, setting_value(key, value))

    def __dir__(self) -> list[str]:
        return [*SETTING_KEYS, "settings"]

    def __repr__(self) -> str:
        return f"<cfg {describe_settings(self._kernel.cfg.settings)}>"
