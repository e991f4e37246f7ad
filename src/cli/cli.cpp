#include "cli/cli.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>

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

Exit status: the command's own; 128+N if killed by signal N; 125 if the sandbox
could not be set up or the input is invalid; 126 cannot execute; 127 not found.
See sandbox(1) and sandbox.toml(5).)";

void add_run_options(CLI::App& app, CommandLine& line, std::string& user_mode) {
    app.add_flag("--dry-run", line.dry_run, "Print the plan (id maps, namespaces, mounts, env, argv) and exit");
    app.add_flag("-v,--verbose", line.verbose, "Log every setup stage to stderr");
    app.add_option("--hostname", line.overrides.hostname, "Hostname inside the sandbox");
    app.add_option("--cwd", line.overrides.cwd, "Working directory inside the sandbox (absolute)");
    app.add_option("-e,--env", line.overrides.env, "Set NAME=VALUE inside the sandbox (repeatable)")
        ->type_name("NAME=VALUE")
        ->allow_extra_args(false);  // one value per -e: `-e A=1 PROFILE` leaves PROFILE alone
    app.add_option("--network", line.network_mode, "Override [network] mode")
        ->check(CLI::IsMember({"none", "slirp", "host"}))
        ->type_name("none|slirp|host");
    app.add_option("-p,--publish", line.overrides.publish, "Forward [ADDRESS:]HOSTPORT:PORT[/udp] into the sandbox (slirp; repeatable)")
        ->type_name("SPEC")
        ->allow_extra_args(false);
    app.add_option("--user-mode", user_mode, "Override [user] mode")
        ->check(CLI::IsMember({"root", "keep-id"}))
        ->type_name("root|keep-id");
}

// Splits argv at the first "--": what follows is the payload's argv, which CLI11 never sees, so
// an optional PROFILE (shell) cannot swallow the command's first word. Returns our own
// arguments in the reverse order CLI11's parse(vector) expects.
std::vector<std::string> split_at_double_dash(int argc, char** argv, std::vector<std::string>& command) {
    int end = argc;
    for (int i = 1; i < argc; ++i)
        if (std::string(argv[i]) == "--") {
            end = i;
            command.assign(argv + i + 1, argv + argc);
            break;
        }
    std::vector<std::string> ours(argv + 1, argv + end);
    std::reverse(ours.begin(), ours.end());
    return ours;
}

struct Subcommands {
    CLI::App* run;
    CLI::App* shell;
    CLI::App* check;
};

Subcommands add_subcommands(CLI::App& app, CommandLine& line, std::string& user_mode) {
    const char* const after = "Anything after -- is the command and its arguments (default: the profile's command).";
    auto* run = app.add_subcommand("run", "Run a command in a new sandbox built from PROFILE");
    add_run_options(*run, line, user_mode);
    run->add_option("profile", line.profile, "Profile name or path")->required();
    run->footer(after);

    auto* shell = app.add_subcommand("shell", "Run a throwaway shell (PROFILE defaults to \"shell\")");
    add_run_options(*shell, line, user_mode);
    shell->add_option("profile", line.profile, "Profile name or path");
    shell->footer(after);

    auto* check = app.add_subcommand("check", "Validate PROFILE and print the effective profile");
    check->add_flag("-v,--verbose", line.verbose, "Also print the plan");
    check->add_option("profile", line.profile, "Profile name or path")->required();
    check->footer("Exit status: 0 when the profile is valid, 125 otherwise (with FILE:LINE:COL: message).");
    return {run, shell, check};
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
    Subcommands sub = add_subcommands(app, line, user_mode);
    std::vector<std::string> ours = split_at_double_dash(argc, argv, line.overrides.command);
    try {
        app.parse(ours);
    } catch (const CLI::Success& done) {
        app.exit(done);
        return std::nullopt;
    } catch (const CLI::ParseError& error) {
        throw UsageError(error.what() + std::string("\nhint: see `sandbox --help`"));
    }
    if (sub.check->parsed()) line.command = Command::Check;
    if (sub.shell->parsed() && line.profile.empty()) line.profile = "shell";
    if (!user_mode.empty()) line.overrides.user_mode = parse_user_mode(user_mode);
    if (line.network_mode == "none") line.overrides.network = NetworkMode::None;
    if (line.network_mode == "slirp") line.overrides.network = NetworkMode::Slirp;
    if (line.network_mode == "host") line.overrides.network = NetworkMode::Host;
    return line;
}

}  // namespace sb
