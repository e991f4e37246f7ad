// Checked syscall helpers. Every fd made here is born O_CLOEXEC and returned as a UniqueFd.
// This is the only module that opens file descriptors (a test greps the rest of src/).
#pragma once
#include <initializer_list>
#include <signal.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sys/unique_fd.hpp"

namespace sb {

UniqueFd open_fd(const std::string& path, int flags, mode_t mode = 0);
UniqueFd open_at(int dirfd, const std::string& path, int flags, mode_t mode = 0);
// Like open_at but returns an invalid fd (errno set) instead of throwing.
UniqueFd try_open_at(int dirfd, const std::string& path, int flags, mode_t mode = 0);
// openat2(2): returns an invalid fd (errno set) on failure. O_CLOEXEC is always added.
UniqueFd try_openat2(int dirfd, const std::string& path, unsigned long long flags,
                     unsigned long long resolve);
std::pair<UniqueFd, UniqueFd> seqpacket_pair();
// A listening SOCK_SEQPACKET socket (non-blocking) bound to `name` in the directory `dirfd`,
// mode 0600. Throws SysError.
UniqueFd listen_seqpacket_at(int dirfd, const std::string& name);
// The same with a SOCK_STREAM socket.
UniqueFd listen_stream_at(int dirfd, const std::string& name);
// A connection of `listener` (non-blocking); invalid (errno set) when none is waiting.
UniqueFd accept_connection(int listener);
// Connects to the SOCK_SEQPACKET socket `name` in `dirfd` (blocking); invalid with errno set
// when that fails.
UniqueFd try_connect_seqpacket_at(int dirfd, const std::string& name);
UniqueFd make_signalfd(const sigset_t& signals);
UniqueFd make_pipe_end_pair(UniqueFd& write_end);  // returns the read end
UniqueFd dgram_socket(int family);
UniqueFd netlink_socket(int protocol);
// A raw AF_PACKET socket bound to interface `ifindex` that does not see its own output.
UniqueFd packet_socket(int ifindex);
UniqueFd ptmx_master(int dirfd_of_dev);            // opens pts/ptmx below /dev
UniqueFd pty_peer(int master);                     // the slave side, via TIOCGPTPEER

// clone3 with CLONE_PIDFD (plus `flags`); returns 0 in the child, the child's pid in the parent.
// With cgroup_fd >= 0 the child starts in that cgroup (CLONE_INTO_CGROUP), atomically.
pid_t clone_with_pidfd(unsigned long long flags, UniqueFd& pidfd, int cgroup_fd = -1);
int send_signal_to_pidfd(int pidfd, int signal);

// CLOCK_MONOTONIC in milliseconds: deadlines and timeouts.
long long monotonic_ms();

// Duplicates an fd onto a specific number (for stdio), clearing CLOEXEC on it.
void dup_onto(int from, int to);

// Closes every fd >= 3 except those in `keep` (for a child that must hold nothing of its
// parent's but them).
void close_fds_except(std::initializer_list<int> keep);
void close_fds_except(std::vector<int> keep);
// Marks every fd >= 3 close-on-exec (fds inherited from our caller included).
void mark_fds_cloexec();
void set_nonblocking(int fd);
// A new, non-blocking, write-only open file description of the terminal at `fd` (via
// /proc/self/fd), so that O_NONBLOCK does not leak to others sharing the terminal; falls back
// to a duplicate of `fd` (blocking) when that cannot be opened.
UniqueFd reopen_terminal_for_writing(int fd);
// The whole contents of a (small) file; nullopt with errno set when it cannot be read.
std::optional<std::string> read_text_file(const std::string& path);

// The contents of a regular file owned by our euid, opened without following a symlink;
// nullopt (errno set; EPERM for another owner) otherwise.
std::optional<std::string> read_own_file(const std::string& path);
std::optional<std::string> read_own_file_at(int dirfd, const std::string& path);
// An exclusive flock(2) on a directory, released when the fd closes. Waits up to timeout_ms;
// then returns an invalid fd (errno EWOULDBLOCK). Throws SysError when it cannot be opened.
UniqueFd lock_directory(const std::string& path, int timeout_ms);

// Writes `text` to an existing file in one write(2) (cgroup interface files want that);
// returns 0 or the errno.
int try_write_file(const std::string& path, const std::string& text);
// Writes `text` to a new file `path` (mode 0600, fails if it exists); returns 0 or the errno.
int try_create_file(const std::string& path, const std::string& text);
int try_create_file_at(int dirfd, const std::string& path, const std::string& text);

// The names in the directory `dir` (without "." and ".."), in the order readdir gives them.
// Throws SysError naming `what`.
std::vector<std::string> directory_entries(int dir, const std::string& what);

// Writes all of `data`; throws SysError.
void write_all(int fd, const std::string& data, const char* what);

// Makes the missing directories of an absolute path, 0700 (the XDG data home's mode).
void make_private_dirs(const std::string& path);

// Throws SysError unless `fd` is a directory owned by us (a directory of the data directory
// another user could have made first).
void check_own_directory(int fd, const std::string& what);

}  // namespace sb
