@ reloc_tables.S - words that need every kind of 3DSX relocation, linked into a test build of a
@ bundled program with -Wl,--emit-relocs (tests/loaders/test_writer.py). Kept by -u, never run.
    .section .rodata.reloc_tables_ro, "a"
    .global reloc_tables_ro
    .align 2
reloc_tables_ro:
    .word _start - .                        @ R_ARM_REL32 rodata -> code: a relative entry
    .reloc ., R_ARM_PREL31, _start          @ R_ARM_PREL31 rodata -> code: a relative entry, subtype 1
    .word 0
    .word reloc_tables_data - .             @ R_ARM_REL32 rodata -> data: a relative entry
    .word reloc_tables_ro + 8 - .           @ R_ARM_REL32 within rodata: no entry
    .word reloc_tables_data + 4             @ R_ARM_ABS32: an absolute entry
    .word 0x80000001                        @ not relocated

    .section .data.reloc_tables_data, "aw"
    .global reloc_tables_data
    .align 2
reloc_tables_data:
    .word _start(target1)                   @ R_ARM_TARGET1 (absolute): an absolute entry
    .word reloc_tables_ro(target2)          @ R_ARM_TARGET2 (relative, --target2=rel): data -> rodata
    .word _start - .                        @ R_ARM_REL32 data -> code
    .word undefined_weak                    @ R_ARM_ABS32 of an unbound weak symbol: stays 0
    .weak undefined_weak
