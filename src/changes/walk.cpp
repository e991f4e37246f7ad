#include "changes/walk.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "sys/error.hpp"
#include "sys/syscalls.hpp"

namespace sb {
namespace {

constexpr int kMaxDepth = 4096;  // every level holds a few fds open (run_with_sandbox_ids raises the limit)

EntryType type_of(mode_t mode) {
    if (S_ISREG(mode)) return EntryType::File;
    if (S_ISDIR(mode)) return EntryType::Directory;
    if (S_ISLNK(mode)) return EntryType::Symlink;
    return EntryType::Other;
}

std::vector<std::string> sorted_entries(int dir, const std::string& what) {
    std::vector<std::string> names = directory_entries(dir, what);
    std::sort(names.begin(), names.end());
    return names;
}

std::string read_link_at(int dir, const std::string& name, const std::string& what) {
    std::string target(PATH_MAX, '\0');
    ssize_t length = ::readlinkat(dir, name.c_str(), target.data(), target.size());
    if (length < 0) throw SysError("readlink", what, errno);
    target.resize(static_cast<std::size_t>(length));
    return target;
}

std::string xattr_of(int fd, const char* name) {
    char value[8];
    ssize_t length = ::fgetxattr(fd, name, value, sizeof value);
    return length > 0 ? std::string(value, static_cast<std::size_t>(length)) : std::string();
}

bool same_bytes(int a, int b, const std::string& what) {
    std::vector<char> left(1 << 16), right(1 << 16);
    off_t offset = 0;
    for (;;) {
        ssize_t n = ::pread(a, left.data(), left.size(), offset);
        if (n < 0) throw SysError("read", what, errno);
        ssize_t m = 0;
        while (m < n) {  // fill the same amount from the other
            ssize_t got = ::pread(b, right.data() + m, static_cast<std::size_t>(n - m), offset + m);
            if (got < 0) throw SysError("read", what, errno);
            if (got == 0) return false;
            m += got;
        }
        if (n == 0) {
            char extra;
            return ::pread(b, &extra, 1, offset) == 0;
        }
        if (std::memcmp(left.data(), right.data(), static_cast<std::size_t>(n)) != 0) return false;
        offset += n;
    }
}

// An object of the upper, opened once: O_PATH first (nothing is opened that could act on
// being opened, a FIFO or a device), then regular files and directories for reading, checked
// to be that same object.
struct UpperEntry {
    UniqueFd path, fd;
    struct stat st {};
    bool whiteout = false;
};

UpperEntry open_upper_entry(int dir, const std::string& name, const std::string& what) {
    UpperEntry entry;
    entry.path = open_at(dir, name, O_PATH | O_NOFOLLOW);
    check(::fstat(entry.path.get(), &entry.st), "stat", what);
    if (S_ISCHR(entry.st.st_mode) && entry.st.st_rdev == makedev(0, 0)) {
        entry.whiteout = true;
        return entry;
    }
    int flags = S_ISDIR(entry.st.st_mode) ? O_RDONLY | O_DIRECTORY | O_NOFOLLOW
                : S_ISREG(entry.st.st_mode) ? O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY
                                            : 0;
    if (!flags) return entry;
    entry.fd = open_at(dir, name, flags);
    struct stat opened;
    check(::fstat(entry.fd.get(), &opened), "stat", what);
    if (opened.st_ino != entry.st.st_ino || opened.st_dev != entry.st.st_dev)
        throw SysError("open", what + " (replaced while being read)", ESTALE);
    entry.st = opened;
    // overlayfs marks an xattr whiteout (an empty file) with user.overlay.whiteout.
    if (S_ISREG(entry.st.st_mode) && entry.st.st_size == 0 && ::fgetxattr(entry.fd.get(), "user.overlay.whiteout", nullptr, 0) >= 0)
        entry.whiteout = true;
    return entry;
}

struct Walk {
    std::size_t mount;
    const std::vector<std::string>& only;
    const WalkCallbacks& callbacks;

    // Whether `path` is one of `only`, below one, or on the way to one.
    bool wanted(const std::string& path) const {
        if (only.empty()) return true;
        for (const auto& limit : only) {
            if (path == limit) return true;
            if (path.size() > limit.size() && path.compare(0, limit.size(), limit) == 0 && path[limit.size()] == '/') return true;
            if (limit.size() > path.size() && limit.compare(0, path.size(), path) == 0 && limit[path.size()] == '/') return true;
        }
        return false;
    }

    void directory(int upper, const std::vector<int>& lowers, int host, const std::string& prefix, int depth) {
        if (depth > kMaxDepth) throw SysError("walk", prefix + " (nested too deep)", ELOOP);
        struct stat host_st {};
        if (host >= 0) check(::fstat(host, &host_st), "stat", prefix.empty() ? "the host directory" : prefix + " (on the host)");
        for (const auto& name : sorted_entries(upper, prefix.empty() ? "the upper directory" : prefix)) {
            std::string path = prefix.empty() ? name : prefix + "/" + name;
            if (!wanted(path)) continue;
            entry(upper, lowers, host, host_st.st_dev, name, path, depth);
        }
    }

    void entry(int upper, const std::vector<int>& lowers, int host, dev_t host_dev, const std::string& name,
               const std::string& path, int depth) {
        UpperEntry now = open_upper_entry(upper, name, path);
        Change change;
        change.mount = mount;
        change.path = path;
        // The lower entry: the first lower that has the name; a directory merges the lower
        // directories of that name down to the first lower that has something else there.
        struct stat old {};
        bool found = false;
        std::vector<UniqueFd> lower_dirs;
        UniqueFd old_file;
        for (int lower : lowers) {
            struct stat st;
            if (!stat_on_host(lower, name, st, path)) continue;
            if (!found) {
                old = st;
                found = true;
            }
            if (!S_ISDIR(st.st_mode) || !S_ISDIR(old.st_mode)) break;
            UniqueFd dir = try_open_at(lower, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
            if (dir) lower_dirs.push_back(std::move(dir));
        }
        if (found) {
            change.old_type = type_of(old.st_mode);
            change.old_mode = old.st_mode & 07777;
            change.old_size = static_cast<std::uint64_t>(old.st_size);
        }
        ChangeEntry handles;
        handles.upper_parent = upper;
        handles.host_parent = host;
        handles.name = name;
        handles.new_fd = now.fd.get();
        if (now.fd) handles.new_stat = &now.st;
        handles.host_dev = host_dev;
        if (now.whiteout) {
            if (!found) return;  // nothing below to hide
            change.kind = ChangeKind::Deleted;
            if (change.old_type == EntryType::Symlink) change.old_link = read_link_at(lowers.front(), name, path);
            if (change.old_type == EntryType::File && callbacks.reads_old_files) old_file = open_old_file(lowers, name, path);
            handles.old_fd = old_file.get();
            callbacks.change(change, handles);
            return;
        }
        change.new_type = type_of(now.st.st_mode);
        change.new_mode = now.st.st_mode & 07777;
        change.new_size = static_cast<std::uint64_t>(now.st.st_size);
        bool changed = true;
        bool children_are_new = true;  // an added, replaced or new directory: no lower below
        if (!found) {
            change.kind = ChangeKind::Added;
        } else if (change.old_type != change.new_type) {
            change.kind = ChangeKind::TypeChanged;
        } else {
            change.kind = ChangeKind::Modified;
            switch (change.new_type) {
                case EntryType::Directory:
                    if (is_opaque_dir(now.fd.get())) {
                        change.kind = ChangeKind::Replaced;
                    } else {
                        children_are_new = false;
                        changed = change.old_mode != change.new_mode;
                    }
                    break;
                case EntryType::File: {
                    // Bytes are compared only when the sizes are the same.
                    if (change.old_size == change.new_size || callbacks.reads_old_files)
                        old_file = open_old_file(lowers, name, path);
                    change.content_changed = change.old_size != change.new_size ||
                                             !same_bytes(old_file.get(), now.fd.get(), path);
                    changed = change.content_changed || change.old_mode != change.new_mode;
                    break;
                }
                case EntryType::Symlink:
                    change.old_link = read_link_at(first_with(lowers, name), name, path);
                    change.new_link = read_link_at(upper, name, path);
                    change.content_changed = change.old_link != change.new_link;
                    changed = change.content_changed;
                    break;
                default: changed = change.old_mode != change.new_mode; break;
            }
        }
        if (change.new_type == EntryType::Symlink && change.new_link.empty()) change.new_link = read_link_at(upper, name, path);
        if (change.old_type == EntryType::Symlink && change.old_link.empty() && change.kind != ChangeKind::Added)
            change.old_link = read_link_at(first_with(lowers, name), name, path);
        if (change.old_type == EntryType::File && change.kind == ChangeKind::TypeChanged && callbacks.reads_old_files)
            old_file = open_old_file(lowers, name, path);
        handles.old_fd = old_file.get();
        if (changed) callbacks.change(change, handles);
        if (change.new_type != EntryType::Directory) return;
        // After the visitor: commit makes the directory on the host first.
        UniqueFd host_child = host >= 0 ? try_open_at(host, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) : UniqueFd();
        std::vector<int> below;
        if (!children_are_new)
            for (const auto& dir : lower_dirs) below.push_back(dir.get());
        directory(now.fd.get(), below, host_child.get(), path, depth + 1);
        if (callbacks.leave_directory) {
            ChangeEntry leaving = handles;
            leaving.host_parent = host;
            callbacks.leave_directory(path, changed ? &change : nullptr, leaving);
        }
    }

    // False when the host has nothing of that name; an entry that cannot be looked at is an
    // error, never taken for a missing one (its change would show as an addition).
    static bool stat_on_host(int dir, const std::string& name, struct stat& st, const std::string& path) {
        if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return true;
        if (errno == ENOENT) return false;
        throw SysError("stat", path + " (on the host)", errno);
    }

    static int first_with(const std::vector<int>& lowers, const std::string& name) {
        for (int lower : lowers) {
            struct stat st;
            if (stat_on_host(lower, name, st, name)) return lower;
        }
        return lowers.empty() ? -1 : lowers.front();
    }

    static UniqueFd open_old_file(const std::vector<int>& lowers, const std::string& name, const std::string& path) {
        UniqueFd file = try_open_at(first_with(lowers, name), name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        if (!file) throw SysError("open", path + " (on the host)", errno);
        return file;
    }
};

}  // namespace

void walk_changes(std::size_t mount, int upper, const std::vector<int>& lowers, const std::vector<std::string>& only,
                  const WalkCallbacks& callbacks) {
    Walk walk{mount, only, callbacks};
    std::vector<int> valid;
    for (int lower : lowers)
        if (lower >= 0) valid.push_back(lower);
    walk.directory(upper, valid, lowers.empty() ? -1 : lowers.front(), "", 0);
}

bool is_opaque_dir(int fd) { return xattr_of(fd, "user.overlay.opaque") == "y"; }

Contents read_contents(int fd, const std::string& what) {
    struct stat st;
    check(::fstat(fd, &st), "stat", what);
    if (static_cast<std::uint64_t>(st.st_size) > kMaxDiffBytes) return std::nullopt;
    std::string bytes;
    char buffer[1 << 16];
    for (off_t offset = 0;;) {
        ssize_t n = ::pread(fd, buffer, sizeof buffer, offset);
        if (n < 0) throw SysError("read", what, errno);
        if (n == 0) break;
        bytes.append(buffer, static_cast<std::size_t>(n));
        offset += n;
        if (bytes.size() > kMaxDiffBytes) return std::nullopt;
    }
    return bytes;
}

}  // namespace sb
