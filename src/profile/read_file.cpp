// Reading a profile file from the file system: one open, decided on the opened fd, bounded.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "profile/profile.hpp"
#include "sys/syscalls.hpp"

namespace sb {
namespace {

const char* file_type_name(mode_t mode) {
    switch (mode & S_IFMT) {
        case S_IFDIR: return "a directory";
        case S_IFIFO: return "a FIFO";
        case S_IFCHR: return "a character device";
        case S_IFBLK: return "a block device";
        case S_IFSOCK: return "a socket";
        default: return "an unknown type";
    }
}

}  // namespace

ProfileFileText read_profile_file(const std::string& path) {
    ProfileFileText result;
    // O_NONBLOCK: opening a FIFO without a writer would otherwise wait forever (it is refused
    // below, after fstat on this very fd). O_NOCTTY: a terminal never becomes ours.
    UniqueFd fd = try_open_at(AT_FDCWD, path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
    if (!fd) {
        result.error = errno;
        return result;
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) < 0) {
        result.error = errno;
        return result;
    }
    if (!S_ISREG(st.st_mode)) {
        result.refusal = std::string("not a regular file (") + file_type_name(st.st_mode) + ")";
        return result;
    }
    // Read at most one byte more than the limit, so that the loader can tell "too big" from "just
    // fits". The buffer grows with what arrives (starting from the size fstat saw): zero-filling
    // the whole limit up front cost a millisecond of page faults at every start.
    const std::size_t limit = kMaxProfileFileBytes + 1;
    std::string text;
    text.resize(std::min<std::size_t>(limit, static_cast<std::size_t>(std::max<off_t>(st.st_size, 0)) + 1));
    std::size_t done = 0;
    while (done < limit) {
        if (done == text.size()) text.resize(std::min(limit, text.size() * 2));
        ssize_t n = ::read(fd.get(), text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            result.error = errno;
            return result;
        }
        if (n == 0) break;
        done += static_cast<std::size_t>(n);
    }
    text.resize(done);
    text.shrink_to_fit();
    result.text = std::move(text);
    return result;
}

}  // namespace sb
