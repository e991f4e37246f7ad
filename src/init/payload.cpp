// W, the payload: the last steps before exec, in the order the kernel needs them:
// capability bounds (needs CAP_SETPCAP) -> groups and ids (need CAP_SETGID/SETUID) ->
// capability sets -> no_new_privs -> cwd -> fds -> rlimits -> Landlock -> exec. The seccomp
// filter is usually pid 1's, inherited at the fork (so these steps run under it: the built-in
// policies let them all through); with a profile's own [seccomp] choices the payload loads it
// itself, as the last step before exec (see filter_loaded_before_fork). A failed exec travels
// back to the supervisor as ExecFailed, so the user sees "command not found" (127), not a silent
// exit.
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <linux/close_range.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "caps/caps.hpp"
#include "exitcode.hpp"
#include "init/init.hpp"
#include "ipc/channel.hpp"
#include "landlock/apply.hpp"
#include "sys/error.hpp"
#include "sys/signals.hpp"
#include "sys/syscalls.hpp"

namespace sb {
namespace {

void apply_terminal(int terminal, unsigned terminal_fds) {
    if (terminal < 0) return;
    // A session of its own with the sandbox's pty as its controlling terminal: job control
    // works inside. Only the fds that were terminals outside get it (`2>log` keeps working).
    check(::setsid(), "setsid");
    check(::ioctl(terminal, TIOCSCTTY, 0), "ioctl TIOCSCTTY", "pty");
    for (int fd = 0; fd < 3; ++fd)
        if (terminal_fds & (1u << fd)) dup_onto(terminal, fd);
}

void apply_credentials(const ProcessSpec& process) {
    apply_capability_bounds(process.capabilities);
    // With a single-id map setgroups is denied; the supplementary groups stay as they were.
    if (process.set_groups) check(::setgroups(0, nullptr), "setgroups");
    check(::setresgid(process.gid, process.gid, process.gid), "setresgid", std::to_string(process.gid));
    check(::setresuid(process.uid, process.uid, process.uid), "setresuid", std::to_string(process.uid));
    apply_capability_sets(process.uid == 0 ? process.capabilities : std::vector<int>{});
    if (process.no_new_privs) apply_no_new_privs();
}

void apply_rlimits(const std::vector<RlimitStep>& steps) {
    for (const auto& step : steps) {
        rlimit limit{step.value.soft, step.value.hard};
        check(::setrlimit(static_cast<__rlimit_resource>(step.resource), &limit), "setrlimit", step.name);
    }
}

std::string path_of(const std::vector<std::string>& env) {
    for (const auto& var : env)
        if (var.rfind("PATH=", 0) == 0) return var.substr(5);
    return "/usr/bin:/bin";
}

// execvpe with the payload's PATH; returns the errno that best explains the failure.
int exec_command(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
    std::vector<char*> args, envp;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    for (const auto& var : env) envp.push_back(const_cast<char*>(var.c_str()));
    envp.push_back(nullptr);
    const std::string& name = argv[0];
    if (name.empty()) return ENOENT;
    if (name.find('/') != std::string::npos) {
        ::execve(name.c_str(), args.data(), envp.data());
        return errno;
    }
    int result = ENOENT;
    std::string path = path_of(env);
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find(':', start);
        if (end == std::string::npos) end = path.size();
        std::string dir = path.substr(start, end - start);
        std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
        ::execve(candidate.c_str(), args.data(), envp.data());
        if (errno != ENOENT && errno != ENOTDIR) result = errno;  // e.g. EACCES: keep looking
        start = end + 1;
    }
    return result;
}

// The working directory, never through a "magic" link (/proc/PID/fd/N, /proc/PID/cwd): the tree
// is the payload's to change, and `sandbox exec -w DIR` resolves DIR in it once the payload runs;
// a link it planted there must not make our cwd one of the fds we still hold.
void change_directory(const std::string& cwd, bool joins_running) {
    UniqueFd directory = try_openat2(AT_FDCWD, cwd, O_PATH | O_DIRECTORY, RESOLVE_NO_MAGICLINKS);
    if (directory && ::fchdir(directory.get()) == 0) return;
    int err = errno;
    throw SetupError(Stage::Cwd, "chdir " + cwd + ": " + std::strerror(err),
                         err == ELOOP ? "the path leads through a link of /proc (or a loop of symbolic links): name the directory itself"
                         : joins_running ? "the directory given with -w must exist inside the sandbox"
                                       : "the working directory must exist inside the sandbox: mount it, or set "
                                         "`cwd` in the profile or --cwd");
}

}  // namespace

void run_payload(const SandboxChild& child, int terminal) {
    const ProcessSpec& process = child.process;
    try {
        reset_signals_for_exec();
        in_stage(Stage::Terminal, [&] { apply_terminal(terminal, process.terminal_fds); });
        in_stage(Stage::Credentials, [&] { apply_credentials(process); });
        change_directory(process.cwd, child.joins_running);
        // Only 0-2 survive: everything else (our sync socket included) closes at exec.
        mark_fds_cloexec();
        in_stage(Stage::Rlimits, [&] { apply_rlimits(process.rlimits); });
        in_stage(Stage::Landlock, [&] { apply_landlock(child.landlock); });
        // Last: a profile's denials may refuse a call of the steps above. In log and learn modes
        // the supervisor gets the listener before our exec can make a refused call.
        if (child.joins_running || !filter_loaded_before_fork(process.seccomp)) in_stage(Stage::Seccomp, [&] { load_filter(child); });
    } catch (const std::exception& error) {
        fail_child(child.sync, error);
    }
    int err = exec_command(process.argv, process.env);
    send_message_noexcept(child.sync, to_message(ExecFailedFields{err, process.argv[0]}));
    ::_exit(exit_code_for_exec_error(err));
}

}  // namespace sb
