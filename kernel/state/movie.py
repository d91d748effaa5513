"""Input movies: the pad, circle pad, touch point and HOME/POWER presses, per frame.

A movie says what the user did at each VBlank: the input state the HID service
sampled at that frame (stored as changes), and the HOME/POWER presses delivered then.
While a movie is recorded, a press is delivered at the next VBlank, before HID
samples (not at once), so that replaying it at the same frame is exact: VBlanks come
at points of guest time that depend on nothing else. A movie starts from power-on or
from a save state (named by the sha256 of the state file) and names the programs it
was recorded with (name and image digest); replaying it with other programs, or from
another state, is refused with a StateError that says which.

The file is JSON (plain data, versioned)::

    {"format": "hlemu-movie", "version": 1, "hlemu": "0.1.0",
     "start": {"kind": "power-on"} | {"kind": "state", "sha256": "..."},
     "programs": [[name, image_sha256], ...], "quantum_blocks": 20000,
     "pad": [[frame, buttons, circle_x, circle_y, touch_x | null, touch_y | null], ...],
     "presses": [[frame, "home" | "power", pid | null], ...], "frames": last_frame}
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import hlemu
from kernel.state.errors import StateError

if TYPE_CHECKING:
    from kernel.kernel import Kernel

MOVIE_FORMAT = "hlemu-movie"
MOVIE_VERSION = 2  # 2: the software keyboard's answers ("keyboard"); 1 had none
PadEntry = tuple[int, int, int, int, int | None, int | None]


@dataclass
class Movie:
    start: dict[str, Any]
    programs: list[tuple[str, str]]
    quantum_blocks: int
    pad: list[PadEntry] = field(default_factory=list)
    presses: list[tuple[int, str, int | None]] = field(default_factory=list)
    frames: int = 0
    # every answer a software keyboard took, in order: (frame, text, button); on replay they
    # are queued before any other answer, so no dialog is asked and no default stands in
    keyboard: list[tuple[int, str, int]] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps({"format": MOVIE_FORMAT, "version": MOVIE_VERSION, "hlemu": hlemu.__version__,
                           "start": self.start, "programs": [list(p) for p in self.programs],
                           "quantum_blocks": self.quantum_blocks, "pad": [list(p) for p in self.pad],
                           "presses": [list(p) for p in self.presses], "frames": self.frames,
                           "keyboard": [list(k) for k in self.keyboard]}, indent=None)

    def save(self, path: str | os.PathLike[str]) -> None:
        with open(path, "w") as f:
            f.write(self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Movie:
        try:
            with open(path) as f:
                data = json.load(f)
        except OSError as exc:
            raise StateError(f"cannot read the movie {path}: {exc.strerror}") from None
        except ValueError:
            raise StateError(f"{path} is not a movie (not JSON)") from None
        return cls.from_data(data)

    @classmethod
    def from_data(cls, data: Any) -> Movie:
        if not isinstance(data, dict) or data.get("format") != MOVIE_FORMAT:
            raise StateError("not an hlemu movie")
        version = data.get("version")
        if not isinstance(version, int) or version < 1:
            raise StateError(f"bad movie version {version!r}")
        if version > MOVIE_VERSION:
            raise StateError(f"the movie has version {version}; this hlemu reads up to {MOVIE_VERSION}")
        start, programs, quantum = data.get("start"), data.get("programs"), data.get("quantum_blocks")
        if not isinstance(start, dict) or start.get("kind") not in ("power-on", "state"):
            raise StateError("the movie does not say where it starts")
        if not isinstance(programs, list) or not all(
                isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in programs):
            raise StateError("the movie's program list is damaged")
        if not isinstance(quantum, int) or quantum <= 0:
            raise StateError("the movie's quantum is damaged")
        pad = [_pad_entry(e) for e in _list(data.get("pad"), "pad")]
        presses = [_press(e) for e in _list(data.get("presses"), "presses")]
        frames = data.get("frames", 0)
        keyboard = [_answer(e) for e in _list(data.get("keyboard", []), "keyboard")]
        return cls(start, [(a, b) for a, b in programs], quantum, pad, presses,
                   frames if isinstance(frames, int) else 0, keyboard)


def _list(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise StateError(f"the movie's {name} list is damaged")
    return value


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _pad_entry(e: Any) -> PadEntry:
    if not (isinstance(e, list) and len(e) == 6 and all(_int(x) for x in e[:4])
            and all(x is None or _int(x) for x in e[4:])):
        raise StateError(f"bad pad entry {str(e)[:60]} in the movie")
    return (e[0], e[1], e[2], e[3], e[4], e[5])


def _press(e: Any) -> tuple[int, str, int | None]:
    if not (isinstance(e, list) and len(e) == 3 and _int(e[0]) and e[1] in ("home", "power")
            and (e[2] is None or _int(e[2]))):
        raise StateError(f"bad press {str(e)[:60]} in the movie")
    return (e[0], e[1], e[2])


def _answer(e: Any) -> tuple[int, str, int]:
    if not (isinstance(e, list) and len(e) == 3 and _int(e[0]) and isinstance(e[1], str) and _int(e[2])
            and 0 <= e[2] <= 2):
        raise StateError(f"bad keyboard answer {str(e)[:60]} in the movie")
    return (e[0], e[1], e[2])


def file_sha256(path: str | os.PathLike[str]) -> str:
    import hashlib

    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def programs_of(kernel: Kernel) -> list[tuple[str, str]]:
    return sorted((p.name, p.image_sha256) for p in [*kernel.processes.values(), *kernel.reaped])


def _deliver(kernel: Kernel, kind: str, pid: int | None) -> None:
    process = None if pid is None else kernel.processes.get(pid)
    if pid is not None and process is None:
        return
    if kind == "home":
        kernel.apt.press_home(process)
    else:
        kernel.apt.press_power(process)


class MovieRecorder:
    """Records ``kernel``'s input at every VBlank from now on (installed first among the
    VBlank listeners, so it sees what HID is about to sample)."""

    def __init__(self, kernel: Kernel, start: dict[str, Any] | None = None) -> None:
        self.kernel = kernel
        self.movie = Movie(start or {"kind": "power-on"}, programs_of(kernel), kernel.scheduler.quantum_blocks)
        self._last: tuple[int, int, int, int | None, int | None] | None = None
        self._queued: list[tuple[str, int | None]] = []
        kernel.display.vblank_listeners.insert(0, self._on_vblank)
        kernel.apt.keyboard.listeners.append(self._on_answer)

    def _on_answer(self, answer: Any) -> None:
        self.movie.keyboard.append((self.kernel.display.frame, answer.text, answer.button))

    def press(self, kind: str, pid: int | None) -> None:
        """A HOME or POWER press: delivered, and recorded, at the next VBlank."""
        self._queued.append((kind, pid))

    def _on_vblank(self, frame: int) -> None:
        for kind, pid in self._queued:
            _deliver(self.kernel, kind, pid)
            self.movie.presses.append((frame, kind, pid))
        self._queued.clear()
        pad = self.kernel.hid.pad
        touch = pad.touch or (None, None)
        now = (int(pad.buttons), int(pad.circle[0]), int(pad.circle[1]), touch[0], touch[1])
        if now != self._last:
            self.movie.pad.append((frame, *now))
            self._last = now
        self.movie.frames = frame

    def stop(self) -> Movie:
        listeners = self.kernel.display.vblank_listeners
        if self._on_vblank in listeners:
            listeners.remove(self._on_vblank)
        answers = self.kernel.apt.keyboard.listeners
        if self._on_answer in answers:
            answers.remove(self._on_answer)
        return self.movie


class MoviePlayer:
    """Plays a movie into ``kernel``: at each VBlank, before HID samples, the recorded input
    and presses of that frame. Refuses a movie of other programs or another start."""

    def __init__(self, kernel: Kernel, movie: Movie, state_sha256: str | None = None) -> None:
        have = programs_of(kernel)
        if sorted(movie.programs) != have:
            raise StateError("the movie was recorded with other programs "
                             f"({', '.join(n for n, _ in movie.programs)}; here: {', '.join(n for n, _ in have)}, "
                             "or the same names with other images): replaying it would diverge")
        if movie.start.get("kind") == "state" and movie.start.get("sha256") != state_sha256:
            raise StateError("the movie starts from another save state than the one loaded")
        if movie.start.get("kind") == "power-on" and (state_sha256 is not None or kernel.display.frame != 0):
            raise StateError("the movie starts from power-on, not from a save state")
        if movie.quantum_blocks != kernel.scheduler.quantum_blocks:
            raise StateError(f"the movie was recorded with --quantum {movie.quantum_blocks}")
        self.kernel = kernel
        self.pad = {e[0]: e[1:] for e in movie.pad}
        self.presses: dict[int, list[tuple[str, int | None]]] = {}
        for frame, kind, pid in movie.presses:
            self.presses.setdefault(frame, []).append((kind, pid))
        self.last_frame = movie.frames
        from kernel.applets.swkbd import KeyboardAnswer

        keyboard = kernel.apt.keyboard
        keyboard.answers.extendleft(reversed([KeyboardAnswer(text, button, "movie")
                                              for _frame, text, button in movie.keyboard]))
        kernel.display.vblank_listeners.insert(0, self._on_vblank)

    def _on_vblank(self, frame: int) -> None:
        for kind, pid in self.presses.get(frame, []):
            _deliver(self.kernel, kind, pid)
        entry = self.pad.get(frame)
        if entry is not None:
            buttons, cx, cy, tx, ty = entry
            pad = self.kernel.hid.pad
            pad.buttons, pad.circle = buttons, (cx, cy)
            pad.touch = None if tx is None or ty is None else (tx, ty)
