#include "supervisor/exec.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "exitcode.hpp"
#include "init/init.hpp"
#include "ipc/channel.hpp"
#include "ns/namespaces.hpp"
#include "plan/exec_process.hpp"
#include "supervisor/control_server.hpp"
#include "sys/error.hpp"
#include "sys/syscalls.hpp"

namespace sb {
namespace {

// What X reported before it exec'd (a failed step, or a failed exec), as the caller's error.
std::optional<ControlReply> read_reports(int sync) {
    std::optional<ControlReply> failure;
    for (;;) {
        std::optional<Received> received;
        try {
            received = receive_message(sync);
        } catch (const std::exception& error) {
            return control_error(Stage::Protocol, error.what());
        }
        if (!received) return failure;
        const Message& message = received->message;
        if (message.type == MessageType::SetupFailed) {
            SetupError error = reported_failure(message);
            failure = control_error(error.stage(), error.message(), error.hint());
        } else if (message.type == MessageType::ExecFailed) {
            ExecFailedFields exec = exec_failed_fields(message);
            int code = exit_code_for_exec_error(exec.error);
            failure = code == kExitNotFound
                          ? control_error(Stage::Exec, exec.command + ": command not found",
                                          "the command must exist inside the sandbox: check its name and PATH", code)
                          : control_error(Stage::Exec, exec.command + ": cannot execute: " + std::strerror(exec.error),
                                          "", code);
        }
    }
}

const char* namespace_name(int type) {
    switch (type) {
        case CLONE_NEWUSER: return "user";
        case CLONE_NEWNS: return "mount";
        case CLONE_NEWPID: return "PID";
        case CLONE_NEWUTS: return "UTS";
        case CLONE_NEWIPC: return "IPC";
        case CLONE_NEWNET: return "network";
        case CLONE_NEWCGROUP: return "cgroup";
        default: return "?";
    }
}

void join_namespace(const NamespaceFd& ns) {
    if (::setns(ns.fd.get(), ns.type) < 0)
        throw SetupError(Stage::Namespaces,
                         std::string("setns into the sandbox's ") + namespace_name(ns.type) + " namespace: " + std::strerror(errno),
                         "the sandbox may be ending");
}

// Waits for the command; a caller that goes away (killed, or its terminal closed) hangs it up
// with SIGHUP, as a terminal's hangup would: to its session's process group (it leads both), so
// `timeout 5 sandbox exec sh -c 'a & b'` leaves nothing running that did not choose to. Its pid
// names it while it is our unreaped child, and its group while that has members (the kernel
// reuses neither meanwhile).
int wait_hanging_up(ChildProcess& command, int connection) {
    bool hung_up = false;
    for (;;) {
        pollfd fds[2] = {{command.pidfd(), POLLIN, 0}, {hung_up ? -1 : connection, 0, 0}};
        if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
        if (fds[0].revents) break;
        if (fds[1].revents & (POLLHUP | POLLERR)) {
            hung_up = true;
            ::kill(-command.pid(), SIGHUP);
            send_signal_to_pidfd(command.pidfd(), SIGHUP);
        }
    }
    return command.wait();
}

[[noreturn]] void run_exec_helper(const ExecTarget& target, pid_t supervisor, int connection,
                                  const ControlRequest& request, std::vector<UniqueFd>& stdio) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != supervisor) ::_exit(kExitSetupFailed);
    // We gain every capability in the sandbox's user namespace: nothing inside may read our memory
    // or fds (the kernel clears dumpable on that change anyway; said here, not left to it).
    ::prctl(PR_SET_DUMPABLE, 0);
    try {
        std::vector<int> keep{connection, target.cgroup_fd, stdio[0].get(), stdio[1].get(), stdio[2].get()};
        for (const auto& ns : target.namespaces) keep.push_back(ns.fd.get());
        close_fds_except(keep);
        ProcessSpec process = exec_process(target.payload, request);
        // The user namespace first: it gives the capabilities the others want. Joining the mount
        // namespace makes the sandbox's root our root and working directory. The cgroup namespace
        // is the command's to join, once in the sandbox's cgroup: with nsdelegate the kernel lets
        // clone3 move a child only between cgroups inside the caller's cgroup namespace, and ours
        // is not (ENOENT).
        int cgroup_namespace = -1;
        for (const auto& ns : target.namespaces) {
            if (ns.type == CLONE_NEWCGROUP) {
                cgroup_namespace = ns.fd.get();
                continue;
            }
            join_namespace(ns);
        }
        // From a devpts instance of its own, never the sandbox's /dev/pts: there the payload (the
        // same uid in root mode) could open the command's terminal and read what the user types.
        SandboxTerminal terminal;
        if (process.terminal_fds) terminal = in_stage(Stage::Terminal, [] { return open_sandbox_terminal(true); });
        auto [reports, theirs] = seqpacket_pair();
        static const std::vector<MountStep> no_mounts;
        static const std::vector<std::string> no_hidden_dirs;
        SandboxChild child{target.plan, no_mounts, no_hidden_dirs, nullptr, process,
                           target.landlock, target.seccomp, theirs.get(), false, true, false, false};
        UniqueFd pidfd;
        pid_t pid = in_stage(Stage::Payload, [&] { return clone_with_pidfd(0, pidfd, target.cgroup_fd); });
        if (pid == 0) {
            reports.reset();
            try {
                if (cgroup_namespace >= 0) join_namespace(NamespaceFd{UniqueFd(cgroup_namespace), CLONE_NEWCGROUP});
                // A session of its own, terminal or not: in ours (the supervisor's), the caller's
                // terminal of a foreground run would be its controlling terminal (/dev/tty, TIOCSTI).
                // With a pty, run_payload makes it the controlling terminal of this new session.
                if (!process.terminal_fds) check(::setsid(), "setsid");
                for (int fd = 0; fd < 3; ++fd)
                    if (!(process.terminal_fds & (1u << fd))) dup_onto(stdio[static_cast<std::size_t>(fd)].get(), fd);
                // Nothing of ours beyond stdio (the namespaces, the cgroup, the connection) stays
                // open while the command's own steps run in a tree the payload controls.
                close_fds_except({theirs.get(), terminal.peer.get()});
                in_stage(Stage::Keyring, join_fresh_session_keyring);
            } catch (const std::exception& error) {
                fail_child(theirs.get(), error);
            }
            run_payload(child, terminal.peer.get());
        }
        ChildProcess command(pid, std::move(pidfd));
        if (target.cgroup_fd >= 0) ::close(target.cgroup_fd);  // ours, inherited: done with it
        theirs.reset();
        terminal.peer.reset();
        stdio.clear();  // the caller's stdio is the command's alone now
        ControlReply started;
        started.type = ControlReplyType::Started;
        send_control_reply(connection, started, {terminal.master.get()});
        terminal.master.reset();
        std::optional<ControlReply> failure = read_reports(reports.get());  // until it exec'd or failed
        int status = wait_hanging_up(command, connection);
        ControlReply exited;
        exited.type = ControlReplyType::Exited;
        exited.exit_code = exit_code_for_wait_status(status);
        send_control_reply(connection, failure ? *failure : exited);
        ::_exit(0);
    } catch (const SetupError& error) {
        send_control_reply(connection, control_error(error.stage(), error.message(), error.hint(), error.exit_code()));
    } catch (const std::exception& error) {
        send_control_reply(connection, control_error(Stage::Exec, error.what()));
    }
    ::_exit(kExitSetupFailed);
}

}  // namespace

std::vector<NamespaceFd> open_sandbox_namespaces(pid_t pid, const NamespacePlan& plan) {
    const std::pair<const char*, int> kinds[] = {
        {"user", CLONE_NEWUSER}, {"pid", CLONE_NEWPID}, {"uts", plan.uts ? CLONE_NEWUTS : 0},
        {"ipc", plan.ipc ? CLONE_NEWIPC : 0}, {"cgroup", plan.cgroup ? CLONE_NEWCGROUP : 0}, {"mnt", CLONE_NEWNS},
    };
    std::vector<NamespaceFd> out;
    std::string dir = "/proc/" + std::to_string(pid) + "/ns/";
    for (const auto& [name, type] : kinds)
        if (type) out.push_back(NamespaceFd{open_at(AT_FDCWD, dir + name, O_RDONLY), type});
    return out;
}

std::string exec_refusal(const ExecTarget& target) {
    if (target.namespaces.empty()) return "the sandbox's namespaces are not known yet";
    if (target.payload.seccomp.mode != SeccompMode::Enforce)
        return "the sandbox's seccomp filter runs in log or learn mode (--violations, --learn): a process "
               "started in it later would be under a filter nobody hears";
    return "";
}

ChildProcess start_exec(const ExecTarget& target, UniqueFd& connection, const ControlRequest& request,
                        std::vector<UniqueFd>& stdio) {
    pid_t supervisor = ::getpid();
    UniqueFd pidfd;
    pid_t pid = clone_with_pidfd(0, pidfd);  // throws with nothing given away: the caller answers
    if (pid == 0) run_exec_helper(target, supervisor, connection.get(), request, stdio);
    connection.reset();  // H's now
    stdio.clear();
    return ChildProcess(pid, std::move(pidfd));
}

}  // namespace sb
