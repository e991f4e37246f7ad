#include "changes/change_set.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>

#include "exitcode.hpp"
#include "idmap/write_maps.hpp"
#include "plan/plan.hpp"
#include "state/record.hpp"
#include "sys/child_process.hpp"
#include "sys/error.hpp"
#include "changes/walk.hpp"
#include "sys/syscalls.hpp"

namespace sb {
namespace {

constexpr int kMaxTreeDepth = 65536;  // every level holds an fd here (run_with_sandbox_ids raises the limit)


void make_dir_at(int dir, const std::string& name, mode_t mode, const std::string& what) {
    if (::mkdirat(dir, name.c_str(), mode) != 0 && errno != EEXIST) throw SysError("mkdir", what, errno);
}

std::string directory_part(const std::string& path) { return path.substr(0, path.rfind('/')); }
std::string name_part(const std::string& path) { return path.substr(path.rfind('/') + 1); }

void write_meta(int dir, const ChangeSetMeta& meta, const std::string& what) {
    std::string temporary = std::string(kChangesFile) + ".new";
    ::unlinkat(dir, temporary.c_str(), 0);
    if (int error = try_create_file_at(dir, temporary, render_change_set_meta(meta)))
        throw SysError("write", what + "/" + temporary, error);
    check(::renameat(dir, temporary.c_str(), dir, kChangesFile), "rename", what + "/" + kChangesFile);
}

void remove_tree(int dir, const std::string& name, const std::string& what, int depth) {
    struct stat st;
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) return;
        throw SysError("stat", what, errno);
    }
    if (S_ISDIR(st.st_mode)) {
        if (depth > kMaxTreeDepth) throw SysError("remove", what + " (nested too deep)", ELOOP);
        UniqueFd child = try_open_at(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        // overlayfs leaves its work directory with no permissions at all.
        if (!child && errno == EACCES && st.st_uid == ::geteuid() && ::fchmodat(dir, name.c_str(), 0700, 0) == 0)
            child = try_open_at(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        if (!child) throw SysError("open", what, errno);
        for (const auto& entry : directory_entries(child.get(), what)) remove_tree(child.get(), entry, what + "/" + entry, depth + 1);
        check(::unlinkat(dir, name.c_str(), AT_REMOVEDIR), "rmdir", what);
    } else {
        check(::unlinkat(dir, name.c_str(), 0), "unlink", what);
    }
}

}  // namespace

void remove_tree_at(int dir, const std::string& name, const std::string& what) { remove_tree(dir, name, what, 0); }

void make_changes_root(const std::string& changes_root) { make_private_dirs(changes_root); }

ChangeSet ChangeSet::prepare_for_run(const ChangesPlan& plan) {
    ChangeSet set;
    set.root_ = directory_part(plan.dir);
    set.name_ = name_part(plan.dir);
    const std::string& what = plan.dir;
    try {
        make_private_dirs(set.root_);
        UniqueFd root = open_fd(set.root_, O_RDONLY | O_DIRECTORY);
        check_own_directory(root.get(), set.root_);
        set.created_ = ::mkdirat(root.get(), set.name_.c_str(), 0700) == 0;
        if (!set.created_ && errno != EEXIST) throw SysError("mkdir", what, errno);
        set.dir_ = open_at(root.get(), set.name_, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        check_own_directory(set.dir_.get(), what);
    } catch (const SysError& error) {
        throw SetupError(Stage::Mount, std::string("kept changes: ") + error.what(), error.hint());
    }
    if (::flock(set.dir_.get(), LOCK_SH | LOCK_NB) != 0)
        throw SetupError(Stage::Mount, "the kept changes of " + set.name_ + " are being committed or discarded",
                         "wait for that to finish, then start it again");
    auto text = read_own_file_at(set.dir_.get(), kChangesFile);
    if (!text && errno != ENOENT)
        throw SetupError(Stage::Mount, "kept changes: cannot read " + what + "/" + kChangesFile + ": " + std::strerror(errno));
    if (text) {
        if (plan.name_generated)
            throw SetupError(Stage::Mount, "the generated name " + set.name_ + " is taken by kept changes",
                             "start it again (another name is drawn), or give one with --name");
        try {
            set.meta_ = parse_change_set_meta(*text);
        } catch (const std::exception& error) {
            throw SetupError(Stage::Mount, "kept changes: " + what + "/" + kChangesFile + ": " + error.what(),
                             "`sandbox discard " + set.name_ + "` throws them away");
        }
        if (set.meta_.mounts != plan.meta.mounts)
            throw SetupError(Stage::Mount, "sandbox " + set.name_ + " has kept changes of other overlays",
                             "see them with `sandbox diff " + set.name_ + "`, then `sandbox commit` or `sandbox discard` "
                             "them, or choose another --name");
    } else {
        set.created_ = true;  // an earlier start stopped before writing it: nothing is in it yet
        set.meta_ = plan.meta;
        timespec now{};
        ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
        set.meta_.base_sec = now.tv_sec;
        set.meta_.base_nsec = now.tv_nsec;
        try {
            write_meta(set.dir_.get(), set.meta_, what);
        } catch (const SysError& error) {
            throw SetupError(Stage::Mount, std::string("kept changes: ") + error.what(), error.hint());
        }
    }
    try {
        for (std::size_t i = 0; i < set.meta_.mounts.size(); ++i) {
            std::string index = std::to_string(i);
            make_dir_at(set.dir_.get(), index, 0700, what + "/" + index);
            UniqueFd mount = open_at(set.dir_.get(), index, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
            make_dir_at(mount.get(), "upper", 0755, what + "/" + index + "/upper");
            make_dir_at(mount.get(), "work", 0700, what + "/" + index + "/work");
            open_at(mount.get(), "upper", O_PATH | O_DIRECTORY | O_NOFOLLOW);
            open_at(mount.get(), "work", O_PATH | O_DIRECTORY | O_NOFOLLOW);
        }
    } catch (const SysError& error) {
        throw SetupError(Stage::Mount, std::string("kept changes: ") + error.what(), error.hint());
    }
    return set;
}

std::optional<ChangeSet> ChangeSet::existing(const std::string& changes_root, const std::string& name, Lock lock,
                                             bool read_meta) {
    if (!valid_sandbox_name(name)) return std::nullopt;
    ChangeSet set;
    set.root_ = changes_root;
    set.name_ = name;
    std::string what = changes_root + "/" + name;
    UniqueFd root = try_open_at(AT_FDCWD, changes_root, O_RDONLY | O_DIRECTORY);
    if (!root) {
        if (errno == ENOENT) return std::nullopt;
        throw SysError("open", changes_root, errno);
    }
    check_own_directory(root.get(), changes_root);
    set.dir_ = try_open_at(root.get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!set.dir_) {
        if (errno == ENOENT) return std::nullopt;
        throw SysError("open", what, errno);
    }
    check_own_directory(set.dir_.get(), what);
    if (::flock(set.dir_.get(), (lock == Lock::Exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0)
        throw SysError("lock", what, errno,
                       lock == Lock::Exclusive ? "sandbox " + name + " is running (its overlays are mounted) or being "
                                                 "committed: `sandbox stop " + name + "` first"
                                               : "its changes are being committed or discarded; try again");
    if (!read_meta) return set;
    auto text = read_own_file_at(set.dir_.get(), kChangesFile);
    if (!text) {
        if (errno == ENOENT) return std::nullopt;  // a start that never got as far as writing it
        throw SysError("read", what + "/" + kChangesFile, errno);
    }
    try {
        set.meta_ = parse_change_set_meta(*text);
    } catch (const std::exception& error) {
        throw SysError("read", what + "/" + kChangesFile + " (" + error.what() + ")", EINVAL,
                       "`sandbox discard " + name + "` throws the changes away");
    }
    return set;
}

UniqueFd ChangeSet::open_upper(std::size_t index) const {
    UniqueFd mount = open_at(dir_.get(), std::to_string(index), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    return open_at(mount.get(), "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
}

bool ChangeSet::has_changes() const {
    for (std::size_t i = 0; i < meta_.mounts.size(); ++i) {
        UniqueFd upper = open_upper(i);
        if (!directory_entries(upper.get(), root_ + "/" + name_ + "/" + std::to_string(i) + "/upper").empty()) return true;
    }
    return false;
}

namespace {

// Whether a change set and what its commit could touch on the host are all the caller's (the
// uid and gid it has where it runs): false on anything else, and on any error.
class OwnerScan {
public:
    OwnerScan() : uid_(::geteuid()), gid_(::getegid()) {}

    // `name` in `dir` and everything below it.
    bool tree(int dir, const std::string& name, int depth) const {
        struct stat st;
        if (depth > kMaxScanDepth || !stat_mine(dir, name, st)) return false;
        if (!S_ISDIR(st.st_mode)) return true;
        UniqueFd child = try_open_at(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        if (!child) return false;
        return all_entries(child.get(), name, [&](const std::string& entry) { return tree(child.get(), entry, depth + 1); });
    }

    // The upper's entry `name` in `upper`, and what the host directories `hosts` hold of that
    // name: commit replaces or removes it, and a whole host tree where the upper replaces one.
    bool upper_entry(int upper, const std::vector<int>& hosts, const std::string& name, int depth) const {
        struct stat st;
        if (depth > kMaxScanDepth || !stat_mine(upper, name, st)) return false;
        UniqueFd child;
        bool opaque = false;
        if (S_ISDIR(st.st_mode)) {
            child = try_open_at(upper, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
            if (!child) return false;
            opaque = is_opaque_dir(child.get());
        }
        std::vector<UniqueFd> below;
        for (int host : hosts) {
            struct stat there;
            if (::fstatat(host, name.c_str(), &there, AT_SYMLINK_NOFOLLOW) != 0) {
                if (errno == ENOENT) continue;
                return false;
            }
            if (!mine(there)) return false;
            if (!S_ISDIR(there.st_mode)) continue;
            if (!child || opaque) {  // the host's tree goes whole
                if (!tree(host, name, depth + 1)) return false;
                continue;
            }
            UniqueFd dir = try_open_at(host, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
            if (!dir) return false;
            below.push_back(std::move(dir));
        }
        if (!child) return true;
        std::vector<int> fds;
        for (const auto& dir : below) fds.push_back(dir.get());
        return all_entries(child.get(), name, [&](const std::string& entry) { return upper_entry(child.get(), fds, entry, depth + 1); });
    }

    // A kept overlay's numbered directory: its upper against the host directories `hosts`, its
    // work directory whole.
    bool mount_dir(int dir, const std::string& name, const std::vector<int>& hosts) const {
        struct stat st;
        if (!stat_mine(dir, name, st)) return false;
        UniqueFd mount = try_open_at(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        if (!mount) return false;
        return all_entries(mount.get(), name, [&](const std::string& part) {
            if (part != "upper") return tree(mount.get(), part, 1);
            struct stat upper_st;
            UniqueFd upper = stat_mine(mount.get(), part, upper_st) ? try_open_at(mount.get(), part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
                                                                    : UniqueFd();
            return upper && all_entries(upper.get(), part,
                                        [&](const std::string& entry) { return upper_entry(upper.get(), hosts, entry, 2); });
        });
    }

    bool mine(const struct stat& st) const { return st.st_uid == uid_ && st.st_gid == gid_; }

    bool stat_mine(int dir, const std::string& name, struct stat& st) const {
        return ::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && mine(st);
    }

    template <typename Each>
    static bool all_entries(int dir, const std::string& what, Each each) {
        try {
            for (const auto& entry : directory_entries(dir, what))
                if (!each(entry)) return false;
        } catch (const SysError&) {
            return false;
        }
        return true;
    }

private:
    static constexpr int kMaxScanDepth = 4096;  // as the walk's: deeper is the full ids' case (and its error)
    uid_t uid_;
    gid_t gid_;
};

// run_with_ids_for's answer when the change set holds another id's entries: not an exit code
// of anything the body runs.
constexpr int kWantsEveryId = 213;

}  // namespace

bool ChangeSet::owned_by_caller_only() const {
    OwnerScan scan;
    return OwnerScan::all_entries(dir_.get(), root_ + "/" + name_, [&](const std::string& entry) {
        char* end = nullptr;
        unsigned long index = std::strtoul(entry.c_str(), &end, 10);
        if (entry.empty() || *end || index >= meta_.mounts.size()) return scan.tree(dir_.get(), entry, 0);
        std::vector<UniqueFd> hosts;
        try {
            hosts = open_host_layers(index);
        } catch (const SysError&) {
            return false;
        }
        std::vector<int> fds;
        for (const auto& host : hosts)
            if (host) fds.push_back(host.get());  // a missing one: the walk says so
        return scan.mount_dir(dir_.get(), entry, fds);
    });
}

std::vector<UniqueFd> ChangeSet::open_host_layers(std::size_t index) const {
    const KeptOverlay& mount = meta_.mounts[index];
    std::vector<UniqueFd> layers;
    auto open_one = [&](const std::string& path) {
        UniqueFd dir = try_openat2(AT_FDCWD, path, O_RDONLY | O_DIRECTORY, RESOLVE_NO_SYMLINKS);
        if (!dir && errno != ENOENT) throw SysError("open", path, errno);
        layers.push_back(std::move(dir));
    };
    open_one(mount.source);
    for (const auto& lower : mount.lower) open_one(lower);
    return layers;
}

void ChangeSet::remove() {
    UniqueFd root = open_fd(root_, O_RDONLY | O_DIRECTORY);
    struct stat held, named;
    check(::fstat(dir_.get(), &held), "stat", root_ + "/" + name_);
    // The name must still be the directory we locked.
    if (::fstatat(root.get(), name_.c_str(), &named, AT_SYMLINK_NOFOLLOW) != 0 || held.st_ino != named.st_ino ||
        held.st_dev != named.st_dev)
        throw SysError("remove", root_ + "/" + name_ + " (replaced meanwhile)", ESTALE);
    remove_tree_at(root.get(), name_, root_ + "/" + name_);
}

std::vector<std::string> list_change_sets(const std::string& changes_root) {
    UniqueFd root = try_open_at(AT_FDCWD, changes_root, O_RDONLY | O_DIRECTORY);
    if (!root) return {};
    std::vector<std::string> names;
    for (auto& name : directory_entries(root.get(), changes_root)) {
        struct stat st;
        if (valid_sandbox_name(name) && ::fstatat(root.get(), (name + "/" + kChangesFile).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
            names.push_back(std::move(name));
    }
    std::sort(names.begin(), names.end());
    return names;
}

int run_with_sandbox_ids(const IdMapping& ids, const std::function<int()>& body) {
    UniqueFd unshared_write, go_write;
    UniqueFd unshared_read = make_pipe_end_pair(unshared_write);
    UniqueFd go_read = make_pipe_end_pair(go_write);
    ::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) throw SysError("fork", "a helper in the sandbox's ids", errno);
    if (pid == 0) {
        int code = kExitSetupFailed;
        try {
            unshared_read.reset();
            go_write.reset();
            // A deep tree holds an fd per level while it is walked or removed.
            rlimit files{};
            if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
                files.rlim_cur = files.rlim_max;
                ::setrlimit(RLIMIT_NOFILE, &files);
            }
            check(::unshare(CLONE_NEWUSER), "unshare", "a user namespace");
            char byte = 1;
            check(static_cast<int>(::write(unshared_write.get(), &byte, 1)), "write", "pipe");
            unshared_write.reset();
            if (::read(go_read.get(), &byte, 1) != 1) ::_exit(kExitSetupFailed);
            code = body();
        } catch (...) {
            code = report_error(std::current_exception());
        }
        std::cout.flush();
        std::cerr.flush();
        ::_exit(code);
    }
    ChildProcess child(pid);
    unshared_write.reset();
    go_read.reset();
    char byte = 0;
    if (::read(unshared_read.get(), &byte, 1) != 1) return exit_code_for_wait_status(child.wait());
    IdMapWriter writer(pid, ids);
    writer.finish();
    check(static_cast<int>(::write(go_write.get(), &byte, 1)), "write", "pipe");
    go_write.reset();
    return exit_code_for_wait_status(child.wait());
}

int run_with_ids_for(const ChangeSet& set, const IdMapping& own, const IdMapping& every, const std::function<int()>& body) {
    if (own.writer != MapWriter::SingleId || every.writer == MapWriter::SingleId) return run_with_sandbox_ids(every, body);
    // Looked at inside, where the user's own files are root's and root may open them whatever
    // their mode (overlayfs's work directory has none): a quick look, before anything is changed.
    int code = run_with_sandbox_ids(own, [&] { return set.owned_by_caller_only() ? body() : kWantsEveryId; });
    return code == kWantsEveryId ? run_with_sandbox_ids(every, body) : code;
}

}  // namespace sb
