/*
 * sandbox-probe: a tiny static helper that runs INSIDE the sandbox and
 * reports what the kernel really did, for the bash integration tests.
 *
 * Output contract: one "key=value" per line on stdout and nothing else
 * (the only exception is the "env" subcommand, which prints the raw
 * environment).  Diagnostics go to stderr.  Unknown subcommand: exit 2.
 *
 * Build: gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -O2 -static probe.c
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <linux/seccomp.h>
#include <stddef.h>

extern char **environ;
int cmd_syscalls(void);
int cmd_nested(const char *read_only_dir, const char *masked);
int cmd_nested_tmpfs(const char *dir);
int cmd_abstract_connect(const char *name);
int cmd_refuse_many(long n);

/* ---------- small helpers ---------- */

static void die_usage(const char *msg)
{
    fprintf(stderr, "sandbox-probe: %s\n", msg);
    exit(2);
}

/* Parse a non-negative decimal integer argument or exit 2. */
static long parse_num(const char *s, long max)
{
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : -1;
    if (!s || errno || end == s || *end || v < 0 || v > max)
        die_usage("bad numeric argument");
    return v;
}

/* Symbolic errno names for the cases the tests care about, else the number. */
static const char *errname(int e)
{
    static char buf[16];
    static const struct { int e; const char *n; } t[] = {
        {EROFS, "EROFS"}, {EACCES, "EACCES"}, {EPERM, "EPERM"},
        {ENOENT, "ENOENT"}, {EEXIST, "EEXIST"}, {ENOTDIR, "ENOTDIR"},
        {EISDIR, "EISDIR"}, {ENOSPC, "ENOSPC"}, {EINVAL, "EINVAL"},
        {EBUSY, "EBUSY"}, {ENXIO, "ENXIO"}, {ENOTTY, "ENOTTY"}, {EIO, "EIO"},
        {EAGAIN, "EAGAIN"}, {ENOMEM, "ENOMEM"}, {ESRCH, "ESRCH"},
        {ENOKEY, "ENOKEY"}, {ENOSYS, "ENOSYS"}, {EKEYREVOKED, "EKEYREVOKED"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (t[i].e == e)
            return t[i].n;
    snprintf(buf, sizeof buf, "%d", e);
    return buf;
}

static void report(const char *key, int rc)
{
    printf("%s=%s\n", key, rc == 0 ? "ok" : errname(errno));
}

static void sleep_secs(long secs)
{
    struct timespec ts = { .tv_sec = secs, .tv_nsec = 0 };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* ---------- info ---------- */

/* Print key= followed by the id map, fields collapsed, lines joined by ';'. */
static void print_map(const char *key, const char *path)
{
    char buf[8192];
    size_t n = 0;
    FILE *f = fopen(path, "r");
    if (f) {
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
    printf("%s=", key);
    int first_line = 1;
    for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        int first_field = 1;
        char *s2 = NULL;
        for (char *fld = strtok_r(line, " \t", &s2); fld;
             fld = strtok_r(NULL, " \t", &s2)) {
            if (first_field && !first_line)
                putchar(';');
            printf("%s%s", first_field ? "" : " ", fld);
            first_field = 0;
        }
        if (!first_field)
            first_line = 0;
    }
    putchar('\n');
}

static void print_ns(const char *name)
{
    char path[64], target[256];
    snprintf(path, sizeof path, "/proc/self/ns/%s", name);
    ssize_t n = readlink(path, target, sizeof target - 1);
    target[n > 0 ? n : 0] = '\0';
    printf("ns.%s=%s\n", name, target);
}

/* Copy the capability hex strings out of /proc/self/status. */
static void print_caps(void)
{
    static const char *fields[] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" };
    static const char *keys[] = { "inh", "prm", "eff", "bnd", "amb" };
    char vals[5][32] = { "", "", "", "", "" };
    char line[512];
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f)) {
        for (int i = 0; i < 5; i++) {
            size_t l = strlen(fields[i]);
            if (strncmp(line, fields[i], l) == 0 && line[l] == ':')
                sscanf(line + l + 1, " %31s", vals[i]);
        }
    }
    if (f)
        fclose(f);
    for (int i = 0; i < 5; i++)
        printf("cap.%s=%s\n", keys[i], vals[i]);
}

static void print_fds(void)
{
    static int fds[4096];
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        int self = dirfd(d);
        struct dirent *e;
        while ((e = readdir(d)) && n < 4096) {
            if (e->d_name[0] < '0' || e->d_name[0] > '9')
                continue;
            int fd = atoi(e->d_name);
            if (fd != self)
                fds[n++] = fd;
        }
        closedir(d);
    }
    qsort(fds, n, sizeof fds[0], cmp_int);
    printf("fds=");
    for (int i = 0; i < n; i++)
        printf("%s%d", i ? "," : "", fds[i]);
    putchar('\n');
}

static void print_ifaces(void)
{
    char *names[256];
    int n = 0;
    struct if_nameindex *ifs = if_nameindex();
    for (struct if_nameindex *p = ifs; p && p->if_index && n < 256; p++)
        names[n++] = p->if_name;
    qsort(names, n, sizeof names[0], cmp_str);
    printf("ifaces=");
    for (int i = 0; i < n; i++)
        printf("%s%s", i ? "," : "", names[i]);
    putchar('\n');
    if (ifs)
        if_freenameindex(ifs);
}

static int cmd_info(void)
{
    static gid_t groups[NGROUPS_MAX];
    char buf[PATH_MAX + 1];

    printf("uid=%u\ngid=%u\neuid=%u\negid=%u\n",
           (unsigned)getuid(), (unsigned)getgid(), (unsigned)geteuid(), (unsigned)getegid());
    int ng = getgroups(NGROUPS_MAX, groups);
    printf("groups=");
    for (int i = 0; i < ng; i++)
        printf("%s%u", i ? "," : "", (unsigned)groups[i]);
    putchar('\n');
    print_map("uid_map", "/proc/self/uid_map");
    print_map("gid_map", "/proc/self/gid_map");
    printf("pid=%d\nppid=%d\n", (int)getpid(), (int)getppid());
    if (gethostname(buf, sizeof buf) < 0)
        buf[0] = '\0';
    buf[sizeof buf - 1] = '\0';
    printf("hostname=%s\n", buf);
    static const char *ns[] = { "user", "mnt", "pid", "uts", "ipc", "net", "cgroup" };
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        print_ns(ns[i]);
    print_ifaces();
    print_caps();
    printf("no_new_privs=%d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    print_fds();
    printf("cwd=%s\n", getcwd(buf, sizeof buf) ? buf : "");
    printf("dumpable=%d\n", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    return 0;
}

/* ---------- signals ---------- */

static const struct { int sig; const char *name; } sigtab[] = {
    {SIGINT, "SIGINT"}, {SIGTERM, "SIGTERM"}, {SIGHUP, "SIGHUP"},
    {SIGQUIT, "SIGQUIT"}, {SIGUSR1, "SIGUSR1"}, {SIGUSR2, "SIGUSR2"},
    {SIGWINCH, "SIGWINCH"},
};
#define NSIGTAB (sizeof sigtab / sizeof sigtab[0])

/* Ring of received signals.  The handled signals are blocked except inside
 * sigsuspend(), and each handler masks the others, so there is no race. */
static volatile sig_atomic_t sigq[64];
static volatile sig_atomic_t sigq_head;

static void on_signal(int sig)
{
    sigq[sigq_head % 64] = sig;
    sigq_head = sigq_head + 1;
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "sandbox-probe: signals: timed out\n";
    ssize_t r = write(2, msg, sizeof msg - 1);
    (void)r;
    _exit(3);
}

static int cmd_signals(void)
{
    sigset_t handled, waitmask;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&handled);
    for (size_t i = 0; i < NSIGTAB; i++)
        sigaddset(&handled, sigtab[i].sig);
    sa.sa_handler = on_signal;
    sa.sa_mask = handled;
    sa.sa_flags = SA_RESTART;
    sigprocmask(SIG_BLOCK, &handled, NULL);
    for (size_t i = 0; i < NSIGTAB; i++)
        sigaction(sigtab[i].sig, &sa, NULL);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    alarm(30);

    printf("ready=1\n");
    fflush(stdout);
    sigemptyset(&waitmask); /* wait with everything unblocked */
    for (sig_atomic_t tail = 0;;) {
        sigsuspend(&waitmask);
        while (tail != sigq_head) {
            int sig = sigq[tail % 64];
            tail++;
            for (size_t i = 0; i < NSIGTAB; i++)
                if (sigtab[i].sig == sig)
                    printf("got=%s\n", sigtab[i].name);
            fflush(stdout);
            if (sig == SIGTERM)
                return 0;
        }
    }
}

/* ---------- processes ---------- */

static int cmd_kill_self(long sig)
{
    sigset_t set;
    struct rlimit nocore = { 0, 0 };
    setrlimit(RLIMIT_CORE, &nocore); /* don't litter core files */
    signal((int)sig, SIG_DFL);
    sigemptyset(&set);
    sigaddset(&set, (int)sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise((int)sig);
    fprintf(stderr, "sandbox-probe: still alive after signal %ld\n", sig);
    return 1;
}

/* Count processes in state Z visible in /proc. */
static int count_zombies(void)
{
    int count = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[300], buf[1024];
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        buf[n > 0 ? n : 0] = '\0';
        char *p = strrchr(buf, ')'); /* comm may contain spaces/parens */
        if (p && p[1] == ' ' && p[2] == 'Z')
            count++;
    }
    if (d)
        closedir(d);
    return count;
}

static int cmd_orphans(long n)
{
    fflush(stdout);
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("sandbox-probe: fork");
            return 1;
        }
        if (pid == 0) {
            if (fork() == 0)
                _exit(0); /* grandchild: becomes an orphan zombie */
            _exit(0);     /* child: exit right away to orphan it */
        }
    }
    for (long i = 0; i < n; i++)
        while (wait(NULL) < 0 && errno == EINTR)
            ;
    struct timespec ts = { 0, 500 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    printf("zombies=%d\norphans=%ld\n", count_zombies(), n);
    return 0;
}

static int cmd_spawn_sleepers(long n, long secs)
{
    fflush(stdout);
    printf("spawned=%ld\n", n);
    printf("pids=");
    for (long i = 0; i < n; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
            perror("sandbox-probe: fork");
            return 1;
        }
        if (pid == 0) {
            /* Detach stdio so a caller reading our stdout sees EOF when the
             * probe exits, even if the sleepers survive. */
            int fd = open("/dev/null", O_RDWR);
            if (fd >= 0) {
                dup2(fd, 0), dup2(fd, 1), dup2(fd, 2);
                if (fd > 2)
                    close(fd);
            }
            sleep_secs(secs);
            _exit(0);
        }
        printf("%s%d", i ? "," : "", (int)pid);
    }
    putchar('\n');
    return 0;
}

/* ---------- filesystem / tty ---------- */

static int cmd_stat(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0) {
        printf("exists=0\n");
        return 0;
    }
    const char *type = S_ISDIR(st.st_mode) ? "dir" : S_ISREG(st.st_mode) ? "file"
                     : S_ISLNK(st.st_mode) ? "symlink" : S_ISCHR(st.st_mode) ? "chr" : "other";
    printf("exists=1\ntype=%s\nmode=%o\nuid=%u\ngid=%u\n", type,
           (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid, (unsigned)st.st_gid);
    return 0;
}

static int cmd_write(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = fd < 0 ? -1 : (write(fd, "x", 1) == 1 ? 0 : -1);
    int saved = errno;
    if (fd >= 0 && close(fd) < 0 && rc == 0)
        rc = -1, saved = errno;
    errno = saved;
    report("write", rc);
    return 0;
}

static int cmd_isatty(void)
{
    char *t = ttyname(0);
    struct stat st;
    printf("stdin_tty=%d\nstdout_tty=%d\ntty=%s\n", isatty(0), isatty(1), t ? t : "");
    /* The filesystem (devpts instance) stdin's terminal lives on: tells whose pty it is. */
    if (fstat(0, &st) == 0)
        printf("stdin_dev=%lu\n", (unsigned long)st.st_dev);
    return 0;
}

/* tiocsti: try to push a keystroke into a terminal with TIOCSTI, through /dev/tty (the
 * controlling terminal) and through each of fds 0-2 that is a terminal. Prints
 * devtty_open=ok|ERR, devtty_tiocsti=ok|ERR (when opened), fdN_tiocsti=ok|ERR for tty fds.
 * What is pushed is the harmless line "PWNED" (so a test can look for it). */
static int push_line(int fd)
{
    const char *line = "PWNED\n";
    for (const char *c = line; *c; c++)
        if (ioctl(fd, TIOCSTI, c) < 0)
            return -1;
    return 0;
}

static int cmd_tiocsti(void)
{
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    printf("devtty_open=%s\n", fd < 0 ? errname(errno) : "ok");
    if (fd >= 0) {
        printf("devtty_tiocsti=%s\n", push_line(fd) < 0 ? errname(errno) : "ok");
        close(fd);
    }
    for (int i = 0; i < 3; i++)
        if (isatty(i))
            printf("fd%d_tiocsti=%s\n", i, push_line(i) < 0 ? errname(errno) : "ok");
    return 0;
}

/* ---------- limits (exercised in the qemu guest, tests/vm) ---------- */

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Forks up to n children that sleep; reports how many it got and the first error, then
 * "ready", and sleeps until killed (the children stay, holding their pids). */
static int cmd_forks(long n)
{
    long got = 0;
    int err = 0;
    for (long i = 0; i < n; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
            err = errno;
            break;
        }
        if (pid == 0) {
            sleep_secs(86400);
            _exit(0);
        }
        got++;
    }
    printf("forked=%ld\nfork_error=%s\nready\n", got, err ? errname(err) : "none");
    fflush(stdout);
    sleep_secs(86400);
    return 0;
}

/* Allocates and touches mb MiB, one MiB at a time, reporting every 8 MiB. */
static int cmd_alloc(long mb)
{
    for (long i = 1; i <= mb; i++) {
        char *chunk = malloc(1 << 20);
        if (!chunk) {
            printf("malloc_failed_at=%ld\n", i);
            return 1;
        }
        memset(chunk, 0x5a, 1 << 20);
        if (i % 8 == 0) {
            printf("allocated=%ld\n", i);
            fflush(stdout);
        }
    }
    printf("allocated=%ld\ndone\n", mb);
    return 0;
}

/* Busy-loops for ms milliseconds of wall time; reports the CPU time it got. */
static int cmd_spin(long ms)
{
    long start = now_ms();
    volatile unsigned long x = 0;
    while (now_ms() - start < ms)
        for (int i = 0; i < 100000; i++)
            x += i;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long cpu = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000L + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000L;
    printf("wall_ms=%ld\ncpu_ms=%ld\n", now_ms() - start, cpu);
    return 0;
}

/* Reads `bytes` from a block device with O_DIRECT (no page cache), reporting the time. */
static int cmd_direct_read(const char *path, long bytes)
{
    int fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
    if (fd < 0) {
        printf("open=%s\n", errname(errno));
        return 1;
    }
    void *buffer;
    if (posix_memalign(&buffer, 4096, 1 << 16))
        return 1;
    long start = now_ms(), done = 0;
    while (done < bytes) {
        ssize_t n = read(fd, buffer, 1 << 16);
        if (n <= 0) {
            printf("read=%s\n", n < 0 ? errname(errno) : "eof");
            return 1;
        }
        done += n;
    }
    printf("read_bytes=%ld\nread_ms=%ld\n", done, now_ms() - start);
    close(fd);
    return 0;
}

/* ---------- JSON (the guest has no python): a strict validator and a top-level lookup ---------- */

static const char *json_value(const char *p);

static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

static const char *json_string_end(const char *p)
{
    if (*p++ != '"')
        return NULL;
    while (*p && *p != '"') {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
                        return NULL;
                p += 4;
            } else if (!*p || !strchr("\"\\/bfnrt", *p)) {
                return NULL;
            }
        }
        p++;
    }
    return *p == '"' ? p + 1 : NULL;
}

static const char *json_number_end(const char *p)
{
    if (*p == '-')
        p++;
    if (!(*p >= '0' && *p <= '9'))
        return NULL;
    if (*p == '0')
        p++;
    else
        while (*p >= '0' && *p <= '9')
            p++;
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9'))
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return p;
}

static const char *json_container(const char *p, char close, int keyed)
{
    p = json_ws(p + 1);
    if (*p == close)
        return p + 1;
    for (;;) {
        if (keyed) {
            if (!(p = json_string_end(p)))
                return NULL;
            p = json_ws(p);
            if (*p++ != ':')
                return NULL;
        }
        if (!(p = json_value(p)))
            return NULL;
        if (*p == close)
            return p + 1;
        if (*p++ != ',')
            return NULL;
        p = json_ws(p);
    }
}

/* Returns the end of the value at p (after trailing whitespace), or NULL. */
static const char *json_value(const char *p)
{
    p = json_ws(p);
    const char *end = NULL;
    if (*p == '{')
        end = json_container(p, '}', 1);
    else if (*p == '[')
        end = json_container(p, ']', 0);
    else if (*p == '"')
        end = json_string_end(p);
    else if (!strncmp(p, "true", 4))
        end = p + 4;
    else if (!strncmp(p, "false", 5))
        end = p + 5;
    else if (!strncmp(p, "null", 4))
        end = p + 4;
    else
        end = json_number_end(p);
    return end ? json_ws(end) : NULL;
}

static char *read_stdin(void)
{
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    ssize_t n;
    while (text && (n = read(0, text + len, cap - len - 1)) > 0) {
        len += (size_t)n;
        if (len + 1 == cap)
            text = realloc(text, cap *= 2);
    }
    if (text)
        text[len] = 0;
    return text;
}

/* json-check: exit 0 and "json=ok" when stdin is one valid JSON value.
 * json-get KEY: also print the raw value of KEY in the top-level object (or in its
 * first element, for an array of objects). */
static int cmd_json(const char *key)
{
    char *text = read_stdin();
    const char *end = text ? json_value(text) : NULL;
    if (!end || *end) {
        printf("json=invalid at byte %ld\n", end ? (long)(end - text) : -1L);
        return 1;
    }
    if (!key) {
        printf("json=ok\n");
        return 0;
    }
    char pattern[256];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *at = strstr(text, pattern);
    if (!at) {
        printf("%s=<missing>\n", key);
        return 1;
    }
    const char *value = at + strlen(pattern), *value_end = json_value(value);
    printf("%s=%.*s\n", key, (int)(value_end ? value_end - value : 0), value);
    return 0;
}

/* ---------- keyrings (no libkeyutils: the raw syscalls) ---------- */

#define CALLER_KEY_NAME "sandbox-probe-caller"
#define PLANTED_KEY_NAME "sandbox-probe-planted"

static long add_user_key(const char *name, const char *value)
{
    return syscall(SYS_add_key, "user", name, value, strlen(value), KEY_SPEC_SESSION_KEYRING);
}

static long search_session(const char *name)
{
    return syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, "user", name, 0);
}

/*
 * keyring-caller CMD...: OUTSIDE the sandbox. Joins a fresh session keyring, puts a secret key
 * in it, runs CMD (with @CALLER_SESSION@ and @CALLER_KEY@ in its arguments replaced by the ids)
 * and then says whether a key planted inside is in our session keyring.
 * Prints caller_session=, caller_key=, cmd_rc=, planted_seen=yes|no. Exit 3: no keys here.
 */
static int cmd_keyring_caller(int argc, char **argv)
{
    long session = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL);
    long key = session < 0 ? -1 : add_user_key(CALLER_KEY_NAME, "caller-secret");
    if (session < 0 || key < 0) {
        printf("caller_keyring=%s\n", errname(errno));
        return 3;
    }
    char session_text[24], key_text[24];
    snprintf(session_text, sizeof session_text, "%ld", session);
    snprintf(key_text, sizeof key_text, "%ld", key);
    printf("caller_session=%s\ncaller_key=%s\n", session_text, key_text);
    fflush(stdout);
    char **args = calloc((size_t)argc + 1, sizeof *args);
    if (!args)
        return 1;
    for (int i = 0; i < argc; i++)
        args[i] = !strcmp(argv[i], "@CALLER_SESSION@") ? session_text
                  : !strcmp(argv[i], "@CALLER_KEY@")   ? key_text
                                                       : argv[i];
    pid_t pid = fork();
    if (pid == 0) {
        execvp(args[0], args);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return 1;
    printf("cmd_rc=%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    printf("planted_seen=%s\n", search_session(PLANTED_KEY_NAME) >= 0 ? "yes" : "no");
    return 0;
}

/*
 * keyring-inside SESSION KEY: INSIDE the sandbox, given the caller's session keyring and key
 * ids. A key syscall refused outright (EPERM, ENOSYS: a seccomp filter) reaches nothing:
 * session_is_callers=no, read/search report the errno. Plants a key in its own session keyring.
 */
static int cmd_keyring_inside(const char *session_arg, const char *key_arg)
{
    long callers = parse_num(session_arg, LONG_MAX), key = parse_num(key_arg, LONG_MAX);
    long session = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
    if (session < 0)
        printf("session=%s\n", errname(errno));
    else
        printf("session=%ld\n", session);
    printf("session_is_callers=%s\n", session == callers ? "yes" : "no");
    char buf[64] = "";
    long got = syscall(SYS_keyctl, KEYCTL_READ, key, buf, sizeof buf - 1);
    if (got < 0)
        printf("read_caller_key=%s\n", errname(errno));
    else
        printf("read_caller_key=ok:%.*s\n", (int)(got < (long)sizeof buf ? got : (long)sizeof buf - 1), buf);
    printf("search_caller_key=%s\n", search_session(CALLER_KEY_NAME) >= 0 ? "found" : errname(errno));
    report("plant", add_user_key(PLANTED_KEY_NAME, "planted-inside") < 0 ? -1 : 0);
    return 0;
}

/*
 * native-only CMD...: OUTSIDE the sandbox. Runs CMD under the filter systemd loads for
 * SystemCallArchitectures=native (libseccomp's native architecture only, its default bad-arch
 * action): a call of any other ABI, x32 included, kills the process.
 */
#if defined(__x86_64__)
/* Loads `code` (with no_new_privs, as an unprivileged caller must) and execs argv; on failure
 * prints KEY=errno. */
static int exec_under_filter(struct sock_filter *code, unsigned short length, const char *key, char **argv)
{
    struct sock_fprog prog = {length, code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
        printf("%s=%s\n", key, errname(errno));
        return 3;
    }
    execvp(argv[0], argv);
    return 127;
}
#endif

static int cmd_native_only(char **argv)
{
#if defined(__x86_64__)
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    };
    return exec_under_filter(code, sizeof code / sizeof code[0], "native_only", argv);
#else
    (void)argv;
    printf("native_only=unsupported\n");
    return 3;
#endif
}

/*
 * no-netns errno|kill|setns CMD...: OUTSIDE the sandbox. Runs CMD under a filter that refuses
 * (EPERM) every unshare() asking for a new network namespace, or kills the process that asks, as
 * a kernel or an outer sandbox may: the sandbox must report that, not hang or start the payload.
 * "setns" refuses joining a user namespace instead (what the network namespace's maker does
 * first, while the id maps are still being written).
 */
static int cmd_no_netns(const char *how, char **argv)
{
#if defined(__x86_64__)
    /* setns(fd, CLONE_NEWUSER) exactly, or unshare() with CLONE_NEWNET among its flags. */
    int join = !strcmp(how, "setns");
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 4),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, join ? __NR_setns : __NR_unshare, 0, 2),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, join ? offsetof(struct seccomp_data, args[1]) : offsetof(struct seccomp_data, args[0])),
        BPF_JUMP(BPF_JMP | (join ? BPF_JEQ : BPF_JSET) | BPF_K, join ? CLONE_NEWUSER : CLONE_NEWNET, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, strcmp(how, "kill") ? SECCOMP_RET_ERRNO | EPERM : SECCOMP_RET_KILL_PROCESS),
    };
    return exec_under_filter(code, sizeof code / sizeof code[0], "no_netns", argv);
#else
    (void)how;
    (void)argv;
    printf("no_netns=unsupported\n");
    return 3;
#endif
}

/* ---------- dispatch ---------- */

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";
    const char *a2 = argc > 2 ? argv[2] : NULL;
    const char *a3 = argc > 3 ? argv[3] : NULL;

    if (!strcmp(cmd, "info"))
        return cmd_info();
    if (!strcmp(cmd, "write") && a2)
        return cmd_write(a2);
    if (!strcmp(cmd, "open") && a2) { /* read-write, never creating: a device node opens or not */
        int fd = open(a2, O_RDWR | O_CLOEXEC);
        report("open", fd < 0 ? -1 : 0);
        return 0;
    }
    if (!strcmp(cmd, "mkdir") && a2) {
        report("mkdir", mkdir(a2, 0755));
        return 0;
    }
    if (!strcmp(cmd, "remount-rw") && a2) {
        report("remount", mount(NULL, a2, NULL, MS_REMOUNT | MS_BIND, NULL));
        report("umount", umount2(a2, MNT_DETACH));
        return 0;
    }
    if (!strcmp(cmd, "exit"))
        exit((int)parse_num(a2, 255));
    if (!strcmp(cmd, "kill-self"))
        return cmd_kill_self(parse_num(a2, SIGRTMAX));
    if (!strcmp(cmd, "orphans"))
        return cmd_orphans(parse_num(a2, 1000));
    if (!strcmp(cmd, "signals"))
        return cmd_signals();
    if (!strcmp(cmd, "sleep")) {
        long secs = parse_num(a2, 86400);
        printf("pid=%d\n", (int)getpid());
        fflush(stdout);
        sleep_secs(secs);
        return 0;
    }
    if (!strcmp(cmd, "spawn-sleepers"))
        return cmd_spawn_sleepers(parse_num(a2, 1000), parse_num(a3, 86400));
    if (!strcmp(cmd, "env")) {
        for (char **e = environ; *e; e++)
            puts(*e);
        return 0;
    }
    if (!strcmp(cmd, "stat") && a2)
        return cmd_stat(a2);
    if (!strcmp(cmd, "isatty"))
        return cmd_isatty();
    if (!strcmp(cmd, "tiocsti"))
        return cmd_tiocsti();
    if (!strcmp(cmd, "forks"))
        return cmd_forks(parse_num(a2, 100000));
    if (!strcmp(cmd, "alloc"))
        return cmd_alloc(parse_num(a2, 1 << 20));
    if (!strcmp(cmd, "spin"))
        return cmd_spin(parse_num(a2, 3600000));
    if (!strcmp(cmd, "set-xattr") && a2 && a3 && argc > 4) {
        int rc = setxattr(a2, a3, argv[4], strlen(argv[4]), 0);
        report("setxattr", rc);
        return rc == 0 ? 0 : 1;
    }
    if (!strcmp(cmd, "json-check"))
        return cmd_json(NULL);
    if (!strcmp(cmd, "json-get") && a2)
        return cmd_json(a2);
    if (!strcmp(cmd, "syscalls"))
        return cmd_syscalls(); /* probe_seccomp.c */
    if (!strcmp(cmd, "nested") && a2 && a3)
        return cmd_nested(a2, a3); /* probe_seccomp.c */
    if (!strcmp(cmd, "nested-tmpfs") && a2)
        return cmd_nested_tmpfs(a2); /* probe_seccomp.c */
    if (!strcmp(cmd, "refuse-many") && a2)
        return cmd_refuse_many(parse_num(a2, 10000000)); /* probe_seccomp.c */
    if (!strcmp(cmd, "abstract-connect") && a2)
        return cmd_abstract_connect(a2); /* probe_seccomp.c */
    if (!strcmp(cmd, "kill") && a2 && a3) {
        report("kill", kill((pid_t)parse_num(a2, 1 << 22), (int)parse_num(a3, 64)));
        return 0;
    }
    if (!strcmp(cmd, "keyring-caller") && a2)
        return cmd_keyring_caller(argc - 2, argv + 2);
    if (!strcmp(cmd, "native-only") && a2)
        return cmd_native_only(argv + 2);
    if (!strcmp(cmd, "no-netns") && a2 && a3 && (!strcmp(a2, "errno") || !strcmp(a2, "kill") || !strcmp(a2, "setns")))
        return cmd_no_netns(a2, argv + 3);
    if (!strcmp(cmd, "keyring-inside") && a2 && a3)
        return cmd_keyring_inside(a2, a3);
    if (!strcmp(cmd, "direct-read") && a2)
        return cmd_direct_read(a2, parse_num(a3, 1L << 40));

    fprintf(stderr, "sandbox-probe: unknown or incomplete subcommand '%s'\n"
            "usage: sandbox-probe info|write P|open P|mkdir P|remount-rw P|exit N|kill-self SIG|\n"
            "       orphans N|signals|sleep S|spawn-sleepers N S|env|stat P|isatty|tiocsti|\n"
            "       forks N|alloc MIB|spin MS|direct-read DEV BYTES|json-check|json-get KEY|\n"
            "       set-xattr PATH NAME VALUE|syscalls|nested RO-DIR MASKED|\n"
            "       nested-tmpfs DIR|abstract-connect NAME|kill PID SIG|refuse-many N|\n"
            "       keyring-caller CMD...|keyring-inside SESSION KEY|native-only CMD...|\n"
            "       no-netns errno|kill CMD...\n", cmd);
    return 2;
}
