/* fastmem_trap's fault handler: let a compiled access to a protected slab page finish.
 *
 * A thread "arms" itself by pointing its block (bound once with trap_bind) at a nonzero
 * ARMED word; the compiled kernels set and clear that word themselves, so the hot path
 * makes no call here. On SIGSEGV/SIGBUS the handler claims the fault only when this
 * thread is armed and si_addr lies in a registered slab: it maps a zero page RW over the
 * faulting page (MAP_FIXED, so the instruction retries and completes), appends the page
 * to the thread's log and returns. The caller then restores the page and redoes the
 * operation through slowmem. Every other fault goes to the previous handler: real
 * crashes still crash.
 *
 * Async-signal safety: the handler calls mmap only (a system call), reads one
 * initial-exec TLS pointer (no allocation on access) and fixed arrays written with
 * atomic stores; it takes no lock and never allocates.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE 4096UL
#define MAX_SLABS 1024
#define ARMED 0    /* block[0]: nonzero while a compiled call may trap */
#define COUNT 1    /* block[1]: pages logged since the last reset */
#define LOG 2      /* block[2..]: host addresses of the logged pages */

static __thread int64_t *block __attribute__((tls_model("initial-exec")));
static int64_t capacity;               /* log entries a block holds */
static uintptr_t slab_base[MAX_SLABS]; /* 0: free entry */
static uintptr_t slab_size[MAX_SLABS];
static struct sigaction previous[2];   /* SIGSEGV, SIGBUS as they were before us */
static int installed;

static int sig_index(int sig) { return sig == SIGBUS; }

static int in_slab(uintptr_t addr) {
    for (int i = 0; i < MAX_SLABS; i++) {
        uintptr_t base = __atomic_load_n(&slab_base[i], __ATOMIC_ACQUIRE);
        if (base && addr >= base && addr - base < __atomic_load_n(&slab_size[i], __ATOMIC_ACQUIRE))
            return 1;
    }
    return 0;
}

static void chain(int sig, siginfo_t *info, void *context) {
    struct sigaction *old = &previous[sig_index(sig)];
    if (old->sa_flags & SA_SIGINFO) {
        old->sa_sigaction(sig, info, context);
        return;
    }
    if (old->sa_handler == SIG_DFL || old->sa_handler == SIG_IGN) {
        /* Put the old action back and return: the faulting access repeats and ends the
           process as it would have without us. */
        sigaction(sig, old, NULL);
        installed = 0;
        return;
    }
    old->sa_handler(sig);
}

static void handler(int sig, siginfo_t *info, void *context) {
    int64_t *b = block;
    uintptr_t addr = (uintptr_t)info->si_addr;
    if (b && b[ARMED] && info->si_code > 0 && in_slab(addr) && b[COUNT] < capacity) {
        void *page = (void *)(addr & ~(PAGE - 1));
        void *got = mmap(page, PAGE, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (got == page) {
            b[LOG + b[COUNT]] = (int64_t)(uintptr_t)page;
            b[COUNT] += 1;
            return;
        }
    }
    chain(sig, info, context);
}

/* Install the handler unless it is already the current one (someone, e.g. Python's
   faulthandler, may have installed theirs over it since: they become the previous one).
   Returns 1 when it (re)installed, 0 when already in place, -1 on error. */
int trap_ensure(int64_t log_capacity) {
    struct sigaction now, ours;
    int sigs[2] = {SIGSEGV, SIGBUS};
    int changed = 0;
    capacity = log_capacity;
    memset(&ours, 0, sizeof ours);
    ours.sa_sigaction = handler;
    ours.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&ours.sa_mask);
    for (int i = 0; i < 2; i++) {
        if (sigaction(sigs[i], NULL, &now) != 0)
            return -1;
        if ((now.sa_flags & SA_SIGINFO) && now.sa_sigaction == handler)
            continue;
        if (sigaction(sigs[i], &ours, &previous[i]) != 0)
            return -1;
        changed = 1;
    }
    installed = 1;
    return changed;
}

/* This thread's block (ARMED, COUNT, then `capacity` log entries); NULL unbinds. */
void trap_bind(int64_t *thread_block) { block = thread_block; }

int trap_register(uintptr_t base, uintptr_t size) {
    for (int i = 0; i < MAX_SLABS; i++) {
        uintptr_t expected = 0;
        if (__atomic_load_n(&slab_base[i], __ATOMIC_ACQUIRE) == 0) {
            __atomic_store_n(&slab_size[i], size, __ATOMIC_RELEASE);
            if (__atomic_compare_exchange_n(&slab_base[i], &expected, base, 0, __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE))
                return 0;
        }
    }
    return -1;
}

int trap_unregister(uintptr_t base) {
    for (int i = 0; i < MAX_SLABS; i++) {
        if (__atomic_load_n(&slab_base[i], __ATOMIC_ACQUIRE) == base) {
            __atomic_store_n(&slab_base[i], 0, __ATOMIC_RELEASE);
            return 0;
        }
    }
    return -1;
}

/* For tests: what the process's SIGSEGV action is now (1: ours, 0: another). */
int trap_is_current(void) {
    struct sigaction now;
    sigaction(SIGSEGV, NULL, &now);
    return (now.sa_flags & SA_SIGINFO) && now.sa_sigaction == handler;
}
