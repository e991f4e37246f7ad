#include "sys/mountapi.hpp"

#include <fcntl.h>
#include <sys/mount.h>

#include <cerrno>

#include "sys/error.hpp"

namespace sb {

UniqueFd clone_mount_tree(int fd, bool recursive, const std::string& what) {
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
    int tree = ::open_tree(fd, "", flags);
    check(tree, "open_tree", what);
    return UniqueFd(tree);
}

UniqueFd new_filesystem(const char* type, const std::vector<std::pair<std::string, std::string>>& options,
                        std::uint64_t mount_attrs, const std::string& what) {
    UniqueFd context(::fsopen(type, FSOPEN_CLOEXEC));
    if (!context) throw SysError(std::string("fsopen ") + type, what, errno);
    for (const auto& [key, value] : options) {
        int rc = value.empty() ? ::fsconfig(context.get(), FSCONFIG_SET_FLAG, key.c_str(), nullptr, 0)
                               : ::fsconfig(context.get(), FSCONFIG_SET_STRING, key.c_str(), value.c_str(), 0);
        check(rc, ("fsconfig " + std::string(type) + " " + key + "=" + value).c_str(), what);
    }
    check(::fsconfig(context.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0),
          ("create " + std::string(type)).c_str(), what);
    int mount = ::fsmount(context.get(), FSMOUNT_CLOEXEC, static_cast<unsigned>(mount_attrs));
    check(mount, ("fsmount " + std::string(type)).c_str(), what);
    return UniqueFd(mount);
}

void attach_mount(int from, int to_fd, const std::string& what) {
    check(::move_mount(from, "", to_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH),
          "move_mount", what);
}

void set_mount_attributes(int fd, std::uint64_t set, bool recursive, const std::string& what) {
    mount_attr attr{};
    attr.attr_set = set;
    check(::mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr),
          "mount_setattr", what);
}

}  // namespace sb
