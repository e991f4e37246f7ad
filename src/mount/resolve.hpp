// Resolving mount targets inside the new root one component at a time, never following a
// symlink (a sandbox-controlled path must not redirect a mount: runc CVE-2021-30465 and kin).
#pragma once
#include <string>

#include "sys/unique_fd.hpp"

namespace sb {

enum class Leaf { Directory, File };

// Opens (O_PATH) `path` below `root`, creating missing components: directories (0755) and, for
// Leaf::File, an empty file as the last one. Throws SysError/SetupError; refuses symlinks.
// `created` (optional) tells whether the last component was made here.
UniqueFd ensure_path_in_root(int root, const std::string& path, Leaf leaf, bool* created = nullptr);

// Opens the parent directory of `path` below `root` (creating it) and returns the last name.
UniqueFd ensure_parent_in_root(int root, const std::string& path, std::string& name);

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
