"""The one error a save state raises when it cannot be saved or loaded."""

from __future__ import annotations


class StateError(Exception):
    """A state that cannot be saved (a host callback is installed, a run is mid-instruction)
    or loaded (damaged, truncated, a newer format, another program): what is wrong, in words.
    Nothing is half-loaded: the emulator a failed load would have made is closed."""
