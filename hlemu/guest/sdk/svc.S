/*
 * svc.S - system-call wrappers of the hlemu guest SDK.
 *
 * Each wrapper turns an AAPCS call with libctru's C signature (hlemu.h)
 * into the register layout the 3DS kernel reads, as 3dbrew's "Kernel ABI"
 * page and libctru's source/svc.s document it:
 *   - inputs go in r0-r3, then r4 (and r5); a C argument that AAPCS put on
 *     the stack is loaded into the first register the kernel wants it in,
 *     which is often r0, freed because r0 held an output pointer;
 *   - the kernel returns the Result in r0 and outputs in r1, r2, ...;
 *     the wrapper stores them through the caller's output pointers;
 *   - an s64 argument occupies an even/odd register pair (AAPCS), so
 *     WaitSynchronization1 takes its timeout in r2:r3 and leaves r1 unused.
 * Every wrapper restores the callee-saved registers (r4, r5) it borrows.
 * One section per wrapper so --gc-sections drops the unused ones.
 */

    .file "svc.S"
    .syntax unified
    .arch armv6k
    .arm

/* Open a wrapper in its own section. */
.macro SVC_FUNC name
    .section .text.\name, "ax", %progbits
    .global \name
    .type \name, %function
    .balign 4
\name:
.endm

.macro SVC_END name
    .size \name, . - \name
.endm

/* Inputs already where the kernel wants them; outputs only in r0 (or r0:r1). */
.macro SVC_PLAIN name, number
SVC_FUNC \name
    svc \number
    bx lr
SVC_END \name
.endm

/* First C argument is an output pointer; the kernel returns that value in r1.
 * The kernel ignores r0 on entry for these calls. */
.macro SVC_OUT_R1 name, number
SVC_FUNC \name
    push {r0}
    svc \number
    pop {r2}
    str r1, [r2]
    bx lr
SVC_END \name
.endm

/* Five or six inputs: C args 5 and 6 come from the stack into r0 and r4;
 * the output pointer (C arg 1, in r0) is saved and receives r1. */
.macro SVC_OUT_R1_STACK2 name, number
SVC_FUNC \name
    push {r0, r4}
    ldr r0, [sp, #8]
    ldr r4, [sp, #12]
    svc \number
    pop {r2, r4}
    str r1, [r2]
    bx lr
SVC_END \name
.endm

/* Two output pointers (C args 1 and 2, in r0 and r1) receive r1 and r2.
 * The kernel ignores r0 and r1 on entry for these calls. */
.macro SVC_OUT_R1_R2 name, number
SVC_FUNC \name
    push {r0, r1}
    svc \number
    ldr r3, [sp]
    str r1, [r3]
    ldr r3, [sp, #4]
    str r2, [r3]
    add sp, sp, #8
    bx lr
SVC_END \name
.endm

/* Output pointer to an s64 returned in r1 (low) and r2 (high). */
.macro SVC_OUT_S64 name, number
SVC_FUNC \name
    push {r0}
    svc \number
    pop {r3}
    str r1, [r3]
    str r2, [r3, #4]
    bx lr
SVC_END \name
.endm

/* Kernel ABI: r0=op, r1=addr0, r2=addr1, r3=size, r4=perm -> r1=addr_out. */
SVC_OUT_R1_STACK2 svcControlMemory, 0x01

/* Kernel ABI: r2=addr -> r1=base, r2=size, r3=perm, r4=state, r5=page flags. */
SVC_FUNC svcQueryMemory
    push {r0, r1, r4, r5}
    svc 0x02
    ldr r12, [sp]
    stm r12, {r1, r2, r3, r4}
    ldr r12, [sp, #4]
    str r5, [r12]
    add sp, sp, #8
    pop {r4, r5}
    bx lr
SVC_END svcQueryMemory

/* ExitProcess takes no argument on the 3DS. hlemu's kernel reads r0 as the
 * exit status, so the libctru-style form passes 0 and hlemuExitProcess the
 * caller's code. Neither returns; if a kernel ever did return, the undefined
 * instruction after the SVC makes that a visible fault, not a silent run-on. */
SVC_FUNC svcExitProcess
    mov r0, #0
    svc 0x03
    .inst 0xe7f000f0
SVC_END svcExitProcess

SVC_FUNC hlemuExitProcess
    svc 0x03
    .inst 0xe7f000f0
SVC_END hlemuExitProcess

/* Kernel ABI: r0=priority, r1=entry, r2=arg, r3=stack_top, r4=processor -> r1=handle. */
SVC_OUT_R1_STACK2 svcCreateThread, 0x08

SVC_FUNC svcExitThread
    svc 0x09
    .inst 0xe7f000f0
SVC_END svcExitThread

/* Kernel ABI: r0:r1 = ns (the s64 argument is already there). */
SVC_PLAIN svcSleepThread, 0x0A
/* Kernel ABI: r1=thread -> r1=priority. */
SVC_OUT_R1 svcGetThreadPriority, 0x0B
SVC_PLAIN svcSetThreadPriority, 0x0C

/* Kernel ABI: r1=initially_locked -> r1=handle. */
SVC_OUT_R1 svcCreateMutex, 0x13
SVC_PLAIN svcReleaseMutex, 0x14
/* Kernel ABI: r1=initial, r2=max -> r1=handle. */
SVC_OUT_R1 svcCreateSemaphore, 0x15
/* Kernel ABI: r1=semaphore, r2=release count -> r1=previous count. */
SVC_OUT_R1 svcReleaseSemaphore, 0x16
/* Kernel ABI: r1=reset type -> r1=handle. */
SVC_OUT_R1 svcCreateEvent, 0x17
SVC_PLAIN svcSignalEvent, 0x18
SVC_PLAIN svcClearEvent, 0x19

SVC_OUT_R1 svcCreateTimer, 0x1A

/* C: (timer r0, initial r2:r3, interval on the stack).
 * Kernel ABI: r0=timer, r1=interval low, r2:r3=initial, r4=interval high. */
SVC_FUNC svcSetTimer
    push {r4}
    ldr r1, [sp, #4]
    ldr r4, [sp, #8]
    svc 0x1B
    pop {r4}
    bx lr
SVC_END svcSetTimer

SVC_PLAIN svcCancelTimer, 0x1C
SVC_PLAIN svcClearTimer, 0x1D

/* C: (out r0, addr r1, size r2, my_perm r3, other_perm on the stack).
 * Kernel ABI: r0=other_perm, r1=addr, r2=size, r3=my_perm -> r1=handle. */
SVC_FUNC svcCreateMemoryBlock
    push {r0}
    ldr r0, [sp, #4]
    svc 0x1E
    pop {r2}
    str r1, [r2]
    bx lr
SVC_END svcCreateMemoryBlock

/* Kernel ABI: r0=memblock, r1=addr, r2=my_perm, r3=other_perm. */
SVC_PLAIN svcMapMemoryBlock, 0x1F
/* Kernel ABI: r0=memblock, r1=addr. */
SVC_PLAIN svcUnmapMemoryBlock, 0x20

SVC_OUT_R1 svcCreateAddressArbiter, 0x21

/* C: (arbiter, addr, type, value, timeout on the stack).
 * Kernel ABI: r0-r3 as in C, r4:r5 = timeout ns. */
SVC_FUNC svcArbitrateAddress
    push {r4, r5}
    ldr r4, [sp, #8]
    ldr r5, [sp, #12]
    svc 0x22
    pop {r4, r5}
    bx lr
SVC_END svcArbitrateAddress

SVC_PLAIN svcCloseHandle, 0x23
/* Kernel ABI: r0=handle, r2:r3=timeout ns. */
SVC_PLAIN svcWaitSynchronization, 0x24
/* C: (out, handles, count, wait_all, timeout on the stack).
 * Kernel ABI: r0=timeout low, r1=handles, r2=count, r3=wait_all,
 * r4=timeout high -> r1=index. */
SVC_OUT_R1_STACK2 svcWaitSynchronizationN, 0x25
/* Kernel ABI: r1=original -> r1=duplicate. */
SVC_OUT_R1 svcDuplicateHandle, 0x27
/* Kernel ABI: -> r0:r1 = tick count. */
SVC_PLAIN svcGetSystemTick, 0x28
/* Kernel ABI: r1=type, r2=param -> r1:r2 = s64. */
SVC_OUT_S64 svcGetSystemInfo, 0x2A
/* Kernel ABI: r1=process, r2=type -> r1:r2 = s64. */
SVC_OUT_S64 svcGetProcessInfo, 0x2B
/* Kernel ABI: r1=port name -> r1=client session handle. */
SVC_OUT_R1 svcConnectToPort, 0x2D
SVC_PLAIN svcSendSyncRequest, 0x32
/* Kernel ABI: r1=process -> r1=process id. */
SVC_OUT_R1 svcGetProcessId, 0x35
/* Kernel ABI: r1=thread -> r1=thread id. */
SVC_OUT_R1 svcGetThreadId, 0x37
SVC_PLAIN svcBreak, 0x3C
/* Kernel ABI: r0=string, r1=length. */
SVC_PLAIN svcOutputDebugString, 0x3D

/* ---- IPC: ports and sessions (3dbrew "IPC", libctru svc.s) ---- */

/* Kernel ABI: r2=name (NULL for a private port), r3=max sessions
 * -> r1=server port, r2=client port. */
SVC_OUT_R1_R2 svcCreatePort, 0x47
/* Kernel ABI: r1=client port -> r1=client session. */
SVC_OUT_R1 svcCreateSessionToPort, 0x48
/* Kernel ABI: -> r1=server session, r2=client session. */
SVC_OUT_R1_R2 svcCreateSession, 0x49
/* Kernel ABI: r1=server port -> r1=server session. */
SVC_OUT_R1 svcAcceptSession, 0x4A
/* Kernel ABI: r1=handles, r2=count, r3=reply target -> r1=index. The index is
 * stored even when r0 is a failure: with 0xC920181A it names the closed session. */
SVC_OUT_R1 svcReplyAndReceive, 0x4F

    .section .note.GNU-stack, "", %progbits
