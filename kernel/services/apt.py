"""``APT:U`` / ``APT:A`` / ``APT:S``: the applet manager, as much of it as an application uses.

One :class:`Apt` holds the state; each of the three names is its own port
(:class:`AptPort`) onto it, as on the 3DS, where they differ only in which
processes may use them (libctru tries APT:S, APT:A, APT:U in turn). libctru opens a
new session for every command (``aptSendCommand``), so the state is kept per
*process*, never per session: each application process that initialises APT gets
its own lock mutex, notification and parameter events, parameter queue and
notification queue, so several processes can run at once.

Behaviour follows 3dbrew "NS and APT Services" and libctru ``source/services/apt.c``
(the client), with Citra/Azahar ``service/apt/applet_manager.cpp`` for what APT does:

- Initialize queues the parameter {sender 0, command WAKEUP} that the HOME menu would
  send and signals the parameter event; libctru's ``aptInit`` waits for it.
- There is no HOME menu process. A small stand-in answers what libctru's
  ``aptJumpToHomeMenu`` asks of it (IsRegistered(HOME), the capture-buffer request,
  JumpToHomeMenu) and sends the application straight back with WAKEUP_PAUSE.
- HOME, POWER and close requests come from Python (:meth:`Apt.press_home`,
  :meth:`Apt.press_power`, :meth:`Apt.request_close`): each queues a notification
  (libctru's ``APT_Signal``) and signals the notification event; libctru's event thread
  reads it with InquireNotification. ORDERTOCLOSE and SHUTDOWN make ``aptMainLoop()``
  return false.
- Library applets (PrepareToStartLibraryApplet, StartLibraryApplet, ...): the applet runs in
  Python (:mod:`kernel.applets`; the software keyboard is ``kernel.applets.swkbd``) and
  returns to the application with a WAKEUP_EXIT parameter from its app id.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING

from kernel.applets import KeyboardInput, LibraryApplet, ReturningApplet, library_applet_class
from kernel.objects.event import Event, ResetType
from kernel.objects.mutex import Mutex
from kernel.services import Reply, Request, Service, command
from kernel.services.buffers import static_room
from kernel.services.cfg import MODELS
from kernel.services.shared_font import SHARED_FONT_MISSING, SharedFont, load_shared_font

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.objects.base import KernelObject
    from kernel.process import Process

log = logging.getLogger(__name__)

PORT_NAMES = ("APT:U", "APT:A", "APT:S")


def _result(description: int, summary: int, level: int) -> int:
    """An APT (module 51) result word: description | module << 10 | summary << 21 | level << 27."""
    return description | 51 << 10 | summary << 21 | level << 27


# Citra/Azahar applet_manager.cpp (ErrorDescription / ErrorSummary / ErrorLevel values of result.h)
NO_DATA = _result(1007, 5, 25)  # 0xC8A0CFEF: Glance/ReceiveParameter with nothing queued
NOT_FOUND = _result(1018, 4, 25)  # 0xC880CFFA: an applet id that is not registered
ALREADY_EXISTS = _result(1020, 5, 25)  # 0xC8A0CFFC: Initialize twice without Finalize
INVALID_APPLET_SLOT = _result(4, 5, 25)  # 0xC8A0CC04: CancelLibraryApplet with no library applet


class AppId(IntEnum):
    """NS application ids (3dbrew "NS and APT Services#AppIDs", libctru NS_APPID)."""

    NONE = 0
    HOMEMENU = 0x101
    APPLICATION = 0x300
    SOFTWARE_KEYBOARD = 0x401  # libctru APPID_SOFTWARE_KEYBOARD


class Signal(IntEnum):
    """Notifications for InquireNotification (libctru APT_Signal)."""

    NONE = 0
    HOMEBUTTON = 1
    HOMEBUTTON2 = 2
    SLEEP_QUERY = 3
    SLEEP_CANCEL = 4
    SLEEP_ENTER = 5
    SLEEP_WAKEUP = 6
    SHUTDOWN = 7
    POWERBUTTON = 8
    POWERBUTTON2 = 9
    TRY_SLEEP = 10
    ORDERTOCLOSE = 11


class AptCommand(IntEnum):
    """Parameter commands (libctru APT_Command; 3dbrew calls them signal types)."""

    NONE = 0
    WAKEUP = 1
    REQUEST = 2
    RESPONSE = 3
    MESSAGE = 5
    WAKEUP_EXIT = 10
    WAKEUP_PAUSE = 11
    WAKEUP_CANCEL = 12
    SYSAPPLET_REQUEST = 16


@dataclass
class Parameter:
    sender: int
    destination: int
    command: int
    data: bytes = b""


@dataclass
class Applet:
    """One process's registration with APT."""

    process: Process
    lock: Mutex
    notification_event: Event | None = None
    parameter_event: Event | None = None
    app_id: int = 0
    attributes: int = 0
    initialized: bool = False
    registered: bool = False  # Enable'd
    parameters: deque[Parameter] = field(default_factory=deque)
    notifications: deque[int] = field(default_factory=deque)
    power_pending: bool = False
    closing: bool = False  # PrepareToCloseApplication seen
    cpu_time_limit: int = 0  # SetAppCpuTimeLimit's percentage (Citra's cpu_percent, 0 until set)
    library_applet: LibraryApplet | None = None  # prepared or running (kernel.applets)


NEW_3DS_MODELS = frozenset({MODELS["New 3DS"], MODELS["New 3DS XL"], MODELS["New 2DS XL"]})


class Apt:
    """The applet manager's state and the Python API on it (``kernel.apt``)."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.applets: dict[int, Applet] = {}  # by pid
        self._new_3ds: bool | None = None  # None: what the console model (kernel.cfg) says
        self.media_type = 1  # GetAppletInfo: SD card, where homebrew lives
        self.shared_font: SharedFont | None = None  # made on the first GetSharedFont
        self.ports = [AptPort(kernel, self, name) for name in PORT_NAMES]
        self.keyboard = KeyboardInput()  # the software keyboard's answers (kernel.applets.swkbd)

    @property
    def new_3ds(self) -> bool:
        """CheckNew3DS's answer: the console model's (``--cfg model=N3DS``; by default an Old
        3DS, so libctru's hidInit skips ir:rst), unless set here."""
        if self._new_3ds is not None:
            return self._new_3ds
        return self.kernel.cfg.settings.model in NEW_3DS_MODELS

    @new_3ds.setter
    def new_3ds(self, value: bool) -> None:
        self._new_3ds = bool(value)

    # -- per-process state ------------------------------------------------------------------
    def applet(self, process: Process) -> Applet:
        """``process``'s state, made on its first command (GetLockHandle comes first)."""
        self._forget_ended()
        state = self.applets.get(process.pid)
        if state is None or state.process is not process:
            lock = Mutex(self.kernel, None, name=f"APT lock (pid {process.pid})")
            self.kernel.retain(lock, "apt applet")
            state = self.applets[process.pid] = Applet(process, lock)
        return state

    def _forget_ended(self) -> None:
        for pid, state in list(self.applets.items()):
            if not state.process.alive:
                del self.applets[pid]
                for obj in (state.lock, state.notification_event, state.parameter_event):
                    if obj is not None:
                        self.kernel.release_hold(obj, "apt applet")

    def send_parameter(self, state: Applet, parameter: Parameter) -> None:
        state.parameters.append(parameter)
        if state.parameter_event is not None:
            state.parameter_event.signal()

    def notify(self, signal: int, process: Process | None = None) -> int:
        """Queue notification ``signal`` for ``process`` (None: every registered application)
        and signal its notification event; how many applications got it."""
        self._forget_ended()
        targets = [s for s in self.applets.values()
                   if s.registered and (process is None or s.process is process)]
        for state in targets:
            state.notifications.append(int(signal))
            if state.notification_event is not None:
                state.notification_event.signal()
        return len(targets)

    # -- the Python API (HOME, POWER, closing) ---------------------------------------------------
    def press_home(self, process: Process | None = None) -> int:
        """The HOME button: libctru jumps to the HOME menu if the application allows it
        (the stand-in HOME menu sends it straight back) or notes the press as rejected."""
        return self.notify(Signal.HOMEBUTTON, process)

    def press_power(self, process: Process | None = None) -> int:
        """The POWER button, answered as if the user chose "power off" in the HOME menu's
        dialog: libctru jumps to the HOME menu, which sends POWERBUTTON2 and SHUTDOWN and
        wakes it, so ``aptMainLoop()`` returns false."""
        count = self.notify(Signal.POWERBUTTON, process)
        for state in self.applets.values():
            if state.registered and (process is None or state.process is process):
                state.power_pending = True
        return count

    def request_close(self, process: Process | None = None) -> int:
        """Ask the application to close (ORDERTOCLOSE): ``aptMainLoop()`` returns false."""
        return self.notify(Signal.ORDERTOCLOSE, process)

    def request_shutdown(self, process: Process | None = None) -> int:
        """The system is shutting down (SHUTDOWN): ``aptMainLoop()`` returns false."""
        return self.notify(Signal.SHUTDOWN, process)

    # -- the stand-in HOME menu --------------------------------------------------------------
    def home_menu_receives(self, state: Applet, parameter: Parameter) -> bool:
        """A parameter for the HOME menu: answer the capture-buffer request as libctru's
        aptScreenTransfer expects (RESPONSE, no memory block). False for anything else."""
        if parameter.command in (AptCommand.REQUEST, AptCommand.SYSAPPLET_REQUEST):
            self.send_parameter(state, Parameter(AppId.HOMEMENU, state.app_id, AptCommand.RESPONSE))
            return True
        return False

    def home_menu_resumes(self, state: Applet) -> None:
        """JumpToHomeMenu: the HOME menu has nothing to show and sends the application back."""
        if state.power_pending:  # the power-off dialog: "power off"
            state.power_pending = False
            self.notify(Signal.POWERBUTTON2, state.process)
            self.notify(Signal.SHUTDOWN, state.process)
        self.send_parameter(state, Parameter(AppId.HOMEMENU, state.app_id, AptCommand.WAKEUP_PAUSE))


class AptPort(Service):
    """One of the APT names; every handler works on the calling process's :class:`Applet`."""

    max_sessions = 32

    def __init__(self, kernel: Kernel, apt: Apt, name: str) -> None:
        super().__init__(kernel)
        self.name = name
        self.apt = apt

    def _state(self, request: Request) -> Applet:
        return self.apt.applet(request.process)

    # -- start-up ---------------------------------------------------------------------------
    @command(0x0001, normal=1)
    def get_lock_handle(self, request: Request) -> Reply:
        """flags -> applet attributes, state (power button state: 0), the lock mutex (cmdbuf[5])."""
        state = self._state(request)
        return Reply(normal=[request.normal[0], 0], copy_handles=[state.lock])

    @command(0x0002, normal=2)
    def initialize(self, request: Request) -> Reply:
        """app id, attributes -> the notification and parameter (resume) events."""
        state = self._state(request)
        if state.initialized:
            return Reply(result=ALREADY_EXISTS)
        kernel = self.kernel
        state.notification_event = Event(kernel, ResetType.ONESHOT, name=f"APT notification (pid {state.process.pid})")
        state.parameter_event = Event(kernel, ResetType.ONESHOT, name=f"APT parameter (pid {state.process.pid})")
        kernel.retain(state.notification_event, "apt applet")
        kernel.retain(state.parameter_event, "apt applet")
        state.app_id, state.attributes = request.normal
        state.initialized = state.registered = True  # APT enables the first applet itself (Citra)
        state.parameters.clear()
        state.notifications.clear()
        # What the HOME menu sends a started application: libctru waits for it in aptInit.
        self.apt.send_parameter(state, Parameter(AppId.NONE, state.app_id, AptCommand.WAKEUP))
        return Reply(copy_handles=[state.notification_event, state.parameter_event])

    @command(0x0003, normal=1)
    def enable(self, request: Request) -> Reply:
        state = self._state(request)
        if not state.initialized:
            return Reply(result=NOT_FOUND)
        state.registered = True
        return Reply()

    @command(0x0004, normal=1)
    def finalize(self, request: Request) -> Reply:
        state = self._state(request)
        if not state.initialized:
            return Reply(result=NOT_FOUND)
        state.initialized = state.registered = False
        for name in ("notification_event", "parameter_event"):
            obj: KernelObject | None = getattr(state, name)
            if obj is not None:
                self.kernel.release_hold(obj, "apt applet")
                setattr(state, name, None)
        return Reply()

    @command(0x0043, normal=1)
    def notify_to_wait(self, request: Request) -> Reply:
        self.stubbed(request)
        return Reply()

    # -- applet information ------------------------------------------------------------------
    @command(0x0006, normal=1)
    def get_applet_info(self, request: Request) -> Reply:
        """app id -> program id (2 words), media type, registered, loaded, attributes."""
        state = self._own(request, request.normal[0])
        if state is None:
            return Reply(result=NOT_FOUND)
        program_id = int(getattr(state.process, "program_id", 0) or 0)
        return Reply(normal=[program_id & 0xFFFFFFFF, program_id >> 32, self.apt.media_type, 1, 1,
                             state.attributes])

    @command(0x0005, normal=1)
    def get_applet_man_info(self, request: Request) -> Reply:
        """position -> active position, requested app id, HOME menu app id, active app id
        (libctru's aptGetMenuAppID reads the third)."""
        state = self._state(request)
        if not state.registered:
            return Reply(normal=[0xFFFFFFFF, AppId.NONE, AppId.HOMEMENU, AppId.NONE])
        requested = state.app_id if request.normal[0] == state.attributes & 7 else AppId.NONE
        return Reply(normal=[state.attributes & 7, requested, AppId.HOMEMENU, state.app_id])

    @command(0x0009, normal=1)
    def is_registered(self, request: Request) -> Reply:
        app_id = request.normal[0]
        state = self._state(request)
        registered = app_id == AppId.HOMEMENU or (state.registered and app_id == state.app_id) \
            or (state.library_applet is not None and state.library_applet.app_id == app_id)
        return Reply(normal=[int(registered)])

    def _own(self, request: Request, app_id: int) -> Applet | None:
        state = self._state(request)
        return state if state.registered and app_id == state.app_id else None

    @command(0x0102)
    def check_new_3ds(self, request: Request) -> Reply:
        return Reply(normal=[int(self.apt.new_3ds)])

    @command(0x0101)
    def check_new_3ds_app(self, request: Request) -> Reply:
        """The older CheckNew3DS (2014 ctrulib), same answer."""
        return Reply(normal=[int(self.apt.new_3ds)])

    # -- notifications and parameters -----------------------------------------------------------
    @command(0x000B, normal=1)
    def inquire_notification(self, request: Request) -> Reply:
        """app id -> the oldest pending signal type (0: none)."""
        state = self._own(request, request.normal[0])
        if state is None:
            return Reply(result=NOT_FOUND)
        signal = state.notifications.popleft() if state.notifications else Signal.NONE
        if state.notifications and state.notification_event is not None:
            state.notification_event.signal()  # one-shot: the next one needs its own wake-up
        return Reply(normal=[int(signal)])

    @command(0x000E, normal=2)
    def glance_parameter(self, request: Request) -> Reply:
        return self._parameter(request, consume=False)

    @command(0x000D, normal=2)
    def receive_parameter(self, request: Request) -> Reply:
        return self._parameter(request, consume=True)

    def _parameter(self, request: Request, consume: bool) -> Reply:
        """app id, buffer size -> sender, command, actual size, a moved handle (0 here), then
        the parameter data in static buffer 0, padded to the buffer size as APT does."""
        state = self._state(request)
        app_id, size = request.normal
        if not state.parameters:
            return Reply(result=NO_DATA)
        parameter = state.parameters[0]
        if parameter.destination != app_id:
            return Reply(result=NOT_FOUND)
        if consume:
            state.parameters.popleft()
            if state.parameters and state.parameter_event is not None:
                state.parameter_event.signal()
        room = static_room(request, 0, size)  # never more than the buffer the client gave
        data = parameter.data[:room]
        return Reply(normal=[parameter.sender, parameter.command, len(data)], move_handles=[None],
                     static_buffers=[(0, data.ljust(room, b"\0"))])

    @command(0x000C, normal=4, translate=4)
    def send_parameter(self, request: Request) -> Reply:
        """source, destination, command, size, a handle, the data: only the HOME menu takes them."""
        state = self._state(request)
        source, destination, cmd, size = request.normal
        parameter = Parameter(source, destination, cmd, request.static_buffers.get(0, b"")[:size])
        if destination == AppId.HOMEMENU and self.apt.home_menu_receives(state, parameter):
            return Reply()
        applet = state.library_applet
        if applet is not None and destination == applet.app_id \
                and applet.receive(cmd, parameter.data, request.handles[0] if request.handles else None):
            return Reply()
        self.kernel.output(request.process, f"[hlemu] {self.name}: SendParameter to applet {destination:#x} "
                                            f"(command {cmd}): no such applet (unimplemented)")
        return Reply(result=NOT_FOUND)

    @command(0x000F, normal=4)
    def cancel_parameter(self, request: Request) -> Reply:
        """check sender, sender, check receiver, receiver -> whether a parameter was dropped."""
        state = self._state(request)
        check_sender, sender, check_receiver, receiver = request.normal
        head = state.parameters[0] if state.parameters else None
        hit = head is not None and (not check_sender & 0xFF or head.sender == sender) \
            and (not check_receiver & 0xFF or head.destination == receiver)
        if hit:
            state.parameters.popleft()
        return Reply(normal=[int(hit)])

    # -- library applets (kernel.applets) -------------------------------------------------------
    @command(0x0018, normal=1)
    def prepare_to_start_library_applet(self, request: Request) -> Reply:
        """app id: the applet is made and registered (IsRegistered says so) for the capture
        exchange and StartLibraryApplet; 0xC8A0CFFC while another one is open."""
        return self._prepare_library_applet(request)

    @command(0x0016, normal=1)
    def preload_library_applet(self, request: Request) -> Reply:
        return self._prepare_library_applet(request)

    def _prepare_library_applet(self, request: Request) -> Reply:
        state = self._state(request)
        app_id = request.normal[0]
        if state.library_applet is not None:
            if state.library_applet.app_id == app_id and not state.library_applet.started:
                return Reply()  # preloaded, then prepared: the same applet
            return Reply(result=ALREADY_EXISTS)
        state.library_applet = library_applet_class(app_id)(self.apt, state, app_id)
        return Reply()

    @command(0x0017, normal=1)
    def finish_preloading_library_applet(self, request: Request) -> Reply:
        return Reply()

    @command(0x001E, normal=2, translate=4)
    def start_library_applet(self, request: Request) -> Reply:
        """app id, size, a handle (the applet's memory block), the parameter (static buffer 0):
        the applet gets them as its WAKEUP parameter and runs; it answers the application with
        a WAKEUP_EXIT parameter when it is done (the keyboard: before this reply)."""
        state = self._state(request)
        app_id, size = request.normal
        applet = state.library_applet
        if applet is None or applet.app_id != app_id or applet.started:
            return Reply(result=NOT_FOUND)
        handle = request.handles[0] if request.handles else None
        if isinstance(applet, ReturningApplet):  # the recorder and --trace-ipc say "stubbed"
            self.stubbed(request, f"({app_id:#05x} returns at once)")
        applet.start(request.static_buffers.get(0, b"")[:size], handle)
        return Reply()

    @command(0x003B, normal=1)
    def cancel_library_applet(self, request: Request) -> Reply:
        """exiting -> the open applet closes at once, the application woken with WAKEUP_CANCEL
        and the applet's parameter as it got it."""
        state = self._state(request)
        applet = state.library_applet
        if applet is None:
            return Reply(result=INVALID_APPLET_SLOT)
        applet.cancel()
        return Reply()

    # -- utilities, sleep and the HOME menu -----------------------------------------------------
    @command(0x004B, normal=3, translate=2)
    def applet_utility(self, request: Request) -> Reply:
        """id, input size, output size, input -> result, the utility's result (0), output
        (zeros; TryLockTransition, id 6, says it succeeded)."""
        utility, _, out_size = request.normal
        out = bytearray(static_room(request, 0, out_size))
        if utility == 6 and out:
            out[0] = 1
        self.stubbed(request, f"({utility})")
        return Reply(normal=[0], static_buffers=[(0, bytes(out))])

    @command(0x004F, normal=2)
    def set_app_cpu_time_limit(self, request: Request) -> Reply:
        """1, percentage -> result: the share of the system core the application's threads
        there may take. Kept for GetAppCpuTimeLimit; hlemu has no system core to divide, so
        nothing else changes (stubbed, as Citra's)."""
        must_be_one, percent = request.normal
        self._state(request).cpu_time_limit = percent
        self.stubbed(request, f"({percent}%)" if must_be_one == 1 else f"({percent}%; first word {must_be_one}, not 1)")
        return Reply()

    @command(0x0050, normal=1)
    def get_app_cpu_time_limit(self, request: Request) -> Reply:
        """1 -> result, the percentage SetAppCpuTimeLimit set (0 before any)."""
        return Reply(normal=[self._state(request).cpu_time_limit])

    @command(0x003E, normal=2)
    def reply_sleep_query(self, request: Request) -> Reply:
        self.stubbed(request)
        return Reply()

    @command(0x003F, normal=1)
    def reply_sleep_notification_complete(self, request: Request) -> Reply:
        self.stubbed(request)
        return Reply()

    @command(0x002B)
    def prepare_to_jump_to_home_menu(self, request: Request) -> Reply:
        return Reply()

    @command(0x002C, normal=1, translate=4)
    def jump_to_home_menu(self, request: Request) -> Reply:
        self.apt.home_menu_resumes(self._state(request))
        return Reply()

    @command(0x0040, normal=1, translate=2)
    def send_capture_buffer_info(self, request: Request) -> Reply:
        self.stubbed(request)
        return Reply()

    # -- the system font ----------------------------------------------------------------------
    @command(0x0044)
    def get_shared_font(self, request: Request) -> Reply:
        """-> the address to map the font at, a copy of the handle to its memory block
        (kernel/services/shared_font.py); every call the same block."""
        if self.apt.shared_font is None:
            self.apt.shared_font = load_shared_font(self.kernel, request.process)
            if self.apt.shared_font is None:
                return Reply(result=SHARED_FONT_MISSING, normal=[0], copy_handles=[None])
        return Reply(normal=[self.apt.shared_font.address], copy_handles=[self.apt.shared_font.block])

    # -- closing ----------------------------------------------------------------------------
    @command(0x0022, normal=1)
    def prepare_to_close_application(self, request: Request) -> Reply:
        self._state(request).closing = True
        return Reply()

    @command(0x0027, normal=1, translate=4)
    def close_application(self, request: Request) -> Reply:
        """The application is done with APT; libctru calls ExitProcess next."""
        state = self._state(request)
        state.registered = False
        state.parameters.clear()
        state.notifications.clear()
        state.library_applet = None
        return Reply()
