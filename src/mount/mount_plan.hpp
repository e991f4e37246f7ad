// The filesystem slice of the plan: the steps mount/setup.cpp applies, in order, inside the
// new root. Plain data, built by plan/plan.cpp and read by the Landlock plan too.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sys/error.hpp"

namespace sb {

// The kinds of step the plan makes (mount/setup.cpp applies each). Profiles name mount types
// (below), which become these; cgroup is added by the plan.
enum class MountKind { RoBind, Bind, Tmpfs, Dir, Symlink, File, Proc, Dev, Cgroup, Overlay };
const char* to_string(MountKind kind);
inline bool is_bind(MountKind kind) { return kind == MountKind::RoBind || kind == MountKind::Bind; }

// What a [[mount]]'s `source` is.
enum class MountSource {
    None,      // none taken (tmpfs, dir, file, proc, dev)
    HostPath,  // a host path, required; `target` defaults to it (binds)
    LinkText,  // the link's contents, required (symlink)
};

// The optional keys of a [[mount]] beyond type, source and target (a bit mask).
namespace mount_keys {
constexpr unsigned kSize = 1, kMode = 2, kContents = 4, kDevices = 8, kFollowSymlinks = 16, kAllowSensitive = 32,
                   kPropagation = 64, kLower = 128, kUpper = 256;
}

// Whether mounts the host makes later below a bind's source show in the sandbox (binds are
// recursive, so these are podman's "rprivate" and "rslave"). Nothing made inside ever reaches
// the host: the kernel makes every mount of a namespace owned by a user namespace of ours at
// most a slave of the host's.
enum class Propagation { Private, Slave };
const char* to_string(Propagation propagation);
std::optional<Propagation> parse_propagation(const std::string& text);

// A [[mount]] type of profiles: its name, the step it becomes and the keys it takes.
//
// Worked example: adding `type = "ro-tmpfs"` (an empty read-only tmpfs, say to hide a directory)
// takes two places: the row {"ro-tmpfs", MountKind::Tmpfs, MountSource::None, kSize | kMode,
// false, true} in mount_types() (mount/mount_kind.cpp), and its entry in man/sandbox.toml.5.
// The profile parser (the keys it takes and needs, errors with file:line:col), `check`'s
// rendering, --dry-run, the plan's rules for missing sources and sensitive binds, the flags
// (mount_flags) and Landlock follow from the row and its step kind. A type that needs a new
// kind of step also adds the MountKind and its case in mount/setup.cpp's apply_step; the compiler
// (-Werror=switch) then names every other switch that must say what the new kind means.
struct MountType {
    const char* name;  // "ro-bind-try"
    MountKind kind;    // the plan's step
    MountSource source = MountSource::None;
    unsigned keys = 0;                   // the optional keys it takes (mount_keys)
    bool skip_missing_source = false;    // -try: no step when the source does not exist
    bool read_only = false;              // the step is read-only
    bool contents_required = false;      // file: `contents` must be given
    unsigned default_mode = 0755;        // for `mode`
};

// Every type, in the order the manual lists them.
const std::vector<MountType>& mount_types();
const MountType* find_mount_type(const std::string& name);
// "ro-bind, bind, ..., proc or dev": for the error about an unknown type.
std::string mount_type_names();

// A mount's own flags beyond read-only (a bind's apply to every mount of the tree it brings).
// The executor applies exactly these; an OCI front-end's "nosuid", "nodev", "noexec" land here.
struct MountFlags {
    bool nosuid = true, nodev = true, noexec = false;
    bool operator==(const MountFlags&) const = default;
};

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
    bool devices = false;  // binds: the profile asks for device nodes that work (no nodev)
    Propagation propagation = Propagation::Private;  // binds
    // Decided by mount_flags() once the plan is complete; the executor refuses a step without.
    std::optional<MountFlags> flags;
    // Binds: the source is opened without following any symlink in any component, unless
    // follow_symlinks (then `resolved_source` says where it pointed when planned).
    bool follow_symlinks = false;
    std::string resolved_source;
    // Binds: an app's persistent home ([desktop] home = "persistent"), inside the hidden homes of
    // apps; the supervisor makes it before the start.
    bool app_home = false;
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
    // Overlay: `source` is the top lower directory (the one `sandbox commit` writes to), `lower`
    // the ones below it, top first. The upper is a tmpfs of its own (size_bytes), or, when
    // `upper_dir` is set, the kept directory holding `upper` and `work` (in the data directory,
    // see changes/store.hpp), made and checked by the supervisor before the sandbox starts.
    std::vector<std::string> lower;
    std::string upper_dir;
};

// The flags of a step, one rule for every kind: nosuid always; nodev unless a bind asks for
// devices; noexec where nothing should run from (proc, the cgroup tree, a read-only tmpfs).
// A step must get them from here: MountStep.flags is empty until then, and the executor fails
// a step without, rather than guess.
MountFlags mount_flags(const MountStep& step);

}  // namespace sb
