#include "supervisor/output_log.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>

#include "sys/syscalls.hpp"

namespace sb {

OutputLog::OutputLog(int directory)
    : directory_(directory),
      file_(open_at(directory, kLogFile, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600)) {}

void OutputLog::rotate() {
    ::renameat(directory_, kLogFile, directory_, kOldLogFile);
    UniqueFd fresh = try_open_at(directory_, kLogFile, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (!fresh) return;  // keep writing to the old file rather than lose output
    file_ = std::move(fresh);
    size_ = 0;
    if (own_output_) take_own_output();
}

void OutputLog::write(const char* data, std::size_t size) {
    if (size_ > 0 && size_ + size > kLogFileBytes) rotate();
    while (size > 0) {
        ssize_t n = ::write(file_.get(), data, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        data += n;
        size -= static_cast<std::size_t>(n);
        size_ += static_cast<std::size_t>(n);
    }
}

void OutputLog::take_own_output() {
    own_output_ = true;
    ::fflush(stdout);
    ::fflush(stderr);
    dup_onto(file_.get(), STDOUT_FILENO);
    dup_onto(file_.get(), STDERR_FILENO);
}

}  // namespace sb
