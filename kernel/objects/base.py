"""Kernel objects and the waiting protocol shared by everything a thread can wait on."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.objects.resource_limit import ResourceType
    from kernel.process import Process
    from kernel.thread import Thread


class KernelObject:
    """Anything a handle can name. ``type_name`` is what the debugger shows.

    **Lifetime.** ``kernel._refs[object_id]`` counts what keeps the object alive: each
    open handle to it (``Kernel.add_handle``; ``HandleTable.close`` gives it back through
    ``Kernel.release_reference``) and each reference the kernel holds itself
    (``Kernel.retain(obj, holder)``: srv's registered ports, a service's events, a session
    waiting on its port, the objects of an IPC message in flight), recorded by holder in
    ``kernel.holds`` and given back with ``Kernel.release_hold(obj, holder)``. When the
    count reaches zero, :meth:`destroy` releases what the object holds (frames, waiters,
    sessions); :meth:`finished` says whether it is gone or lives on (a memory block
    still mapped). Objects referenced only by other objects' attributes (a thread by its
    process) are not counted: they go with their owner.

    **Save states** (:mod:`kernel.state`, docs/save-states.md). An object is saved as its
    attributes, through a plain-data codec (numbers, strings, containers, enums, numpy
    arrays, references to other kernel objects, bound methods of them), and loaded by
    ``cls.__new__`` plus those attributes, without ``__init__``. A new object type needs
    nothing more if its attributes are such data. Otherwise it declares, on the class:

    * ``state_transient``: a tuple of attribute names not to save (host handles, caches,
      listeners of the host);
    * ``state_extra(self) -> dict``: extra plain attributes to save instead (a host file
      descriptor's path, say);
    * ``after_restore(self)``: rebuilds the transient attributes once the whole graph is
      loaded (reopen the file, drop the extra).

    A loaded graph is checked: every handle resolves, every count is exactly its handles
    plus its holds, no count names a missing object (:func:`kernel.state.check.check_graph`).
    """

    type_name = "object"

    def __init__(self, kernel: Kernel, name: str = "") -> None:
        self.kernel = kernel
        self.object_id = kernel.next_object_id()
        self.name = name
        self.charged_to: tuple[Process, ResourceType] | None = None  # whose resource limit it counts in

    def describe(self) -> str:
        return f"{self.type_name} #{self.object_id}{' ' + repr(self.name) if self.name else ''}"

    def destroy(self) -> None:
        """The last handle (and kernel reference) is gone: release what the object holds."""

    def finished(self) -> bool:
        """Whether :meth:`destroy` ended the object (a memory block still mapped lives on)."""
        return True

    def __repr__(self) -> str:
        return f"<{self.describe()}>"


class WaitObject(KernelObject):
    """An object WaitSynchronization can wait on.

    Subclasses say when a thread must wait (:meth:`should_wait`, a pure question; work
    that must precede it goes in :meth:`settle`, called just before it) and what a
    completed wait takes from the object (:meth:`acquire`: a mutex's
    ownership, a semaphore's count, a one-shot event's signal). After any
    change that might end waits they call :meth:`wake_waiters`.
    """

    def __init__(self, kernel: Kernel, name: str = "") -> None:
        super().__init__(kernel, name)
        self.waiters: list[Thread] = []

    def should_wait(self, thread: Thread) -> bool:
        """Whether ``thread`` must wait: a question, with no side effects."""
        raise NotImplementedError

    def settle(self, thread: Thread) -> None:
        """What must be done before :meth:`should_wait` is asked for ``thread`` (a server
        session answers the requests it can never deliver); nothing for most objects."""

    def acquire(self, thread: Thread) -> int | None:
        """A wait on this object completed for ``thread``; may return a result code for it."""
        return None

    def wake_waiters(self) -> None:
        self.kernel.recheck_waiters(self)
