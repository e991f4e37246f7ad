// The command line (CLI11): subcommands, options, and what they turn into.
#pragma once
#include <string>
#include <vector>

#include "plan/plan.hpp"

namespace sb {

enum class Command { Run, Check, Ps, Pause, Resume, Stats, Doctor };

struct CommandLine {
    Command command = Command::Run;
    std::string profile;
    bool dry_run = false;
    bool verbose = false;
    std::string network_mode;
    std::string target;  // pause, resume, stats: the sandbox's name
    bool json = false;   // ps, stats
    std::string violations;  // --violations FILE: every refused system call as a JSON line
    bool learn = false;      // --learn: let refused calls through, print the allow lines
    int json_status_fd = -1;  // --json-status-fd FD: events as JSON lines (-1 = none)
    Overrides overrides;
};

// Parses argv. Returns nullopt after printing help/version (exit 0); throws UsageError on a
// bad command line (the message is CLI11's).
std::optional<CommandLine> parse_command_line(int argc, char** argv);

}  // namespace sb
