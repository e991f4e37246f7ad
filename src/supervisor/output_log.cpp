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

// `log` never goes missing for a reader (sandbox logs): the new file is made under a temporary
// name, the current one becomes log.1 through a second link, and the new one is renamed over it.
// On any failure we keep writing to the old file rather than lose output.
void OutputLog::rotate() {
    constexpr const char* kNew = "log.new";
    constexpr const char* kOldNew = "log.1.new";
    ::unlinkat(directory_, kNew, 0);
    ::unlinkat(directory_, kOldNew, 0);
    UniqueFd fresh = try_open_at(directory_, kNew, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (!fresh) return;
    if (::linkat(directory_, kLogFile, directory_, kOldNew, 0) < 0 ||
        ::renameat(directory_, kOldNew, directory_, kOldLogFile) < 0 ||
        ::renameat(directory_, kNew, directory_, kLogFile) < 0) {
        ::unlinkat(directory_, kNew, 0);
        ::unlinkat(directory_, kOldNew, 0);
        return;
    }
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
