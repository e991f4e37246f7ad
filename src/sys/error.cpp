#include "sys/error.hpp"

#include <cerrno>
#include <cstring>

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

SetupError::SetupError(std::string stage, std::string message, std::string hint, int exit_code)
    : std::runtime_error(stage + ": " + message),
      stage_(std::move(stage)), message_(std::move(message)), hint_(std::move(hint)), exit_code_(exit_code) {}

}  // namespace sb
