// parse -> plan -> run -> exit code; the one place errors are rendered for the user.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "cli/cli.hpp"
#include "exitcode.hpp"
#include "manage/control_client.hpp"
#include "manage/changes_commands.hpp"
#include "manage/desktop_commands.hpp"
#include "manage/manage.hpp"
#include "plan/plan.hpp"
#include "profile/profile.hpp"
#include "supervisor/supervisor.hpp"
#include "sys/error.hpp"
#include "sys/syscalls.hpp"

#ifndef SANDBOX_PROFILE_DIR
#define SANDBOX_PROFILE_DIR "/usr/local/share/sandbox/profiles"
#endif

namespace sb {
namespace {

void print_plan_warnings(const Plan& plan) {
    if (!plan.id_map_warning.empty()) std::cerr << "sandbox: warning: " << plan.id_map_warning << "\n";
    for (const auto& warning : plan.warnings) std::cerr << "sandbox: warning: " << warning << "\n";
}

// --json-status-fd: an open descriptor we may write to. Above 2 it is close-on-exec already
// (mark_fds_cloexec), so nothing we start inherits it; 0, 1 or 2 (bwrap's users pass 1) stay
// the command's standard streams as well.
void check_status_fd(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    std::string option = "--json-status-fd " + std::to_string(fd);
    if (flags < 0) throw UsageError(option + ": not an open file descriptor (" + std::strerror(errno) + ")");
    if ((flags & O_ACCMODE) == O_RDONLY) throw UsageError(option + ": open for reading only");
}

std::string executable_dir() {
    char path[4096];
    ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0) return ".";
    std::string exe(path, static_cast<std::size_t>(n));
    return exe.substr(0, exe.rfind('/'));
}

ProfileSource profile_source(const HostFacts& facts) {
    ProfileSource source;
    std::string config = facts.env("XDG_CONFIG_HOME");
    if (config.empty() && !facts.env("HOME").empty()) config = facts.env("HOME") + "/.config";
    if (!config.empty()) source.search_dirs.push_back(config + "/sandbox/profiles");
    std::string exe = executable_dir();
    source.search_dirs.push_back(exe + "/../share/sandbox/profiles");  // a staged or installed tree
    source.search_dirs.push_back(SANDBOX_PROFILE_DIR);
    source.search_dirs.push_back(exe + "/../profiles");  // an uninstalled build in build/
    source.read_file = read_profile_file;
    return source;
}

std::string locate_profile(const std::string& ref, const ProfileSource& source) {
    auto path = resolve_profile(ref, "", source);
    if (!path) {
        std::string dirs;
        for (const auto& dir : source.search_dirs) dirs += "\n  " + dir;
        throw UsageError("no profile named \"" + ref + "\"; looked in:" + dirs +
                         "\nhint: give a path to a .toml file, or put " + ref + ".toml in the first directory");
    }
    ProfileFileText file = source.read_file(*path);
    if (!file.text) throw UsageError("cannot read profile " + *path + ": " + file.reason());
    return *path;
}

int run(int argc, char** argv) {
    // Our caller's fds must not reach the helpers we exec (newuidmap runs setuid root).
    mark_fds_cloexec();
    auto line = parse_command_line(argc, argv);
    if (!line) return 0;
    HostFacts facts = prepare_host_facts();
    switch (line->command) {
        case Command::Ps: return list_sandboxes(facts, line->json, line->all);
        case Command::Kill: return kill_sandbox(facts, line->target, line->signal);
        case Command::Stop: return stop_sandbox(facts, line->target, line->stop_seconds);
        case Command::Wait: return wait_sandbox(facts, line->target);
        case Command::Exec:
        case Command::Enter:
            return exec_in_sandbox(facts, line->target,
                                   ExecOptions{line->exec_command, line->exec_env, line->exec_cwd, line->exec_tty});
        case Command::Rm: return remove_sandboxes(facts, line->targets);
        case Command::Inspect: return inspect_sandbox(facts, line->target, line->json);
        case Command::Attach: return attach_sandbox(facts, line->target, line->no_stdin);
        case Command::Logs: return show_logs(facts, line->target, line->follow, line->tail);
        case Command::Pause: return freeze_sandbox(facts, line->target, true);
        case Command::Resume: return freeze_sandbox(facts, line->target, false);
        case Command::Stats: return show_stats(facts, line->target, line->json);
        case Command::Doctor: return run_doctor(facts);
        case Command::Diff: return diff_sandbox(facts, line->target, DiffOptions{line->stat, line->json, line->paths});
        case Command::Commit: return commit_sandbox(facts, line->target, CommitOptions{line->force, line->paths, line->violations});
        case Command::Discard: return discard_changes(facts, line->targets);
        default: break;
    }
    ProfileSource source = profile_source(facts);
    if (line->command == Command::Desktop && line->desktop_action == "list") return list_launchers(facts);
    if (line->command == Command::Desktop && line->desktop_action == "remove") return remove_launchers(facts, line->targets);
    std::string path = locate_profile(line->profile, source);
    Profile profile = load_profile(path, profile_variables(facts), source);
    if (line->command == Command::Desktop && line->desktop_action == "install")
        return install_launcher(facts, path, profile, line->target, line->icon);
    if (line->command == Command::Desktop) {  // launch: in the running sandbox of that name, or a new one
        std::vector<std::string> command = launch_command(profile, line->overrides.command);
        if (auto code = launch_in_running(facts, line->target, path, command)) return *code;
        line->overrides.name = line->target;
        line->overrides.command = command;
        line->command = Command::Run;
    }
    Plan plan = build_plan(profile, line->overrides, facts);
    if (line->command == Command::Check) {
        std::cout << render_profile_toml(profile) << render_bind_sources(plan);
        if (line->verbose) std::cout << "\n# plan\n" << render_plan(plan);
        print_plan_warnings(plan);
        for (const auto& problem : plan.cgroup.unenforceable) {
            LimitVerdict verdict = judge_limit(problem, plan.cgroup.enforce);
            std::cerr << "sandbox: " << (verdict.refuse ? "error" : "warning") << " on this host: " << verdict.message
                      << "\nhint: " << verdict.hint << "\n";
        }
        if (plan.network == NetworkMode::Host)
            std::cerr << "sandbox: warning: [network] mode = \"host\" shares the host's network namespace: the "
                         "sandbox reaches every service on the host's loopback and LAN, and abstract UNIX sockets "
                         "(D-Bus, X11)\nhint: use mode = \"slirp\" for network access without them\n";
        return 0;
    }
    if (line->dry_run) {
        std::cout << render_plan(plan);
        return 0;
    }
    print_plan_warnings(plan);
    if (line->json_status_fd != -1) check_status_fd(line->json_status_fd);
    RunOptions options{line->verbose, line->violations, line->json_status_fd, -1};
    return plan.detach ? run_sandbox_detached(plan, options) : run_sandbox(plan, options);
}

}  // namespace
}  // namespace sb

int main(int argc, char** argv) {
    try {
        return sb::run(argc, argv);
    } catch (...) {
        return sb::report_error(std::current_exception());
    }
}
