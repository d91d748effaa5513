/*
 * hlemu.h - the public header of the hlemu guest SDK.
 *
 * Guest programs for hlemu are ARM11 (ARMv6K) code that talks to an HLE
 * kernel through the Nintendo 3DS (Horizon) system-call ABI. This header
 * declares that ABI the way libctru's <3ds/svc.h> and <3ds/result.h> do
 * (same names, same argument order, same constants), so code written
 * against it ports to real 3DS homebrew and back with few changes.
 *
 * References, by name:
 *   - libctru: libctru/include/3ds/svc.h, libctru/include/3ds/result.h,
 *     libctru/source/svc.s (which registers each wrapper moves where);
 *   - 3dbrew: "SVC" (the table of calls), "Kernel ABI" (the registers the
 *     kernel reads and writes), "Memory Management", "Memory layout",
 *     "Thread Local Storage", "Error codes".
 *
 * The SVC wrappers themselves live in svc.S; hlemu-specific conventions
 * (exit status in r0, heap growth, the main thread's stack) are written
 * up in hlemu/guest/README.md. IPC message helpers are in ipc.h, and the
 * service clients in srv.h (srv:), gspgpu.h (gsp::Gpu) and hid.h (hid:USER).
 */
#ifndef HLEMU_H
#define HLEMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Types (as libctru's <3ds/types.h>)                                   */
/* ------------------------------------------------------------------ */

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

typedef u32 Handle;  /* a kernel object handle, an index into the process's handle table */
typedef s32 Result;  /* a 3DS result code; see the R_* macros below */

/* Entry point of a thread made by svcCreateThread: r0 holds `arg`. */
typedef void (*ThreadFunc)(void *arg);

/* ------------------------------------------------------------------ */
/* Result codes (libctru <3ds/result.h>; 3dbrew "Error codes")          */
/* ------------------------------------------------------------------ */

/*
 * A Result packs level (bits 27-31), summary (21-26), module (10-17) and
 * description (0-9). Success and "info" levels leave bit 31 clear, so a
 * Result is a failure exactly when it is negative.
 */
#define R_SUCCEEDED(res) ((Result)(res) >= 0)
#define R_FAILED(res) ((Result)(res) < 0)
#define R_LEVEL(res) ((((u32)(res)) >> 27) & 0x1F)
#define R_SUMMARY(res) ((((u32)(res)) >> 21) & 0x3F)
#define R_MODULE(res) ((((u32)(res)) >> 10) & 0xFF)
#define R_DESCRIPTION(res) (((u32)(res)) & 0x3FF)

#define MAKERESULT(level, summary, module, description)                    \
    ((Result)((((u32)(level) & 0x1F) << 27) | (((u32)(summary) & 0x3F) << 21) | \
              (((u32)(module) & 0xFF) << 10) | ((u32)(description) & 0x3FF)))

#define RESULT_SUCCESS 0

/* Result descriptions used below (libctru RD_*). */
#define RD_TIMEOUT 1022

/*
 * Results the kernel returns that the test programs rely on. Values as
 * 3dbrew "Error codes" and the Citra kernel document them.
 */
#define RESULT_TIMEOUT ((Result)0x09401BFE)           /* wait timed out (level Info: not a failure) */
#define RESULT_INVALID_HANDLE ((Result)0xD8E007F7)    /* kernel / WrongArgument / InvalidHandle */
#define RESULT_OUT_OF_RANGE ((Result)0xD8E007FD)      /* kernel / WrongArgument / OutOfRange */
#define RESULT_INVALID_ADDRESS ((Result)0xE0E01BF5)   /* OS / InvalidArgument / InvalidAddress */
#define RESULT_MISALIGNED_ADDRESS ((Result)0xE0E01BF1) /* OS / InvalidArgument / MisalignedAddress */

/*
 * IPC results. 0xC920181A (level Status, summary Canceled, module OS,
 * description 26) is what svcReplyAndReceive returns when the client end of a
 * session in its list was closed; r1 is then that session's index (Luma3DS's
 * sm handles it as "unreachable remote"). 0xD900182F (Permanent, WrongArgument,
 * OS, description 47) is the result services reply with for a command id they
 * do not know, under the reply header IPC_MakeHeader(0, 1, 0).
 */
#define RESULT_SESSION_CLOSED ((Result)0xC920181A)
#define RESULT_INVALID_COMMAND ((Result)0xD900182F)

/* ------------------------------------------------------------------ */
/* Memory (3dbrew "Memory Management"; libctru MemOp/MemState/MemPerm)  */
/* ------------------------------------------------------------------ */

/* svcControlMemory operations: the low byte is the operation, bits 8-11 a
 * memory region, bit 16 asks for linear (physically contiguous) memory. */
typedef enum {
    MEMOP_FREE = 1,     /* unmap and release */
    MEMOP_RESERVE = 2,  /* reserve address space */
    MEMOP_ALLOC = 3,    /* commit (map fresh, zeroed memory); 3dbrew calls it COMMIT */
    MEMOP_COMMIT = 3,   /* hlemu alias of MEMOP_ALLOC, the name 3dbrew uses */
    MEMOP_MAP = 4,      /* mirror addr1 at addr0 */
    MEMOP_UNMAP = 5,    /* undo MEMOP_MAP */
    MEMOP_PROT = 6,     /* change permissions */

    MEMOP_REGION_APP = 0x100,
    MEMOP_REGION_SYSTEM = 0x200,
    MEMOP_REGION_BASE = 0x300,

    MEMOP_OP_MASK = 0xFF,
    MEMOP_REGION_MASK = 0xF00,
    MEMOP_LINEAR_FLAG = 0x10000,

    MEMOP_ALLOC_LINEAR = MEMOP_LINEAR_FLAG | MEMOP_ALLOC,
} MemOp;

/* The state of a block, as svcQueryMemory reports it. */
typedef enum {
    MEMSTATE_FREE = 0,
    MEMSTATE_RESERVED = 1,
    MEMSTATE_IO = 2,
    MEMSTATE_STATIC = 3,
    MEMSTATE_CODE = 4,
    MEMSTATE_PRIVATE = 5,
    MEMSTATE_SHARED = 6,
    MEMSTATE_CONTINUOUS = 7,
    MEMSTATE_ALIASED = 8,
    MEMSTATE_ALIAS = 9,
    MEMSTATE_ALIASCODE = 10,
    MEMSTATE_LOCKED = 11,
} MemState;

/* Page permissions. DONTCARE is what a mapper passes for "other" perms. */
typedef enum {
    MEMPERM_NONE = 0,
    MEMPERM_READ = 1,
    MEMPERM_WRITE = 2,
    MEMPERM_EXECUTE = 4,
    MEMPERM_READWRITE = MEMPERM_READ | MEMPERM_WRITE,
    MEMPERM_READEXECUTE = MEMPERM_READ | MEMPERM_EXECUTE,
    MEMPERM_DONTCARE = 0x10000000,
} MemPerm;

/* What svcQueryMemory returns: the whole block containing the address. */
typedef struct {
    u32 base_addr;
    u32 size;
    u32 perm;   /* MemPerm */
    u32 state;  /* MemState */
} MemInfo;

typedef struct {
    u32 flags;
} PageInfo;

/* The guest virtual layout hlemu follows (3dbrew "Memory layout"). */
#define HLEMU_CODE_BASE 0x00100000u        /* .text, then .rodata, then .data/.bss */
#define HLEMU_HEAP_BASE 0x08000000u        /* _sbrk commits the heap from here upward */
#define HLEMU_MAIN_STACK_TOP 0x10000000u   /* the main thread's initial sp */
#define HLEMU_SHARED_MEMORY_BASE 0x10000000u /* MapMemoryBlock targets, up to 0x14000000 */
#define HLEMU_SHARED_MEMORY_END 0x14000000u
#define HLEMU_LINEAR_HEAP_BASE 0x14000000u
#define HLEMU_TLS_BASE 0x1FF82000u         /* 0x200 bytes of TLS per thread */
#define HLEMU_PAGE_SIZE 0x1000u

/* ------------------------------------------------------------------ */
/* Threads and synchronisation                                          */
/* ------------------------------------------------------------------ */

/* Pseudo-handles (3dbrew "SVC"; libctru CUR_THREAD_HANDLE / CUR_PROCESS_HANDLE). */
#define CUR_THREAD_HANDLE 0xFFFF8000u
#define CUR_PROCESS_HANDLE 0xFFFF8001u

/* svcCreateThread processor ids: 0 is the application core. */
#define PROCESSOR_ID_APPCORE 0
#define PROCESSOR_ID_ALL (-1)
#define PROCESSOR_ID_DEFAULT (-2) /* the core named in the exheader */

/* Priorities: lower value = more urgent; applications use 0x18..0x3F. */
#define THREAD_PRIORITY_HIGHEST 0x18
#define THREAD_PRIORITY_LOWEST 0x3F

/* Reset types for events and timers. */
typedef enum {
    RESET_ONESHOT = 0, /* a signal wakes one waiter, then clears itself */
    RESET_STICKY = 1,  /* stays signalled (wakes everyone) until cleared */
    RESET_PULSE = 2,   /* timers only: like ONESHOT, fires every interval */
} ResetType;

/* svcArbitrateAddress operations. */
typedef enum {
    ARBITRATION_SIGNAL = 0,                /* wake `value` waiters (-1: all) */
    ARBITRATION_WAIT_IF_LESS_THAN = 1,     /* wait if *addr < value */
    ARBITRATION_DECREMENT_AND_WAIT_IF_LESS_THAN = 2,
    ARBITRATION_WAIT_IF_LESS_THAN_TIMEOUT = 3,
    ARBITRATION_DECREMENT_AND_WAIT_IF_LESS_THAN_TIMEOUT = 4,
} ArbitrationType;

#define ARBITRATION_SIGNAL_ALL (-1)

/* Timeouts for the wait calls are in nanoseconds; -1 waits forever. */
#define WAIT_FOREVER ((s64)-1)

/* svcBreak reasons. */
typedef enum {
    USERBREAK_PANIC = 0,
    USERBREAK_ASSERT = 1,
    USERBREAK_USER = 2,
    USERBREAK_LOAD_RO = 3,
    USERBREAK_UNLOAD_RO = 4,
} UserBreakType;

/* The system tick runs at the ARM11 clock, 268,111,856 Hz (3dbrew "Hardware"). */
#define SYSCLOCK_ARM11 268111856ull

/* ------------------------------------------------------------------ */
/* SVC wrappers (svc.S). Signatures follow libctru's svc.h.             */
/* ------------------------------------------------------------------ */

/* 0x01 ControlMemory. Kernel ABI: r0=op, r1=addr0, r2=addr1, r3=size, r4=perm -> r1=addr_out. */
Result svcControlMemory(u32 *addr_out, u32 addr0, u32 addr1, u32 size, MemOp op, MemPerm perm);
/* 0x02 QueryMemory. r2=addr -> r1..r4 = MemInfo, r5 = PageInfo. */
Result svcQueryMemory(MemInfo *info, PageInfo *out, u32 addr);
/* 0x03 ExitProcess. libctru's form: hlemu sees exit status 0. */
void svcExitProcess(void) __attribute__((noreturn));
/* 0x03 ExitProcess with an exit status in r0 (hlemu extension; the 3DS ignores r0). */
void hlemuExitProcess(s32 code) __attribute__((noreturn));

/* 0x08 CreateThread. r0=priority, r1=entry, r2=arg, r3=stack_top, r4=processor -> r1=handle. */
Result svcCreateThread(Handle *thread, ThreadFunc entrypoint, u32 arg, u32 *stack_top,
                       s32 thread_priority, s32 processor_id);
/* 0x09 ExitThread. Returning from a ThreadFunc is undefined, as on the 3DS: call this. */
void svcExitThread(void) __attribute__((noreturn));
/* 0x0A SleepThread. r0:r1 = ns; 0 yields to threads of the same priority. */
void svcSleepThread(s64 ns);
/* 0x0B GetThreadPriority. r1=thread -> r1=priority. */
Result svcGetThreadPriority(s32 *out, Handle thread);
/* 0x0C SetThreadPriority. r0=thread, r1=priority. */
Result svcSetThreadPriority(Handle thread, s32 prio);

/* 0x13 CreateMutex. r1=initially_locked -> r1=handle. Lock it with a wait call. */
Result svcCreateMutex(Handle *mutex, bool initially_locked);
/* 0x14 ReleaseMutex. r0=mutex. */
Result svcReleaseMutex(Handle mutex);
/* 0x15 CreateSemaphore. r1=initial, r2=max -> r1=handle. */
Result svcCreateSemaphore(Handle *semaphore, s32 initial_count, s32 max_count);
/* 0x16 ReleaseSemaphore. r1=semaphore, r2=release_count -> r1=previous count. */
Result svcReleaseSemaphore(s32 *count, Handle semaphore, s32 release_count);
/* 0x17 CreateEvent. r1=reset_type -> r1=handle. */
Result svcCreateEvent(Handle *event, ResetType reset_type);
/* 0x18 SignalEvent, 0x19 ClearEvent. r0=event. */
Result svcSignalEvent(Handle event);
Result svcClearEvent(Handle event);

/* 0x1A CreateTimer. r1=reset_type -> r1=handle. */
Result svcCreateTimer(Handle *timer, ResetType reset_type);
/* 0x1B SetTimer. r0=timer, r2:r3=initial ns, r1 (low) and r4 (high) = interval ns. */
Result svcSetTimer(Handle timer, s64 initial, s64 interval);
/* 0x1C CancelTimer, 0x1D ClearTimer. r0=timer. */
Result svcCancelTimer(Handle timer);
Result svcClearTimer(Handle timer);

/* 0x1E CreateMemoryBlock. r0=other_perm, r1=addr, r2=size, r3=my_perm -> r1=handle. */
Result svcCreateMemoryBlock(Handle *memblock, u32 addr, u32 size, MemPerm my_perm, MemPerm other_perm);
/* 0x1F MapMemoryBlock. r0=memblock, r1=addr, r2=my_perm, r3=other_perm. */
Result svcMapMemoryBlock(Handle memblock, u32 addr, MemPerm my_perm, MemPerm other_perm);
/* 0x20 UnmapMemoryBlock. r0=memblock, r1=addr. */
Result svcUnmapMemoryBlock(Handle memblock, u32 addr);

/* 0x21 CreateAddressArbiter. -> r1=handle. */
Result svcCreateAddressArbiter(Handle *arbiter);
/* 0x22 ArbitrateAddress. r0=arbiter, r1=addr, r2=type, r3=value, r4:r5=timeout ns. */
Result svcArbitrateAddress(Handle arbiter, u32 addr, ArbitrationType type, s32 value, s64 timeout_ns);

/* 0x23 CloseHandle. r0=handle. */
Result svcCloseHandle(Handle handle);
/* 0x24 WaitSynchronization1. r0=handle, r2:r3=timeout ns (r1 unused: s64 alignment). */
Result svcWaitSynchronization(Handle handle, s64 nanoseconds);
/* 0x25 WaitSynchronizationN. r0 (low) and r4 (high) = timeout, r1=handles, r2=count,
 * r3=wait_all -> r1=index of the handle that woke the call (wait_all false). */
Result svcWaitSynchronizationN(s32 *out, const Handle *handles, s32 handles_num, bool wait_all,
                               s64 nanoseconds);
/* 0x27 DuplicateHandle. r1=original -> r1=new handle. */
Result svcDuplicateHandle(Handle *out, Handle original);
/* 0x28 GetSystemTick. -> r0:r1. */
u64 svcGetSystemTick(void);
/* 0x2A GetSystemInfo. r1=type, r2=param -> r1:r2. */
Result svcGetSystemInfo(s64 *out, u32 type, s32 param);
/* 0x2B GetProcessInfo. r1=process, r2=type -> r1:r2. */
Result svcGetProcessInfo(s64 *out, Handle process, u32 type);
/* 0x2D ConnectToPort. r1=port name (NUL-terminated, at most 11 characters) -> r1=client
 * session handle. Only named ports ("srv:") are reached this way; services go through srv:. */
Result svcConnectToPort(volatile Handle *out, const char *portName);
/* 0x32 SendSyncRequest. r0=client session; the request is in the thread's command buffer
 * (TLS + 0x80) and the reply replaces it. A failure here means the kernel refused the
 * request (bad handle, bad descriptor, bad buffer): the server never saw it. */
Result svcSendSyncRequest(Handle session);
/* 0x35 GetProcessId. r1=process -> r1=id. */
Result svcGetProcessId(u32 *out, Handle process);
/* 0x37 GetThreadId. r1=thread -> r1=id. */
Result svcGetThreadId(u32 *out, Handle thread);
/* 0x3C Break. r0=reason. */
void svcBreak(UserBreakType reason);
/* 0x3D OutputDebugString. r0=str, r1=length (no terminator needed). */
Result svcOutputDebugString(const char *str, s32 length);

/* IPC: ports and sessions (3dbrew "IPC"; libctru svc.h / svc.s). */

/* 0x47 CreatePort. r2=name (NULL: a private port), r3=max sessions -> r1=server port,
 * r2=client port. */
Result svcCreatePort(Handle *portServer, Handle *portClient, const char *name, s32 maxSessions);
/* 0x48 CreateSessionToPort. r1=client port -> r1=client session. */
Result svcCreateSessionToPort(Handle *clientSession, Handle clientPort);
/* 0x49 CreateSession. -> r1=server session, r2=client session (a pair with no port). */
Result svcCreateSession(Handle *serverSession, Handle *clientSession);
/* 0x4A AcceptSession. r1=server port -> r1=server session. */
Result svcAcceptSession(Handle *session, Handle port);
/* 0x4F ReplyAndReceive. r1=handles, r2=count, r3=reply target (0: receive only) -> r1=index.
 * Sends the reply in the command buffer to `replyTarget`, then waits on `handles` (server
 * sessions, server ports, or any other waitable object) and returns the index of the one that
 * woke it. With RESULT_SESSION_CLOSED, r1 is the index of the session whose client closed. */
Result svcReplyAndReceive(s32 *index, const Handle *handles, s32 handleCount, Handle replyTarget);

/* ------------------------------------------------------------------ */
/* Thread-local storage (3dbrew "Thread Local Storage")                 */
/* ------------------------------------------------------------------ */

/* The kernel points the user read-only thread ID register (CP15 c13,c0,3,
 * TPIDRURO) at the current thread's 0x200-byte TLS block. */
static inline void *getThreadLocalStorage(void)
{
    void *tls;
    __asm__("mrc p15, 0, %0, c13, c0, 3" : "=r"(tls));
    return tls;
}

/* IPC requests and replies are written to TLS + 0x80 (64 words). */
static inline u32 *getThreadCommandBuffer(void)
{
    return (u32 *)((u8 *)getThreadLocalStorage() + 0x80);
}

/* Static-buffer descriptors for IPC receives live at TLS + 0x180. */
static inline u32 *getThreadStaticBuffers(void)
{
    return (u32 *)((u8 *)getThreadLocalStorage() + 0x180);
}

#ifdef __cplusplus
}
#endif

#endif /* HLEMU_H */
