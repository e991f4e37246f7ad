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
    app.add_option("--user-mode", user_mode, "Override [user] mode")
        ->check(CLI::IsMember({"root", "keep-id"}))
        ->type_name("root|keep-id");
}

}  // namespace

std::optional<CommandLine> parse_command_line(int argc, char** argv) {
    CommandLine line;
    std::string user_mode;
    std::vector<std::string> command;
    CLI::App app{"sandbox: run programs in a rootless Linux sandbox (user namespace, own pid 1,\n"
                 "a filesystem built from a TOML profile)",
                 "sandbox"};
    app.set_version_flag("--version", "sandbox " SANDBOX_VERSION);
    app.require_subcommand(1);
    app.footer(kExamples);

    auto* run = app.add_subcommand("run", "Run a command in a new sandbox built from PROFILE");
    add_run_options(*run, line, user_mode);
    run->add_option("profile", line.profile, "Profile name or path")->required();
    run->footer("Anything after -- is the command and its arguments (default: the profile's command).");

    auto* shell = app.add_subcommand("shell", "Run a throwaway shell (PROFILE defaults to \"shell\")");
    add_run_options(*shell, line, user_mode);
    shell->add_option("profile", line.profile, "Profile name or path");
    shell->footer("Anything after -- is the command and its arguments (default: the profile's command).");

    auto* check_cmd = app.add_subcommand("check", "Validate PROFILE and print the effective profile");
    check_cmd->add_flag("-v,--verbose", line.verbose, "Also print the plan");
    check_cmd->add_option("profile", line.profile, "Profile name or path")->required();
    check_cmd->footer("Exit status: 0 when the profile is valid, 125 otherwise (with FILE:LINE:COL: message).");

    // Everything after the first "--" is the payload's argv; CLI11 never sees it, so an
    // optional PROFILE (shell) cannot swallow the command's first word.
    std::vector<std::string> ours;
    for (int i = argc - 1; i >= 1; --i) ours.push_back(argv[i]);  // CLI11 wants reverse order
    for (int i = 1; i < argc; ++i) {
        if (std::string(argv[i]) != "--") continue;
        command.assign(argv + i + 1, argv + argc);
        ours.assign(argv + 1, argv + i);
        std::reverse(ours.begin(), ours.end());
        break;
    }
    try {
        app.parse(ours);
    } catch (const CLI::Success& done) {
        app.exit(done);
        return std::nullopt;
    } catch (const CLI::ParseError& error) {
        throw UsageError(error.what() + std::string("\nhint: see `sandbox --help`"));
    }
    if (check_cmd->parsed()) line.command = Command::Check;
    if (shell->parsed() && line.profile.empty()) line.profile = "shell";
    if (!user_mode.empty()) line.overrides.user_mode = parse_user_mode(user_mode);
    line.overrides.command = command;
    return line;
}

}  // namespace sb
