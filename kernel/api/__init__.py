"""The scripting API: one object, ``Emulator``, over the kernel, its processes and memory.

It is what ``hlemu repl`` puts in the shell as ``emu``, what ``hlemu run
--script`` runs against, and what the GUI uses; there is no second path into
the kernel.

>>> emu = Emulator(backend="semifastmem", echo=False)
>>> p = emu.spawn("hello")
>>> p.pid, p.name
(32, 'hello')
>>> emu.run().reason, p.exit_code, p.output[0]
('all exited', 7, 'Hello from hlemu!')
>>> [str(r) for r in p.maps()][:2]
['00100000-00103fff r-x code', '00104000-00104fff r-- code']
>>> p.disasm(0x00100000, 2)[0].split(":")[0]
'00100000'
>>> emu.close()
"""

from kernel.api.console import ConsoleConfig
from kernel.api.emulator import Emulator
from kernel.api.proc import Proc
from kernel.api.views import HandleInfo, MapSnapshot, Region, ThreadView

__all__ = ["ConsoleConfig", "Emulator", "HandleInfo", "MapSnapshot", "Proc", "Region", "ThreadView"]
