// The command line (CLI11): subcommands, options, and what they turn into.
#pragma once
#include <string>
#include <vector>

#include "plan/plan.hpp"

namespace sb {

enum class Command { Run, Check, Ps, Pause, Resume, Stats, Doctor, Kill, Stop, Wait, Exec, Enter, Rm, Logs, Attach, Inspect, Diff, Commit, Discard, Desktop };

struct CommandLine {
    Command command = Command::Run;
    std::string profile;
    bool dry_run = false;
    bool verbose = false;
    std::string network_mode;
    std::string target;  // pause, resume, stats, kill, stop, wait, exec, enter, logs: the sandbox's name
    std::vector<std::string> targets;  // rm: the sandboxes' names
    bool json = false;   // ps, stats
    bool all = false;    // ps --all: exited sandboxes too
    std::string signal = "KILL";   // kill --signal
    unsigned stop_seconds = 10;    // stop --time
    bool follow = false;           // logs --follow
    long tail = -1;                // logs --tail N (-1: all)
    std::vector<std::string> exec_command;  // exec: the command (and enter: none)
    std::vector<std::string> exec_env;      // exec -e NAME=VALUE
    std::string exec_cwd;                   // exec -w DIR
    bool exec_tty = false;                  // exec -t
    bool no_stdin = false;                  // attach --no-stdin
    bool stat = false;                      // diff --stat
    bool force = false;                     // commit --force
    std::vector<std::string> paths;         // diff, commit: PATH...
    std::string desktop_action;             // desktop: install, list, remove or launch
    std::string icon;                       // desktop install --icon FILE
    std::string violations;  // --violations FILE: every refused system call as a JSON line
    bool learn = false;      // --learn: let refused calls through, print the allow lines
    int json_status_fd = -1;  // --json-status-fd FD: events as JSON lines (-1 = none)
    Overrides overrides;
};

// Parses argv. Returns nullopt after printing help/version (exit 0); throws UsageError on a
// bad command line (the message is CLI11's).
std::optional<CommandLine> parse_command_line(int argc, char** argv);

}  // namespace sb
