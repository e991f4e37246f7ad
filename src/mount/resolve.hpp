// Resolving mount targets inside the new root one component at a time, never following a
// symlink (a sandbox-controlled path must not redirect a mount: runc CVE-2021-30465 and kin).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sys/unique_fd.hpp"

namespace sb {

enum class Leaf { Directory, File };

// The mounts the sandbox made itself (its root, its tmpfs mounts, mirrors): the only places
// where set-up creates anything. A directory on any other mount belongs to the host (a bind),
// and whatever is made there stays after the sandbox ends.
// Each is held open until set-up ends: a mount detached meanwhile (its mount point removed on
// the host) then keeps its id, which the kernel would otherwise hand to the next mount, a bind
// of a host directory perhaps. Ids are the kernel's unique 64-bit ones where it has them (6.8).
class OwnMounts {
public:
    void add(int mount_fd, const std::string& what);  // the mount `mount_fd` lies on
    bool holds(int fd) const;                          // whether `fd` lies on one of them
    // Throws unless `dir` lies on one of them: `name` was to be made in it for `path`.
    void check_may_create(int dir, const std::string& name, const std::string& path) const;

private:
    std::vector<std::uint64_t> ids_;
    std::vector<UniqueFd> held_;
};

// Opens (O_PATH) `path` below `root`, creating missing components: directories (0755) and, for
// Leaf::File, an empty file as the last one, only where `own` holds the directory they go in.
// Throws SysError/SetupError; refuses symlinks.
// `created` (optional) tells whether the last component was made here.
UniqueFd ensure_path_in_root(int root, const std::string& path, Leaf leaf, const OwnMounts& own,
                             bool* created = nullptr);

// Opens the parent directory of `path` below `root` (creating it as above) and returns the
// last name.
UniqueFd ensure_parent_in_root(int root, const std::string& path, std::string& name, const OwnMounts& own);

// Opens (O_PATH) an existing `path` below `root` without following any symlink and without
// creating anything; an invalid fd when some component is missing or a symlink.
UniqueFd open_existing_in_root(int root, const std::string& path);

// Opens a bind source below `host_root`, O_PATH. Unless `follow_symlinks`, no component of the
// path may be a symlink (ELOOP): the answer is the object the profile named, not one a payload
// redirected by swapping a directory for a link between runs.
UniqueFd open_bind_source(int host_root, const std::string& path, bool follow_symlinks);

// Opens a host path below `host_root` with RESOLVE_IN_ROOT (so absolute symlinks in it stay in
// the host tree), O_PATH. Returns an invalid fd with errno set when it does not exist.
UniqueFd open_host_path(int host_root, const std::string& path);

}  // namespace sb
