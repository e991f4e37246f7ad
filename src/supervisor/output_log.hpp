// A detached sandbox's output: what its payload writes to stdout and stderr (one pipe, read by
// the supervisor) and what the supervisor itself reports, kept in `log` in the sandbox's
// directory. Bounded: when `log` would grow past kLogFileBytes it becomes `log.1` (replacing the
// previous one) and a new `log` begins, so a sandbox keeps at most twice that.
#pragma once
#include <cstddef>
#include <string>

#include "sys/unique_fd.hpp"

namespace sb {

constexpr std::size_t kLogFileBytes = 1 << 20;
constexpr const char* kLogFile = "log";
constexpr const char* kOldLogFile = "log.1";

class OutputLog {
public:
    // Creates `log` in `directory` (the sandbox's, which must outlive us). Throws SysError.
    explicit OutputLog(int directory);
    // Appends; rotates first when the file would pass the cap. Best effort: a full disk loses output.
    void write(const char* data, std::size_t size);
    // Points our own stdout and stderr at the current file (again after each rotation).
    void take_own_output();

private:
    void rotate();
    int directory_;
    UniqueFd file_;
    std::size_t size_ = 0;
    bool own_output_ = false;
};

}  // namespace sb
