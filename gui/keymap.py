"""Which keyboard key holds which 3DS button: a default, changeable from a JSON file.

The file maps 3DS buttons (and the circle pad's four directions) to Qt key names
(``"Key_X"`` or just ``"X"``, ``"Return"``, ``"Up"``). Buttons left out keep their
default. It is read from ``--keymap FILE``, else from ``$XDG_CONFIG_HOME/hlemu/keys.json``
(``~/.config/hlemu/keys.json``) when that exists.

>>> km = KeyMap.default()
>>> km.bindings["A"], km.button_of("Return")
('X', 'START')
>>> KeyMap.from_json('{"A": "Key_Space"}').bindings["A"]
'Space'
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from kernel.services.hid import KEYS

CIRCLE = {"CPAD_UP": (0, 156), "CPAD_DOWN": (0, -156), "CPAD_LEFT": (-156, 0), "CPAD_RIGHT": (156, 0)}

DEFAULT = {
    "A": "X", "B": "Z", "X": "S", "Y": "A", "L": "Q", "R": "W",
    "START": "Return", "SELECT": "Backspace",
    "UP": "Up", "DOWN": "Down", "LEFT": "Left", "RIGHT": "Right",
    "CPAD_UP": "I", "CPAD_DOWN": "K", "CPAD_LEFT": "J", "CPAD_RIGHT": "L",
}


class KeyMapError(ValueError):
    """A key map file that cannot be used; the message says which entry and why."""


@dataclass
class KeyMap:
    bindings: dict[str, str]  # 3DS button -> Qt key name without the "Key_" prefix

    @staticmethod
    def default() -> KeyMap:
        return KeyMap(dict(DEFAULT))

    @staticmethod
    def from_json(text: str, source: str = "key map") -> KeyMap:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise KeyMapError(f"{source}: not JSON ({exc})") from None
        if not isinstance(data, dict):
            raise KeyMapError(f"{source}: expected an object of button -> key")
        bindings = dict(DEFAULT)
        for button, key in data.items():
            name = str(button).upper()
            if name not in KEYS and name not in CIRCLE:
                raise KeyMapError(f"{source}: unknown button {button!r} (have {', '.join(DEFAULT)})")
            if not isinstance(key, str) or not key:
                raise KeyMapError(f"{source}: {button}: key must be a Qt key name such as \"Key_X\"")
            bindings[name] = key.removeprefix("Key_")
        by_key: dict[str, str] = {}
        for button, key in bindings.items():
            other = by_key.setdefault(key.lower(), button)
            if other != button:
                taken = "by default" if DEFAULT.get(other) == bindings[other] and other not in data else ""
                raise KeyMapError(f"{source}: {key} is bound to both {other} {taken} and {button}".replace("  ", " ")
                                  + "; give one of them another key")
        return KeyMap(bindings)

    @staticmethod
    def load(path: str | None = None) -> KeyMap:
        """From ``path``, else the user's config file when there is one, else the default."""
        if path is None:
            config = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "hlemu" / "keys.json"
            if not config.exists():
                return KeyMap.default()
            path = str(config)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise KeyMapError(f"{path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise KeyMapError(f"{path}: not UTF-8 text") from None
        return KeyMap.from_json(text, path)

    def button_of(self, key_name: str) -> str | None:
        """The button bound to a Qt key name (``"X"``, ``"Return"``; any case), or None."""
        wanted = key_name.lower()
        for button, key in self.bindings.items():
            if key.lower() == wanted:
                return button
        return None

    def unknown_keys(self, known: set[str]) -> list[str]:
        """Bindings whose key is not among ``known`` names (compared without case)."""
        lowered = {k.lower() for k in known}
        return [f"{button}={key}" for button, key in self.bindings.items() if key.lower() not in lowered]

    def pad(self, held: set[str]) -> tuple[int, tuple[int, int]]:
        """Button bits and circle pad position for the set of held buttons."""
        bits = sum(KEYS[b] for b in held if b in KEYS)
        x = sum(CIRCLE[b][0] for b in held if b in CIRCLE)
        y = sum(CIRCLE[b][1] for b in held if b in CIRCLE)
        return bits, (x, y)

    def describe(self) -> str:
        return ", ".join(f"{button}={key}" for button, key in self.bindings.items())
