#include "manage/changes_commands.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <algorithm>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "changes/change_set.hpp"
#include "changes/protect.hpp"
#include "changes/walk.hpp"
#include "sys/error.hpp"
#include "sys/release_behind.hpp"
#include "sys/syscalls.hpp"

namespace sb {
namespace {

constexpr int kExitLeftUncommitted = 1;

std::string changes_root_of(const HostFacts& facts) {
    if (facts.data_dir.empty())
        throw UsageError("no data directory for kept changes: neither XDG_DATA_HOME nor HOME is set");
    return changes_root(facts.data_dir);
}

ChangeSet open_change_set(const HostFacts& facts, const std::string& name, ChangeSet::Lock lock,
                          bool read_meta = true) {
    auto set = ChangeSet::existing(changes_root_of(facts), name, lock, read_meta);
    if (!set) throw UsageError("sandbox " + name + " has no kept changes (see `sandbox ps --all`)");
    return std::move(*set);
}

// PATH arguments as paths relative to each kept overlay's top: absolute ones (or relative to
// the current directory) inside its source or its target. Per overlay: nullopt when no PATH
// falls in it, an empty list for all of it.
using Selection = std::vector<std::optional<std::vector<std::string>>>;

Selection paths_per_mount(const ChangeSetMeta& meta, const std::vector<std::string>& paths) {
    Selection out(meta.mounts.size());
    if (paths.empty()) {
        for (auto& selected : out) selected.emplace();
        return out;
    }
    std::string cwd;
    if (char* here = ::getcwd(nullptr, 0)) {
        cwd = here;
        ::free(here);
    }
    std::vector<bool> whole(meta.mounts.size(), false);
    for (const auto& given : paths) {
        std::string absolute = given.empty() || given[0] != '/' ? cwd + "/" + given : given;
        auto normalized = normalize_absolute_path(absolute);
        if (!normalized) throw UsageError("path " + given + ": '..' is not allowed");
        bool placed = false;
        for (std::size_t i = 0; i < meta.mounts.size() && !placed; ++i)
            for (const auto& top : {meta.mounts[i].source, meta.mounts[i].target}) {
                if (placed) break;
                if (*normalized == top) {
                    whole[i] = placed = true;
                } else if (normalized->compare(0, top.size() + 1, top == "/" ? "/" : top + "/") == 0) {
                    if (!out[i]) out[i].emplace();
                    out[i]->push_back(normalized->substr(top == "/" ? 1 : top.size() + 1));
                    placed = true;
                }
            }
        if (!placed) throw UsageError("path " + given + " is not inside an overlay of this sandbox");
    }
    for (std::size_t i = 0; i < out.size(); ++i)
        if (whole[i]) out[i].emplace();
    return out;
}

std::string display_path(const ChangeSetMeta& meta, const Change& change) {
    if (meta.mounts.size() == 1) return change.path;
    std::string top = meta.mounts[change.mount].target;
    return (top == "/" ? "" : top.substr(1) + "/") + change.path;
}

struct Layers {
    UniqueFd upper;
    std::vector<UniqueFd> lowers;  // the source first
    std::vector<int> fds() const {
        std::vector<int> out;
        for (const auto& lower : lowers) out.push_back(lower.get());
        return out;
    }
};

Layers open_layers(const ChangeSet& set, std::size_t index) {
    Layers layers;
    layers.upper = set.open_upper(index);
    layers.lowers = set.open_host_layers(index);
    return layers;
}

}  // namespace

int diff_sandbox(const HostFacts& facts, const std::string& name, const DiffOptions& options) {
    ChangeSet set = open_change_set(facts, name, ChangeSet::Lock::Shared);
    const ChangeSetMeta& meta = set.meta();
    auto per_mount = paths_per_mount(meta, options.paths);
    return run_with_ids_for(set, sandbox_root_own_ids(facts), sandbox_root_ids(facts), [&] {
        std::size_t count = 0, width = 0;
        std::uint64_t added = 0, removed = 0;
        std::vector<std::pair<Change, LineCounts>> stats;
        for (std::size_t i = 0; i < meta.mounts.size(); ++i) {
            if (!per_mount[i]) continue;
            Layers layers = open_layers(set, i);
            WalkCallbacks callbacks;
            callbacks.change = [&](const Change& change, const ChangeEntry& entry) {
                Contents old_text = entry.old_fd >= 0 ? read_contents(entry.old_fd, change.path) : Contents(std::string());
                Contents new_text = change.new_type == EntryType::File && entry.new_fd >= 0
                                        ? read_contents(entry.new_fd, change.path)
                                        : Contents(std::string());
                LineCounts counts;
                std::string display = display_path(meta, change);
                std::string text = render_unified(change, display, old_text, new_text, &counts);
                ++count;
                if (options.json) {
                    std::cout << render_change_json(change, meta.mounts[i].target, meta.mounts[i].source, counts) << "\n";
                } else if (options.stat) {
                    stats.emplace_back(change, counts);
                    width = std::max(width, quote_path(display).size());
                    added += counts.added;
                    removed += counts.removed;
                } else {
                    std::cout << text;
                }
            };
            walk_changes(i, layers.upper.get(), layers.fds(), *per_mount[i], callbacks);
        }
        if (options.stat) {
            for (const auto& [change, counts] : stats) std::cout << render_stat_line(change, display_path(meta, change), counts, width);
            std::cout << render_stat_summary(count, added, removed);
        }
        std::cout.flush();
        return 0;
    });
}

namespace {

// What commit did and left, for its report.
struct CommitReport {
    std::size_t committed = 0;
    std::vector<std::string> conflicts, protected_paths, skipped;
};

bool ctime_at_or_after(const struct stat& st, const ChangeSetMeta& meta) {
    return st.st_ctim.tv_sec > meta.base_sec || (st.st_ctim.tv_sec == meta.base_sec && st.st_ctim.tv_nsec >= meta.base_nsec);
}

// Whether anything in the host directory `dir` changed since the base (a whole directory is
// about to be removed or replaced).
bool tree_changed_since(int parent, const std::string& name, const ChangeSetMeta& meta, int depth) {
    struct stat st;
    if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return true;
    if (ctime_at_or_after(st, meta)) return true;
    if (!S_ISDIR(st.st_mode)) return false;
    if (depth > 256) return true;
    UniqueFd dir = try_open_at(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!dir) return true;
    std::vector<std::string> entries;
    try {
        entries = directory_entries(dir.get(), name);
    } catch (const SysError&) {
        return true;
    }
    for (const auto& child : entries)
        if (tree_changed_since(dir.get(), child, meta, depth + 1)) return true;
    return false;
}

// Why committing `change` would overwrite something the host changed since the sandbox first
// saw it; "" when it would not. `host` gets what is at the path on the host now (st_mode 0: nothing).
std::string conflict_of(const Change& change, const ChangeEntry& entry, const ChangeSetMeta& meta, struct stat& host) {
    host = {};
    if (entry.host_parent < 0) return "its directory is gone on the host";
    bool exists = ::fstatat(entry.host_parent, entry.name.c_str(), &host, AT_SYMLINK_NOFOLLOW) == 0;
    if (!exists) host = {};
    if (change.kind == ChangeKind::Added) return exists ? "made on the host meanwhile" : "";
    if (!exists) return "removed on the host meanwhile";
    bool whole_tree = S_ISDIR(host.st_mode) && change.kind != ChangeKind::Modified;
    if (whole_tree ? tree_changed_since(entry.host_parent, entry.name, meta, 0) : ctime_at_or_after(host, meta))
        return "changed on the host since the sandbox started";
    return "";
}

std::string temporary_name(const std::string& name) {
    std::uint64_t random = 0;
    if (::getrandom(&random, sizeof random, 0) != sizeof random) random = static_cast<std::uint64_t>(::getpid()) << 20;
    char suffix[24];
    std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(random));
    return ".sandbox-commit-" + std::string(suffix) + "-" + name.substr(0, 64);
}

void copy_range(int from, int to, loff_t begin, loff_t end, const std::string& what) {
    loff_t in = begin, out = begin;
    while (in < end) {
        ssize_t n = ::copy_file_range(from, &in, to, &out, static_cast<std::size_t>(end - in), 0);
        if (n > 0) continue;
        if (n == 0) return;
        if (errno != EXDEV && errno != EINVAL && errno != EOPNOTSUPP && errno != ENOSYS) throw SysError("copy", what, errno);
        char buffer[1 << 16];
        while (in < end) {
            ssize_t got = ::pread(from, buffer, static_cast<std::size_t>(std::min<loff_t>(sizeof buffer, end - in)), in);
            if (got < 0) throw SysError("read", what, errno);
            if (got == 0) return;
            for (ssize_t done = 0; done < got;) {
                ssize_t put = ::pwrite(to, buffer + done, static_cast<std::size_t>(got - done), in + done);
                if (put < 0) throw SysError("write", what, errno);
                done += put;
            }
            in += got;
        }
    }
}

// Copies the data of `from`, keeping its holes: a sparse file of a petabyte is a petabyte of
// nothing, not of zeros on the user's disk.
void copy_file(int from, int to, const std::string& what) {
    struct stat st;
    check(::fstat(from, &st), "stat", what);
    for (off_t offset = 0; offset < st.st_size;) {
        off_t data = ::lseek(from, offset, SEEK_DATA);
        if (data < 0 && errno == ENXIO) break;  // only a hole is left
        if (data < 0) {  // no SEEK_DATA here: all of it
            copy_range(from, to, offset, st.st_size, what);
            break;
        }
        off_t hole = ::lseek(from, data, SEEK_HOLE);
        if (hole < 0) hole = st.st_size;
        copy_range(from, to, data, hole, what);
        offset = hole;
    }
    check(::ftruncate(to, st.st_size), "truncate", what);
}

// How one change is put in place.
struct Placing {
    std::string what;        // the path shown in errors
    bool host_is_directory;  // what the host has at the path now (removed first)
    uid_t uid;               // whose the placed file becomes (the helper's own ids)
    gid_t gid;
    ReleaseBehind& replaced;  // takes the file the new one replaces, to free it off this thread
};

// Holds the host's file at the path about to be replaced (never followed), so that its blocks are
// freed when `placing.replaced` closes it, not inside the rename.
void hold_replaced(const ChangeEntry& entry, const Placing& placing, std::optional<UniqueFd>& held) {
    if (placing.host_is_directory) return;
    if (UniqueFd file = try_open_at(entry.host_parent, entry.name, O_PATH | O_NOFOLLOW)) held.emplace(std::move(file));
}

// Moves the upper's file itself into the project (one rename, no copy) when that is safe: on
// the same file system, its only link (nothing else the sandbox made can reach it afterwards),
// made ours, without set-id bits and without any extended attribute (overlayfs's marks, and
// whatever the sandbox set). False when it cannot be moved: then it is copied.
bool move_from_upper(const Change& change, const ChangeEntry& entry, const Placing& placing) {
    const std::string& what = placing.what;
    if (!entry.new_stat) return false;
    const struct stat& st = *entry.new_stat;
    if (st.st_nlink != 1 || st.st_dev != entry.host_dev) return false;
    // Owner, mode and attributes change through the read-only fd: they need ownership (or our
    // capabilities over the sandbox's ids), not a writable open.
    int file = entry.new_fd;
    if (st.st_uid != placing.uid || st.st_gid != placing.gid) check(::fchown(file, placing.uid, placing.gid), "chown", what);
    if ((st.st_mode & 07777) != (change.new_mode & 0777)) check(::fchmod(file, change.new_mode & 0777), "chmod", what);
    char names[4096];
    ssize_t length = ::flistxattr(file, names, sizeof names);
    if (length < 0) return false;
    for (std::size_t at = 0; at < static_cast<std::size_t>(length);) {
        std::string name(names + at);
        at += name.size() + 1;
        if (::fremovexattr(file, name.c_str()) != 0 && errno != ENODATA) return false;
    }
    if (placing.host_is_directory) remove_tree_at(entry.host_parent, entry.name, what);
    std::optional<UniqueFd> replaced;
    hold_replaced(entry, placing, replaced);
    check(::renameat(entry.upper_parent, entry.name.c_str(), entry.host_parent, entry.name.c_str()), "rename", what);
    if (replaced) placing.replaced.release(std::move(*replaced));
    struct stat placed;
    if (::fstatat(entry.host_parent, entry.name.c_str(), &placed, AT_SYMLINK_NOFOLLOW) != 0 || placed.st_ino != st.st_ino ||
        placed.st_dev != st.st_dev)
        throw SysError("commit", what + " (not the file that was checked)", ESTALE);
    return true;
}

// Puts the new file or link in place on the host: made beside it under a temporary name, then
// renamed over it, so a reader sees the old or the new one, never half of it. Returns whether
// the upper's entry is gone already (moved in).
bool place_entry(const Change& change, const ChangeEntry& entry, const Placing& placing) {
    const std::string& what = placing.what;
    int dir = entry.host_parent;
    if (change.new_type == EntryType::File && move_from_upper(change, entry, placing)) return true;
    std::string temporary = temporary_name(entry.name);
    if (change.new_type == EntryType::File) {
        UniqueFd out = open_at(dir, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
        try {
            copy_file(entry.new_fd, out.get(), what);
            // Never a set-id bit from a sandbox.
            check(::fchmod(out.get(), change.new_mode & 0777), "chmod", what);
        } catch (...) {
            ::unlinkat(dir, temporary.c_str(), 0);
            throw;
        }
    } else {
        check(::symlinkat(change.new_link.c_str(), dir, temporary.c_str()), "symlink", what);
    }
    if (placing.host_is_directory) remove_tree_at(dir, entry.name, what);
    std::optional<UniqueFd> replaced;
    hold_replaced(entry, placing, replaced);
    if (::renameat(dir, temporary.c_str(), dir, entry.name.c_str()) != 0) {
        int error = errno;
        ::unlinkat(dir, temporary.c_str(), 0);
        throw SysError("rename", what, error);
    }
    if (replaced) placing.replaced.release(std::move(*replaced));
    return false;
}

// Returns whether the upper's entry is gone already.
bool apply_change(const Change& change, const ChangeEntry& entry, const Placing& placing) {
    const std::string& what = placing.what;
    int dir = entry.host_parent;
    switch (change.kind == ChangeKind::Deleted ? EntryType::None : change.new_type) {
        case EntryType::None: remove_tree_at(dir, entry.name, what); break;
        case EntryType::File:
        case EntryType::Symlink: return place_entry(change, entry, placing);
        case EntryType::Directory:
            if (change.kind != ChangeKind::Modified) {
                remove_tree_at(dir, entry.name, what);
                check(::mkdirat(dir, entry.name.c_str(), 0700), "mkdir", what);
            }
            // On the directory opened without following a link, never through a name again.
            check(::fchmod(open_at(dir, entry.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW).get(), change.new_mode & 01777),
                  "chmod", what);
            break;
        case EntryType::Other: throw SysError("commit", what + " (a FIFO, socket or device: not committed)", EOPNOTSUPP);
    }
    return false;
}

// The upper no longer needs what was committed: files, links and whiteouts go; a directory made
// or replaced loses its opaque mark (the host's directory holds only what came from it).
void drop_from_upper(const Change& change, const ChangeEntry& entry, const std::string& what) {
    if (change.new_type == EntryType::Directory && change.kind != ChangeKind::Deleted) {
        if (::fremovexattr(entry.new_fd, "user.overlay.opaque") != 0 && errno != ENODATA)
            throw SysError("remove the opaque mark of", what + " (in the upper)", errno);
        return;
    }
    check(::unlinkat(entry.upper_parent, entry.name.c_str(), 0), "unlink", what + " (in the upper)");
}

// Whether `path` is one of `paths` or below one (no paths: everything).
bool selected(const std::vector<std::string>& paths, const std::string& path) {
    if (paths.empty()) return true;
    for (const auto& given : paths)
        if (path == given || (path.size() > given.size() && path.compare(0, given.size(), given) == 0 && path[given.size()] == '/'))
            return true;
    return false;
}

bool below_any(const std::string& path, const std::vector<std::string>& dirs) {
    for (const auto& dir : dirs)
        if (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/') return true;
    return false;
}

}  // namespace

int commit_sandbox(const HostFacts& facts, const std::string& name, const CommitOptions& options) {
    ChangeSet set = open_change_set(facts, name, ChangeSet::Lock::Exclusive);
    const ChangeSetMeta& meta = set.meta();
    auto per_mount = paths_per_mount(meta, options.paths);
    // The user's own file, opened before the helper takes the sandbox's ids.
    UniqueFd log;
    if (!options.violations.empty())
        log = open_at(AT_FDCWD, options.violations, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_NOCTTY, 0644);
    return run_with_ids_for(set, sandbox_root_own_ids(facts), sandbox_root_ids(facts), [&] {
        CommitReport report;
        uid_t uid = ::geteuid();  // the helper's: the sandbox's root, which is the user
        gid_t gid = ::getegid();
        ReleaseBehind replaced;
        ProtectedPaths protect(meta.protect);
        for (std::size_t i = 0; i < meta.mounts.size(); ++i) {
            if (!per_mount[i]) continue;  // no PATH falls in this overlay
            Layers layers = open_layers(set, i);
            if (!layers.lowers.front()) throw SysError("open", meta.mounts[i].source, ENOENT, "the directory the changes are of is gone");
            std::vector<std::string> left_dirs;  // not committed: nothing below them can be
            WalkCallbacks callbacks;
            callbacks.reads_old_files = false;
            callbacks.change = [&](const Change& change, const ChangeEntry& entry) {
                std::string shown = quote_path(meta.mounts[i].source + "/" + change.path);
                if (below_any(change.path, left_dirs)) {
                    report.skipped.push_back(shown);
                    return;
                }
                // A directory made or changed in place has its entries checked one by one; anything
                // else put at a path (a link, a file) or taken away could reach below it.
                bool in_place = change.new_type == EntryType::Directory &&
                                (change.kind == ChangeKind::Added || change.kind == ChangeKind::Modified);
                bool guarded = in_place ? protect.covers(change.path) : protect.covers_or_reaches_below(change.path);
                struct stat host {};
                std::string conflict = conflict_of(change, entry, meta, host);
                auto leave = [&](std::vector<std::string>& list, const std::string& why) {
                    list.push_back(shown + (why.empty() ? "" : " (" + why + ")"));
                    if (change.new_type == EntryType::Directory) left_dirs.push_back(change.path);
                };
                // A directory on the way to a PATH given is only made where it is missing; any other
                // change of it would reach beyond what was asked for.
                if (!selected(*per_mount[i], change.path)) {
                    if (change.new_type == EntryType::Directory && change.kind == ChangeKind::Modified) return;
                    if (!(change.new_type == EntryType::Directory && change.kind == ChangeKind::Added))
                        return leave(report.skipped, "on the way to a path given: commit it by name to apply it");
                }
                if (guarded && !options.force) {
                    if (log) {
                        nlohmann::ordered_json line{{"kind", "protected"}, {"path", meta.mounts[i].source + "/" + change.path},
                                                    {"change", to_string(change.kind)}, {"action", "left"}};
                        write_all(log.get(), line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n",
                                  options.violations.c_str());
                    }
                    return leave(report.protected_paths, "");
                }
                if (!conflict.empty() && !options.force) return leave(report.conflicts, conflict);
                if (change.new_type == EntryType::Other && change.kind != ChangeKind::Deleted)
                    return leave(report.skipped, "a FIFO, socket or device: not committed");
                if (!apply_change(change, entry, Placing{shown, S_ISDIR(host.st_mode), uid, gid, replaced}))
                    drop_from_upper(change, entry, shown);
                ++report.committed;
            };
            callbacks.leave_directory = [&](const std::string& path, const Change*, const ChangeEntry& entry) {
                if (below_any(path, left_dirs) || std::find(left_dirs.begin(), left_dirs.end(), path) != left_dirs.end()) return;
                // Empty, not opaque, and the host's directory has its mode: nothing left to keep.
                struct stat upper_dir, host_dir;
                if (::fstat(entry.new_fd, &upper_dir) != 0 || entry.host_parent < 0 ||
                    ::fstatat(entry.host_parent, entry.name.c_str(), &host_dir, AT_SYMLINK_NOFOLLOW) != 0 ||
                    !S_ISDIR(host_dir.st_mode) || (host_dir.st_mode & 07777) != (upper_dir.st_mode & 07777))
                    return;
                if (::fgetxattr(entry.new_fd, "user.overlay.opaque", nullptr, 0) >= 0) return;
                ::unlinkat(entry.upper_parent, entry.name.c_str(), AT_REMOVEDIR);  // fails while not empty
            };
            walk_changes(i, layers.upper.get(), layers.fds(), *per_mount[i], callbacks);
        }
        bool left = !report.conflicts.empty() || !report.protected_paths.empty() || !report.skipped.empty();
        std::cout << "sandbox: committed " << report.committed << (report.committed == 1 ? " change" : " changes")
                  << " of " << name << "\n";
        for (const auto& path : report.conflicts) std::cout << "  conflict, left alone: " << path << "\n";
        for (const auto& path : report.protected_paths) std::cout << "  protected, left alone: " << path << "\n";
        for (const auto& path : report.skipped) std::cout << "  left: " << path << "\n";
        if (!report.conflicts.empty() || !report.protected_paths.empty())
            std::cout << "hint: review them with `sandbox diff " << name << " PATH`; `sandbox commit --force " << name
                      << " PATH` commits them anyway, `sandbox discard " << name << "` drops every change left\n";
        bool anything_left = set.has_changes();
        if (!anything_left) {
            set.remove();
            std::cout << "sandbox: no changes of " << name << " are left; its change set is removed\n";
        }
        std::cout.flush();
        return left ? kExitLeftUncommitted : 0;
    });
}

int discard_changes(const HostFacts& facts, const std::vector<std::string>& names) {
    int code = 0;
    for (const auto& name : names) {
        ChangeSet set = open_change_set(facts, name, ChangeSet::Lock::Exclusive, false);
        int result = run_with_ids_for(set, sandbox_root_own_ids(facts), sandbox_root_ids(facts), [&] {
            set.remove();
            return 0;
        });
        if (result == 0) std::cout << "sandbox: discarded the changes of " << name << "\n";
        code = code ? code : result;
    }
    return code;
}

std::vector<std::string> names_with_kept_changes(const HostFacts& facts) {
    if (facts.data_dir.empty()) return {};
    return list_change_sets(changes_root(facts.data_dir));
}

}  // namespace sb
