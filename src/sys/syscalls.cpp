#include "sys/syscalls.hpp"

#include <dirent.h>

#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <cstddef>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "sys/error.hpp"

namespace sb {

UniqueFd open_fd(const std::string& path, int flags, mode_t mode) {
    return open_at(AT_FDCWD, path, flags, mode);
}

UniqueFd open_at(int dirfd, const std::string& path, int flags, mode_t mode) {
    UniqueFd fd = try_open_at(dirfd, path, flags, mode);
    if (!fd) throw SysError("open", path, errno);
    return fd;
}

UniqueFd try_open_at(int dirfd, const std::string& path, int flags, mode_t mode) {
    return UniqueFd(::openat(dirfd, path.c_str(), flags | O_CLOEXEC, mode));
}

UniqueFd try_openat2(int dirfd, const std::string& path, unsigned long long flags,
                     unsigned long long resolve) {
    open_how how{};
    how.flags = flags | O_CLOEXEC;
    how.resolve = resolve;
    return UniqueFd(static_cast<int>(::syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how)));
}

std::pair<UniqueFd, UniqueFd> seqpacket_pair() {
    int fds[2];
    check(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), "socketpair");
    return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

namespace {

// A path that names `name` in the directory `dirfd` through /proc (at most ~40 bytes, so a
// socket's address fits sun_path however long the directory's own path is).
sockaddr_un address_in(int dirfd, const std::string& name, socklen_t& length) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::string path = "/proc/self/fd/" + std::to_string(dirfd) + "/" + name;
    if (path.size() >= sizeof address.sun_path) throw SysError("bind", path, ENAMETOOLONG);
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    return address;
}

}  // namespace

long long monotonic_ms() {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static UniqueFd listen_unix_at(int dirfd, const std::string& name, int type);

UniqueFd listen_seqpacket_at(int dirfd, const std::string& name) { return listen_unix_at(dirfd, name, SOCK_SEQPACKET); }
UniqueFd listen_stream_at(int dirfd, const std::string& name) { return listen_unix_at(dirfd, name, SOCK_STREAM); }

static UniqueFd listen_unix_at(int dirfd, const std::string& name, int type) {
    UniqueFd fd(static_cast<int>(check(::socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), "socket")));
    socklen_t length;
    sockaddr_un address = address_in(dirfd, name, length);
    // Born 0600: no moment in which another could connect (the directory is 0700 besides).
    mode_t old = ::umask(0177);
    int rc = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), length);
    int err = errno;
    ::umask(old);
    if (rc < 0) throw SysError("bind", name, err);
    check(::listen(fd.get(), 64), "listen", name);
    return fd;
}

UniqueFd accept_connection(int listener) {
    int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    return UniqueFd(fd);
}

UniqueFd try_connect_seqpacket_at(int dirfd, const std::string& name) {
    // Non-blocking while connecting: a listener whose backlog is full says EAGAIN at once
    // instead of holding us until it accepts.
    UniqueFd fd(static_cast<int>(check(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), "socket")));
    socklen_t length;
    sockaddr_un address = address_in(dirfd, name, length);
    int rc;
    do rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), length);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) return UniqueFd();
    int flags = ::fcntl(fd.get(), F_GETFL);
    if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) < 0) return UniqueFd();
    return fd;
}

UniqueFd make_signalfd(const sigset_t& signals) {
    return UniqueFd(static_cast<int>(check(::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK), "signalfd")));
}

UniqueFd make_pipe_end_pair(UniqueFd& write_end) {
    int fds[2];
    check(::pipe2(fds, O_CLOEXEC), "pipe2");
    write_end.reset(fds[1]);
    return UniqueFd(fds[0]);
}

UniqueFd dgram_socket(int family) {
    return UniqueFd(static_cast<int>(check(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket")));
}

UniqueFd netlink_socket(int protocol) {
    return UniqueFd(static_cast<int>(check(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol), "socket", "netlink")));
}

UniqueFd packet_socket(int ifindex) {
    UniqueFd fd(static_cast<int>(check(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)), "socket", "AF_PACKET")));
    int one = 1;
    check(::setsockopt(fd.get(), SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one), "setsockopt PACKET_IGNORE_OUTGOING");
    sockaddr_ll address{};
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ETH_P_ALL);
    address.sll_ifindex = ifindex;
    check(::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), "bind", "AF_PACKET");
    return fd;
}

UniqueFd ptmx_master(int dirfd_of_dev) {
    return open_at(dirfd_of_dev, "pts/ptmx", O_RDWR | O_NOCTTY);
}

UniqueFd pty_peer(int master) {
    int fd = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    check(fd, "ioctl TIOCGPTPEER", "/dev/pts/ptmx");
    return UniqueFd(fd);
}

pid_t clone_with_pidfd(unsigned long long flags, UniqueFd& pidfd, int cgroup_fd) {
    int raw_pidfd = -1;
    struct clone_args args;
    std::memset(&args, 0, sizeof args);
    args.flags = flags | CLONE_PIDFD;
    args.pidfd = reinterpret_cast<unsigned long long>(&raw_pidfd);
    args.exit_signal = SIGCHLD;
    if (cgroup_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = static_cast<unsigned long long>(cgroup_fd);
    }
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    check(pid, "clone3");
    if (pid > 0) pidfd.reset(raw_pidfd);  // clone3 sets O_CLOEXEC on pidfds
    return static_cast<pid_t>(pid);
}

int send_signal_to_pidfd(int pidfd, int signal) {
    return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0));
}

void dup_onto(int from, int to) {
    if (from == to) {
        int flags = ::fcntl(from, F_GETFD);
        check(flags < 0 ? -1 : ::fcntl(from, F_SETFD, flags & ~FD_CLOEXEC), "fcntl F_SETFD");
        return;
    }
    check(::dup2(from, to), "dup2");
}

void close_fds_except(std::initializer_list<int> keep) { close_fds_except(std::vector<int>(keep)); }

void close_fds_except(std::vector<int> kept) {
    std::sort(kept.begin(), kept.end());
    unsigned from = 3;  // the first fd not yet closed or kept
    for (int fd : kept) {
        if (fd < 3 || static_cast<unsigned>(fd) < from) continue;
        if (static_cast<unsigned>(fd) > from)
            check(::syscall(SYS_close_range, from, static_cast<unsigned>(fd - 1), 0U), "close_range");
        from = static_cast<unsigned>(fd) + 1;
    }
    check(::syscall(SYS_close_range, from, ~0U, 0U), "close_range");
}

void mark_fds_cloexec() {
    check(::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC), "close_range");
}

void set_nonblocking(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    check(flags < 0 ? flags : ::fcntl(fd, F_SETFL, flags | O_NONBLOCK), "fcntl O_NONBLOCK");
}

UniqueFd reopen_terminal_for_writing(int fd) {
    UniqueFd reopened = try_open_at(AT_FDCWD, "/proc/self/fd/" + std::to_string(fd),
                                    O_WRONLY | O_NOCTTY | O_NONBLOCK);
    if (reopened) return reopened;
    return UniqueFd(static_cast<int>(check(::fcntl(fd, F_DUPFD_CLOEXEC, 3), "dup", "terminal")));
}

namespace {

std::optional<std::string> read_to_end(int fd) {
    std::string text;
    char buffer[4096];
    for (;;) {
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return std::nullopt;
        if (n == 0) return text;
        text.append(buffer, static_cast<std::size_t>(n));
    }
}

}  // namespace

std::optional<std::string> read_text_file(const std::string& path) {
    UniqueFd fd = try_open_at(AT_FDCWD, path, O_RDONLY);
    if (!fd) return std::nullopt;
    return read_to_end(fd.get());
}

void write_all(int fd, const std::string& data, const char* what) {
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        check(n, "write", what);
        done += static_cast<std::size_t>(n);
    }
}

int try_write_file(const std::string& path, const std::string& text) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return errno;
    UniqueFd owner(fd);
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0) return errno;
    return static_cast<std::size_t>(n) == text.size() ? 0 : EIO;
}

int try_create_file(const std::string& path, const std::string& text) {
    return try_create_file_at(AT_FDCWD, path, text);
}

int try_create_file_at(int dirfd, const std::string& path, const std::string& text) {
    int fd = ::openat(dirfd, path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return errno;
    UniqueFd owner(fd);
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0) return errno;
    return static_cast<std::size_t>(n) == text.size() ? 0 : EIO;
}

std::optional<std::string> read_own_file(const std::string& path) { return read_own_file_at(AT_FDCWD, path); }

std::optional<std::string> read_own_file_at(int dirfd, const std::string& path) {
    UniqueFd fd = try_open_at(dirfd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    if (!fd) return std::nullopt;
    struct stat st;
    if (::fstat(fd.get(), &st) < 0) return std::nullopt;
    if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) {
        errno = EPERM;
        return std::nullopt;
    }
    return read_to_end(fd.get());
}

UniqueFd lock_directory(const std::string& path, int timeout_ms) {
    UniqueFd fd = open_fd(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    for (int waited = 0;; waited += 10) {
        if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return fd;
        if (errno != EWOULDBLOCK && errno != EINTR) check(-1, "flock", path);
        if (waited >= timeout_ms) {
            errno = EWOULDBLOCK;
            return UniqueFd();
        }
        timespec pause{0, 10 * 1000 * 1000};
        ::nanosleep(&pause, nullptr);
    }
}

std::vector<std::string> directory_entries(int dir, const std::string& what) {
    UniqueFd listing = open_at(dir, ".", O_RDONLY | O_DIRECTORY);
    DIR* stream = ::fdopendir(listing.get());
    if (!stream) throw SysError("opendir", what, errno);
    listing.release();
    std::vector<std::string> names;
    int error = 0;
    for (;;) {
        errno = 0;
        const dirent* entry = ::readdir(stream);
        if (!entry) {
            error = errno;
            break;
        }
        std::string name = entry->d_name;
        if (name != "." && name != "..") names.push_back(std::move(name));
    }
    ::closedir(stream);
    if (error) throw SysError("readdir", what, error);
    return names;
}

void make_private_dirs(const std::string& path) {
    for (std::size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
        std::string prefix = slash == std::string::npos ? path : path.substr(0, slash);
        if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) throw SysError("mkdir", prefix, errno);
        if (slash == std::string::npos) return;
    }
}

void check_own_directory(int fd, const std::string& what) {
    struct stat st;
    check(::fstat(fd, &st), "stat", what);
    if (!S_ISDIR(st.st_mode)) throw SysError("open", what, ENOTDIR);
    if (st.st_uid != ::geteuid())
        throw SysError("open", what + " (owned by uid " + std::to_string(st.st_uid) + ", not by you)", EPERM,
                       "remove it, or set XDG_DATA_HOME to a directory of your own");
}

}  // namespace sb
