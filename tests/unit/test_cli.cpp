// The command line (issue 9: the CLI lives in the library and is unit-tested): what each
// subcommand and option turns into, and what is refused before anything else runs.
#include <catch2/catch.hpp>

#include <initializer_list>
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "sys/error.hpp"

namespace {

// parse_command_line over a literal argv ("sandbox" prepended).
std::optional<sb::CommandLine> parse(std::initializer_list<const char*> args) {
    std::vector<std::string> words{"sandbox"};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& word : words) argv.push_back(word.data());
    argv.push_back(nullptr);
    return sb::parse_command_line(static_cast<int>(words.size()), argv.data());
}

std::string usage_error(std::initializer_list<const char*> args) {
    try {
        parse(args);
    } catch (const sb::UsageError& error) {
        return error.what();
    }
    FAIL("expected a UsageError");
    return "";
}

}  // namespace

TEST_CASE("cli: run takes a profile, its options and the payload after --", "[cli]") {
    auto line = parse({"run", "--network", "slirp", "-p", "8080:80", "-p", "53:53/udp", "--hostname", "box",
                       "-e", "A=1", "--name", "web", "--memory", "512M", "--cpus", "1.5", "--pids", "64",
                       "--rlimit", "nofile=64", "--timeout", "30s", "--user-mode", "keep-id", "--cwd", "/w",
                       "default", "--", "sh", "-c", "echo --dry-run"});
    REQUIRE(line);
    CHECK(line->command == sb::Command::Run);
    CHECK(line->profile == "default");
    CHECK(line->overrides.network == sb::NetworkMode::Slirp);
    CHECK(line->overrides.publish == std::vector<std::string>{"8080:80", "53:53/udp"});
    CHECK(line->overrides.hostname == std::optional<std::string>("box"));
    CHECK(line->overrides.env == std::vector<std::string>{"A=1"});
    CHECK(line->overrides.name == std::optional<std::string>("web"));
    CHECK(line->overrides.memory == std::optional<std::string>("512M"));
    CHECK(line->overrides.cpus == std::optional<std::string>("1.5"));
    CHECK(line->overrides.pids == std::optional<std::string>("64"));
    CHECK(line->overrides.rlimits == std::vector<std::string>{"nofile=64"});
    CHECK(line->overrides.timeout == std::optional<std::string>("30s"));
    CHECK(line->overrides.user_mode == sb::UserMode::KeepId);
    CHECK(line->overrides.cwd == std::optional<std::string>("/w"));
    // After "--" nothing is ours, not even what looks like an option.
    CHECK(line->overrides.command == std::vector<std::string>{"sh", "-c", "echo --dry-run"});
    CHECK_FALSE(line->dry_run);
}

TEST_CASE("cli: -e takes one value, so the profile after it stays the profile", "[cli]") {
    auto line = parse({"run", "-e", "A=1", "default"});
    REQUIRE(line);
    CHECK(line->overrides.env == std::vector<std::string>{"A=1"});
    CHECK(line->profile == "default");
}

TEST_CASE("cli: shell defaults to the shell profile; check, ps, stats, pause, resume, doctor", "[cli]") {
    auto shell = parse({"shell"});
    REQUIRE(shell);
    CHECK(shell->command == sb::Command::Run);
    CHECK(shell->profile == "shell");
    auto shell_cmd = parse({"shell", "--", "make", "test"});
    REQUIRE(shell_cmd);
    CHECK(shell_cmd->profile == "shell");
    CHECK(shell_cmd->overrides.command == std::vector<std::string>{"make", "test"});
    auto check = parse({"check", "-v", "p.toml"});
    REQUIRE(check);
    CHECK(check->command == sb::Command::Check);
    CHECK(check->verbose);
    auto stats = parse({"stats", "--json", "web"});
    REQUIRE(stats);
    CHECK(stats->command == sb::Command::Stats);
    CHECK(stats->json);
    CHECK(stats->target == "web");
    CHECK(parse({"ps"})->command == sb::Command::Ps);
    CHECK(parse({"pause", "web"})->command == sb::Command::Pause);
    CHECK(parse({"resume", "web"})->command == sb::Command::Resume);
    CHECK(parse({"doctor"})->command == sb::Command::Doctor);
}

TEST_CASE("cli: --violations logs, --learn learns", "[cli][seccomp]") {
    auto log = parse({"run", "--violations", "/tmp/v.json", "default"});
    REQUIRE(log);
    CHECK(log->overrides.seccomp_mode == sb::SeccompMode::Log);
    CHECK(log->violations == "/tmp/v.json");
    auto learn = parse({"run", "--learn", "default"});
    REQUIRE(learn);
    CHECK(learn->overrides.seccomp_mode == sb::SeccompMode::Learn);
    CHECK(parse({"run", "default"})->overrides.seccomp_mode == sb::SeccompMode::Enforce);
}

TEST_CASE("cli: bad command lines are usage errors that point at --help", "[cli]") {
    CHECK_THAT(usage_error({"run", "--network", "tap", "default"}), Catch::Contains("--network"));
    CHECK_THAT(usage_error({"run", "--user-mode", "nobody", "default"}), Catch::Contains("--user-mode"));
    // The profile's hostname rule, before anything is read.
    CHECK_THAT(usage_error({"run", "--hostname", "a/b", "default"}), Catch::Contains("not '/' at byte 2"));
    CHECK_THAT(usage_error({"run", "--no-such-option", "default"}), Catch::Contains("hint: see `sandbox --help`"));
    CHECK_THAT(usage_error({}), Catch::Contains("hint: see `sandbox --help`"));
    CHECK_THAT(usage_error({"stats"}), Catch::Contains("name"));
    // The run options belong to run and shell only.
    CHECK_THAT(usage_error({"ps", "--dry-run"}), Catch::Contains("--dry-run"));
}
