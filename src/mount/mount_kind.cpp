#include "mount/mount_plan.hpp"

namespace sb {

const char* to_string(MountKind kind) {
    switch (kind) {
        case MountKind::RoBind: return "ro-bind";
        case MountKind::Bind: return "bind";
        case MountKind::Tmpfs: return "tmpfs";
        case MountKind::Dir: return "dir";
        case MountKind::Symlink: return "symlink";
        case MountKind::File: return "file";
        case MountKind::Proc: return "proc";
        case MountKind::Dev: return "dev";
        case MountKind::Cgroup: return "cgroup";  // added by the plan, not a profile type
    }
    return "?";
}

const std::vector<MountType>& mount_types() {
    using namespace mount_keys;
    constexpr unsigned kBindKeys = kDevices | kFollowSymlinks;
    static const std::vector<MountType> types = {
        {"ro-bind", MountKind::RoBind, MountSource::HostPath, kBindKeys, false, true},
        {"bind", MountKind::Bind, MountSource::HostPath, kBindKeys | kAllowSensitive},
        {"bind-try", MountKind::Bind, MountSource::HostPath, kBindKeys | kAllowSensitive, true},
        {"ro-bind-try", MountKind::RoBind, MountSource::HostPath, kBindKeys, true, true},
        {"tmpfs", MountKind::Tmpfs, MountSource::None, kSize | kMode},
        {"dir", MountKind::Dir, MountSource::None, kMode},
        {"symlink", MountKind::Symlink, MountSource::LinkText},
        {"file", MountKind::File, MountSource::None, kMode | kContents, false, true, true, 0644},
        {"proc", MountKind::Proc},
        {"dev", MountKind::Dev},
    };
    return types;
}

const MountType* find_mount_type(const std::string& name) {
    for (const auto& type : mount_types())
        if (name == type.name) return &type;
    return nullptr;
}

MountFlags mount_flags(const MountStep& step) {
    MountFlags flags;  // nosuid and nodev
    switch (step.kind) {
        case MountKind::RoBind:
        case MountKind::Bind: flags.nodev = !step.devices; break;  // as bubblewrap: host device nodes open nothing
        case MountKind::Proc:
        case MountKind::Cgroup: flags.noexec = true; break;
        // A read-only tmpfs holds nothing to run (a mirror's entries are binds with their own flags).
        case MountKind::Tmpfs: flags.noexec = step.read_only && !step.mirror; break;
        case MountKind::File:
        case MountKind::Dev:
        case MountKind::Dir:
        case MountKind::Symlink: break;
    }
    return flags;
}

std::string mount_type_names() {
    std::string out;
    const auto& types = mount_types();
    for (std::size_t i = 0; i < types.size(); ++i)
        out += std::string(i == 0 ? "" : i + 1 == types.size() ? " or " : ", ") + types[i].name;
    return out;
}

}  // namespace sb
