"""What every HLE library applet shares: its slot in the launching application's APT state.

A library applet (3dbrew "NS and APT Services#AppIDs": 0x401 software keyboard, 0x402
appletEd, 0x406 error display, ...) is started by an application in three steps, as
libctru's ``aptLaunchLibraryApplet`` makes them:

1. PrepareToStartLibraryApplet(app id): APT makes the applet (here: an object of
   :data:`kernel.applets.LIBRARY_APPLETS`) and registers it, so IsRegistered(app id) is true.
2. The screen-capture exchange: the application sends the applet REQUEST with its capture
   buffer layout; the applet answers RESPONSE (Citra/Azahar give a memory block for the
   capture; hlemu draws nothing, so the RESPONSE carries none, as the stand-in HOME menu's).
3. StartLibraryApplet(app id, parameter, handle): the applet gets the parameter with signal
   WAKEUP and runs. When it is done it closes: the application gets a parameter from the
   applet's app id with command WAKEUP_EXIT and the applet's return data (Citra/Azahar
   ``AppletManager::CloseLibraryApplet`` after ``PrepareToCloseLibraryApplet``), which libctru's
   ``aptWaitForWakeUp`` takes and copies back over the buffer it started the applet with.

The applet lives in the launching process's :class:`~kernel.services.apt.Applet` state
(``library_applet``), so every application has its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kernel.objects.base import KernelObject
    from kernel.services.apt import Applet, Apt

# APT parameter commands (libctru APT_Command), as the applets send them.
REQUEST, RESPONSE, MESSAGE, WAKEUP_EXIT, WAKEUP_CANCEL = 2, 3, 5, 10, 12


class LibraryApplet:
    """One running library applet of one application; subclasses do the applet's work."""

    title = "library applet"

    def __init__(self, apt: Apt, parent: Applet, app_id: int) -> None:
        self.apt = apt
        self.parent = parent  # the launching application's APT state
        self.app_id = app_id
        self.started = False
        self.closed = False
        self.held: list[KernelObject] = []  # objects kept across IPC calls (released on close)
        self.data = b""  # the parameter StartLibraryApplet gave

    @property
    def kernel(self):  # noqa: ANN201 - the Kernel
        return self.apt.kernel

    def say(self, line: str) -> None:
        """A line in the launching program's output, as services report what they do not do."""
        self.kernel.output(self.parent.process, f"[hlemu] {self.title} ({self.app_id:#05x}): {line}")

    # -- what APT hands the applet -------------------------------------------------------------
    def receive(self, command: int, data: bytes, handle: KernelObject | None) -> bool:
        """SendParameter to the applet. The capture request is answered here; False for a
        command the applet does not take (APT then answers the sender NOT_FOUND)."""
        if command == REQUEST:
            self.send(RESPONSE)
            return True
        return self.message(command, data, handle)

    def message(self, command: int, data: bytes, handle: KernelObject | None) -> bool:
        """Anything but the capture request (override); nothing by default."""
        return False

    def start(self, data: bytes, handle: KernelObject | None) -> None:
        """StartLibraryApplet: the parameter and handle the application gave (override)."""
        self.started = True
        self.data = data
        self.close(data)

    def cancel(self) -> None:
        """CancelLibraryApplet: close now, the application woken with WAKEUP_CANCEL."""
        self.close(self.data, WAKEUP_CANCEL)

    def hold(self, obj: KernelObject | None) -> None:
        """Keep ``obj`` past the IPC call that brought it (until the applet closes)."""
        if obj is not None:
            self.kernel.retain(obj, "library applet")
            self.held.append(obj)

    # -- what the applet sends back ------------------------------------------------------------
    def send(self, command: int, data: bytes = b"") -> None:
        from kernel.services.apt import Parameter

        self.apt.send_parameter(self.parent, Parameter(self.app_id, self.parent.app_id, command, data))

    def close(self, data: bytes, command: int = WAKEUP_EXIT) -> None:
        """Return to the application: the wake-up parameter with ``data``; the slot is free again."""
        if self.closed:
            return
        self.closed = True
        if self.parent.library_applet is self:
            self.parent.library_applet = None
        for obj in self.held:
            self.kernel.release_hold(obj, "library applet")
        self.held.clear()
        self.send(command, data)


class ReturningApplet(LibraryApplet):
    """An applet hlemu does not implement: it returns at once with its parameter unchanged,
    so a program waiting for it goes on (and can see nothing was done) instead of hanging."""

    def start(self, data: bytes, handle: KernelObject | None) -> None:
        from kernel.applets import APPLET_NAMES

        self.started = True
        self.data = data
        self.say(f"{APPLET_NAMES.get(self.app_id, 'this applet')} is not implemented: "
                 f"returns at once with its parameter unchanged")
        self.close(data)
