// The profile: what a TOML file (and the files it extends) asks for, merged, with variables
// expanded and every value validated. Pure: reads only the profile files themselves.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cgroup/limits.hpp"
#include "desktop/settings.hpp"
#include "idmap/idmap.hpp"
#include "mount/mount_plan.hpp"
#include "net/address.hpp"
#include "net/slirp_settings.hpp"
#include "landlock/plan.hpp"
#include "profile/rlimits.hpp"
#include "seccomp/policy.hpp"
#include "sys/error.hpp"

namespace sb {

enum class NetworkMode { None, Host, Slirp };
// Cgroup is never written in a profile: the plan adds it (the sandbox's own cgroup2 view).

const char* to_string(UserMode mode);
const char* to_string(NetworkMode mode);
std::optional<UserMode> parse_user_mode(const std::string& text);
std::optional<NetworkMode> parse_network_mode(const std::string& text);
std::vector<std::string> user_mode_names();     // in the order documented
std::vector<std::string> network_mode_names();
// "\"a\", \"b\" or \"c\"", for messages.
std::string quoted_choices(const std::vector<std::string>& names);

struct MountSpec {
    const MountType* type = find_mount_type("tmpfs");  // never null (mount_types())
    std::string source;  // host path for binds; link contents for symlink
    std::string target;  // absolute, normalized path inside the sandbox
    std::optional<std::uint64_t> size_bytes;  // tmpfs
    std::optional<unsigned> mode;             // tmpfs, dir, file
    std::string contents;                     // file
    bool devices = false;  // binds: device nodes in it work (no nodev)
    bool follow_symlinks = false;  // binds: the source may be reached through symlinks
    bool allow_sensitive = false;  // writable binds: of /, /tmp, home, ... on purpose
    bool app_home = false;  // bind: an app's persistent home ([desktop] home), made before the start
    Propagation propagation = Propagation::Private;  // binds
    std::vector<std::string> lower;  // overlay: the lower directories below `source`, top first
    bool kept_upper = false;         // overlay: upper = "kept" (in the data directory) or "tmpfs"
    SourceLocation where;                     // the [[mount]] entry, for later errors
    SourceLocation source_where, target_where;  // the values (or the entry when implied)
};

struct Profile {
    std::vector<std::string> files;  // every file read, in merge order
    std::string name;                // the sandbox's name; "" = generated at start
    SourceLocation name_where;
    std::vector<std::string> command;
    std::string cwd = "/";
    std::string hostname = "sandbox";
    UserMode user_mode = UserMode::Root;
    std::optional<std::uint32_t> uid, gid;
    SourceLocation uid_where, gid_where;
    std::vector<std::string> capabilities;  // canonical CAP_* names
    bool subordinate_ids = true;  // false: map only your own uid/gid, even with ranges
    bool ns_uts = true, ns_ipc = true, ns_cgroup = true;
    NetworkMode network = NetworkMode::None;
    SlirpSettings slirp;
    std::vector<std::string> env_keep, env_unset;
    std::map<std::string, std::string> env_set;
    std::vector<MountSpec> mounts;
    Limits limits;
    SeccompSettings seccomp;  // [security] and [seccomp]
    LandlockMode landlock = LandlockMode::BestEffort;  // [security] landlock
    Rlimits rlimits;                         // [rlimits]
    std::optional<std::uint64_t> timeout_ms;  // timeout: wall-clock limit of the run
    std::vector<std::string> protect;  // [overlay] protect: more paths `commit` leaves alone
    SourceLocation protect_where;
    DesktopSettings desktop;           // [desktop]
};

// Values for ${NAME} in profile strings. PROFILE_DIR is added per file by the loader.
using Variables = std::map<std::string, std::string>;

// Limits on what one profile may read. A profile is a few KiB of text from a handful of files;
// these only stop runaway input (a device, a huge file, an `extends` graph that never ends).
constexpr std::size_t kMaxProfileFileBytes = 1 << 20;  // per file
constexpr std::size_t kMaxExtendsDepth = 16;           // files in one chain of `extends`, the top one included
constexpr std::size_t kMaxProfileFiles = 64;           // different files in one profile

// One profile file's text, or why there is none.
struct ProfileFileText {
    std::optional<std::string> text;  // at most kMaxProfileFileBytes + 1 bytes (the loader refuses more)
    int error = 0;                    // the errno when it could not be opened or read
    std::string refusal;              // set when it was opened but refused, e.g. "not a regular file (a FIFO)"

    std::string reason() const;  // refusal, or strerror(error)
    bool missing() const;        // it does not exist (a lookup by name tries the next directory)
};

struct ProfileSource {
    // Directories searched for a profile given by name, in order.
    std::vector<std::string> search_dirs;
    // Reads a file's text (read_profile_file, or in-memory files in tests and the fuzzer).
    std::function<ProfileFileText(const std::string&)> read_file;
};

// The real ProfileSource::read_file: opens `path` once, non-blocking (a FIFO cannot hang us), refuses
// anything but a regular file (fstat on the opened fd) and reads at most kMaxProfileFileBytes + 1 bytes.
ProfileFileText read_profile_file(const std::string& path);

// Why `name` cannot be a hostname ("is empty", "contains ..."), or nullopt when it can: 1 to 64
// letters, digits, '-' and '.'. The one rule for the profile's `hostname` and for --hostname.
std::optional<std::string> hostname_problem(const std::string& name);

// Finds the file for a profile reference: a path (contains '/' or ends in ".toml", relative to
// base_dir) or a name looked up as NAME.toml in base_dir (when given) then the search dirs.
std::optional<std::string> resolve_profile(const std::string& ref, const std::string& base_dir,
                                           const ProfileSource& source);

// Loads, merges and validates a profile. Throws ConfigError (file:line:col) on any bad input.
Profile load_profile(const std::string& path, const Variables& vars, const ProfileSource& source);

// Expands ${NAME} and $$ in text; throws ConfigError at `where` for an unknown variable.
std::string expand_variables(const std::string& text, const Variables& vars,
                             const SourceLocation& where);

// Normalizes an absolute path ("//a/./b/" -> "/a/b"); nullopt when relative or it has "..".
std::optional<std::string> normalize_absolute_path(const std::string& path);
// The directory part of a path: "/a/b" -> "/a", "/a" -> "/", "a" -> "".
std::string directory_of(const std::string& path);

// Renders the effective profile as TOML (for `sandbox check`).
std::string render_profile_toml(const Profile& profile);

// Capability names known to this build, index = capability number.
const std::vector<std::string>& capability_names();

}  // namespace sb
