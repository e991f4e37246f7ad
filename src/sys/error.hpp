// Errors are values with context. SysError: a failed syscall with its operation and subject.
// ConfigError: bad input, located at file:line:col. SetupError: a sandbox stage failed (possibly in
// the child), rendered once by main with a hint that names the fix.
#pragma once
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sb {

class SysError : public std::runtime_error {
public:
    SysError(std::string op, std::string subject, int err, std::string hint = {});
    const std::string& op() const noexcept { return op_; }
    const std::string& subject() const noexcept { return subject_; }
    int error_number() const noexcept { return errno_; }
    const std::string& hint() const noexcept { return hint_; }

private:
    std::string op_, subject_;
    int errno_;
    std::string hint_;
};

// Throws SysError(op, subject, errno) when rc < 0; returns rc otherwise.
long check(long rc, const char* op, const std::string& subject = {});

struct SourceLocation {
    std::string file;
    int line = 0;
    int column = 0;
};

class ConfigError : public std::runtime_error {
public:
    ConfigError(SourceLocation where, const std::string& message);
    const SourceLocation& where() const noexcept { return where_; }
    const std::string& message() const noexcept { return message_; }

private:
    SourceLocation where_;
    std::string message_;
};

// Where a failure happened, as the user reads it ("sandbox: mount: ..."): every stage a
// SetupError can name, in the order a run meets them.
enum class Stage {
    Setup,
    UserNamespace,
    IdMap,
    Namespaces,
    Uts,
    Keyring,
    Mount,
    Network,
    Terminal,
    Cgroup,
    Limits,
    State,
    Init,
    Credentials,
    Cwd,
    Rlimits,
    Landlock,
    Seccomp,
    Payload,
    Exec,
    Protocol,
    Lookup,
    Pause,
    Resume,
    Stats,
    Control,  // the control socket: kill, stop, wait, exec
    Detach,
    Logs,
};
const char* to_string(Stage stage);
// nullopt for a name that is no stage (a message from a child is checked, not trusted).
std::optional<Stage> parse_stage(std::string_view text);

// A failure in a named stage of setting up the sandbox.
class SetupError : public std::runtime_error {
public:
    SetupError(Stage stage, std::string message, std::string hint = {}, int exit_code = 125);
    Stage stage() const noexcept { return stage_; }
    int exit_code() const noexcept { return exit_code_; }
    const std::string& message() const noexcept { return message_; }
    const std::string& hint() const noexcept { return hint_; }
    // The errno behind it, 0 if none; a child sends it along with its report.
    int error_number() const noexcept { return errno_; }
    SetupError& caused_by(int err) noexcept {
        errno_ = err;
        return *this;
    }

private:
    Stage stage_;
    std::string message_, hint_;
    int exit_code_;
    int errno_ = 0;
};

// A usage error on the command line: exit 125 with the message.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

std::string format_location(const SourceLocation& where);

// Renders an error for the user on stderr (stage, operation, path, errno, then the hint) and
// returns the exit code it means: the one place errors are rendered, in the main process and in
// the helpers that run a command's work in a namespace of their own.
int report_error(std::exception_ptr error);

}  // namespace sb
