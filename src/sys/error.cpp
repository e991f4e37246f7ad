#include "sys/error.hpp"

#include <cerrno>
#include <cstring>
#include <iostream>

namespace sb {

static std::string sys_message(const std::string& op, const std::string& subject, int err) {
    std::string text = op;
    if (!subject.empty()) text += " " + subject;
    text += ": ";
    text += std::strerror(err);
    return text;
}

SysError::SysError(std::string op, std::string subject, int err, std::string hint)
    : std::runtime_error(sys_message(op, subject, err)),
      op_(std::move(op)), subject_(std::move(subject)), errno_(err), hint_(std::move(hint)) {}

long check(long rc, const char* op, const std::string& subject) {
    if (rc < 0) throw SysError(op, subject, errno);
    return rc;
}

std::string format_location(const SourceLocation& where) {
    if (where.line <= 0) return where.file;
    return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column);
}

ConfigError::ConfigError(SourceLocation where, const std::string& message)
    : std::runtime_error(format_location(where) + ": " + message),
      where_(std::move(where)), message_(message) {}

namespace {

struct StageName {
    Stage stage;
    const char* name;
};
constexpr StageName kStageNames[] = {
    {Stage::Setup, "setup"},
    {Stage::UserNamespace, "user namespace"},
    {Stage::IdMap, "id map"},
    {Stage::Namespaces, "namespaces"},
    {Stage::Uts, "uts"},
    {Stage::Keyring, "keyring"},
    {Stage::Mount, "mount"},
    {Stage::Network, "network"},
    {Stage::Terminal, "terminal"},
    {Stage::Cgroup, "cgroup"},
    {Stage::Limits, "limits"},
    {Stage::State, "state"},
    {Stage::Init, "init"},
    {Stage::Credentials, "credentials"},
    {Stage::Cwd, "cwd"},
    {Stage::Rlimits, "rlimits"},
    {Stage::Landlock, "landlock"},
    {Stage::Seccomp, "seccomp"},
    {Stage::Payload, "payload"},
    {Stage::Exec, "exec"},
    {Stage::Protocol, "protocol"},
    {Stage::Lookup, "lookup"},
    {Stage::Pause, "pause"},
    {Stage::Resume, "resume"},
    {Stage::Stats, "stats"},
    {Stage::Control, "control"},
    {Stage::Detach, "detach"},
    {Stage::Logs, "logs"},
};

}  // namespace

const char* to_string(Stage stage) {
    for (const auto& entry : kStageNames)
        if (entry.stage == stage) return entry.name;
    return "setup";
}

std::optional<Stage> parse_stage(std::string_view text) {
    for (const auto& entry : kStageNames)
        if (text == entry.name) return entry.stage;
    return std::nullopt;
}

SetupError::SetupError(Stage stage, std::string message, std::string hint, int exit_code)
    : std::runtime_error(std::string(to_string(stage)) + ": " + message),
      stage_(stage), message_(std::move(message)), hint_(std::move(hint)), exit_code_(exit_code) {}

int report_error(std::exception_ptr error) {
    try {
        std::rethrow_exception(error);
    } catch (const ConfigError& error) {
        std::cerr << error.what() << "\n";
    } catch (const SetupError& error) {
        std::cerr << "sandbox: " << to_string(error.stage()) << ": " << error.message() << "\n";
        if (!error.hint().empty()) std::cerr << "hint: " << error.hint() << "\n";
        return error.exit_code();
    } catch (const SysError& error) {
        std::cerr << "sandbox: " << error.what() << "\n";
        if (!error.hint().empty()) std::cerr << "hint: " << error.hint() << "\n";
    } catch (const UsageError& error) {
        std::cerr << "sandbox: " << error.what() << "\n";
    } catch (const std::exception& error) {
        std::cerr << "sandbox: " << error.what() << "\n";
    }
    return 125;
}

}  // namespace sb
