// Theory of operation (runs in I, pid 1 of the sandbox, root in its user namespace, inside a
// private mount namespace):
//   1. make every mount private, so nothing we do propagates to the host and no host mount
//      appears later under a read-only view;
//   2. mount a staging tmpfs and pivot into it, so the host tree sits at /oldroot and host paths
//      are opened below it with RESOLVE_IN_ROOT (absolute symlinks stay in the host tree);
//   3. mount the sandbox's root tmpfs at /newroot and apply the plan's steps in order: each
//      target is resolved below /newroot one component at a time without following symlinks,
//      and each mount is made detached, configured (read-only is set recursively before it is
//      visible) and attached through the target's fd. Anything set-up makes (mount points,
//      directories, links) it makes only on mounts of its own, never in a bind of a host
//      directory; where the plan needs a name there, it mirrors that directory first;
//   4. make the root read-only, pivot_root into it and detach the staging root with the host.
// A fresh /proc gets the host-kernel parts hidden or read-only (kcore, sysrq-trigger, sys, ...).
#include <fcntl.h>
#include <sys/mount.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <memory>
#include <optional>
#include <set>
#include <tuple>
#include <vector>

#include "mount/mount.hpp"
#include "mount/resolve.hpp"
#include "sys/error.hpp"
#include "sys/hints.hpp"
#include "sys/mountapi.hpp"
#include "sys/syscalls.hpp"

namespace sb {
namespace {

constexpr const char* kStaging = "/tmp";  // in our private namespace; the host's /tmp is untouched

struct Roots {
    unsigned owner_uid = 0, owner_gid = 0;  // of tmpfs and dir mounts
    UniqueFd host;      // the host's root, at /oldroot
    UniqueFd sandbox;   // the new root tmpfs, at /newroot
    UniqueFd staging;   // the staging tmpfs (for file contents)
    // Host directories no sandbox may see, each opened once (the records of running sandboxes,
    // the kept changes of overlays); those that do not exist are left out.
    struct Hidden {
        UniqueFd fd;
        std::string path;
    };
    std::vector<Hidden> hidden;
    OwnMounts own;      // where set-up may create mount points, directories and links
    // Made read-only (with the rest of their step's flags) once everything inside them is made.
    std::vector<std::pair<UniqueFd, std::uint64_t>> mirrors;
    int file_count = 0;
};

std::string octal(unsigned mode) {
    char text[16];
    std::snprintf(text, sizeof text, "%04o", mode);
    return text;
}

// The kernel's bits for the step's read-only and flags (decided by the plan: mount_flags).
std::uint64_t attributes_of(const MountStep& step) {
    if (!step.flags)
        throw SetupError(Stage::Mount, "no mount flags were planned for " + step.target, hint(Cause::Bug));
    const MountFlags& flags = *step.flags;
    return (step.read_only ? MOUNT_ATTR_RDONLY : 0) | (flags.nosuid ? MOUNT_ATTR_NOSUID : 0) |
           (flags.nodev ? MOUNT_ATTR_NODEV : 0) | (flags.noexec ? MOUNT_ATTR_NOEXEC : 0);
}

std::string describe(const MountStep& step) {
    if (step.mirror) return "mirror of " + step.source + " at " + step.target;
    std::string text = std::string(to_string(step.kind)) + " ";
    if (!step.source.empty() && step.kind != MountKind::Symlink) text += step.source + " -> ";
    return text + step.target;
}

// Parts of /proc and /sys that describe or steer the host's kernel rather than the sandbox: at
// least podman's (containers-common) masked and read-only lists.
constexpr const char* kProcHidden[] = {"acpi", "kcore", "keys", "latency_stats", "timer_list",
                                       "timer_stats", "sched_debug", "scsi", "interrupts"};
constexpr const char* kProcReadOnly[] = {"asound", "bus", "fs", "irq", "sys", "sysrq-trigger"};
constexpr const char* kSysHidden[] = {"firmware", "fs/selinux", "dev/block"};

// Hides `node`: a file under /dev/null, a directory under an empty read-only tmpfs. The payload
// holds no capabilities, so it cannot take these mounts away.
void hide_node(const Roots& roots, int node, const std::string& what) {
    struct stat st;
    check(::fstat(node, &st), "stat", what);
    UniqueFd cover;
    if (S_ISDIR(st.st_mode)) {
        cover = new_filesystem("tmpfs", {{"mode", "0555"}, {"size", "0"}},
                               MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, what);
    } else {
        UniqueFd null = open_host_path(roots.host.get(), "/dev/null");
        if (!null) throw SysError("open", "/dev/null", errno);
        cover = clone_mount_tree(null.get(), false, "/dev/null");
        set_mount_attributes(cover.get(), MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, false, what);
    }
    attach_mount(cover.get(), node, what);
}

void mask_proc(const Roots& roots, int proc, const std::string& target) {
    for (const char* name : kProcHidden) {
        UniqueFd node = try_open_at(proc, name, O_PATH | O_NOFOLLOW);
        if (node) hide_node(roots, node.get(), target + "/" + name);
    }
    for (const char* name : kProcReadOnly) {
        UniqueFd node = try_open_at(proc, name, O_PATH | O_NOFOLLOW);
        if (!node) continue;
        UniqueFd tree = clone_mount_tree(node.get(), true, target + "/" + name);
        set_mount_attributes(tree.get(), MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, true,
                             target + "/" + name);
        attach_mount(tree.get(), node.get(), target + "/" + name);
    }
}

// A bind of the host's whole sysfs gets podman's /sys masks below its target.
bool is_sysfs_root(int fd) {
    struct statfs fs_info;
    struct statx stx;
    if (::fstatfs(fd, &fs_info) != 0 || fs_info.f_type != SYSFS_MAGIC) return false;
    if (::statx(fd, "", AT_EMPTY_PATH, STATX_INO, &stx) != 0) return false;
    return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

void mask_sysfs(const Roots& roots, const std::string& target) {
    for (const char* relative : kSysHidden) {
        std::string path = target + "/" + relative;
        UniqueFd node = open_existing_in_root(roots.sandbox.get(), path);
        if (node) hide_node(roots, node.get(), path);
    }
}

bool same_inode(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

// The name under which `parent` holds the directory `child` (a mount on it counts as it); ""
// when none does or the parent cannot be listed. fstatat crosses into mounts, as the walk up
// through ".." does.
std::string name_in_parent(int parent, const struct stat& child) {
    UniqueFd listing = try_open_at(parent, ".", O_RDONLY | O_DIRECTORY);
    if (!listing) return "";
    DIR* dir = ::fdopendir(listing.get());
    if (!dir) return "";
    listing.release();
    std::string found;
    while (const dirent* entry = ::readdir(dir)) {
        std::string name = entry->d_name;
        if (name == "." || name == "..") continue;
        struct stat st;
        if (::fstatat(::dirfd(dir), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) &&
            same_inode(st, child)) {
            found = name;
            break;
        }
    }
    ::closedir(dir);
    return found;
}

// Where the opened hidden directory lies below the opened bind source: the relative path (""
// for the source itself), or nullopt when the bind does not show it. Walks up from the hidden
// directory through "..", so the answer is about these two objects, whatever paths name them.
// A parent that cannot be listed lends the name from the hidden directory's path instead; the
// caller checks the result on the opened objects either way.
std::optional<std::string> hidden_dir_below(const Roots& roots, const Roots::Hidden& hidden, int source) {
    std::vector<std::string> path_names;
    for (std::size_t start = 0, slash; start < hidden.path.size(); start = slash + 1) {
        slash = hidden.path.find('/', start);
        if (slash == std::string::npos) slash = hidden.path.size();
        if (slash > start) path_names.push_back(hidden.path.substr(start, slash - start));
    }
    struct stat top, host, here;
    check(::fstat(source, &top), "stat", "bind source");
    check(::fstat(roots.host.get(), &host), "stat", "host root");
    UniqueFd current = open_at(hidden.fd.get(), ".", O_PATH | O_DIRECTORY);
    std::string relative;
    for (int depth = 0; depth < 256; ++depth) {
        check(::fstat(current.get(), &here), "stat", "a parent of the state directory");
        if (same_inode(here, top)) return relative;
        if (same_inode(here, host)) return std::nullopt;
        UniqueFd parent = open_at(current.get(), "..", O_PATH | O_DIRECTORY);
        std::string name = name_in_parent(parent.get(), here);
        if (name.empty() && static_cast<std::size_t>(depth) < path_names.size())
            name = path_names[path_names.size() - 1 - depth];
        if (name.empty()) return std::nullopt;
        relative = relative.empty() ? name : name + "/" + relative;
        current = std::move(parent);
    }
    return std::nullopt;
}

// Covers each hidden directory where this bind (or overlay layer) shows it. The cover goes on
// the node opened below the attached mount, after checking it is the hidden directory itself.
// In an overlay's view a directory is the overlay's own inode, not the layer's: there whatever
// stands at that path is covered (an upper that replaced it shows no hidden directory anyway).
void cover_hidden_dirs(const Roots& roots, int source, const MountStep& step, bool in_overlay = false) {
    for (const auto& hidden : roots.hidden) {
        auto relative = hidden_dir_below(roots, hidden, source);
        if (!relative) continue;
        if (step.propagation == Propagation::Slave)  // the plan refuses it too (protect_hidden_dirs)
            throw SetupError(Stage::Mount, "the slave bind of " + step.source + " shows " + hidden.path,
                             "bind a directory beside it, or leave propagation \"private\"");
        std::string path = relative->empty() ? step.target : step.target + "/" + *relative;
        UniqueFd node = open_existing_in_root(roots.sandbox.get(), path);
        struct stat shown, held;
        check(::fstat(hidden.fd.get(), &held), "stat", hidden.path);
        if (in_overlay && (!node || (::fstat(node.get(), &shown) == 0 && !S_ISDIR(shown.st_mode)))) continue;
        if (!node || ::fstat(node.get(), &shown) != 0 || (!in_overlay && !same_inode(shown, held)))
            throw SetupError(Stage::Mount, hidden.path + " shown at " + path + " changed while it was being hidden",
                             "something is renaming directories around it; try again");
        UniqueFd cover = new_filesystem("tmpfs", {{"mode", "0500"}, {"size", "4096"}},
                                        MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, path);
        attach_mount(cover.get(), node.get(), path);
    }
}

// A bind's source, opened once and cloned (with everything mounted below it), detached.
struct BindSource {
    UniqueFd source;  // O_PATH: every later decision about the source is made on it
    UniqueFd tree;
};

BindSource open_and_clone(int host_root, const MountStep& step) {
    BindSource bind;
    bind.source = open_bind_source(host_root, step.source, step.follow_symlinks);
    if (!bind.source && errno == ELOOP)
        throw SysError("open bind source", step.source + " (a component is a symlink)", ELOOP,
                       "bind sources are opened without following symlinks; bind the path it resolves to, or "
                       "set follow_symlinks = true on this mount if every link on the way is yours");
    if (!bind.source) throw SysError("open bind source", step.source, errno);
    struct stat st;
    check(::fstat(bind.source.get(), &st), "stat", step.source);
    if (S_ISLNK(st.st_mode)) throw SysError("open bind source", step.source + " (a symlink)", ELOOP);
    bind.tree = clone_mount_tree(bind.source.get(), true, step.source);
    return bind;
}

// `cloned` holds the source of a slave bind, cloned before our mounts were made private.
void bind_from_host(Roots& roots, const MountStep& step, std::optional<BindSource> cloned) {
    BindSource bind = cloned ? std::move(*cloned) : open_and_clone(roots.host.get(), step);
    struct stat st;
    check(::fstat(bind.source.get(), &st), "stat", step.source);
    set_mount_attributes(bind.tree.get(), attributes_of(step), true, step.source);
    UniqueFd target = ensure_path_in_root(roots.sandbox.get(), step.target,
                                          S_ISDIR(st.st_mode) ? Leaf::Directory : Leaf::File, roots.own);
    bool sysfs = is_sysfs_root(bind.source.get());
    // The masks would sit inside it, where a mount the host makes later could cover them (the
    // plan refuses other steps there; this one is decided on the opened source).
    if (sysfs && step.propagation == Propagation::Slave)
        throw SetupError(Stage::Mount, "a bind of the host's sysfs cannot have propagation \"slave\"",
                         "leave its propagation \"private\"");
    attach_mount(bind.tree.get(), target.get(), step.target);
    if (sysfs) mask_sysfs(roots, step.target);
    cover_hidden_dirs(roots, bind.source.get(), step);
}

// A writable tmpfs is made with its flags; a read-only one gets read-only after its owner.
void mount_tmpfs(Roots& roots, const std::string& target, unsigned mode, std::uint64_t size,
                 std::uint64_t attributes = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV) {
    int root = roots.sandbox.get();
    std::vector<std::pair<std::string, std::string>> options{{"mode", octal(mode)}};
    if (size) options.emplace_back("size", std::to_string(size));
    UniqueFd fs = new_filesystem("tmpfs", options, attributes & ~std::uint64_t{MOUNT_ATTR_RDONLY}, target);
    check(::fchownat(fs.get(), "", roots.owner_uid, roots.owner_gid, AT_EMPTY_PATH), "chown", target);
    if (attributes & MOUNT_ATTR_RDONLY) set_mount_attributes(fs.get(), attributes, false, target);
    UniqueFd at = ensure_path_in_root(root, target, Leaf::Directory, roots.own);
    roots.own.add(fs.get(), target);
    attach_mount(fs.get(), at.get(), target);
}

// Bounds the mounts one mirror makes (the kernel allows 100000 in a namespace by default).
constexpr std::size_t kMaxMirroredEntries = 4096;

std::vector<std::string> list_directory(int dir, const std::string& what) {
    UniqueFd listing = open_at(dir, ".", O_RDONLY | O_DIRECTORY);
    std::unique_ptr<DIR, int (*)(DIR*)> stream(::fdopendir(listing.get()), &::closedir);
    if (!stream) throw SysError("opendir", what, errno);
    listing.release();
    std::vector<std::string> names;
    for (;;) {
        errno = 0;
        const dirent* entry = ::readdir(stream.get());
        if (!entry) break;
        std::string name = entry->d_name;
        if (name == "." || name == "..") continue;
        if (names.size() == kMaxMirroredEntries)
            throw SetupError(Stage::Mount, what + " has more than " + std::to_string(kMaxMirroredEntries) +
                                          " entries: too many to mirror",
                             "create the missing mount targets in it on the host, so it need not be mirrored");
        names.push_back(std::move(name));
    }
    if (errno) throw SysError("readdir", what, errno);
    return names;
}

// Shows the entry `name` of the covered directory in the mirror `mirror`, decided and done on
// the one object opened: a symlink is copied, anything else is bound in place with everything
// mounted below it. A clone keeps its mount's flags, so read-only, nosuid and nodev hold as in
// the bind. An entry gone meanwhile is left out.
void mirror_entry(int covered, int mirror, const std::string& name, const std::string& path) {
    UniqueFd entry = try_open_at(covered, name, O_PATH | O_NOFOLLOW);
    if (!entry && errno == ENOENT) return;
    if (!entry) throw SysError("open", path, errno);
    struct stat st;
    check(::fstat(entry.get(), &st), "stat", path);
    if (S_ISLNK(st.st_mode)) {
        std::string contents(PATH_MAX, '\0');
        ssize_t length = ::readlinkat(entry.get(), "", contents.data(), contents.size());
        if (length < 0) throw SysError("readlink", path, errno);
        contents.resize(static_cast<std::size_t>(length));
        check(::symlinkat(contents.c_str(), mirror, name.c_str()), "symlink", path);
        return;
    }
    UniqueFd tree = clone_mount_tree(entry.get(), true, path);
    if (S_ISDIR(st.st_mode)) {
        check(::mkdirat(mirror, name.c_str(), 0700), "mkdir", path);
    } else {
        open_at(mirror, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
    }
    UniqueFd at = open_at(mirror, name, O_PATH | O_NOFOLLOW);
    attach_mount(tree.get(), at.get(), path);
}

// A mirror (see reserve_mount_points in plan/plan.cpp): a tmpfs over a directory of a bind,
// with the directory's mode and owner, showing each of its entries in place. The later steps
// make their missing targets in it; finish_mirrors then makes it read-only.
void mirror_directory(Roots& roots, const MountStep& step) {
    UniqueFd covered = open_existing_in_root(roots.sandbox.get(), step.target);
    if (!covered) throw SysError("open", step.target + " (to mirror it)", errno);
    struct stat st;
    check(::fstat(covered.get(), &st), "stat", step.target);
    if (!S_ISDIR(st.st_mode)) throw SysError("mirror", step.target, ENOTDIR);
    std::vector<std::string> names = list_directory(covered.get(), step.target);
    // What the plan found missing is the profile's to make: whatever stands at such a name now
    // (a dangling link, something made meanwhile) is not shown.
    std::set<std::string> reserved;
    for (const auto& path : step.reserved) {
        std::string rest = path.substr(step.target == "/" ? 1 : step.target.size() + 1);
        reserved.insert(rest.substr(0, rest.find('/')));
    }
    names.erase(std::remove_if(names.begin(), names.end(), [&](const std::string& name) { return reserved.count(name) > 0; }),
                names.end());
    UniqueFd fs = new_filesystem("tmpfs", {{"mode", octal(st.st_mode & 07777)}},
                                 attributes_of(step) & ~std::uint64_t{MOUNT_ATTR_RDONLY}, step.target);
    // An owner this user namespace does not map (EINVAL) leaves it to the sandbox's root: the
    // mirror is read-only either way.
    if (::fchownat(fs.get(), "", st.st_uid, st.st_gid, AT_EMPTY_PATH) != 0 && errno != EINVAL)
        throw SysError("chown", step.target, errno);
    roots.own.add(fs.get(), step.target);
    // `covered` still names the directory below the tmpfs: its entries are found through it.
    attach_mount(fs.get(), covered.get(), step.target);
    for (const auto& name : names) mirror_entry(covered.get(), fs.get(), name, step.target + "/" + name);
    roots.mirrors.emplace_back(std::move(fs), attributes_of(step));
}

void finish_mirrors(Roots& roots) {
    for (const auto& [mirror, attributes] : roots.mirrors)
        set_mount_attributes(mirror.get(), attributes, false, "a mirrored directory");
    roots.mirrors.clear();
}

// Creates the directory with the step's mode, owned by the payload user. A directory that
// already exists (perhaps inside a bind of the user's own files) is left exactly as it is.
void make_directory(const Roots& roots, const MountStep& step) {
    bool created = false;
    UniqueFd dir = ensure_path_in_root(roots.sandbox.get(), step.target, Leaf::Directory, roots.own, &created);
    if (!created) return;
    // Through an fd of the directory itself: O_PATH fds cannot fchmod, so reopen it without
    // following anything: "." of an O_PATH directory fd is that same directory.
    UniqueFd opened = open_at(dir.get(), ".", O_RDONLY | O_DIRECTORY);
    check(::fchown(opened.get(), roots.owner_uid, roots.owner_gid), "chown", step.target);
    check(::fchmod(opened.get(), step.mode), "chmod", step.target);
}

void make_symlink(const Roots& roots, const std::string& contents, const std::string& target) {
    std::string name;
    UniqueFd parent = ensure_parent_in_root(roots.sandbox.get(), target, name, roots.own);
    roots.own.check_may_create(parent.get(), name, target);
    check(::symlinkat(contents.c_str(), parent.get(), name.c_str()), "symlink", target);
}

// A read-only file with given contents: written on the staging tmpfs, then bind-mounted, so it
// can also cover a file inside a read-only view.
void make_file(Roots& roots, const MountStep& step) {
    std::string name = "file-" + std::to_string(roots.file_count++);
    {
        UniqueFd out = open_at(roots.staging.get(), name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, step.mode);
        write_all(out.get(), step.contents, step.target.c_str());
        check(::fchmod(out.get(), step.mode), "chmod", step.target);
    }
    UniqueFd file = open_at(roots.staging.get(), name, O_PATH | O_NOFOLLOW);
    UniqueFd tree = clone_mount_tree(file.get(), false, step.target);
    set_mount_attributes(tree.get(), attributes_of(step), false, step.target);
    UniqueFd target = ensure_path_in_root(roots.sandbox.get(), step.target, Leaf::File, roots.own);
    attach_mount(tree.get(), target.get(), step.target);
}

void mount_proc(const Roots& roots, const MountStep& step) {
    int root = roots.sandbox.get();
    const std::string& target = step.target;
    UniqueFd fs = new_filesystem("proc", {}, attributes_of(step), target);
    UniqueFd at = ensure_path_in_root(root, target, Leaf::Directory, roots.own);
    attach_mount(fs.get(), at.get(), target);
    // Re-open the target: now it is the root of the new mount. Check it really is a proc
    // before masking anything below it.
    UniqueFd proc = ensure_path_in_root(root, target, Leaf::Directory, roots.own);
    struct statfs fs_info;
    check(::fstatfs(proc.get(), &fs_info), "statfs", target);
    if (fs_info.f_type != PROC_SUPER_MAGIC)
        throw SetupError(Stage::Mount, target + " is not a proc filesystem after mounting one there");
    mask_proc(roots, proc.get(), target);
}

// Minimal /dev: the harmless character devices bound from the host, a devpts instance of our
// own (so ptys made inside are the sandbox's), /dev/shm and the usual links.
void mount_dev(Roots& roots, const MountStep& step) {
    int root = roots.sandbox.get();
    const std::string& target = step.target;
    mount_tmpfs(roots, target, 0755, 0, attributes_of(step));
    for (const char* node : {"null", "zero", "full", "random", "urandom", "tty"}) {
        UniqueFd source = open_host_path(roots.host.get(), std::string("/dev/") + node);
        if (!source) throw SysError("open", std::string("/dev/") + node, errno);
        UniqueFd tree = clone_mount_tree(source.get(), false, std::string("/dev/") + node);
        set_mount_attributes(tree.get(), MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, false, node);
        UniqueFd at = ensure_path_in_root(root, target + "/" + node, Leaf::File, roots.own);
        attach_mount(tree.get(), at.get(), target + "/" + node);
    }
    UniqueFd pts = new_filesystem("devpts", {{"newinstance", ""}, {"ptmxmode", "0666"}, {"mode", "0620"}},
                                  MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, target + "/pts");
    UniqueFd pts_at = ensure_path_in_root(root, target + "/pts", Leaf::Directory, roots.own);
    attach_mount(pts.get(), pts_at.get(), target + "/pts");
    make_symlink(roots, "pts/ptmx", target + "/ptmx");
    mount_tmpfs(roots, target + "/shm", 01777, 0);
    make_symlink(roots, "/proc/self/fd", target + "/fd");
    make_symlink(roots, "/proc/self/fd/0", target + "/stdin");
    make_symlink(roots, "/proc/self/fd/1", target + "/stdout");
    make_symlink(roots, "/proc/self/fd/2", target + "/stderr");
}

// The sandbox's own cgroup tree: a cgroup2 mount made in its cgroup namespace shows only the
// sandbox's cgroup, as the root. Read-only unless the profile allows nested limits.
void mount_cgroup(const Roots& roots, const MountStep& step) {
    UniqueFd fs = new_filesystem("cgroup2", {}, attributes_of(step), step.target);
    UniqueFd at = ensure_path_in_root(roots.sandbox.get(), step.target, Leaf::Directory, roots.own);
    attach_mount(fs.get(), at.get(), step.target);
}

// A lower (or kept upper) directory of an overlay: opened below the host root without
// following any symlink, and a directory.
UniqueFd open_overlay_directory(const Roots& roots, const std::string& path, const char* what) {
    UniqueFd dir = open_bind_source(roots.host.get(), path, false);
    if (!dir && errno == ELOOP)
        throw SysError(std::string("open ") + what, path + " (a component is a symlink)", ELOOP,
                       "overlay directories are opened without following symlinks; name the path it resolves to");
    if (!dir) throw SysError(std::string("open ") + what, path, errno);
    struct stat st;
    check(::fstat(dir.get(), &st), "stat", path);
    if (!S_ISDIR(st.st_mode)) throw SysError(std::string("open ") + what, path, ENOTDIR);
    return dir;
}

// An fd of ours as overlayfs takes a layer: a path. We are in the staging root, where the
// host's /proc (which shows us too) is below /oldroot.
std::string fd_path(int fd) { return "/oldroot/proc/self/fd/" + std::to_string(fd); }

// The upper and work directories of an overlay whose upper is a tmpfs of its own: mounted in
// the staging root (overlayfs takes layers only from mounts of our namespace), gone with it.
std::pair<UniqueFd, UniqueFd> make_tmpfs_upper(Roots& roots, const MountStep& step) {
    std::string where = "overlay-" + std::to_string(roots.file_count++);
    check(::mkdirat(AT_FDCWD, ("/" + where).c_str(), 0700), "mkdir", "/" + where);
    std::vector<std::pair<std::string, std::string>> options{{"mode", "0700"}};
    if (step.size_bytes) options.emplace_back("size", std::to_string(step.size_bytes));
    UniqueFd fs = new_filesystem("tmpfs", options, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, step.target + " (upper)");
    UniqueFd at = open_fd(("/" + where).c_str(), O_PATH | O_DIRECTORY);
    attach_mount(fs.get(), at.get(), step.target + " (upper)");
    UniqueFd top = open_fd(("/" + where).c_str(), O_RDONLY | O_DIRECTORY);
    check(::mkdirat(top.get(), "upper", 0755), "mkdir", step.target + " (upper)");
    check(::mkdirat(top.get(), "work", 0700), "mkdir", step.target + " (work)");
    return {open_at(top.get(), "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW),
            open_at(top.get(), "work", O_PATH | O_DIRECTORY | O_NOFOLLOW)};
}

// A copy-on-write view of host directories: overlayfs in the user namespace (userxattr: its
// marks are user.overlay.* xattrs, and whiteouts are the 0/0 character devices the kernel lets
// us make). The layers are named to the kernel by the fds opened here, never by their paths.
void mount_overlay(Roots& roots, const MountStep& step) {
    std::vector<UniqueFd> lowers;
    lowers.push_back(open_overlay_directory(roots, step.source, "overlay source"));
    for (const auto& lower : step.lower) lowers.push_back(open_overlay_directory(roots, lower, "overlay lower directory"));
    UniqueFd upper, work;
    if (step.upper_dir.empty()) {
        std::tie(upper, work) = make_tmpfs_upper(roots, step);
    } else {
        UniqueFd kept = open_overlay_directory(roots, step.upper_dir, "kept changes");
        upper = open_at(kept.get(), "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        work = open_at(kept.get(), "work", O_PATH | O_DIRECTORY | O_NOFOLLOW);
    }
    // The view's top directory is the upper's: give it the source's mode and owner (an owner
    // this namespace does not map stays the upper's own).
    struct stat top;
    check(::fstat(lowers.front().get(), &top), "stat", step.source);
    if (::fchown(upper.get(), top.st_uid, top.st_gid) != 0 && errno != EINVAL) throw SysError("chown", step.target + " (upper)", errno);
    check(::fchmod(upper.get(), top.st_mode & 07777), "chmod", step.target + " (upper)");
    std::string lowerdir;
    for (const auto& lower : lowers) lowerdir += (lowerdir.empty() ? "" : ":") + fd_path(lower.get());
    UniqueFd fs = new_filesystem("overlay",
                                 {{"lowerdir", lowerdir}, {"upperdir", fd_path(upper.get())},
                                  {"workdir", fd_path(work.get())}, {"userxattr", ""}},
                                 attributes_of(step), step.target);
    UniqueFd at = ensure_path_in_root(roots.sandbox.get(), step.target, Leaf::Directory, roots.own);
    attach_mount(fs.get(), at.get(), step.target);
    for (const auto& lower : lowers) cover_hidden_dirs(roots, lower.get(), step, true);
}

void apply_step(Roots& roots, const MountStep& step, std::optional<BindSource> cloned) {
    if (step.state_dir_cover) return;  // made by bind_from_host, on the opened objects
    switch (step.kind) {
        case MountKind::RoBind:
        case MountKind::Bind: bind_from_host(roots, step, std::move(cloned)); break;
        case MountKind::Tmpfs:
            if (step.mirror) {
                mirror_directory(roots, step);
            } else {
                mount_tmpfs(roots, step.target, step.mode, step.size_bytes, attributes_of(step));
            }
            break;
        case MountKind::Dir: make_directory(roots, step); break;
        case MountKind::Symlink: make_symlink(roots, step.source, step.target); break;
        case MountKind::File: make_file(roots, step); break;
        case MountKind::Proc: mount_proc(roots, step); break;
        case MountKind::Dev: mount_dev(roots, step); break;
        case MountKind::Cgroup: mount_cgroup(roots, step); break;
        case MountKind::Overlay: mount_overlay(roots, step); break;
    }
}

// The sources of the binds that are to receive the host's later mounts, opened and cloned while
// this namespace's mounts are still the host's slaves (as the kernel made them for a namespace
// of an unprivileged user): a clone keeps its mount's master, one made after
// enter_staging_root would be private. Indexed as `mounts`; empty for every other step.
std::vector<std::optional<BindSource>> clone_slave_sources(const std::vector<MountStep>& mounts) {
    std::vector<std::optional<BindSource>> cloned(mounts.size());
    UniqueFd host;
    for (std::size_t i = 0; i < mounts.size(); ++i) {
        const MountStep& step = mounts[i];
        if (!is_bind(step.kind) || step.propagation != Propagation::Slave) continue;
        // What arrives later has the host's flags: the plan makes only writable binds slaves.
        if (step.read_only)
            throw SetupError(Stage::Mount, describe(step) + ": a read-only bind cannot be a slave", hint(Cause::Bug));
        try {
            if (!host) host = open_fd("/", O_PATH | O_DIRECTORY);
            cloned[i] = open_and_clone(host.get(), step);
        } catch (const SysError& error) {
            throw SetupError(Stage::Mount, describe(step) + ": " + error.what(), error.hint());
        }
    }
    return cloned;
}

Roots enter_staging_root() {
    // Private, so that nothing made here reaches the host and no host mount appears later under
    // a read-only view (it would arrive writable); slave binds were cloned before this.
    check(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), "make mounts private", "/");
    check(::mount("tmpfs", kStaging, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700"), "mount staging tmpfs", kStaging);
    check(::chdir(kStaging), "chdir", kStaging);
    check(::mkdir("oldroot", 0700), "mkdir", "oldroot");
    check(::mkdir("newroot", 0755), "mkdir", "newroot");
    check(::mkdir("files", 0700), "mkdir", "files");
    check(::syscall(SYS_pivot_root, ".", "oldroot"), "pivot_root", "staging");
    check(::chdir("/"), "chdir", "/");
    check(::mount("tmpfs", "/newroot", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"), "mount root tmpfs", "/newroot");
    Roots roots;
    roots.host = open_fd("/oldroot", O_PATH | O_DIRECTORY);
    roots.sandbox = open_fd("/newroot", O_PATH | O_DIRECTORY);
    roots.staging = open_fd("/files", O_RDONLY | O_DIRECTORY);
    roots.own.add(roots.sandbox.get(), "/newroot");
    return roots;
}

void pivot_into_sandbox_root(Roots& roots) {
    set_mount_attributes(roots.sandbox.get(), MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, false,
                         "/ (the sandbox root)");
    roots = Roots{};  // close every fd into the old trees before detaching them
    check(::chdir("/newroot"), "chdir", "/newroot");
    // pivot_root(".", ".") stacks the old root on top of the new one; detaching "." then
    // removes the staging root and, with it, the whole host tree.
    check(::syscall(SYS_pivot_root, ".", "."), "pivot_root", "/newroot");
    check(::umount2(".", MNT_DETACH), "detach old root", "/");
    check(::chdir("/"), "chdir", "/");
}

}  // namespace

void setup_filesystem(const std::vector<MountStep>& mounts, unsigned owner_uid, unsigned owner_gid,
                      const std::vector<std::string>& hidden_dirs) {
    std::vector<std::optional<BindSource>> slave_sources = clone_slave_sources(mounts);
    Roots roots;
    try {
        roots = enter_staging_root();
        roots.owner_uid = owner_uid;
        roots.owner_gid = owner_gid;
        // Opened once, here: every cover decision below is made against these very directories.
        for (const auto& path : hidden_dirs) {
            UniqueFd dir = open_host_path(roots.host.get(), path);
            if (dir) roots.hidden.push_back({std::move(dir), path});
        }
    } catch (const SysError& error) {
        throw SetupError(Stage::Mount, error.what(),
                         "the kernel refused to build a new root; see `sandbox doctor` or check that "
                         "unprivileged user namespaces are allowed");
    }
    for (std::size_t i = 0; i < mounts.size(); ++i) {
        const MountStep& step = mounts[i];
        try {
            apply_step(roots, step, std::move(slave_sources[i]));
        } catch (const SysError& error) {
            throw SetupError(Stage::Mount, describe(step) + ": " + error.what(), error.hint());
        } catch (const SetupError& error) {
            throw SetupError(Stage::Mount, describe(step) + ": " + error.message(), error.hint());
        }
    }
    try {
        finish_mirrors(roots);
        pivot_into_sandbox_root(roots);
    } catch (const SysError& error) {
        throw SetupError(Stage::Mount, error.what(), error.hint());
    }
}

}  // namespace sb
