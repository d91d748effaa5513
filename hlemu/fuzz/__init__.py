"""Fuzz campaigns against the kernel: hostile SVCs (``svc``), malformed ELFs (``elf``), hostile IPC (``ipc``).

``hlemu fuzz CAMPAIGN --count N --seed S`` runs one from the command line
(:mod:`hlemu.fuzz.cli`); :mod:`hlemu.fuzz.runner` keeps the emulator in child
processes so host crashes and hangs are findings; :mod:`hlemu.fuzz.checks` holds
the checks every case ends with (breaches, leaks); ``tests/stress`` runs the
campaigns in CI.
"""
