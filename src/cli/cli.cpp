#include "cli/cli.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>

#include "profile/profile.hpp"
#include "sys/error.hpp"

#ifndef SANDBOX_VERSION
#define SANDBOX_VERSION "0.0.0"
#endif

namespace sb {
namespace {

const char* const kExamples = R"(
Examples:
  sandbox run default -- sh -c 'id; hostname; ls /'
  sandbox run profiles/default.toml            run the profile's own command
  sandbox run --dry-run profiles/default.toml  print the plan, start nothing
  sandbox check profiles/shell.toml            validate, print the effective profile
  sandbox shell                                a throwaway shell in the current directory
  sandbox run --name web --memory 512M --cpus 1.5 --pids 256 default -- ./server
  sandbox ps; sandbox stats web; sandbox pause web; sandbox resume web
  sandbox run -d --name web default -- ./server   in the background; sandbox logs -f web
  sandbox exec web ls -l /tmp; sandbox enter web   a command, or a shell, inside it
  sandbox stop web; sandbox wait web; sandbox rm web
  sandbox doctor                               what this host can isolate and limit

Exit status: the command's own; 128+N if killed by signal N; 125 if the sandbox
could not be set up or the input is invalid; 126 cannot execute; 127 not found.
See sandbox(1) and sandbox.toml(5).)";

void add_run_options(CLI::App& app, CommandLine& line, std::string& user_mode) {
    app.add_flag("--dry-run", line.dry_run, "Print the plan (id maps, namespaces, mounts, env, argv) and exit");
    app.add_flag("-v,--verbose", line.verbose, "Log every setup stage to stderr");
    // The profile's rule (hostname_problem), so that a bad name is a usage error before anything is read.
    app.add_option("--hostname", line.overrides.hostname, "Hostname inside the sandbox (letters, digits, '-', '.')")
        ->check(CLI::Validator([](std::string& name) { return hostname_problem(name).value_or(""); }, ""))
        ->type_name("NAME");
    app.add_option("--cwd", line.overrides.cwd, "Working directory inside the sandbox (absolute)");
    app.add_option("-e,--env", line.overrides.env, "Set NAME=VALUE inside the sandbox (repeatable)")
        ->type_name("NAME=VALUE")
        ->allow_extra_args(false);  // one value per -e: `-e A=1 PROFILE` leaves PROFILE alone
    app.add_option("--network", line.network_mode, "Override [network] mode")
        ->check(CLI::IsMember(network_mode_names()))
        ->type_name("none|slirp|host");
    app.add_option("-p,--publish", line.overrides.publish, "Forward [ADDRESS:]HOSTPORT:PORT[/udp] into the sandbox (slirp; repeatable)")
        ->type_name("SPEC")
        ->allow_extra_args(false);
    app.add_option("--user-mode", user_mode, "Override [user] mode")
        ->check(CLI::IsMember(user_mode_names()))
        ->type_name("root|keep-id");
    app.add_option("--name", line.overrides.name, "Name of the sandbox (ps, exec, attach, stop, stats, ...); default: generated")
        ->type_name("NAME");
    app.add_option("--memory", line.overrides.memory, "Override [limits] memory (memory.max), e.g. 512M")
        ->type_name("SIZE");
    app.add_option("--cpus", line.overrides.cpus, "Override [limits] cpus (cpu.max), e.g. 1.5")->type_name("N");
    app.add_option("--pids", line.overrides.pids, "Override [limits] pids (pids.max)")->type_name("N");
    app.add_option("--violations", line.violations, "Record every system call the filter refuses (and every name and flow allow_domains refuses) as a JSON line in FILE")
        ->type_name("FILE");
    app.add_option("--rlimit", line.overrides.rlimits, "Set a resource limit NAME=SOFT[:HARD] (nofile, nproc, core, fsize, as, cpu, stack, memlock; repeatable)")
        ->type_name("NAME=VALUE")
        ->allow_extra_args(false);
    app.add_option("--timeout", line.overrides.timeout, "Stop the sandbox after DURATION (30s, 5m, 1h): TERM, then KILL; exit 124")
        ->type_name("DURATION");
    app.add_option("--json-status-fd", line.json_status_fd,
                   "Write a JSON line to descriptor FD when the command starts (pid 1's pid, namespace ids) and "
                   "when it ends (exit code), as bwrap does")
        ->type_name("FD");
    app.add_flag("-d,--detach", line.overrides.detach,
                 "Run in the background: print the name once the command started; output goes to the "
                 "sandbox's log (sandbox logs), which stays with its exit code until `sandbox rm`");
    app.add_flag("-t,--tty", line.overrides.tty,
                 "With --detach: give the command a pty of its own, which `sandbox attach` connects to");
    app.add_flag("--rm", line.overrides.remove,
                 "With --detach: remove the record and log when the command ends (always so in the foreground)");
    app.add_flag("--overlay", line.overrides.overlay,
                 "Put the current directory behind a copy-on-write overlay whose changes are kept until "
                 "`sandbox commit` or `sandbox discard`");
    app.add_flag("--learn", line.learn,
                 "Let refused system calls through and print the [seccomp] allow lines that permit them");
}

// Splits argv at the first "--": what follows is the payload's argv, which CLI11 never sees, so
// an optional PROFILE (shell) cannot swallow the command's first word. Returns our own
// arguments in the reverse order CLI11's parse(vector) expects.
// `exec NAME CMD...` needs no "--": the command starts at the first word after NAME, so its own
// options (`ls -l`) are never ours. Options of exec that take a value skip it.
int exec_command_start(int argc, char** argv) {
    int i = 1;
    while (i < argc && argv[i][0] == '-') ++i;  // global options (--verbose)
    if (i >= argc || std::string(argv[i]) != "exec") return argc;
    bool named = false;
    for (++i; i < argc; ++i) {
        std::string word = argv[i];
        if (word == "--") return argc;
        if (named) return i;
        if (word == "-e" || word == "--env" || word == "-w" || word == "--workdir") {
            ++i;
            continue;
        }
        if (word[0] != '-') named = true;
    }
    return argc;
}

std::vector<std::string> split_at_double_dash(int argc, char** argv, std::vector<std::string>& command) {
    int end = exec_command_start(argc, argv);
    if (end < argc) command.assign(argv + end, argv + argc);
    for (int i = 1; i < end; ++i)
        if (std::string(argv[i]) == "--") {
            end = i;
            command.assign(argv + i + 1, argv + argc);
            break;
        }
    std::vector<std::string> ours(argv + 1, argv + end);
    std::reverse(ours.begin(), ours.end());
    return ours;
}

// The subcommands. Adding one is a row here, its case in main.cpp's dispatch, and its section of
// sandbox(1) and the completions (tests/check-docs.sh holds those to --help).
enum class Operand { None, Profile, OptionalProfile, Name, Names, NameAndCommand, NameAndPaths };

void add_attach_options(CLI::App& app, CommandLine& line) {
    app.add_flag("--no-stdin", line.no_stdin, "Only watch: do not send what you type");
}

void add_ps_options(CLI::App& app, CommandLine& line) {
    app.add_flag("-a,--all", line.all, "Also list exited sandboxes (kept until `sandbox rm`)");
}
void add_kill_options(CLI::App& app, CommandLine& line) {
    app.add_option("-s,--signal", line.signal, "The signal (TERM, INT, HUP, QUIT, USR1, USR2, WINCH or KILL); default KILL")
        ->type_name("SIGNAL");
}
void add_stop_options(CLI::App& app, CommandLine& line) {
    app.add_option("-t,--time", line.stop_seconds, "Seconds between TERM and KILL; default 10")->type_name("SECONDS");
}
void add_diff_options(CLI::App& app, CommandLine& line) {
    app.add_flag("--stat", line.stat, "One line per change (status, path, lines added and removed) and a summary");
}

void add_commit_options(CLI::App& app, CommandLine& line) {
    app.add_flag("-f,--force", line.force, "Commit conflicts and protected paths too");
    app.add_option("--violations", line.violations, "Record each protected path left out as a JSON line in FILE")
        ->type_name("FILE");
}

// desktop install|list|remove|launch: menu entries that start an app in its sandbox.
void add_desktop_actions(CLI::App& app, CommandLine& line) {
    app.require_subcommand(1);
    auto* install = app.add_subcommand("install", "Write a menu entry that starts PROFILE's app in its sandbox");
    install->add_option("profile", line.profile, "Profile name or path")->required();
    install->add_option("--name", line.target, "The entry's and the sandbox's name (default: the profile's)")
        ->type_name("NAME");
    install->add_option("--icon", line.icon, "An icon (.png, .svg or .xpm) copied for the entry")->type_name("FILE");
    install->callback([&line] { line.desktop_action = "install"; });
    auto* list = app.add_subcommand("list", "List the menu entries written by `sandbox desktop install`");
    list->callback([&line] { line.desktop_action = "list"; });
    auto* remove = app.add_subcommand("remove", "Remove the menu entries NAME... (and their icons)");
    remove->add_option("names", line.targets, "The entries' names (see `sandbox desktop list`)")->required();
    remove->callback([&line] { line.desktop_action = "remove"; });
    auto* launch = app.add_subcommand("launch", "What an entry runs: the app in sandbox NAME, started anew or, while "
                                                "it runs, in it (exec)");
    launch->add_option("name", line.target, "The sandbox's name")->required();
    launch->add_option("profile", line.profile, "Profile name or path")->required();
    launch->callback([&line] { line.desktop_action = "launch"; });
}

void add_logs_options(CLI::App& app, CommandLine& line) {
    app.add_flag("-f,--follow", line.follow, "Keep printing output as it comes, until the sandbox ends");
    app.add_option("--tail", line.tail, "Only the last N lines")->type_name("N")->check(CLI::NonNegativeNumber);
}
void add_exec_options(CLI::App& app, CommandLine& line) {
    app.add_option("-e,--env", line.exec_env, "Set NAME=VALUE for the command (repeatable)")
        ->type_name("NAME=VALUE")
        ->allow_extra_args(false);
    app.add_option("-w,--workdir", line.exec_cwd, "Working directory inside the sandbox (absolute)")->type_name("DIR");
    app.add_flag("-t,--tty", line.exec_tty, "A pty even when no standard stream is a terminal");
}

struct SubcommandSpec {
    const char* name;
    Command command;
    const char* summary;
    Operand operand = Operand::None;
    bool run_options = false;         // run and shell: every option of a run
    const char* json_help = nullptr;  // --json, with what it prints
    const char* verbose_help = nullptr;
    const char* footer = nullptr;
    const char* default_profile = nullptr;  // OptionalProfile: the profile when none is named
    void (*options)(CLI::App&, CommandLine&) = nullptr;  // the command's own options
};

const char* const kAfterDashes = "Anything after -- is the command and its arguments (default: the profile's command).";

const SubcommandSpec kSubcommands[] = {
    {"run", Command::Run, "Run a command in a new sandbox built from PROFILE", Operand::Profile, true, nullptr,
     nullptr, kAfterDashes},
    {"shell", Command::Run, "Run a throwaway shell (PROFILE defaults to \"shell\")", Operand::OptionalProfile, true,
     nullptr, nullptr, kAfterDashes, "shell"},
    {"check", Command::Check, "Validate PROFILE and print the effective profile", Operand::Profile, false, nullptr,
     "Also print the plan", "Exit status: 0 when the profile is valid, 125 otherwise (with FILE:LINE:COL: message)."},
    {"ps", Command::Ps, "List this user's running sandboxes (--all: and the exited ones)", Operand::None, false,
     "Print a JSON array", nullptr, nullptr, nullptr, add_ps_options},
    {"pause", Command::Pause, "Freeze every process of sandbox NAME (cgroup.freeze)", Operand::Name},
    {"resume", Command::Resume, "Thaw sandbox NAME", Operand::Name},
    {"stats", Command::Stats, "Print cpu time, memory, pids, io and OOM kills of sandbox NAME", Operand::Name, false,
     "Print a JSON object"},
    {"exec", Command::Exec, "Run a command in the running sandbox NAME", Operand::NameAndCommand, false, nullptr,
     nullptr, "Usage: sandbox exec [OPTIONS] NAME COMMAND [ARG...]\nEverything after NAME is the command's (-- may "
              "come before it). With a terminal, the command gets a pty of the sandbox's own.\nExit status: the "
              "command's; 125 if it could not be started, 126 cannot execute, 127 not found.",
     nullptr, add_exec_options},
    {"enter", Command::Enter, "Run the sandbox's shell in the running sandbox NAME", Operand::Name, false, nullptr,
     nullptr, nullptr, nullptr, add_exec_options},
    {"attach", Command::Attach, "Connect your terminal to detached sandbox NAME (leave it running with Ctrl-P Ctrl-Q)",
     Operand::Name, false, nullptr, nullptr, nullptr, nullptr, add_attach_options},
    {"inspect", Command::Inspect, "Print the plan and the live state of running sandbox NAME", Operand::Name, false,
     "Print a JSON object"},
    {"stop", Command::Stop, "Stop sandbox NAME: TERM to its command, KILL after the grace period", Operand::Name, false,
     nullptr, nullptr, nullptr, nullptr, add_stop_options},
    {"kill", Command::Kill, "Send a signal to the command of sandbox NAME", Operand::Name, false, nullptr, nullptr,
     nullptr, nullptr, add_kill_options},
    {"wait", Command::Wait, "Wait until sandbox NAME exits; print and return its exit code", Operand::Name},
    {"logs", Command::Logs, "Print the output of detached sandbox NAME", Operand::Name, false, nullptr, nullptr, nullptr,
     nullptr, add_logs_options},
    {"rm", Command::Rm, "Remove exited sandboxes: their records and logs (kept changes stay)", Operand::Names},
    {"diff", Command::Diff, "Show the kept changes of sandbox NAME's overlays (PATH...: only those)",
     Operand::NameAndPaths, false, "Print one JSON object per change", nullptr,
     "Works while the sandbox runs and after it exited.", nullptr, add_diff_options},
    {"commit", Command::Commit, "Apply the kept changes of sandbox NAME to the directories below its overlays",
     Operand::NameAndPaths, false, nullptr, nullptr,
     "Each file is replaced atomically. A path changed on the host since the sandbox started (a conflict) and a\n"
     "protected path (.git, shell start-up files, editor, build and CI configs; [overlay] protect) are\n"
     "left alone and listed unless --force.\nExit status: 0 when everything was committed, 1 when something was "
     "left, 125 on errors.",
     nullptr, add_commit_options},
    {"discard", Command::Discard, "Throw away the kept changes of sandboxes NAME...", Operand::Names},
    {"doctor", Command::Doctor, "Print what this host can isolate and enforce, and why not"},
    {"desktop", Command::Desktop, "Menu entries that start apps in their sandboxes (install, list, remove, launch)",
     Operand::None, false, nullptr, nullptr,
     "A launched app whose sandbox already runs starts in it (`sandbox exec`), as single-instance apps expect.",
     nullptr, add_desktop_actions},
};

// `chosen` is the subcommand named on the command line ("" if none yet): only the chosen one gets
// its run options. Declaring an option costs CLI11 more than the rest of parsing, and this runs
// at every start (bench/startup).
CLI::App* add_subcommand(CLI::App& app, const SubcommandSpec& spec, CommandLine& line, std::string& user_mode,
                         const std::string& chosen) {
    auto* sub = app.add_subcommand(spec.name, spec.summary);
    if (spec.run_options && chosen == spec.name) add_run_options(*sub, line, user_mode);
    if (spec.verbose_help) sub->add_flag("-v,--verbose", line.verbose, spec.verbose_help);
    if (spec.json_help) sub->add_flag("--json", line.json, spec.json_help);
    if (spec.options) spec.options(*sub, line);
    switch (spec.operand) {
        case Operand::Profile: sub->add_option("profile", line.profile, "Profile name or path")->required(); break;
        case Operand::OptionalProfile: sub->add_option("profile", line.profile, "Profile name or path"); break;
        case Operand::Name:
            sub->add_option("name", line.target, "The sandbox's name (see `sandbox ps`)")->required();
            break;
        case Operand::Names:
            sub->add_option("names", line.targets, "The sandboxes' names (see `sandbox ps --all`)")->required();
            break;
        case Operand::NameAndPaths:
            sub->add_option("name", line.target, "The sandbox's name (see `sandbox ps --all`)")->required();
            sub->add_option("paths", line.paths, "Only these paths (and what is below them)");
            break;
        case Operand::NameAndCommand:
            sub->add_option("name", line.target, "The sandbox's name (see `sandbox ps`)")->required();
            // The command (everything after NAME) is split off before CLI11 parses (exec_command_start).
            break;
        case Operand::None: break;
    }
    if (spec.footer) sub->footer(spec.footer);
    return sub;
}

}  // namespace

std::optional<CommandLine> parse_command_line(int argc, char** argv) {
    CommandLine line;
    std::string user_mode;
    CLI::App app{"sandbox: run programs in a rootless Linux sandbox (user namespace, own pid 1,\n"
                 "a filesystem built from a TOML profile)",
                 "sandbox"};
    app.set_version_flag("--version", "sandbox " SANDBOX_VERSION);
    app.require_subcommand(1);
    app.footer(kExamples);
    std::string chosen;
    for (int i = 1; i < argc && chosen.empty(); ++i)
        if (argv[i][0] != '-') chosen = argv[i];
    std::vector<std::pair<const SubcommandSpec*, CLI::App*>> subcommands;
    for (const auto& spec : kSubcommands)
        subcommands.emplace_back(&spec, add_subcommand(app, spec, line, user_mode, chosen));
    std::vector<std::string> ours = split_at_double_dash(argc, argv, line.overrides.command);
    try {
        app.parse(ours);
    } catch (const CLI::Success& done) {
        app.exit(done);
        return std::nullopt;
    } catch (const CLI::ParseError& error) {
        throw UsageError(error.what() + std::string("\nhint: see `sandbox --help`"));
    }
    for (const auto& [spec, sub] : subcommands) {
        if (!sub->parsed()) continue;
        line.command = spec->command;
        if (spec->default_profile && line.profile.empty()) line.profile = spec->default_profile;
        if (spec->operand == Operand::NameAndCommand) {
            line.exec_command = line.overrides.command;
            if (line.exec_command.empty())
                throw UsageError("exec: no command\nhint: sandbox exec NAME -- COMMAND [ARG...], or `sandbox enter NAME` for a shell");
        }
    }
    if (!user_mode.empty()) line.overrides.user_mode = parse_user_mode(user_mode);
    if (!line.network_mode.empty()) line.overrides.network = parse_network_mode(line.network_mode);
    if (line.learn) line.overrides.seccomp_mode = SeccompMode::Learn;
    else if (!line.violations.empty()) line.overrides.seccomp_mode = SeccompMode::Log;
    return line;
}

}  // namespace sb
