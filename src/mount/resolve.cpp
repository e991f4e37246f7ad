#include "mount/resolve.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <sstream>
#include <vector>

#include "sys/error.hpp"
#include "sys/syscalls.hpp"

namespace sb {
namespace {

std::vector<std::string> components(const std::string& path) {
    std::vector<std::string> parts;
    std::stringstream stream(path);
    std::string part;
    while (std::getline(stream, part, '/'))
        if (!part.empty()) parts.push_back(part);
    return parts;
}

[[noreturn]] void refuse_symlink(const std::string& path, const std::string& component) {
    throw SetupError(Stage::Mount, "target " + path + ": component '" + component +
                                  "' is a symlink inside the sandbox; refusing to follow it",
                     "choose a target path without symlinks in the sandbox (e.g. /usr/bin, not /bin)");
}

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x4000U  // Linux 6.8
#endif

// The unique id where the kernel has one; else the reusable one (OwnMounts holds its mounts
// open, so theirs are not reused while set-up runs). 0 when neither is known.
std::uint64_t mount_id(int fd) {
    struct statx stx;
    if (::statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID_UNIQUE, &stx) == 0 &&
        (stx.stx_mask & STATX_MNT_ID_UNIQUE))
        return stx.stx_mnt_id;
    if (::statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) != 0) return 0;
    return (stx.stx_mask & STATX_MNT_ID) ? stx.stx_mnt_id : 0;
}

// Opens a directory component below `dir`, creating it when missing (where `own` allows).
UniqueFd open_or_create_dir(int dir, const std::string& name, const std::string& path, const OwnMounts& own,
                            bool* created = nullptr, mode_t mode = 0755) {
    UniqueFd fd = try_open_at(dir, name, O_PATH | O_NOFOLLOW | O_DIRECTORY);
    if (created) *created = false;
    if (fd) return fd;
    if (errno == ENOTDIR || errno == ELOOP) {
        struct stat st;
        if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
            refuse_symlink(path, name);
        throw SysError("open", path + " (component '" + name + "' is not a directory)", ENOTDIR);
    }
    if (errno != ENOENT) throw SysError("open", path, errno);
    own.check_may_create(dir, name, path);
    int made = ::mkdirat(dir, name.c_str(), mode);
    if (made < 0 && errno != EEXIST)
        throw SysError("mkdir", path + " (at '" + name + "')", errno,
                       errno == EROFS ? "the parent is read-only: mount a tmpfs on it first, or pick a "
                                        "target that already exists"
                                      : "");
    if (created) *created = made == 0;  // not when someone else made it in between
    return open_at(dir, name, O_PATH | O_NOFOLLOW | O_DIRECTORY);
}

}  // namespace

void OwnMounts::add(int mount_fd, const std::string& what) {
    std::uint64_t id = mount_id(mount_fd);
    if (!id) throw SysError("statx (mount id)", what, errno ? errno : ENOSYS);
    UniqueFd held(::fcntl(mount_fd, F_DUPFD_CLOEXEC, 0));
    if (!held) throw SysError("dup", what, errno);
    ids_.push_back(id);
    held_.push_back(std::move(held));
}

bool OwnMounts::holds(int fd) const {
    std::uint64_t id = mount_id(fd);
    return id && std::find(ids_.begin(), ids_.end(), id) != ids_.end();
}

void OwnMounts::check_may_create(int dir, const std::string& name, const std::string& path) const {
    if (holds(dir)) return;
    throw SetupError(Stage::Mount, "target " + path + ": '" + name +
                                  "' is missing in a directory of the host, and the sandbox creates nothing there",
                     "it existed when the sandbox was planned, so something removed it meanwhile: try again, or "
                     "create it on the host");
}

UniqueFd ensure_parent_in_root(int root, const std::string& path, std::string& name, const OwnMounts& own) {
    auto parts = components(path);
    if (parts.empty()) throw SetupError(Stage::Mount, "target \"" + path + "\" has no name");
    UniqueFd dir = open_at(root, ".", O_PATH | O_DIRECTORY);
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) dir = open_or_create_dir(dir.get(), parts[i], path, own);
    name = parts.back();
    return dir;
}

UniqueFd ensure_path_in_root(int root, const std::string& path, Leaf leaf, const OwnMounts& own, bool* created) {
    std::string name;
    UniqueFd dir = ensure_parent_in_root(root, path, name, own);
    // A leaf whose creator wants to know (a `dir` step) starts closed (0700) until it gets its
    // final mode and owner, so it is never open to others in between.
    if (leaf == Leaf::Directory) return open_or_create_dir(dir.get(), name, path, own, created, created ? 0700 : 0755);
    if (created) *created = false;
    UniqueFd fd = try_open_at(dir.get(), name, O_PATH | O_NOFOLLOW);
    if (!fd) {
        if (errno != ENOENT) throw SysError("open", path, errno);
        own.check_may_create(dir.get(), name, path);
        UniqueFd created = try_open_at(dir.get(), name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
        if (!created && errno != EEXIST)
            throw SysError("create", path, errno,
                           errno == EROFS ? "the parent is read-only: mount a tmpfs on it first, or "
                                            "pick a target that already exists"
                                          : "");
        fd = open_at(dir.get(), name, O_PATH | O_NOFOLLOW);
    }
    struct stat st;
    check(::fstat(fd.get(), &st), "stat", path);
    if (S_ISLNK(st.st_mode)) refuse_symlink(path, name);
    return fd;
}

UniqueFd open_existing_in_root(int root, const std::string& path) {
    std::string relative = path.size() > 1 ? path.substr(1) : ".";
    return try_openat2(root, relative, O_PATH | O_NOFOLLOW, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}

UniqueFd open_bind_source(int host_root, const std::string& path, bool follow_symlinks) {
    if (follow_symlinks) return open_host_path(host_root, path);
    std::string relative = path.size() > 1 ? path.substr(1) : ".";
    // Without O_NOFOLLOW: with it, openat2 would hand back the trailing link itself.
    return try_openat2(host_root, relative, O_PATH, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
}

UniqueFd open_host_path(int host_root, const std::string& path) {
    std::string relative = path.size() > 1 ? path.substr(1) : ".";
    return try_openat2(host_root, relative, O_PATH, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

}  // namespace sb
