// Theory of operation of I, the sandbox's pid 1, cloned by S with every namespace but the network's:
//   - set the parent-death signal first, then re-check that the supervisor still holds its end
//     of the sync socket; close every inherited fd but that one; a session of our own;
//   - wait for S's word that the id maps are written, then join a fresh session keyring;
//   - non-dumpable (only now: S writes the maps through our /proc files, and opens our user
//     namespace there for N), so the payload cannot ptrace or read our memory;
//   - build the filesystem while N makes the network namespace, then join it (mode slirp: join
//     it first, as the interface needs the host's /dev/net/tun and /proc/sys); the hostname;
//     open a pty in our own devpts when the user is on a terminal, and hand its master to the
//     supervisor;
//   - mode slirp: hand the frames fd over, and before the payload wait for the supervisor's word
//     that the network runs and every port forward listens;
//   - load the seccomp filter (built-in policies; see filter_loaded_before_fork) and hand its
//     listener, in log and learn modes, to the supervisor;
//   - vfork the payload (which inherits the filter), drop every capability but CAP_KILL (and
//     load the filter now if the payload loads its own), then loop on a signalfd: reap every
//     child (orphans are reparented to us), forward signals to the payload, and when the payload
//     exits report its status and exit, which makes the kernel kill everything left in the PID
//     namespace.
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>

#include <cerrno>
#include <optional>
#include <string_view>
#include <fcntl.h>

#include "caps/caps.hpp"
#include "exitcode.hpp"
#include "init/init.hpp"
#include "ipc/channel.hpp"
#include "mount/mount.hpp"
#include "net/guest_interface.hpp"
#include "ns/namespaces.hpp"
#include "seccomp/apply.hpp"
#include "sys/error.hpp"
#include "sys/hints.hpp"
#include "sys/signals.hpp"
#include "sys/mountapi.hpp"
#include "sys/syscalls.hpp"

namespace sb {
namespace {

bool supervisor_gone(int sync) {
    pollfd p{sync, 0, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR));
}

constexpr std::size_t kNetIndex = 5;
static_assert(std::string_view(PayloadStartedFields::kNames[kNetIndex]) == "net");

// The inode numbers of our namespaces (for --json-status-fd), read while the host's /proc is
// still in our view (the sandbox may have none); the network namespace N makes is counted when
// joined. A namespace not read stays 0.
PayloadStartedFields own_namespace_ids() {
    PayloadStartedFields ids;
    for (std::size_t i = 0; i < PayloadStartedFields::kCount; ++i) {
        struct stat st;
        std::string path = std::string("/proc/self/ns/") + PayloadStartedFields::kNames[i];
        if (::stat(path.c_str(), &st) == 0) ids.namespaces[i] = st.st_ino;
    }
    return ids;
}

// N sends the network namespace it made (or its failure, which we pass on as ours): we join it
// and return it. Nothing (S is gone) ends us quietly.
UniqueFd join_network_namespace_from_maker(int sync) {
    auto received = receive_message(sync);
    if (!received) ::_exit(kExitSetupFailed);
    if (received->message.type == MessageType::SetupFailed) throw reported_failure(received->message);
    if (received->message.type != MessageType::NetworkNamespace)
        throw SetupError(Stage::Protocol, std::string("expected the network namespace, got ") +
                                              to_string(received->message.type), hint(Cause::Bug));
    UniqueFd ns = received->take_fd();
    join_network_namespace(ns.get());
    return ns;
}

// Mode slirp: the payload starts only once the supervisor runs the network and every port
// forward listens. Anything else (the supervisor failed, e.g. on a busy port, and is gone or
// going) ends us quietly: the supervisor reports why.
void wait_for_network(int sync) {
    auto go = receive_message(sync);
    if (!go || go->message.type != MessageType::NetworkStarted) ::_exit(kExitSetupFailed);
}

// A pty of the sandbox's own: from its /dev/pts when the profile has a `dev` mount, else from
// a private devpts instance that is never attached anywhere (the payload must never get the
// caller's terminal itself: outside the caller's session it would escape job control and could
// read what the user types into the outer shell).
}  // namespace

SandboxTerminal open_sandbox_terminal(bool private_instance) {
    SandboxTerminal terminal;
    UniqueFd dev = private_instance ? UniqueFd() : try_open_at(AT_FDCWD, "/dev", O_PATH | O_DIRECTORY);
    UniqueFd ptmx = dev ? try_open_at(dev.get(), "pts/ptmx", O_PATH) : UniqueFd();
    if (ptmx) {
        terminal.master = ptmx_master(dev.get());
    } else {
        UniqueFd devpts = new_filesystem("devpts", {{"newinstance", ""}, {"ptmxmode", "0666"}, {"mode", "0620"}},
                                         MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, "a private devpts");
        terminal.master = open_at(devpts.get(), "ptmx", O_RDWR | O_NOCTTY);
    }
    // Unlock the peer; TIOCGPTPEER then opens it without a path lookup.
    int unlock = 0;
    check(::ioctl(terminal.master.get(), TIOCSPTLCK, &unlock), "unlock pty", "ptmx");
    terminal.peer = pty_peer(terminal.master.get());
    return terminal;
}

namespace {

// Reaps every exited child; returns true when `payload` was among them (status stored).
bool reap_children(pid_t payload, int& payload_status) {
    bool payload_done = false;
    for (;;) {
        int status = 0;
        pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0) return payload_done;
        if (pid == payload) {
            payload_status = status;
            payload_done = true;
        }
    }
}

[[noreturn]] void supervise_payload(int sync, int signals, pid_t payload) {
    for (;;) {
        signalfd_siginfo info;
        ssize_t got = ::read(signals, &info, sizeof info);
        if (got != sizeof info) {
            pollfd p{signals, POLLIN, 0};
            ::poll(&p, 1, -1);
            continue;
        }
        int signal = static_cast<int>(info.ssi_signo);
        if (signal == SIGCHLD) {
            int status = 0;
            if (!reap_children(payload, status)) continue;
            bool by_signal = WIFSIGNALED(status);
            int value = by_signal ? WTERMSIG(status) : WEXITSTATUS(status);
            send_message_noexcept(sync, to_message(PayloadExitedFields{by_signal, value}));
            ::_exit(exit_code_for_status(by_signal, value));
        }
        // Everything else came from the supervisor (the sandbox has no terminal of the
        // caller's, so no terminal signal reaches us directly): pass it on.
        ::kill(payload, signal);
    }
}

}  // namespace

SetupError reported_failure(const Message& message) {
    SetupFailedFields failure = setup_failed_fields(message);
    return SetupError(failure.stage, failure.message, failure.hint).caused_by(failure.error);
}

void wait_for_maps(int sync) {
    std::optional<SetupError> failure;
    auto received = receive_message(sync);
    if (received && received->message.type == MessageType::SetupFailed) {
        failure = reported_failure(received->message);
        received = receive_message(sync);
    }
    if (!received || received->message.type != MessageType::MapsWritten) ::_exit(kExitSetupFailed);
    if (failure) throw *failure;
}

void load_filter(const SandboxChild& child) {
    // The kernel wants no_new_privs (or CAP_SYS_ADMIN) to load a filter; the payload sets it anyway.
    apply_no_new_privs();
    UniqueFd listener = apply_seccomp(child.seccomp, true);
    if (listener) send_message(child.sync, Message{MessageType::SeccompListener, 0, 0, {}}, {listener.get()});
}

[[noreturn]] void run_init(const SandboxChild& child) {
    try {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (supervisor_gone(child.sync)) ::_exit(kExitSetupFailed);
        // Nothing of the caller's beyond stdio may reach the payload (runc CVE-2024-21626): fds
        // without CLOEXEC survive a clone, so close them here.
        close_fds_except({child.sync});
        // A session of our own: our caller's terminal is nobody's controlling terminal in here
        // (no TIOCSTI into it), and its signals go to the supervisor only, which forwards them.
        check(::setsid(), "setsid");
        wait_for_maps(child.sync);
        in_stage(Stage::Keyring, join_fresh_session_keyring);
        ::prctl(PR_SET_DUMPABLE, 0);
        // The signal mask inherited from the supervisor already blocks these.
        UniqueFd signals = in_stage(Stage::Init, [] { return make_signalfd(forwarded_signal_set(true)); });
        // Read only when asked for: seven stats at every start otherwise.
        PayloadStartedFields namespace_ids = child.report_namespaces ? own_namespace_ids() : PayloadStartedFields{};
        auto join_network = [&] {
            UniqueFd net = join_network_namespace_from_maker(child.sync);
            struct stat st;
            if (child.report_namespaces && ::fstat(net.get(), &st) == 0) namespace_ids.namespaces[kNetIndex] = st.st_ino;
            // For `sandbox exec`: S cannot open our /proc/PID/ns/net (we are not dumpable any more).
            if (child.share_network) send_message(child.sync, Message{MessageType::SandboxNetwork, 0, 0, {}}, {net.get()});
        };
        // Before the filesystem: the interface needs the host's /dev/net/tun and /proc/sys.
        if (child.slirp) {
            join_network();
            UniqueFd frames = setup_guest_interface(*child.slirp);
            send_message(child.sync, Message{MessageType::NetworkReady, 0, 0, {}}, {frames.get()});
        }
        setup_filesystem(child.mounts, child.process.uid, child.process.gid, child.hidden_dirs);
        // Without slirp, N made the network namespace meanwhile: nothing before needed it.
        if (child.namespaces.net && !child.slirp) join_network();
        setup_hostname(child.namespaces);
        SandboxTerminal terminal;
        if (child.process.terminal_fds) terminal = in_stage(Stage::Terminal, [] { return open_sandbox_terminal(); });
        // Everything that can fail is set up before the payload's first instruction.
        if (child.slirp) in_stage(Stage::Network, [&] { wait_for_network(child.sync); });
        bool loaded_before_fork = filter_loaded_before_fork(child.process.seccomp);
        // Before the payload's fork, so the payload inherits the filter instead of loading it again.
        if (loaded_before_fork) in_stage(Stage::Seccomp, [&] { load_filter(child); });
        // Announce before forking: the payload's own messages (exec failed) must come after.
        send_message(child.sync, to_message(namespace_ids), {terminal.master.get()});
        terminal.master.reset();
        // vfork: the payload borrows our memory until it execs (or _exits), so no page tables
        // are copied and nothing is copied on write: measurably faster start-up here. Safe
        // because run_payload never returns, we are single-threaded and suspended meanwhile,
        // and what it changes that is not memory (ids, caps, signal mask, session) is its own.
        pid_t payload = ::vfork();
        if (payload == 0) run_payload(child, terminal.peer.get());
        in_stage(Stage::Payload, [&] { check(payload, "fork", "payload"); });
        // We were suspended until the payload exec'd or failed (and said so first): `run
        // --detach` returns once this arrives. Only then: every message wakes the supervisor.
        if (child.report_exec) send_message(child.sync, Message{MessageType::PayloadExecuted, 0, 0, {}});
        terminal.peer.reset();
        // Setup is over: pid 1 keeps only CAP_KILL (to signal a payload running as another id).
        apply_capability_bounds({CAP_KILL});
        apply_capability_sets({CAP_KILL});
        apply_no_new_privs();
        // pid 1 is inside the sandbox too: the same filter, so a payload that took it over
        // (ptrace is refused, but defence in depth) gains nothing.
        if (!loaded_before_fork) in_stage(Stage::Seccomp, [&] { apply_seccomp(child.seccomp, false); });
        supervise_payload(child.sync, signals.get(), payload);
    } catch (const std::exception& error) {
        fail_child(child.sync, error);
    }
}

}  // namespace sb
