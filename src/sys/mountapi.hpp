// The new mount API (open_tree, fsopen/fsconfig/fsmount, move_mount, mount_setattr) behind
// checked helpers that return UniqueFds. Mounts are made detached, configured, then attached
// to an O_PATH fd of the target, so no path is looked up twice.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sys/unique_fd.hpp"

namespace sb {

// A detached copy of the mount tree at `fd` (recursive: with its submounts).
UniqueFd clone_mount_tree(int fd, bool recursive, const std::string& what);
// A new detached filesystem of `type` configured with key=value strings (value "" = flag).
UniqueFd new_filesystem(const char* type, const std::vector<std::pair<std::string, std::string>>& options,
                        std::uint64_t mount_attrs, const std::string& what);
// Attaches the detached mount `from` on top of `to_fd`.
void attach_mount(int from, int to_fd, const std::string& what);
// mount_setattr(2) on the mount at fd.
void set_mount_attributes(int fd, std::uint64_t set, bool recursive, const std::string& what);

}  // namespace sb
