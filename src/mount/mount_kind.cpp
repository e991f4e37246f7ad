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
        case MountKind::Overlay: return "overlay";
    }
    return "?";
}

const char* to_string(Propagation propagation) {
    switch (propagation) {
        case Propagation::Private: return "private";
        case Propagation::Slave: return "slave";
    }
    return "?";
}

std::optional<Propagation> parse_propagation(const std::string& text) {
    for (auto propagation : {Propagation::Private, Propagation::Slave})
        if (text == to_string(propagation)) return propagation;
    return std::nullopt;
}

const std::vector<MountType>& mount_types() {
    using namespace mount_keys;
    constexpr unsigned kBindKeys = kDevices | kFollowSymlinks | kPropagation;
    const auto bind = MountSource::HostPath;
    static const std::vector<MountType> types = {
        {.name = "ro-bind", .kind = MountKind::RoBind, .source = bind, .keys = kBindKeys, .read_only = true},
        {.name = "bind", .kind = MountKind::Bind, .source = bind, .keys = kBindKeys | kAllowSensitive},
        {.name = "bind-try", .kind = MountKind::Bind, .source = bind, .keys = kBindKeys | kAllowSensitive,
         .skip_missing_source = true},
        {.name = "ro-bind-try", .kind = MountKind::RoBind, .source = bind, .keys = kBindKeys,
         .skip_missing_source = true, .read_only = true},
        {.name = "tmpfs", .kind = MountKind::Tmpfs, .keys = kSize | kMode},
        {.name = "dir", .kind = MountKind::Dir, .keys = kMode},
        {.name = "symlink", .kind = MountKind::Symlink, .source = MountSource::LinkText},
        {.name = "file", .kind = MountKind::File, .keys = kMode | kContents, .read_only = true,
         .contents_required = true, .default_mode = 0644},
        {.name = "proc", .kind = MountKind::Proc},
        {.name = "dev", .kind = MountKind::Dev},
        {.name = "overlay", .kind = MountKind::Overlay, .source = bind, .keys = kLower | kUpper | kSize | kAllowSensitive},
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
        // What the sandbox writes lands in the upper: like a tmpfs of its own, never a device.
        case MountKind::Overlay:
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
