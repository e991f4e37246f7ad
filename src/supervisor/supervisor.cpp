// Theory of operation of S:
//   1. block the forwarded signals and SIGCHLD and read them from a signalfd (one poll loop);
//   2. clone I, pid 1, into new user, mount, PID (and UTS, IPC, cgroup) namespaces; I waits
//      until we wrote its id maps and told it so;
//   3. start N, which makes the network namespace in I's user namespace and sends it to I while
//      I builds the filesystem (a failure of N reaches us through I);
//   4. I builds the sandbox (mode slirp: sends the frames fd, and waits for our go-ahead once
//      libslirp runs and every forward listens) and announces the payload (with a pty master
//      when any of our stdio is a terminal);
//   5. loop: relay the terminal, forward signals to I, reap children, until I has exited and
//      the sync socket is closed. Every wait before the payload starts has a deadline.
// The sandbox runs in a session of its own (I calls setsid), so nothing inside has our
// terminal as its controlling terminal (no TIOCSTI into it) and terminal-generated signals
// reach only us: we forward every signal we get.
// The Supervisor object owns the children: leaving early (an exception) kills and reaps them.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <algorithm>
#include <optional>

#include "cgroup/sandbox_cgroup.hpp"
#include "cgroup/stats.hpp"
#include "exitcode.hpp"
#include "idmap/write_maps.hpp"
#include "init/init.hpp"
#include "ipc/channel.hpp"
#include "ipc/handshake.hpp"
#include "manage/manage.hpp"
#include "ns/namespaces.hpp"
#include "net/slirp_network.hpp"
#include "seccomp/compile.hpp"
#include "seccomp/monitor.hpp"
#include "seccomp/violations.hpp"
#include "state/inspect.hpp"
#include "state/json_status.hpp"
#include "state/registry.hpp"
#include "supervisor/control_server.hpp"
#include "supervisor/exec.hpp"
#include "supervisor/attach_hub.hpp"
#include "supervisor/output_log.hpp"
#include "supervisor/supervisor.hpp"
#include "changes/change_set.hpp"
#include "sys/child_process.hpp"
#include "sys/error.hpp"
#include "sys/hints.hpp"
#include "sys/poll_set.hpp"
#include "sys/signals.hpp"
#include "sys/syscalls.hpp"
#include "sys/syscalls.hpp"
#include "term/terminal.hpp"

namespace sb {
namespace {

constexpr int kSetupDeadlineMs = 30000;
constexpr int kDrainMs = 1000;  // after pid 1 is gone, how long a pty may keep us
constexpr long long kTimeoutGraceMs = 5000;  // --timeout: from TERM to KILL
constexpr std::size_t kMaxExecSessions = 128;  // `sandbox exec` commands served at once

long long now_us() {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

long long now_ms() { return monotonic_ms(); }

// Where the pty's output goes and which terminal is put in raw mode: stdout if it is a
// terminal, else stderr, else stdin (a terminal is normally open for reading and writing).
int user_terminal(unsigned mask) {
    for (int fd : {STDOUT_FILENO, STDERR_FILENO, STDIN_FILENO})
        if (mask & (1u << fd)) return fd;
    return -1;
}

// A throwaway child cloned with `flags` (and into `cgroup_fd` unless -1): 0 when the kernel
// allows it, else its errno. Only to tell apart what a failed clone was refused.
int probe_clone(int flags, int cgroup_fd) {
    try {
        UniqueFd pidfd;
        pid_t pid = clone_with_pidfd(static_cast<unsigned>(flags), pidfd, cgroup_fd);
        if (pid == 0) ::_exit(0);
        ChildProcess(pid, std::move(pidfd)).wait();
        return 0;
    } catch (const SysError& error) {
        return error.error_number();
    }
}

// The clone made the user namespace and the nested ones at once, into the sandbox's cgroup when
// it has one: which did the kernel refuse? Tried again one at a time (only on this path). For
// the user namespace: the cause and the fix in doctor's words (diagnose_user_namespaces).
SetupError clone_error(int err, int flags, const SandboxCgroup* cgroup) {
    std::string what = std::string("clone3 into new namespaces: ") + std::strerror(err);
    if (err == EAGAIN) return SetupError(Stage::UserNamespace, what, hint(Cause::TooManyProcesses));
    if (err != ENOSPC && err != EPERM && err != EACCES && err != EINVAL) return SetupError(Stage::UserNamespace, what);
    if (cgroup && probe_clone(flags, -1) == 0)
        return SetupError(Stage::Cgroup, what + " (into " + cgroup->path() + "/payload)",
                          "the kernel refused to start the sandbox in its cgroup");
    int alone = probe_user_namespace();
    if (alone == 0)
        return SetupError(Stage::Namespaces, what,
                          "the kernel refused nested namespaces inside the user namespace; check "
                          "/proc/sys/user/max_*_namespaces");
    IsolationFacts facts = read_user_namespace_sysctls();
    facts.userns_probe_errno = alone;
    Diagnosis diagnosis = diagnose_user_namespaces(facts);
    return SetupError(Stage::UserNamespace, what, diagnosis.detail + "; " + diagnosis.fix);
}

// --json-status-fd: the caller's descriptor (not ours to close). The exit line is written once,
// also when set-up fails (Supervisor::run; any other exception leaves 125 here).
class StatusReport {
public:
    explicit StatusReport(int fd) : fd_(fd) {}
    ~StatusReport() {
        if (fd_ >= 0 && !ended_) exited(kExitSetupFailed);
    }
    StatusReport(const StatusReport&) = delete;
    StatusReport& operator=(const StatusReport&) = delete;

    void started(pid_t init, const PayloadStartedFields& namespaces) { put(json_status_started(init, namespaces)); }
    void exited(int exit_code) {
        put(json_status_exited(exit_code));
        ended_ = true;
    }

private:
    // Best effort: a reader that went away (EPIPE; SIGPIPE is ignored) costs the sandbox nothing,
    // and one that takes nothing stalls the supervisor (signals, --timeout, the network) for at
    // most a second per line, which is then dropped. A line is far below PIPE_BUF, so once the
    // descriptor polls writable it goes whole.
    void put(const std::string& line) noexcept {
        if (fd_ < 0) return;
        pollfd writable{fd_, POLLOUT, 0};
        int ready;
        while ((ready = ::poll(&writable, 1, kWriteWaitMs)) < 0 && errno == EINTR) {
        }
        if (ready <= 0 || !(writable.revents & POLLOUT)) {
            std::cerr << "sandbox: warning: --json-status-fd " << fd_ << ": nothing reads it; a status line was dropped\n";
            return;
        }
        for (std::size_t done = 0; done < line.size();) {
            ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return;
            done += static_cast<std::size_t>(n);
        }
    }
    static constexpr int kWriteWaitMs = 1000;
    int fd_;
    bool ended_ = false;
};

class Supervisor {
public:
    Supervisor(const Plan& plan, const RunOptions& options) : plan_(plan), options_(options) {}
    int run();  // run_stages, with the exit line of --json-status-fd however it ends

private:
    void log(const std::string& text) const {
        if (!options_.verbose) return;
        long long us = now_us() - start_us_;
        std::cerr << "sandbox: [" << us / 1000 << "." << (us / 100) % 10 << " ms] " << text << "\n";
    }
    int run_stages();
    void check_limit_policy() const;
    void register_and_make_cgroup();
    void prepare_changes();
    void conclude_changes(bool ran);
    void report_outcome(int exit_code) const;
    void start_children();
    void event_loop();
    int poll_timeout() const;
    void on_timeout();
    void handle_message();
    UniqueFd start_network_namespace_maker(int user_namespace);
    void start_relay(UniqueFd master);
    void watch_relay(PollSet& set);
    void refill_poll_set();
    void handle_signals();
    void reap_children();
    void open_violations_log();
    void handle_seccomp_notification(short events);
    void enforce_timeout();
    void report_seccomp() const;
    void report_network() const;
    void start_control_server();
    void start_output_log();
    void report_detached_start();
    void handle_control(ControlServer::Call& call);
    void serve_kill(int connection, int signal);
    void serve_exec(ControlServer::Call& call);
    void serve_inspect(int connection);
    void stop_payload(std::uint32_t grace_ms);
    void finish_control(const ControlReply& reply);
    LiveState live_state() const;
    bool finished() const {
        // The sync socket closes only when I and the payload are gone (N holds our end, not theirs).
        return !init_.running() && !sync_ && !relay_ && (!hub_ || hub_->drained());
    }
    int conclude();

    const Plan& plan_;
    RunOptions options_;
    StatusReport status_{options_.json_status_fd};
    SeccompProgram seccomp_;  // compiled before the clone; the children inherit it
    long long start_us_ = now_us();
    long long deadline_ms_ = now_ms() + kSetupDeadlineMs;
    Handshake handshake_{plan_.network == NetworkMode::Slirp};
    UniqueFd sync_, signals_;
    // Destroyed in reverse order: the children are killed first, then the cgroup is removed,
    // then the record.
    std::optional<Registration> registration_;
    std::optional<ChangeSet> changes_;  // kept overlay uppers, locked while the sandbox runs
    std::optional<SandboxCgroup> cgroup_;
    std::optional<ControlServer> control_;  // kill, stop, wait, exec (a named, recorded sandbox)
    ChildProcess init_, network_maker_;
    std::vector<ChildProcess> exec_helpers_;  // one per `sandbox exec` being served
    std::vector<NamespaceFd> exec_namespaces_;  // the sandbox's, for `sandbox exec`
    std::optional<OutputLog> output_log_;     // run --detach: the sandbox's log
    std::optional<AttachHub> hub_;            // run --detach: the payload's output, and `attach`
    int detach_report_ = options_.detach_report;  // run --detach: told once the payload exec'd
    PollSet poll_set_;  // refilled every turn of the event loop
    bool relayed_input_ = false;           // the payload read our terminal (stdin) through the pty
    std::optional<RawTerminal> raw_;
    std::optional<PtyRelay> relay_;
    std::optional<SlirpNetwork> network_;  // mode slirp, once the sandbox's eth0 is up
    UniqueFd violations_log_;                // --violations FILE
    std::optional<SeccompMonitor> monitor_;  // log and learn modes, once the payload sent its listener
    long long timeout_at_ms_ = 0;            // --timeout: when to send TERM (then KILL); 0 = none
    long long kill_at_ms_ = 0;               // `sandbox stop`: when to send KILL; 0 = none
    int timeout_signal_ = 0;                 // the last signal the timeout sent
    int aborted_by_ = 0;
};

// Honesty about limits: every limit asked for is enforced, or the run stops here (strict), or
// each one that cannot be is named once (best-effort).
void Supervisor::check_limit_policy() const {
    const CgroupPlan& cgroup = plan_.cgroup;
    if (cgroup.unenforceable.empty()) return;
    LimitVerdict first = judge_limit(cgroup.unenforceable.front(), cgroup.enforce);
    if (first.refuse) {
        std::string more;
        if (cgroup.unenforceable.size() > 1)
            more = " (and " + std::to_string(cgroup.unenforceable.size() - 1) + " more limit(s); see `sandbox doctor`)";
        throw SetupError(Stage::Limits, first.message + more, first.hint);
    }
    for (const auto& problem : cgroup.unenforceable)
        std::cerr << "sandbox: warning: " << judge_limit(problem, cgroup.enforce).message << "\n";
}

void Supervisor::register_and_make_cgroup() {
    StateRecord record;
    record.name = plan_.name;
    record.pid = ::getpid();
    record.pid_start = own_start_time();
    record.profile = plan_.profile_files.empty() ? "" : plan_.profile_files.back();
    record.created = ::time(nullptr);
    record.command = display_command(plan_.process.argv);
    record.keep = plan_.keep_record;
    if (plan_.cgroup.use) record.cgroup = plan_.cgroup.parent + "/" + cgroup_leaf_name(plan_.name);
    if (plan_.state_dir.empty()) {
        log("not recorded: no runtime directory");  // the plan warned if the run needs a record
    } else {
        registration_.emplace(plan_.state_dir, record);
        log("registered as " + plan_.name + " in " + plan_.state_dir);
        start_control_server();
        if (plan_.detach) start_output_log();
    }
    if (!plan_.cgroup.use) {
        log("no cgroup of its own: " + plan_.cgroup.reason);
        return;
    }
    long long began = now_us();
    std::vector<std::string> warnings;
    cgroup_.emplace(plan_.cgroup, plan_.name, warnings);
    for (const auto& warning : warnings) std::cerr << "sandbox: warning: " << warning << "\n";
    if (registration_) {  // at once: a record must never point at a cgroup it cannot prove is its own
        StateRecord record = registration_->record();
        record.cgroup_inode = cgroup_->inode();
        registration_->update(record);
    }
    std::string limits;
    for (const auto& write : plan_.cgroup.writes) limits += (limits.empty() ? "" : ", ") + write.label;
    log("made the cgroup " + cgroup_->path() + (limits.empty() ? "" : " with " + limits) + " in " +
        std::to_string(now_us() - began) + " us");
}

namespace {

// An app's persistent home, DATA/apps/APP/home: made 0700 when missing; APP and home must be
// ours and closed to others (another user could have made them first where XDG_DATA_HOME lets
// them), and APP/profile names the profile it belongs to: written at the first start, and a
// start of another profile with the same app name is refused.
void prepare_app_home(const std::string& home, const std::string& profile) {
    make_private_dirs(home);
    std::string app = home.substr(0, home.rfind('/'));
    UniqueFd app_dir = open_fd(app, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    check_own_directory(app_dir.get(), app);
    struct stat st;
    check(::fstat(app_dir.get(), &st), "stat", app);
    if (st.st_mode & 077)
        throw SysError("open", app + " (open to others: mode " + std::to_string(st.st_mode & 0777) + ")", EPERM,
                       "chmod 700 it, or remove it");
    struct stat home_st;
    if (::fstatat(app_dir.get(), "home", &home_st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(home_st.st_mode) ||
        home_st.st_uid != ::geteuid())
        throw SysError("open", home + " (not a directory of yours)", EPERM, "remove it");
    if (profile.empty()) return;
    auto owner = read_own_file_at(app_dir.get(), "profile");
    if (!owner) {
        if (int error = try_create_file_at(app_dir.get(), "profile", profile + "\n")) throw SysError("write", app + "/profile", error);
        return;
    }
    if (*owner != profile + "\n")
        throw SysError("use", home + " (the home of the app of " + owner->substr(0, owner->find('\n')) + ", not of " + profile + ")",
                       EEXIST, "give this profile another 'name', or remove " + app + " to hand the home over");
}

}  // namespace

// Kept overlay uppers: made (or taken up again) before pid 1 mounts them; locked until the end.
void Supervisor::prepare_changes() {
    try {
        for (const auto& dir : plan_.changes.make_dirs) make_private_dirs(dir);
        if (!plan_.app_home.empty()) prepare_app_home(plan_.app_home, plan_.app_home_profile);
    } catch (const SysError& error) {
        throw SetupError(Stage::Mount, std::string("the data directory: ") + error.what(), error.hint());
    }
    if (plan_.changes.dir.empty()) return;
    changes_.emplace(ChangeSet::prepare_for_run(plan_.changes));
    log(std::string(changes_->created() ? "made" : "took up") + " the kept changes in " + plan_.changes.dir);
}

// Once nothing of the sandbox runs: a change set left empty goes (nothing to commit); one with
// changes stays, and the user is told how to see and apply them.
void Supervisor::conclude_changes(bool ran) {
    if (!changes_) return;
    try {
        if (!changes_->has_changes()) {
            if (ran || changes_->created()) changes_->remove();
            changes_.reset();
            return;
        }
    } catch (const std::exception& error) {
        std::cerr << "sandbox: warning: kept changes of " << plan_.name << ": " << error.what() << "\n";
    }
    changes_.reset();
    std::cerr << "sandbox: the changes of " << plan_.name << " are kept: `sandbox diff " << plan_.name
              << "` shows them, `sandbox commit " << plan_.name << "` applies them, `sandbox discard " << plan_.name
              << "` drops them\n";
}

// What the kernel did to the sandbox that its exit code does not say.
void Supervisor::report_outcome(int exit_code) const {
    if (!cgroup_) return;
    CgroupStats stats = collect_stats([&](const std::string& file) { return cgroup_->read(file); });
    if (exit_code == 128 + SIGKILL && stats.oom_kills.value_or(0) > 0) {
        std::string limit = "memory.max " + (stats.memory_max && *stats.memory_max != kNoLimit
                                                 ? format_size(*stats.memory_max)
                                                 : std::string("of a parent cgroup"));
        std::cerr << "sandbox: killed: out of memory (" << limit << ")\n";
    }
    if (stats.pids_limit_hits.value_or(0) > 0)
        std::cerr << "sandbox: note: " << *stats.pids_limit_hits << " fork(s) failed at the process limit (pids.max "
                  << (stats.pids_max ? std::to_string(*stats.pids_max) : "?") << ")\n";
}

void Supervisor::start_children() {
    auto [mine, theirs] = seqpacket_pair();
    pid_t pid = -1;
    UniqueFd pidfd;
    // With CLONE_INTO_CGROUP, the kernel roots the new cgroup namespace at the target cgroup, not
    // at ours (cgroup_post_fork, since Linux 5.7): inside, the sandbox's cgroup is "/".
    int flags = CLONE_NEWUSER | nested_namespace_flags(plan_.namespaces);
    try {
        pid = clone_with_pidfd(static_cast<unsigned>(flags), pidfd, cgroup_ ? cgroup_->fd() : -1);
    } catch (const SysError& error) {
        int err = error.error_number();
        bool cgroup_error = err == ENOENT || err == EBUSY || err == EOPNOTSUPP || err == ENODEV || err == EBADF;
        if (cgroup_ && cgroup_error)
            throw SetupError(Stage::Cgroup, std::string(error.what()) + " (into " + cgroup_->path() + "/payload)",
                             "clone3 could not start the sandbox in its cgroup (CLONE_INTO_CGROUP needs Linux 5.7)");
        throw clone_error(err, flags, cgroup_ ? &*cgroup_ : nullptr);
    }
    if (pid == 0) {
        mine.reset();
        signals_.reset();
        run_init(SandboxChild{plan_.namespaces, plan_.mounts, plan_.hidden_dirs,
                              plan_.network == NetworkMode::Slirp ? &plan_.slirp : nullptr, plan_.process,
                              plan_.landlock, seccomp_, theirs.get(), options_.json_status_fd >= 0, false,
                              control_.has_value() && plan_.namespaces.net, plan_.detach});
    }
    init_ = ChildProcess(pid, std::move(pidfd));
    sync_ = std::move(mine);
    if (registration_) {
        StateRecord record = registration_->record();
        record.init_pid = init_.pid();
        registration_->update(record);
    }
    log("cloned pid 1 (host pid " + std::to_string(pid) + ") into new user, mount and PID namespaces");
    // For N and for `sandbox exec`, opened while I is still dumpable (it stops being so once told
    // the maps are written). I is our unreaped child: its pid names it and no other process.
    UniqueFd own_user_namespace;
    int user_namespace = -1;
    if (control_) {
        exec_namespaces_ = in_stage(Stage::Namespaces, [&] { return open_sandbox_namespaces(pid, plan_.namespaces); });
        user_namespace = exec_namespaces_.front().fd.get();
    } else if (plan_.namespaces.net) {
        own_user_namespace = in_stage(Stage::Namespaces, [&] {
            return open_at(AT_FDCWD, "/proc/" + std::to_string(pid) + "/ns/user", O_RDONLY);
        });
        user_namespace = own_user_namespace.get();
    }
    // N starts (and joins the user namespace) while the maps are written, and makes the network
    // namespace once told they are: with newuidmap, the maps are the longest step of start-up,
    // so the helpers start first.
    IdMapWriter maps(pid, plan_.ids);
    UniqueFd maps_written;
    if (plan_.namespaces.net) maps_written = start_network_namespace_maker(user_namespace);
    maps.finish();
    log("wrote the id maps");
    send_message(sync_.get(), Message{MessageType::MapsWritten, 0, 0, {}});
    handshake_.maps_written();
    // Unchecked: if N is gone already (EPIPE), its exit status or I tells why.
    if (maps_written) {
        ssize_t ignored = ::write(maps_written.get(), "1", 1);
        (void)ignored;
    }
    // Every child that takes our stdio as its own is started: from now on ours is the log.
    if (output_log_) output_log_->take_own_output();
}

// N: the network namespace is made beside I's filesystem work, not before it, and only after
// the maps (see create_network_namespace). In the sandbox's cgroup, which pays for it. Returns
// the pipe to write a byte to once the maps are written (closed unwritten, N gives up).
UniqueFd Supervisor::start_network_namespace_maker(int user_namespace) {
    UniqueFd tell;
    UniqueFd told = in_stage(Stage::Namespaces, [&] { return make_pipe_end_pair(tell); });
    UniqueFd pidfd;
    pid_t pid = in_stage(Stage::Namespaces, [&] { return clone_with_pidfd(0, pidfd, cgroup_ ? cgroup_->fd() : -1); });
    if (pid == 0) run_network_namespace_maker(user_namespace, sync_.get(), told.get());
    network_maker_ = ChildProcess(pid, std::move(pidfd));
    return tell;
}

void Supervisor::start_relay(UniqueFd master) {
    int terminal = user_terminal(plan_.process.terminal_fds);
    copy_window_size(terminal, master.get());
    bool typing = plan_.process.terminal_fds & (1u << STDIN_FILENO);
    // Raw only when keystrokes are relayed (then Ctrl-C travels as a byte to the pty inside);
    // otherwise the terminal keeps ISIG, and Ctrl-C signals us, which we forward.
    if (typing) raw_.emplace(STDIN_FILENO);
    relayed_input_ = typing;
    relay_.emplace(std::move(master), typing ? STDIN_FILENO : -1, reopen_terminal_for_writing(terminal));
}

void Supervisor::handle_message() {
    auto received = receive_message(sync_.get());
    if (!received) {
        sync_.reset();
        return;
    }
    const Message& message = received->message;
    MessageVerdict verdict = handshake_.receive(message);
    if (verdict.kind == MessageVerdict::Reject)
        throw SetupError(Stage::Protocol, verdict.error, hint(Cause::Bug));
    if (verdict.kind == MessageVerdict::Ignore) return;
    if (message.type == MessageType::NetworkReady) {
        // Throws for a forward that cannot listen: I is still waiting, the payload never runs.
        network_.emplace(plan_.slirp, received->take_fd(), violations_log_.get());
        // If I is gone (its set-up failed meanwhile), its own report follows: no error here.
        send_message_noexcept(sync_.get(), Message{MessageType::NetworkStarted, 0, 0, {}});
        handshake_.network_started();
        log("user-mode network (libslirp) started; told init to go on");
    } else if (message.type == MessageType::PayloadStarted) {
        log("sandbox ready; starting the payload");
        status_.started(init_.pid(), payload_started_fields(message));
        if (UniqueFd master = received->take_fd()) {
            if (plan_.detach) hub_.emplace(std::move(master), true, *output_log_);
            else start_relay(std::move(master));
        }
        if (plan_.timeout_ms) timeout_at_ms_ = now_ms() + static_cast<long long>(plan_.timeout_ms);
    } else if (message.type == MessageType::SeccompListener) {
        monitor_.emplace(plan_.process.seccomp, received->take_fd(), violations_log_.get());
        log("receiving the seccomp filter's refusals");
    } else if (message.type == MessageType::SandboxNetwork) {
        // Joined before the mount namespace, which is last (open_sandbox_namespaces).
        if (!exec_namespaces_.empty())
            exec_namespaces_.insert(exec_namespaces_.end() - 1, NamespaceFd{received->take_fd(), CLONE_NEWNET});
    } else if (message.type == MessageType::PayloadExecuted) {
        report_detached_start();
    } else if (message.type == MessageType::PayloadExited) {
        log("payload exited; exit code " + std::to_string(handshake_.exit_code()));
    }
}

void Supervisor::reap_children() {
    for (;;) {
        int status = 0;
        pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0) return;
        if (pid == init_.pid()) {
            init_.reaped(status);
        } else if (auto helper = std::find_if(exec_helpers_.begin(), exec_helpers_.end(),
                                              [&](const ChildProcess& h) { return h.pid() == pid; });
                   helper != exec_helpers_.end()) {
            helper->reaped(status);
            exec_helpers_.erase(helper);
        } else if (pid == network_maker_.pid()) {
            network_maker_.reaped(status);
            // Its failures reach us through I; killed, it told nobody, and I would wait for it.
            if (WIFSIGNALED(status) && handshake_.state() == HandshakeState::SettingUp)
                throw SetupError(Stage::Namespaces,
                                 "the process making the sandbox's network namespace was killed by signal " +
                                     std::to_string(WTERMSIG(status)),
                                 "an outer seccomp filter or the OOM killer may have killed it; run with --verbose");
        }
    }
}

void Supervisor::handle_signals() {
    signalfd_siginfo info;
    while (::read(signals_.get(), &info, sizeof info) == sizeof info) {
        int signal = static_cast<int>(info.ssi_signo);
        if (signal == SIGCHLD) {
            reap_children();
        } else if (signal == SIGWINCH && relay_) {
            copy_window_size(user_terminal(plan_.process.terminal_fds), relay_->master());
        } else if (handshake_.state() == HandshakeState::Finished || handshake_.state() == HandshakeState::Failed) {
            continue;  // the outcome is known; the sandbox is ending on its own
        } else if (handshake_.state() != HandshakeState::Running) {
            if (signal != SIGWINCH && signal != SIGUSR1 && signal != SIGUSR2) {
                aborted_by_ = signal;  // interrupted during setup: stop everything
                init_.kill_and_reap();
                network_maker_.kill_and_reap();
            }
        } else {
            send_signal_to_pidfd(init_.pidfd(), signal);
        }
    }
}

int Supervisor::poll_timeout() const {
    if (init_.started() && !init_.running()) return kDrainMs;  // only output left to drain
    HandshakeState state = handshake_.state();
    if (state == HandshakeState::Finished) return -1;
    if (state == HandshakeState::Running) {
        long long next = 0;
        for (long long at : {timeout_at_ms_, kill_at_ms_})
            if (at && (!next || at < next)) next = at;
        return next ? static_cast<int>(std::max(0LL, next - now_ms())) : -1;
    }
    return static_cast<int>(std::max(0LL, deadline_ms_ - now_ms()));
}

// --timeout: TERM to the payload (through pid 1, which forwards it), then after the grace period
// KILL to pid 1, which takes the whole pid namespace with it.
void Supervisor::enforce_timeout() {
    timeout_signal_ = timeout_signal_ ? SIGKILL : SIGTERM;
    log(std::string("timeout: sending ") + (timeout_signal_ == SIGTERM ? "TERM" : "KILL"));
    send_signal_to_pidfd(init_.pidfd(), timeout_signal_);
    timeout_at_ms_ = timeout_signal_ == SIGTERM ? now_ms() + kTimeoutGraceMs : 0;
}

void Supervisor::on_timeout() {
    if (init_.started() && !init_.running()) {
        // pid 1 is gone, so is everything inside; whatever still holds the pty is not ours.
        relay_.reset();
        raw_.reset();
        sync_.reset();
        if (hub_) hub_->close_source();
        return;
    }
    // While the payload runs, the only deadline is --timeout's, which the loop checks itself.
    if (handshake_.state() == HandshakeState::Running) return;
    throw SetupError(Stage::Setup, std::string("the sandbox did not finish setting up within 30 s (") +
                                  handshake_.describe() + ")",
                     "run with --verbose to see the last stage reached");
}

// The pty relay's fds, as far as it wants them now. A handler finds the relay gone when an
// earlier one of the same turn ended it.
void Supervisor::watch_relay(PollSet& set) {
    short master_events = static_cast<short>((relay_->wants_master_read() ? POLLIN : 0) |
                                             (relay_->wants_master_write() ? POLLOUT : 0));
    if (master_events)
        set.watch(relay_->master(), master_events, [this](short events) {
            if (!relay_) return;
            if (events & POLLOUT) relay_->write_master();
            if (events & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) relay_->read_master();
        });
    if (relay_->wants_input())
        set.watch(relay_->input(), POLLIN, [this](short) {
            if (relay_) relay_->read_input();
        });
    if (relay_->wants_output())
        set.watch(relay_->output(), POLLOUT, [this](short) {
            if (relay_) relay_->write_output();
        });
}

// Each turn, what exists now: the signalfd, the sync socket, the pty relay, the
// seccomp listener, the user-mode network.
void Supervisor::refill_poll_set() {
    PollSet& set = poll_set_;
    set.clear();
    set.watch(signals_.get(), POLLIN, [this](short) { handle_signals(); });
    if (sync_)
        set.watch(sync_.get(), POLLIN, [this](short) {
            if (sync_) handle_message();
        });
    if (relay_) watch_relay(set);
    if (monitor_)
        set.watch(monitor_->fd(), POLLIN, [this](short events) {
            if (monitor_) handle_seccomp_notification(events);
        });
    if (network_) set.add(*network_);
    if (control_) control_->watch(set);
    if (hub_) hub_->watch(set);
}

// run --detach: the payload's stdin is /dev/null and its stdout and stderr one pipe the hub
// copies to the log (and to attached clients); they become its stdio through ours at the clone.
// With --tty the payload gets a pty instead (its master arrives with payload-started), and pid 1
// (whose stdio ours are too) writes to the log directly. Once I and N are cloned, our own output
// goes to the log (start_children), and the caller's terminal is nobody's.
void Supervisor::start_output_log() {
    output_log_.emplace(registration_->directory());
    UniqueFd null = open_fd("/dev/null", O_RDWR);
    dup_onto(null.get(), STDIN_FILENO);
    if (plan_.process.terminal_fds) {
        output_log_->take_own_output();
    } else {
        UniqueFd write_end;
        hub_.emplace(make_pipe_end_pair(write_end), false, *output_log_);
        dup_onto(write_end.get(), STDOUT_FILENO);
        dup_onto(write_end.get(), STDERR_FILENO);
    }
    log("detached: output goes to " + plan_.state_dir + "/" + plan_.name + "/" + kLogFile);
}

// run --detach: the caller returns once the payload exec'd (a failed exec is its error instead).
void Supervisor::report_detached_start() {
    if (detach_report_ < 0 || !handshake_.executed()) return;
    send_message_noexcept(detach_report_, Message{MessageType::PayloadExecuted, 0, 0, {}});
    detach_report_ = -1;
}

void Supervisor::start_control_server() {
    control_.emplace(registration_->directory(), [this](ControlServer::Call& call) { handle_control(call); });
    log("serving the control socket " + plan_.state_dir + "/" + plan_.name + "/control");
}

// `sandbox stop`: TERM to the payload (through pid 1, which forwards it), KILL to pid 1 once the
// grace period is over (or at once without one), which ends the whole PID namespace.
void Supervisor::stop_payload(std::uint32_t grace_ms) {
    if (grace_ms == 0) {
        send_signal_to_pidfd(init_.pidfd(), SIGKILL);
        return;
    }
    send_signal_to_pidfd(init_.pidfd(), SIGTERM);
    long long at = now_ms() + grace_ms;
    if (!kill_at_ms_ || at < kill_at_ms_) kill_at_ms_ = at;
}

// Each request of the control socket (ipc/control.hpp), by what it needs: wait and attach
// whenever (attach once there is output to attach to), inspect whenever, the others only while
// the payload runs.
void Supervisor::handle_control(ControlServer::Call& call) {
    const ControlRequest& request = call.request;
    int connection = call.connection.get();
    log(std::string("control: ") + to_string(request.type));
    if (request.type == ControlRequestType::Wait) return control_->add_waiter(std::move(call.connection));
    if (request.type == ControlRequestType::Attach && hub_) return hub_->add_client(std::move(call.connection));
    if (request.type == ControlRequestType::Inspect) return serve_inspect(connection);
    if (handshake_.state() != HandshakeState::Running) {
        bool ending = handshake_.state() == HandshakeState::Finished || handshake_.state() == HandshakeState::Failed;
        send_control_reply(connection, control_error(Stage::Control, "sandbox " + plan_.name + (ending ? " is ending" : " is still starting"),
                                                     "try again in a moment"));
        return;
    }
    switch (request.type) {
        case ControlRequestType::Kill: return serve_kill(connection, request.signal);
        case ControlRequestType::Stop:
            stop_payload(request.grace_ms);
            send_control_reply(connection, ControlReply{});  // accepted; the exit code follows
            return control_->add_waiter(std::move(call.connection));
        case ControlRequestType::Exec: return serve_exec(call);
        case ControlRequestType::Attach:
            send_control_reply(connection, control_error(Stage::Control, "sandbox " + plan_.name + " was not started with --detach",
                                                         "its output goes to the terminal that started it"));
            return;
        case ControlRequestType::Wait:
        case ControlRequestType::Inspect: return;
    }
}

// KILL goes to pid 1, which takes everything with it; the signals pid 1 forwards go to the
// payload through it; others would be lost on the way, so they are refused.
void Supervisor::serve_kill(int connection, int signal) {
    const auto& forwarded = forwarded_signals();
    if (signal != SIGKILL && std::find(forwarded.begin(), forwarded.end(), signal) == forwarded.end()) {
        send_control_reply(connection, control_error(Stage::Control, "signal " + std::to_string(signal) + " is not passed to the payload",
                                                     "use TERM, INT, HUP, QUIT, USR1, USR2, WINCH or KILL"));
        return;
    }
    send_signal_to_pidfd(init_.pidfd(), signal);
    send_control_reply(connection, ControlReply{});  // accepted
}

void Supervisor::serve_exec(ControlServer::Call& call) {
    int connection = call.connection.get();
    ExecTarget target{exec_namespaces_, plan_.namespaces, cgroup_ ? cgroup_->fd() : -1,
                      plan_.process, plan_.landlock, seccomp_, plan_.state_dir};
    std::string refusal = exec_refusal(target);
    if (refusal.empty() && exec_helpers_.size() >= kMaxExecSessions)
        refusal = "sandbox " + plan_.name + " already serves " + std::to_string(kMaxExecSessions) + " exec commands";
    if (!refusal.empty()) {
        send_control_reply(connection, control_error(Stage::Exec, refusal));
        return;
    }
    exec_helpers_.push_back(start_exec(target, call.connection, call.request, call.fds));
    log("exec: started helper " + std::to_string(exec_helpers_.back().pid()));
}

// The plan as applied and the live state; a plan too large for one reply goes without its text
// form (the JSON holds the same).
void Supervisor::serve_inspect(int connection) {
    ControlReply inspected;
    inspected.type = ControlReplyType::Inspected;
    LiveState live = live_state();
    std::string plan_json = render_plan_json(plan_);
    inspected.document = inspect_document(plan_json, render_plan(plan_), live);
    if (inspected.document.size() > kMaxReplyPacket - 1024)
        inspected.document = inspect_document(plan_json, "(the plan is too large to show as text here: see inspect --json)\n", live);
    if (inspected.document.size() > kMaxReplyPacket - 1024 || !send_control_reply(connection, inspected))
        send_control_reply(connection, control_error(Stage::Control, "the inspection of " + plan_.name + " is too large to send (" +
                                                                         std::to_string(inspected.document.size()) + " bytes)"));
}

LiveState Supervisor::live_state() const {
    LiveState live;
    live.supervisor_pid = ::getpid();
    live.init_pid = init_.pid();
    live.created = registration_ ? registration_->record().created : 0;
    live.now = ::time(nullptr);
    if (cgroup_) {
        CgroupStats stats = collect_stats([&](const std::string& file) { return cgroup_->read(file); });
        live.cgroup = cgroup_->path();
        live.paused = stats.frozen;
        live.memory_current = stats.memory_current;
        live.pids_current = stats.pids_current;
    }
    live.exec_sessions = exec_helpers_.size();
    live.attached_clients = hub_ ? hub_->clients() : 0;
    if (output_log_) live.log = plan_.state_dir + "/" + plan_.name + "/" + kLogFile;
    live.tty = hub_ && hub_->tty();
    return live;
}

// The sandbox ended: whoever waits hears how, and the exec helpers (their commands died with the
// PID namespace) get a moment to tell their callers.
void Supervisor::finish_control(const ControlReply& reply) {
    if (!control_) return;
    control_->close_listener();
    control_->answer_waiters(reply);
    if (hub_) hub_->finish(reply.exit_code);
    for (auto& helper : exec_helpers_) {
        pollfd exited{helper.pidfd(), POLLIN, 0};
        if (::poll(&exited, 1, kDrainMs) > 0) helper.wait();
    }
    exec_helpers_.clear();
}

void Supervisor::event_loop() {
    while (!finished() && !aborted_by_) {
        refill_poll_set();
        PollSet& set = poll_set_;
        int own_timeout = poll_timeout();
        int ready = set.wait(own_timeout);  // libslirp's timers may shorten the timeout
        // Checked whatever poll says: a payload that keeps some fd busy must not delay it.
        if (timeout_at_ms_ && now_ms() >= timeout_at_ms_ && handshake_.state() == HandshakeState::Running)
            enforce_timeout();
        if (kill_at_ms_ && now_ms() >= kill_at_ms_ && handshake_.state() == HandshakeState::Running) {
            log("stop: the grace period is over; sending KILL");
            send_signal_to_pidfd(init_.pidfd(), SIGKILL);
            kill_at_ms_ = 0;
        }
        set.dispatch_sources(ready < 0);
        if (ready <= 0) {
            if (ready == 0 && set.timeout() == own_timeout) on_timeout();
            continue;
        }
        set.dispatch_watchers();
        if (relay_ && relay_->finished()) {
            relay_.reset();
            raw_.reset();
        }
    }
}

void Supervisor::open_violations_log() {
    if (options_.violations.empty()) return;
    // The user's own file, written by us outside the sandbox; O_APPEND keeps each record whole.
    violations_log_ = open_at(AT_FDCWD, options_.violations,
                              O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);
}

void Supervisor::handle_seccomp_notification(short events) {
    if (events & POLLIN) {
        monitor_->handle();
    } else if (events & (POLLHUP | POLLERR | POLLNVAL)) {
        // Every process under the filter has exited: say what it found, then stop polling it.
        report_seccomp();
        monitor_.reset();
    }
}

// What log and learn modes found, once.
void Supervisor::report_seccomp() const {
    if (!monitor_) return;
    if (plan_.process.seccomp.mode == SeccompMode::Learn) {
        if (monitor_->let_through().empty()) {
            std::cerr << "sandbox: learn: the filter refused nothing\n";
        } else {
            std::cerr << "sandbox: learn: " << monitor_->count()
                      << " call(s) the filter refuses were let through; to allow them, add to the profile:\n"
                      << learned_allow_lines(monitor_->let_through());
            std::string risky = risky_allowances(monitor_->let_through());
            if (!risky.empty())
                std::cerr << "sandbox: learn: think twice before allowing " << risky
                          << ": the payload chose what to call, and these lift the fences that matter most\n";
        }
    }
    if (!options_.violations.empty() && monitor_->count()) {
        std::cerr << "sandbox: " << monitor_->count() << " refused system call(s); "
                  << std::min(monitor_->count(), SeccompMonitor::kMaxRecords) << " recorded in " << options_.violations
                  << (monitor_->count() > SeccompMonitor::kMaxRecords ? " (the rest were not: the log is capped)" : "")
                  << "\n";
        if (monitor_->lost())
            std::cerr << "sandbox: warning: " << monitor_->lost() << " record(s) could not be written to "
                      << options_.violations << "\n";
    }
}

// What allow_domains refused (or, learning, let through), once the sandbox ended.
void Supervisor::report_network() const {
    if (!network_ || plan_.slirp.allow_domains.empty()) return;
    const NetworkRefusals& refused = network_->refusals();
    if (plan_.slirp.learn) {
        if (refused.domains.empty() && refused.egress.empty()) {
            std::cerr << "sandbox: learn: allow_domains refused nothing\n";
        } else {
            std::cerr << "sandbox: learn: names and flows allow_domains refuses were let through; to allow them, add to "
                         "[network]:\n";
            auto list = [](const std::set<std::string>& items) {
                std::string out;
                for (const auto& item : items) out += (out.empty() ? "\"" : ", \"") + item + "\"";
                return out;
            };
            if (!refused.domains.empty()) std::cerr << "allow_domains = [" << list(refused.domains) << "]\n";
            if (!refused.egress.empty()) std::cerr << "egress = { allow = [" << list(refused.egress) << "] }\n";
        }
    } else if (refused.count) {
        std::cerr << "sandbox: allow_domains refused " << refused.count << " name(s) and flow(s)"
                  << (options_.violations.empty() ? " (--violations FILE records them)" : "; recorded in " + options_.violations)
                  << "\n";
    }
    if (refused.lost)
        std::cerr << "sandbox: warning: " << refused.lost << " record(s) could not be written to " << options_.violations << "\n";
}

int Supervisor::run() {
    try {
        int exit_code = run_stages();
        status_.exited(exit_code);
        if (registration_) registration_->finish(exit_code);  // before the waiters hear it
        ControlReply exited;
        exited.type = ControlReplyType::Exited;
        exited.exit_code = exit_code;
        finish_control(exited);
        return exit_code;
    } catch (const SetupError& error) {
        // Only once nothing of the sandbox runs: a reader may take the line to mean so.
        init_.kill_and_reap();
        network_maker_.kill_and_reap();
        status_.exited(error.exit_code());  // 125, or 126/127 for a payload that could not run
        // A sandbox that never ran leaves nothing behind; one whose payload ran keeps its record.
        if (registration_ && handshake_.executed()) registration_->finish(error.exit_code());
        conclude_changes(handshake_.executed());
        finish_control(control_error(error.stage(), error.message(), error.hint(), error.exit_code()));
        throw;
    }
}

int Supervisor::run_stages() {
    ::signal(SIGPIPE, SIG_IGN);  // first: even a failure at once writes to --json-status-fd
    sigset_t set = forwarded_signal_set(true);
    sigset_t old = block_signals(set);
    signals_ = make_signalfd(set);
    check_limit_policy();
    open_violations_log();
    seccomp_ = seccomp_program_for(plan_.process.seccomp);
    log("compiled the seccomp filter: " + std::to_string(seccomp_.code.size()) + " instructions");
    register_and_make_cgroup();
    prepare_changes();
    start_children();
    event_loop();
    raw_.reset();
    // Answers of the user's terminal to queries the payload sent (cursor position, colours)
    // that came too late for the relay must not land in the user's shell.
    if (relayed_input_) discard_pending_input(STDIN_FILENO);
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    report_seccomp();
    report_network();
    int exit_code = conclude();
    if (timeout_signal_) {
        std::cerr << "sandbox: timeout: the command ran longer than " << format_duration_ms(plan_.timeout_ms)
                  << " (--timeout or timeout in the profile); sent TERM"
                  << (timeout_signal_ == SIGKILL ? ", then KILL after " + format_duration_ms(static_cast<std::uint64_t>(kTimeoutGraceMs)) : std::string())
                  << "\n";
        exit_code = kExitTimeout;
    }
    report_outcome(exit_code);
    conclude_changes(true);
    if (cgroup_) {
        long long began = now_us();
        cgroup_.reset();  // kill what is left, remove the directory
        log("removed the cgroup in " + std::to_string(now_us() - began) + " us");
    }
    return exit_code;
}

int Supervisor::conclude() {
    if (aborted_by_) return exit_code_for_status(true, aborted_by_);
    switch (handshake_.state()) {
        case HandshakeState::Finished: return handshake_.exit_code();
        case HandshakeState::Failed: {
            const Message& failure = handshake_.failure();
            if (failure.type == MessageType::ExecFailed) {
                ExecFailedFields exec = exec_failed_fields(failure);
                const std::string& command = exec.command;
                if (handshake_.exit_code() == kExitNotFound)
                    throw SetupError(Stage::Exec, command + ": command not found",
                                     "the command must exist inside the sandbox: check its name, PATH, "
                                     "and that the profile mounts the directory it lives in",
                                     kExitNotFound);
                throw SetupError(Stage::Exec, command + ": cannot execute: " + std::strerror(exec.error), "",
                                 kExitCannotExecute);
            }
            SetupFailedFields setup = setup_failed_fields(failure);
            if (setup.error) log("the child's errno: " + std::to_string(setup.error) + " (" + std::strerror(setup.error) + ")");
            throw SetupError(setup.stage, setup.message, setup.hint);
        }
        case HandshakeState::Running:
            // The payload started but I ended without reporting it: I was killed.
            if (init_.status()) return exit_code_for_wait_status(*init_.status());
            return kExitSetupFailed;
        default: {
            std::string why = init_.status() && WIFSIGNALED(*init_.status())
                                  ? std::string("killed by signal ") + std::to_string(WTERMSIG(*init_.status()))
                                  : "exited early";
            throw SetupError(Stage::Setup, "the sandbox's pid 1 " + why + " while setting up", "run with --verbose");
        }
    }
}

}  // namespace

int run_sandbox(const Plan& plan, const RunOptions& options) {
    Supervisor supervisor(plan, options);
    return supervisor.run();
}

}  // namespace sb
