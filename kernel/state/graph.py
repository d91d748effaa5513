"""The object graph of a save state: kernel objects and their plain data, no pickle.

A save state is untrusted input, so loading one must never run code it names. This
codec turns the kernel's objects into JSON-able plain data and back:

* plain values (None, bool, int, float, str) stay as they are; lists become JSON
  arrays; everything else is a one-key tagged dict (``{"$t": [...]}`` a tuple,
  ``{"$d": [[k, v], ...]}`` a dict, ``{"$s": ...}`` a set, ``{"$e": [class, value]}``
  an enum member, ``{"$a": n}`` the n-th numpy array of the blob section, ``{"$r": id}``
  a reference to an object of the graph, ``{"$m": [id, name]}`` a bound method of one);
* an object is ``{"c": "module:Class", "a": {attribute: value}}`` in the object table.

Loading creates objects only of classes the codec allows (:func:`allowed_class`:
classes defined in ``kernel`` modules, enums of ``kernel`` and ``hlemu``, and a few
named plain-data classes of the core), without calling their ``__init__``, and sets
only attributes; a bound method is looked up on the class (never a dunder) and must
be a plain function there. A class that is not allowed, a dunder attribute, an
unknown tag: the file is refused (:class:`StateError`), so the worst a hostile file
can do is describe a kernel state, which the graph checks then examine.

What each class saves is its attributes minus ``state_transient`` (a class-level tuple
of names: host-side things such as listeners, caches, the memory system), which
``after_restore()`` (when the class has it) rebuilds once the whole graph is loaded.
Objects with host resources (a CPU, an address space) have codecs of their own
(:mod:`kernel.state.machine`); they appear here as ``{"$x": [kind, key]}``.
"""

from __future__ import annotations

import enum
import functools
import importlib
import inspect
from collections import Counter, deque
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

import numpy as np

from kernel.state.errors import StateError

# Core classes that are plain data and may appear in a state, besides kernel classes.
_CORE_CLASSES = {
    "hlemu.cpu.registers:RegisterFile",
    "hlemu.memory.pagetable:MemoryInfo",
    "hlemu.memory.faults:FaultCounters",
    "hlemu.loaders.smdh:Smdh",
    "hlemu.loaders.smdh:Title",
    "hlemu.cpu.config:CpuFault",
}
_ALLOWED_PREFIXES = ("kernel.", "hlemu.gpu.")  # the GPU is machine state too
_ENUM_PREFIXES = ("kernel.", "hlemu.")


def class_key(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def allowed_class(key: str) -> type:
    """The class a state names, if the codec allows it; StateError otherwise."""
    if not isinstance(key, str):
        raise StateError(f"bad class name {key!r} in the state")
    return _allowed_class(key)


@functools.lru_cache(maxsize=512)
def _allowed_class(key: str) -> type:
    """allowed_class's lookup, once per class name (a state names a few dozen classes
    thousands of times; refusals raise and are not cached)."""
    if not isinstance(key, str) or key.count(":") != 1:
        raise StateError(f"bad class name {key!r} in the state")
    module_name, qualname = key.split(":")
    if key not in _CORE_CLASSES and not module_name.startswith(_ALLOWED_PREFIXES) \
            and not module_name.startswith(_ENUM_PREFIXES):
        raise StateError(f"the state names class {key}, which a state may not hold")
    if module_name.startswith("kernel.state") or "__" in qualname or "<" in qualname:
        raise StateError(f"the state names class {key}, which a state may not hold")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        raise StateError(f"the state names class {key}, which this hlemu does not have") from None
    if not isinstance(obj, type):
        raise StateError(f"{key} in the state is not a class")
    if key not in _CORE_CLASSES and not module_name.startswith(_ALLOWED_PREFIXES) \
            and not issubclass(obj, enum.Enum):
        raise StateError(f"the state names class {key}, which a state may not hold")
    return obj


_PLAIN = frozenset({int, str, bool, type(None)})  # values that encode as themselves
_LAYOUTS: dict[type, tuple[frozenset[str], tuple[str, ...]]] = {}  # class -> (transient names, slots)


def _layout(klass: type) -> tuple[frozenset[str], tuple[str, ...]]:
    """A class's transient attribute names and its slots, gathered over its MRO once (a rewind
    ring snapshots the same classes many times a second)."""
    known = _LAYOUTS.get(klass)
    if known is None:
        skip: set[str] = set()
        slots: list[str] = []
        for base in klass.__mro__:
            skip.update(base.__dict__.get("state_transient", ()))
            slots += [s for s in base.__dict__.get("__slots__", ()) if s not in ("__dict__", "__weakref__")]
        known = _LAYOUTS[klass] = (frozenset(skip), tuple(slots))
    return known


def _attributes(obj: object) -> dict[str, Any]:
    """An object's attributes: its ``__dict__`` and its slots, minus the transient ones."""
    skip, slots = _layout(type(obj))
    attrs: dict[str, Any] = {}
    if hasattr(obj, "__dict__"):
        attrs.update(vars(obj))
    for slot in slots:
        if hasattr(obj, slot):
            attrs[slot] = getattr(obj, slot)
    if skip:
        attrs = {k: v for k, v in attrs.items() if k not in skip}
    extra = getattr(obj, "state_extra", None)
    if callable(extra):
        attrs.update(extra())
    return attrs


class Encoder:
    """Kernel objects to plain data. ``external(obj)`` names objects with codecs of their
    own (returns ``[kind, key]`` or None); numpy arrays go to ``blobs``."""

    def __init__(self, external: Callable[[object], list[Any] | None]) -> None:
        self.external = external
        self.objects: dict[int, dict[str, Any]] = {}
        self._ids: dict[int, int] = {}  # id(obj) -> graph id
        self._keep: list[object] = []  # keeps encoded objects alive so id() stays unique
        self.blobs: list[np.ndarray] = []
        self._pending: list[tuple[int, object]] = []

    def ref(self, obj: object) -> int:
        """The graph id of ``obj``, encoding it (and what it references) on first sight."""
        known = self._ids.get(id(obj))
        if known is not None:
            return known
        ident = len(self._ids)
        self._ids[id(obj)] = ident
        self._keep.append(obj)
        self.objects[ident] = {"c": class_key(type(obj))}
        self._pending.append((ident, obj))
        return ident

    def finish(self) -> None:
        while self._pending:
            ident, obj = self._pending.pop()
            where = f"{type(obj).__name__}"
            self.objects[ident]["a"] = {name: self.value(v, f"{where}.{name}")
                                        for name, v in sorted(_attributes(obj).items())}

    def value(self, v: Any, where: str = "") -> Any:  # noqa: C901 - one branch per kind of value
        kind = type(v)
        if kind in _PLAIN:  # most values: plain ones first
            return v
        if kind is list:  # (a process's TLS slot flags are a list of a thousand bools)
            return [x if type(x) in _PLAIN else self.value(x, where) for x in v]
        if isinstance(v, (bool, str)):
            return v
        if isinstance(v, enum.Enum):
            return {"$e": [class_key(type(v)), v.value]}
        if isinstance(v, int):
            return int(v)
        if isinstance(v, float):
            return {"$f": v.hex()}  # exact, and JSON has no NaN
        if isinstance(v, np.generic):
            return {"$n": [v.dtype.str, v.item()]}
        if isinstance(v, np.ndarray):
            self.blobs.append(np.array(v, copy=True, order="C"))
            return {"$a": len(self.blobs) - 1}
        if isinstance(v, (bytes, bytearray)):
            self.blobs.append(np.frombuffer(bytes(v), dtype=np.uint8))
            return {"$b": len(self.blobs) - 1, "mutable": isinstance(v, bytearray)}
        if isinstance(v, tuple) and type(v) is tuple:
            return {"$t": [self.value(x, where) for x in v]}
        if isinstance(v, deque):
            return {"$q": [self.value(x, where) for x in v], "max": v.maxlen}
        if isinstance(v, Counter):
            return {"$C": [[self.value(k, where), self.value(x, where)] for k, x in v.items()]}
        if isinstance(v, dict) and type(v) is dict:
            return {"$d": [[self.value(k, where), self.value(x, where)] for k, x in v.items()]}
        if isinstance(v, (set, frozenset)) and type(v) in (set, frozenset):
            items = sorted((self.value(x, where) for x in v), key=_order)
            return {"$s" if type(v) is set else "$S": items}
        if isinstance(v, PurePath):
            return {"$p": str(v)}
        if inspect.ismethod(v):
            return {"$m": [self.value(v.__self__, where), v.__func__.__name__]}
        if isinstance(v, type):
            raise StateError(f"cannot save: {where} holds a class ({v!r})")
        named = self.external(v)
        if named is not None:
            return {"$x": named}
        if callable(v) and not hasattr(v, "__dict__") or inspect.isfunction(v) or inspect.isbuiltin(v):
            raise StateError(f"cannot save: {where} holds a host callback ({v!r}); remove it first")
        key = class_key(type(v))
        try:
            allowed_class(key)
        except StateError:
            raise StateError(f"cannot save: {where} holds a {key}, which a state does not keep") from None
        return {"$r": self.ref(v)}


def _order(encoded: Any) -> str:
    """A set's items are kept in the order of their JSON text (so a state's bytes do not
    depend on hashing). The two common items, an int and an object reference, are spelled
    here as ``json.dumps`` spells them, without the encoder (sets of threads are in every
    snapshot, and a rewind ring takes one every few frames)."""
    kind = type(encoded)
    if kind is int:
        return str(encoded)
    if kind is dict and len(encoded) == 1:
        ref = encoded.get("$r")
        if type(ref) is int:
            return f'{{"$r": {ref}}}'
    import json

    return json.dumps(encoded, sort_keys=True)


class Decoder:
    """Plain data back to objects. ``external(kind, key)`` returns the objects with codecs
    of their own; ``overlay`` maps graph ids to existing objects to fill in place."""

    def __init__(self, objects: dict[str, Any], blobs: list[np.ndarray],
                 external: Callable[[str, Any], object], overlay: dict[int, object] | None = None) -> None:
        if not isinstance(objects, dict):
            raise StateError("the object table is not a table")
        self.table = objects
        self.blobs = blobs
        self.external = external
        self.made: dict[int, object] = dict(overlay or {})
        self.filled: set[int] = set()

    def instance(self, ident: int) -> object:
        if not isinstance(ident, int) or isinstance(ident, bool):
            raise StateError(f"bad object reference {ident!r}")
        obj = self.made.get(ident)
        if obj is None:
            entry = self.table.get(str(ident))
            if not isinstance(entry, dict) or "c" not in entry:
                raise StateError(f"the state references object {ident}, which it does not hold")
            cls = allowed_class(entry["c"])
            if issubclass(cls, enum.Enum):
                raise StateError(f"object {ident} is an enum class")
            obj = cls.__new__(cls)
            self.made[ident] = obj
        return obj

    def fill_all(self) -> list[object]:
        """Fill every object's attributes; returns them in graph-id order."""
        for key in sorted(self.table, key=_int_key):
            ident = _int_key(key)
            obj = self.instance(ident)
            entry = self.table[key]
            attrs = entry.get("a", {})
            if not isinstance(attrs, dict):
                raise StateError(f"object {ident}'s attributes are not a table")
            for name, raw in attrs.items():
                if not isinstance(name, str) or not name.isidentifier() or name.startswith("__"):
                    raise StateError(f"object {ident} has a bad attribute name {name!r}")
                object.__setattr__(obj, name, self.value(raw))
            self.filled.add(ident)
        return [self.made[_int_key(k)] for k in sorted(self.table, key=_int_key)]

    def value(self, raw: Any) -> Any:  # noqa: C901 - one branch per tag
        if raw is None or isinstance(raw, (bool, int, str)):
            return raw
        if isinstance(raw, list):
            return [self.value(x) for x in raw]
        if not isinstance(raw, dict) or len(raw) not in (1, 2):
            raise StateError(f"bad value {str(raw)[:80]} in the state")
        tag = next(iter(raw))
        body = raw[tag]
        if tag == "$r":
            return self.instance(body)
        if tag == "$t":
            return tuple(self.value(x) for x in self._list(body))
        if tag == "$d":
            return {self._key(k): self.value(v) for k, v in (self._pair(p) for p in self._list(body))}
        if tag == "$s":
            return {self._key(x) for x in self._list(body)}
        if tag == "$S":
            return frozenset(self._key(x) for x in self._list(body))
        if tag == "$q":
            maxlen = raw.get("max")
            if maxlen is not None and (not isinstance(maxlen, int) or maxlen < 0):
                raise StateError("bad deque length in the state")
            return deque((self.value(x) for x in self._list(body)), maxlen=maxlen)
        if tag == "$C":
            return Counter({self._key(k): self.value(v) for k, v in (self._pair(p) for p in self._list(body))})
        if tag == "$e":
            key, value = self._pair(body)
            cls = allowed_class(key)
            if not issubclass(cls, enum.Enum):
                raise StateError(f"{key} in the state is not an enum")
            try:
                return cls(value)
            except ValueError:
                raise StateError(f"{value!r} is not a {key}") from None
        if tag == "$f":
            try:
                return float.fromhex(body)
            except (TypeError, ValueError):
                raise StateError("bad float in the state") from None
        if tag == "$n":
            dtype, value = self._pair(body)
            return np.dtype(_dtype(dtype)).type(value)
        if tag == "$a":
            return self._blob(body).copy()
        if tag == "$b":
            data = self._blob(body).tobytes()
            return bytearray(data) if raw.get("mutable") else data
        if tag == "$p":
            if not isinstance(body, str):
                raise StateError("bad path in the state")
            from pathlib import Path

            return Path(body)
        if tag == "$m":
            ident, name = self._pair(body)
            owner = self.value(ident)
            if not isinstance(name, str) or name.startswith("__") or not name.isidentifier():
                raise StateError(f"bad method name {name!r} in the state")
            func = inspect.getattr_static(type(owner), name, None)
            if not inspect.isfunction(func):
                raise StateError(f"{type(owner).__name__} has no method {name!r}")
            return getattr(owner, name)
        if tag == "$x":
            kind, key = self._pair(body)
            return self.external(kind, key)
        raise StateError(f"unknown tag {tag!r} in the state")

    def _key(self, raw: Any) -> Any:
        key = self.value(raw)
        try:
            hash(key)
        except TypeError:
            raise StateError("an unhashable key in the state") from None
        return key

    def _blob(self, index: Any) -> np.ndarray:
        if not isinstance(index, int) or not 0 <= index < len(self.blobs):
            raise StateError(f"the state references array {index!r}, which it does not hold")
        return self.blobs[index]

    @staticmethod
    def _list(body: Any) -> list[Any]:
        if not isinstance(body, list):
            raise StateError("a list in the state is not a list")
        return body

    @staticmethod
    def _pair(body: Any) -> tuple[Any, Any]:
        if not isinstance(body, list) or len(body) != 2:
            raise StateError("a pair in the state is not a pair")
        return body[0], body[1]


def _int_key(key: str) -> int:
    try:
        return int(key)
    except (TypeError, ValueError):
        raise StateError(f"bad object id {key!r} in the state") from None


def _dtype(text: Any) -> np.dtype:
    if not isinstance(text, str) or len(text) > 8:
        raise StateError("bad array type in the state")
    try:
        dtype = np.dtype(text)
    except TypeError:
        raise StateError(f"bad array type {text!r} in the state") from None
    if dtype.kind not in "biuf" or dtype.hasobject:
        raise StateError(f"array type {text!r} is not plain numbers")
    return dtype
