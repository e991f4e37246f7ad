// Theory of operation of S:
//   1. block the forwarded signals and SIGCHLD and read them from a signalfd (one poll loop);
//   2. clone C into a new user namespace (C waits), write its id maps, tell it to go on;
//   3. C creates the nested namespaces and clones I (pid 1) as our child; C sends I's pidfd;
//   4. I builds the sandbox and announces the payload (with a pty master when on a terminal);
//   5. loop: relay the terminal, forward signals to I, reap children, until I has exited and
//      the sync socket is closed. Every wait before the payload starts has a deadline.
// The Supervisor object owns the children: leaving early (an exception) kills and reaps them.
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <optional>

#include "exitcode.hpp"
#include "idmap/write_maps.hpp"
#include "init/init.hpp"
#include "ipc/channel.hpp"
#include "ipc/handshake.hpp"
#include "supervisor/supervisor.hpp"
#include "sys/error.hpp"
#include "sys/signals.hpp"
#include "sys/syscalls.hpp"
#include "term/terminal.hpp"

namespace sb {
namespace {

constexpr int kSetupDeadlineMs = 30000;

long long now_ms() {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

// A child process we must reap; killed on destruction unless already reaped.
struct Child {
    pid_t pid = -1;
    UniqueFd pidfd;
    std::optional<int> status;

    bool running() const { return pid > 0 && !status; }
    void kill_and_reap() {
        if (!running()) return;
        if (pidfd) send_signal_to_pidfd(pidfd.get(), SIGKILL);
        else ::kill(pid, SIGKILL);
        int s = 0;
        while (::waitpid(pid, &s, 0) < 0 && errno == EINTR) {
        }
        status = s;
    }
    ~Child() { kill_and_reap(); }
};

class Supervisor {
public:
    Supervisor(const Plan& plan, const RunOptions& options) : plan_(plan), options_(options) {}
    int run();

private:
    void log(const std::string& text) const {
        if (options_.verbose) std::cerr << "sandbox: [" << now_ms() - start_ms_ << " ms] " << text << "\n";
    }
    void start_children(bool use_terminal);
    void handle_message();
    void handle_signals();
    void reap_children();
    void relay(int fd, short revents);
    bool finished() const {
        // The sync socket closes only when C, I and the payload are all gone.
        return !setup_.running() && !init_.running() && !sync_ && !master_;
    }
    int conclude();

    const Plan& plan_;
    RunOptions options_;
    long long start_ms_ = now_ms();
    Handshake handshake_;
    UniqueFd sync_, signals_, master_;
    Child setup_, init_;
    std::optional<RawTerminal> raw_;
    bool stdin_open_ = true;
    int aborted_by_ = 0;
};

void Supervisor::start_children(bool use_terminal) {
    auto [mine, theirs] = seqpacket_pair();
    pid_t pid = clone_with_pidfd(CLONE_NEWUSER, setup_.pidfd);
    if (pid == 0) {
        mine.reset();
        signals_.reset();
        run_setup_child(SandboxChild{plan_, theirs.get(), use_terminal});
    }
    setup_.pid = pid;
    sync_ = std::move(mine);
    log("cloned the setup process " + std::to_string(pid) + " into a new user namespace");
    write_id_maps_from_parent(pid, plan_.ids);
    log("wrote the id maps");
    send_message(sync_.get(), Message{MessageType::MapsWritten, 0, 0, {}});
    handshake_.maps_written();
}

void Supervisor::handle_message() {
    auto received = receive_message(sync_.get());
    if (!received) {
        sync_.reset();
        return;
    }
    const Message& message = received->message;
    HandshakeState before = handshake_.state();
    if (before == HandshakeState::Failed || before == HandshakeState::Finished) return;
    if (auto error = handshake_.receive(message))
        throw SetupError("protocol", *error, "this is a bug in sandbox; please report it");
    if (message.type == MessageType::InitStarted) {
        init_.pid = message.int0;
        init_.pidfd = std::move(received->fd);
        log("init started as host pid " + std::to_string(init_.pid));
    } else if (message.type == MessageType::PayloadStarted) {
        log("sandbox ready; starting the payload");
        if (received->fd) {
            master_ = std::move(received->fd);
            copy_window_size(STDIN_FILENO, master_.get());
            raw_.emplace(STDIN_FILENO);
        }
    } else if (message.type == MessageType::PayloadExited) {
        log("payload exited; exit code " + std::to_string(handshake_.exit_code()));
    }
}

void Supervisor::reap_children() {
    for (;;) {
        int status = 0;
        pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0) return;
        if (pid == setup_.pid) setup_.status = status;
        if (pid == init_.pid) init_.status = status;
    }
}

void Supervisor::handle_signals() {
    signalfd_siginfo info;
    while (::read(signals_.get(), &info, sizeof info) == sizeof info) {
        int signal = static_cast<int>(info.ssi_signo);
        if (signal == SIGCHLD) {
            reap_children();
        } else if (signal == SIGWINCH && master_) {
            copy_window_size(STDIN_FILENO, master_.get());
        } else if (handshake_.state() != HandshakeState::Running) {
            if (signal != SIGWINCH && signal != SIGUSR1 && signal != SIGUSR2) {
                aborted_by_ = signal;  // interrupted during setup: stop everything
                init_.kill_and_reap();
                setup_.kill_and_reap();
            }
        } else if (init_.pidfd && !(info.ssi_code == SI_KERNEL && !master_)) {
            // A terminal-generated signal (SI_KERNEL) already reached the payload's group.
            send_signal_to_pidfd(init_.pidfd.get(), signal);
        }
    }
}

void Supervisor::relay(int fd, short revents) {
    if (!(revents & (POLLIN | POLLHUP | POLLERR))) return;
    if (fd == STDIN_FILENO) {
        if (!relay_bytes(STDIN_FILENO, master_.get())) stdin_open_ = false;
    } else if (!relay_bytes(master_.get(), STDOUT_FILENO)) {
        master_.reset();
        raw_.reset();
    }
}

int Supervisor::run() {
    bool use_terminal = is_terminal(STDIN_FILENO) && is_terminal(STDOUT_FILENO);
    sigset_t set = forwarded_signal_set(true);
    sigset_t old = block_signals(set);
    signals_ = make_signalfd(set);
    ::signal(SIGPIPE, SIG_IGN);
    start_children(use_terminal);
    long long deadline = now_ms() + kSetupDeadlineMs;
    while (!finished() && !aborted_by_) {
        pollfd fds[4];
        int count = 0;
        fds[count++] = {signals_.get(), POLLIN, 0};
        if (sync_) fds[count++] = {sync_.get(), POLLIN, 0};
        if (master_) fds[count++] = {master_.get(), POLLIN, 0};
        if (master_ && stdin_open_) fds[count++] = {STDIN_FILENO, POLLIN, 0};
        bool setting_up = handshake_.state() != HandshakeState::Running &&
                          handshake_.state() != HandshakeState::Finished;
        int timeout = setting_up ? static_cast<int>(std::max(0LL, deadline - now_ms())) : -1;
        // Once the sandbox is gone, a pty still open means output to drain: don't wait forever.
        if (!init_.running() && init_.pid > 0) timeout = 1000;
        int ready = ::poll(fds, static_cast<nfds_t>(count), timeout);
        if (ready < 0 && errno == EINTR) continue;
        check(ready, "poll");
        if (ready == 0) {
            if (!init_.running() && init_.pid > 0) {
                master_.reset();
                raw_.reset();
                sync_.reset();
                continue;
            }
            throw SetupError("setup", std::string("the sandbox did not finish setting up within 30 s (") +
                                          to_string(handshake_.state()) + ")",
                             "run with --verbose to see the last stage reached");
        }
        for (int i = 0; i < count; ++i) {
            if (!fds[i].revents) continue;
            if (fds[i].fd == signals_.get()) handle_signals();
            else if (sync_ && fds[i].fd == sync_.get()) handle_message();
            else relay(fds[i].fd, fds[i].revents);
        }
    }
    raw_.reset();
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    return conclude();
}

int Supervisor::conclude() {
    if (aborted_by_) return exit_code_for_status(true, aborted_by_);
    switch (handshake_.state()) {
        case HandshakeState::Finished: return handshake_.exit_code();
        case HandshakeState::Failed: {
            const Message& failure = handshake_.failure();
            if (failure.type == MessageType::ExecFailed) {
                const std::string command = failure.text.empty() ? "?" : failure.text[0];
                if (handshake_.exit_code() == kExitNotFound)
                    throw SetupError("exec", command + ": command not found",
                                     "the command must exist inside the sandbox: check its name, PATH, "
                                     "and that the profile mounts the directory it lives in",
                                     kExitNotFound);
                throw SetupError("exec", command + ": cannot execute: " + std::strerror(failure.int0), "",
                                 kExitCannotExecute);
            }
            std::string text = failure.text.size() > 1 ? failure.text[1] : "failed";
            if (failure.int0) text += std::string(": ") + std::strerror(failure.int0);
            throw SetupError(failure.text.empty() ? "setup" : failure.text[0], text,
                             failure.text.size() > 2 ? failure.text[2] : "");
        }
        case HandshakeState::Running:
            // The payload started but I ended without reporting it: I was killed.
            if (init_.status) return exit_code_for_wait_status(*init_.status);
            return kExitSetupFailed;
        default: {
            std::string why = setup_.status && WIFSIGNALED(*setup_.status)
                                  ? std::string("killed by signal ") + std::to_string(WTERMSIG(*setup_.status))
                                  : "exited early";
            throw SetupError("setup", "the sandbox's setup process " + why, "run with --verbose");
        }
    }
}

}  // namespace

int run_sandbox(const Plan& plan, const RunOptions& options) {
    Supervisor supervisor(plan, options);
    return supervisor.run();
}

}  // namespace sb
