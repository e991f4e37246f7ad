/*
 * sandbox-probe syscalls: tries the system calls the seccomp policy refuses (and a few it
 * allows), on every ABI this x86_64 CPU runs, and prints "name=ok" or "name=ERRNO" for each.
 *
 * Each call is made so that WITHOUT a filter it fails (or succeeds) in a way that differs from
 * the filter's answer: bad pointers give EFAULT, bad fds EBADF, before any permission check.
 * The tests compare a run with the filter against one without it ([security] seccomp = false).
 *
 * Calls that would change the probe itself if they succeeded (unshare, clone with namespace
 * flags) run in a forked child.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define BAD_POINTER ((void *)1)

static const char *err_name(int e)
{
    const char *name = strerrorname_np(e);
    return name ? name : "?";
}

static void show(const char *name, long rc)
{
    if (rc >= 0)
        printf("%s=ok\n", name);
    else
        printf("%s=%s\n", name, err_name(errno));
}

/* Runs `fn` in a child; prints its errno (or ok) as `name`. */
static void in_child(const char *name, long (*fn)(void))
{
    int pipefd[2];
    fflush(stdout); /* or the child's exit flushes our buffer a second time */
    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        printf("%s=probe-error\n", name);
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        long rc = fn();
        int result = rc >= 0 ? 0 : errno;
        if (write(pipefd[1], &result, sizeof result) != sizeof result) _exit(1);
        _exit(0);
    }
    close(pipefd[1]);
    int result = -1;
    ssize_t got = read(pipefd[0], &result, sizeof result);
    close(pipefd[0]);
    waitpid(pid, NULL, 0);
    if (got != sizeof result)
        printf("%s=probe-error\n", name);
    else if (result == 0)
        printf("%s=ok\n", name);
    else
        printf("%s=%s\n", name, err_name(result));
}

static long try_unshare_user(void) { return unshare(CLONE_NEWUSER); }
static long try_unshare_mount(void) { return unshare(CLONE_NEWNS); }
static long try_unshare_time(void) { return unshare(CLONE_NEWTIME); }
static long try_clone_newuser(void)
{
    long rc = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (rc == 0) _exit(0);
    if (rc > 0) waitpid((pid_t)rc, NULL, 0);
    return rc;
}
static long try_clone3(void)
{
    /* struct clone_args with only exit_signal set: a plain fork. */
    unsigned long long args[11] = {0};
    args[4] = SIGCHLD; /* exit_signal */
    long rc = syscall(SYS_clone3, args, 64);
    if (rc == 0) _exit(0);
    if (rc > 0) waitpid((pid_t)rc, NULL, 0);
    return rc;
}

/* i386 system calls from 64-bit code: int $0x80 takes the i386 numbers and 32-bit arguments. */
static long int80(long nr, long a, long b, long c)
{
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory", "r8", "r9", "r10", "r11");
    if (ret < 0 && ret > -4096) {
        errno = (int)-ret;
        return -1;
    }
    return ret;
}
enum { I386_GETPID = 20, I386_IOCTL = 54, I386_KEYCTL = 288, I386_UNSHARE = 310, I386_SETNS = 346,
       I386_SOCKET = 359, I386_PERSONALITY = 136 };
static long try_i386_unshare_user(void) { return int80(I386_UNSHARE, CLONE_NEWUSER, 0, 0); }

/* x32: the x86_64 entry with bit 30 set in the number; most kernels turn the ABI off. */
#define X32 0x40000000L

static void common_calls(void)
{
    /* namespaces */
    in_child("unshare_user", try_unshare_user);
    in_child("unshare_mount", try_unshare_mount);
    in_child("unshare_time", try_unshare_time);
    in_child("clone_newuser", try_clone_newuser);
    in_child("clone3", try_clone3);
    show("setns", syscall(SYS_setns, -1, 0));
    /* mounts: bad pointers fail with EFAULT before the permission check */
    show("mount", syscall(SYS_mount, BAD_POINTER, BAD_POINTER, BAD_POINTER, 0, 0));
    show("umount2", syscall(SYS_umount2, BAD_POINTER, 0));
    show("chroot", syscall(SYS_chroot, BAD_POINTER));
    show("open_tree", syscall(SYS_open_tree, -1, "", 0));
    show("fsopen", syscall(SYS_fsopen, BAD_POINTER, 0));
    show("move_mount", syscall(SYS_move_mount, -1, "", -1, "", 0));
    /* keyring */
    show("keyctl", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
    show("add_key", syscall(SYS_add_key, BAD_POINTER, BAD_POINTER, NULL, 0, KEY_SPEC_PROCESS_KEYRING));
    show("request_key", syscall(SYS_request_key, BAD_POINTER, BAD_POINTER, NULL, 0));
    /* io_uring */
    show("io_uring_setup", syscall(SYS_io_uring_setup, 1, BAD_POINTER));
    show("io_uring_enter", syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0));
    show("io_uring_register", syscall(SYS_io_uring_register, -1, 0, NULL, 0));
    /* kernel surface */
    show("perf_event_open", syscall(SYS_perf_event_open, BAD_POINTER, 0, -1, -1, 0));
    long uffd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
    show("userfaultfd", uffd);
    if (uffd >= 0) close((int)uffd);
    show("bpf", syscall(SYS_bpf, 0, BAD_POINTER, 8));
    show("name_to_handle_at", syscall(SYS_name_to_handle_at, AT_FDCWD, BAD_POINTER, BAD_POINTER, BAD_POINTER, 0));
    show("open_by_handle_at", syscall(SYS_open_by_handle_at, -1, BAD_POINTER, 0));
    show("ptrace", syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, 0, 0, 0)); /* pid 0: ESRCH */
    show("process_vm_readv", syscall(SYS_process_vm_readv, getpid(), NULL, 0, NULL, 0, 0));
    show("kcmp", syscall(SYS_kcmp, getpid(), getpid(), 0 /* KCMP_FILE */, 0, 0));
    show("modify_ldt", syscall(SYS_modify_ldt, 0, NULL, 0));
    show("get_mempolicy", syscall(SYS_get_mempolicy, NULL, NULL, 0, NULL, 0));
    show("clock_settime", syscall(SYS_clock_settime, CLOCK_REALTIME, BAD_POINTER));
    show("init_module", syscall(SYS_init_module, NULL, 0, NULL));
    show("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0));
    /* terminal injection: an invalid fd gives EBADF without the filter */
    show("ioctl_tiocsti", syscall(SYS_ioctl, -1, (unsigned long)TIOCSTI, BAD_POINTER));
    show("ioctl_tiocsti_high_bits", syscall(SYS_ioctl, -1, 0x100000000UL | TIOCSTI, BAD_POINTER));
    show("ioctl_tioclinux", syscall(SYS_ioctl, -1, (unsigned long)TIOCLINUX, BAD_POINTER));
    show("ioctl_fionread", syscall(SYS_ioctl, -1, (unsigned long)FIONREAD, BAD_POINTER));
    /* socket families */
    static const struct { const char *name; long family; } families[] = {
        {"socket_unix", AF_UNIX}, {"socket_inet", AF_INET}, {"socket_inet6", AF_INET6},
        {"socket_netlink", AF_NETLINK}, {"socket_packet", AF_PACKET}, {"socket_key", 15 /* AF_KEY */},
        {"socket_vsock", 40 /* AF_VSOCK */}, {"socket_alg", 38 /* AF_ALG */},
        {"socket_packet_high_bits", 0x100000000L | AF_PACKET},
    };
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        int type = (families[i].family & 0xffff) == AF_NETLINK || (families[i].family & 0xffff) == AF_PACKET
                       ? SOCK_RAW : SOCK_DGRAM;
        long fd = syscall(SYS_socket, families[i].family, type | SOCK_CLOEXEC, 0);
        show(families[i].name, fd);
        if (fd >= 0) close((int)fd);
    }
    /* socketpair runs the family's create code (and loads its module) before it finds the family
       has no pairs: only AF_UNIX may reach it */
    int pair[2];
    long rc = syscall(SYS_socketpair, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0, pair);
    show("socketpair_inet", rc);
    if (rc == 0) { close(pair[0]); close(pair[1]); }
    rc = syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair);
    show("socketpair_unix", rc);
    if (rc == 0) { close(pair[0]); close(pair[1]); }
    /* personality: the usual values work, the rest is refused */
    long before = syscall(SYS_personality, 0xffffffffUL);
    show("personality_query", before);
    show("personality_linux32", syscall(SYS_personality, PER_LINUX32));
    show("personality_linux", syscall(SYS_personality, PER_LINUX));
    show("personality_no_randomize", syscall(SYS_personality, ADDR_NO_RANDOMIZE));
    show("personality_read_implies_exec", syscall(SYS_personality, READ_IMPLIES_EXEC));
    show("personality_top_bit", syscall(SYS_personality, 0x80000000UL));
    if (before >= 0) syscall(SYS_personality, (unsigned long)before);
}

static long try_i386_getpid(void) { return int80(I386_GETPID, 0, 0, 0); }

/* Whether this kernel runs i386 calls at all: without IA32 emulation int $0x80 is a SIGSEGV. */
static int i386_available(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) _exit(try_i386_getpid() > 0 ? 0 : 1);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void i386_calls(void)
{
    if (!i386_available()) {
        printf("i386=unavailable\n");
        return;
    }
    printf("i386=available\n");
    show("i386_keyctl", int80(I386_KEYCTL, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
    show("i386_setns", int80(I386_SETNS, -1, 0, 0));
    show("i386_ioctl_tiocsti", int80(I386_IOCTL, -1, TIOCSTI, 0));
    long fd = int80(I386_SOCKET, AF_PACKET, SOCK_RAW, 0);
    show("i386_socket_packet", fd);
    if (fd >= 0) close((int)fd);
    show("i386_personality_no_randomize", int80(I386_PERSONALITY, ADDR_NO_RANDOMIZE, 0, 0));
    int80(I386_PERSONALITY, PER_LINUX, 0, 0);
    fflush(stdout);
    in_child("i386_unshare_user", try_i386_unshare_user);
}

static void x32_calls(void)
{
    show("x32_getpid", syscall(X32 | SYS_getpid));
    show("x32_keyctl", syscall(X32 | SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
    show("x32_setns", syscall(X32 | SYS_setns, -1, 0));
}

/* The attack a nested user namespace allows: full capabilities over a new mount namespace, then
   an attempt to undo the outer sandbox's read-only view and masks (locked mounts must hold). */
int cmd_nested(const char *read_only_dir, const char *masked)
{
    show("unshare", unshare(CLONE_NEWUSER | CLONE_NEWNS));
    show("remount_rw", syscall(SYS_mount, NULL, read_only_dir, NULL, MS_REMOUNT | MS_BIND, NULL));
    show("umount_mask", syscall(SYS_umount2, masked, MNT_DETACH));
    char path[4096];
    snprintf(path, sizeof path, "%s/.nested-escape", read_only_dir);
    long fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    show("create", fd);
    if (fd >= 0) { close((int)fd); unlink(path); }
    fflush(stdout);
    return 0;
}

/* A mount made after the sandbox was set up (possible with nested namespaces): Landlock, planned
   from the original mounts, must still refuse writes there. */
int cmd_nested_tmpfs(const char *dir)
{
    show("unshare", unshare(CLONE_NEWUSER | CLONE_NEWNS));
    show("mount_tmpfs", syscall(SYS_mount, "none", dir, "tmpfs", 0, NULL));
    char path[4096];
    snprintf(path, sizeof path, "%s/.landlock-probe", dir);
    long fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    show("create", fd);
    if (fd >= 0) close((int)fd);
    fflush(stdout);
    return 0;
}

/* Connects to an abstract UNIX socket (the name without the leading NUL). */
int cmd_abstract_connect(const char *name)
{
    struct sockaddr_un { unsigned short family; char path[108]; } addr = {AF_UNIX, {0}};
    size_t len = strlen(name);
    if (len > sizeof addr.path - 1) len = sizeof addr.path - 1;
    memcpy(addr.path + 1, name, len);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    show("socket", fd);
    if (fd < 0) return 0;
    show("connect", connect(fd, (const struct sockaddr *)&addr, (socklen_t)(sizeof addr.family + 1 + len)));
    close(fd);
    fflush(stdout);
    return 0;
}

/* N refused calls in a row: the supervisor's log must stay bounded. */
int cmd_refuse_many(long n)
{
    long refused = 0;
    for (long i = 0; i < n; i++)
        if (syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0) < 0) refused++;
    printf("refused=%ld\n", refused);
    fflush(stdout);
    return 0;
}

int cmd_syscalls(void)
{
    common_calls();
    i386_calls();
    x32_calls();
    /* listmount (Linux 6.8, number 458), newer than the policy's syscall table: a bad pointer
       gives EFAULT where the kernel has it, ENOSYS where it does not or the filter refuses it. */
    show("listmount", syscall(458, BAD_POINTER, BAD_POINTER, 0, 0));
    show("syscall_1000", syscall(1000));
    fflush(stdout);
    return 0;
}
