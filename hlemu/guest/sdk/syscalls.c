/*
 * syscalls.c - the newlib system-call layer of the hlemu guest SDK.
 *
 * newlib does all of stdio and malloc itself and calls these few functions
 * for what only the OS can do. Here the OS is the 3DS kernel ABI:
 *   - _write to stdout/stderr  -> svcOutputDebugString (0x3D);
 *   - _sbrk                    -> svcControlMemory(MEMOP_ALLOC) (0x01),
 *                                 committing the heap at 0x08000000 upward;
 *   - _exit                    -> svcExitProcess (0x03), status in r0.
 * It also holds __hlemu_start, the C half of crt0.S: constructors, argc/argv
 * from the launcher's argument list, main, exit.
 * There is no file system yet, so the remaining calls are stubs that fail
 * the way POSIX says they should (EBADF, ESPIPE, ...) rather than crash.
 *
 * Not thread-safe: newlib's malloc lock and stdio locks are no-ops in this
 * build, so only one thread at a time may use malloc or printf. The test
 * programs print only from the main thread.
 */

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "hlemu.h"

/* These override weak or missing definitions in newlib; declare them here
 * so the definitions below are checked against one signature. */
int _write(int fd, const void *buf, size_t len);
int _read(int fd, void *buf, size_t len);
int _close(int fd);
int _fstat(int fd, struct stat *st);
int _isatty(int fd);
off_t _lseek(int fd, off_t offset, int whence);
int _open(const char *path, int flags, int mode);
int _kill(int pid, int sig);
int _getpid(void);
void *_sbrk(ptrdiff_t increment);
void _exit(int status) __attribute__((noreturn));
void __hlemu_start(void) __attribute__((noreturn));

/* From crt0.S, newlib and the program. */
extern const u32 __system_arglist;
extern void __libc_init_array(void);
extern void __libc_fini_array(void);
int main(int argc, char **argv);

/* stdin, stdout, stderr: the only descriptors that exist. */
static int is_std_fd(int fd)
{
    return fd >= 0 && fd <= 2;
}

/*
 * stdout and stderr both go to the kernel's debug output, one
 * svcOutputDebugString per write. newlib makes stdout line-buffered
 * (because _fstat says "character device" and _isatty says yes), so each
 * printf'd line arrives as one call; stderr is unbuffered.
 */
int _write(int fd, const void *buf, size_t len)
{
    if (fd != 1 && fd != 2) {
        errno = EBADF;
        return -1;
    }
    if (len == 0)
        return 0;
    Result res = svcOutputDebugString((const char *)buf, (s32)len);
    if (R_FAILED(res)) {
        errno = EIO;
        return -1;
    }
    return (int)len;
}

/* No input device: stdin reads as end-of-file. */
int _read(int fd, void *buf, size_t len)
{
    (void)buf;
    (void)len;
    if (fd != 0) {
        errno = EBADF;
        return -1;
    }
    return 0;
}

int _close(int fd)
{
    if (is_std_fd(fd))
        return 0;
    errno = EBADF;
    return -1;
}

int _fstat(int fd, struct stat *st)
{
    if (!is_std_fd(fd)) {
        errno = EBADF;
        return -1;
    }
    /* A character device: newlib then asks _isatty and line-buffers stdout.
     * st_blksize 0 makes newlib use its default buffer size (BUFSIZ). */
    *st = (struct stat){0};
    st->st_mode = S_IFCHR;
    return 0;
}

int _isatty(int fd)
{
    if (is_std_fd(fd))
        return 1;
    errno = EBADF;
    return 0;
}

off_t _lseek(int fd, off_t offset, int whence)
{
    (void)offset;
    (void)whence;
    errno = is_std_fd(fd) ? ESPIPE : EBADF;
    return -1;
}

/* No file system yet. */
int _open(const char *path, int flags, int mode)
{
    (void)path;
    (void)flags;
    (void)mode;
    errno = ENOSYS;
    return -1;
}

/* No signals: raise()/abort() get an error and abort() falls back to _exit(1). */
int _kill(int pid, int sig)
{
    (void)pid;
    (void)sig;
    errno = EINVAL;
    return -1;
}

/* The kernel's process id for this process (3dbrew "SVC" GetProcessId). */
int _getpid(void)
{
    u32 pid = 0;
    if (R_FAILED(svcGetProcessId(&pid, CUR_PROCESS_HANDLE)))
        return 1;
    return (int)pid;
}

/*
 * The heap: [HLEMU_HEAP_BASE, heap_break) is in use by malloc;
 * [HLEMU_HEAP_BASE, heap_committed) is mapped. When the break passes the
 * committed end, the next whole pages are committed with
 * svcControlMemory(MEMOP_ALLOC, addr0 = heap_committed, perm = RW), which
 * is how a 3DS application maps heap (3dbrew "Memory Management": heap
 * lives at 0x08000000). Pages are never given back: a shrinking break just
 * moves heap_break, and the pages stay committed for the next growth.
 */
static u32 heap_break = HLEMU_HEAP_BASE;
static u32 heap_committed = HLEMU_HEAP_BASE;

static u32 page_round_up(u32 addr)
{
    return (addr + HLEMU_PAGE_SIZE - 1) & ~(HLEMU_PAGE_SIZE - 1);
}

void *_sbrk(ptrdiff_t increment)
{
    u32 old_break = heap_break;

    if (increment < 0) {
        if ((u32)-increment > old_break - HLEMU_HEAP_BASE) {
            errno = EINVAL;
            return (void *)-1;
        }
        heap_break = old_break + (u32)increment;
        return (void *)old_break;
    }

    /* The heap may not run into the main thread's stack (it ends at 0x10000000). */
    if ((u32)increment > HLEMU_MAIN_STACK_TOP - old_break) {
        errno = ENOMEM;
        return (void *)-1;
    }
    u32 new_break = old_break + (u32)increment;

    if (new_break > heap_committed) {
        u32 new_committed = page_round_up(new_break);
        u32 mapped_at = 0;
        Result res = svcControlMemory(&mapped_at, heap_committed, 0, new_committed - heap_committed,
                                      MEMOP_ALLOC, MEMPERM_READWRITE);
        if (R_FAILED(res) || mapped_at != heap_committed) {
            errno = ENOMEM;
            return (void *)-1;
        }
        heap_committed = new_committed;
    }

    heap_break = new_break;
    return (void *)old_break;
}

/*
 * End the process. The 3DS's ExitProcess takes no argument; hlemu's kernel
 * reads r0 as the exit status, so passing it costs nothing on real hardware
 * and lets tests check a program's exit code.
 */
void _exit(int status)
{
    hlemuExitProcess(status);
}

/*
 * argv from the launcher's argument list (crt0.S's __system_arglist): u32 argc, then argc
 * NUL-terminated strings, one after another, as libctru's __system_initArgv reads it. The
 * pointers point into the list itself (the kernel leaves its page mapped for the process's
 * life); at most HLEMU_MAX_ARGS arguments are taken. Without a list: argc 0, argv = { NULL }.
 */
#define HLEMU_MAX_ARGS 16
static char *hlemu_argv[HLEMU_MAX_ARGS + 1];

static int hlemu_arguments(void)
{
    const char *list = (const char *)__system_arglist;
    if (list == NULL)
        return 0;
    u32 count = *(const u32 *)list;
    char *arg = (char *)list + sizeof(u32);
    int argc = 0;
    for (; (u32)argc < count && argc < HLEMU_MAX_ARGS; argc++) {
        hlemu_argv[argc] = arg;
        while (*arg != '\0')
            arg++;
        arg++;
    }
    return argc;
}

void __hlemu_start(void)
{
    atexit(__libc_fini_array);
    __libc_init_array();
    int argc = hlemu_arguments();
    exit(main(argc, hlemu_argv));
}
