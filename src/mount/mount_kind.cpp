#include "mount/mount_plan.hpp"

namespace sb {

namespace {
struct KindName {
    MountKind kind;
    const char* name;
};
constexpr KindName kKindNames[] = {
    {MountKind::RoBind, "ro-bind"}, {MountKind::Bind, "bind"},
    {MountKind::BindTry, "bind-try"}, {MountKind::RoBindTry, "ro-bind-try"},
    {MountKind::Tmpfs, "tmpfs"}, {MountKind::Dir, "dir"},
    {MountKind::Symlink, "symlink"}, {MountKind::File, "file"},
    {MountKind::Proc, "proc"}, {MountKind::Dev, "dev"},
};
}  // namespace

const char* to_string(MountKind kind) {
    if (kind == MountKind::Cgroup) return "cgroup";  // added by the plan, not a profile type
    for (const auto& entry : kKindNames)
        if (entry.kind == kind) return entry.name;
    return "?";
}
std::optional<MountKind> parse_mount_kind(const std::string& text) {
    for (const auto& entry : kKindNames)
        if (text == entry.name) return entry.kind;
    return std::nullopt;
}

}  // namespace sb
