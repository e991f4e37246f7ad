// The filesystem slice of the plan: the steps mount/setup.cpp applies, in order, inside the
// new root. Plain data, built by plan/plan.cpp and read by the Landlock plan too.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sys/error.hpp"

namespace sb {

// The kinds a profile names (the -try ones become plain binds in the plan) and cgroup, which
// the plan adds.
enum class MountKind { RoBind, Bind, BindTry, RoBindTry, Tmpfs, Dir, Symlink, File, Proc, Dev, Cgroup };
const char* to_string(MountKind kind);
std::optional<MountKind> parse_mount_kind(const std::string& text);

// One step of the filesystem plan, applied in order inside the new root.
struct MountStep {
    MountKind kind = MountKind::Tmpfs;
    SourceLocation where;  // the target in the profile (none for steps the plan adds)
    std::string source;  // host path (binds) or link contents (symlink)
    std::string target;  // absolute path inside the new root
    bool read_only = false;
    std::uint64_t size_bytes = 0;  // tmpfs; 0 = the kernel's default
    unsigned mode = 0755;
    std::string contents;
    bool devices = false;  // binds: without nodev (the profile marks it as devices)
    // Binds: the source is opened without following any symlink in any component, unless
    // follow_symlinks (then `resolved_source` says where it pointed when planned).
    bool follow_symlinks = false;
    std::string resolved_source;
    // Set when the target lies inside a bind and exists there on the host: that bind's source.
    // (A target missing there is made in a mirror instead: see `in_mirror`.)
    std::string inside_bind;
    // A tmpfs the plan expects over the state directory where a bind shows it. Shown by
    // --dry-run; the executor does not apply it by path: it covers the state directory wherever
    // the opened bind source really shows it (mount/setup.cpp).
    bool state_dir_cover = false;
    // A mirror (kind Tmpfs, read-only): covers `target`, a directory of a bind (on the host:
    // `source`), with a tmpfs showing each of its entries bound in place, so that `reserved`
    // (targets missing on the host) can be made in the sandbox's own tmpfs (see plan.cpp).
    bool mirror = false;
    std::vector<std::string> reserved;
    std::string in_mirror;  // set on a reserved step: the target of the mirror it is made in
};

}  // namespace sb
