"""The system font: a BCFNT made from DejaVu Sans (:mod:`hlemu.font.bcfnt`), which APT's
GetSharedFont hands to programs in shared memory (``kernel/services/shared_font.py``)."""
