// The Plan: everything the sandbox will do, as plain data, built from the profile, the command
// line and facts about the host. Building it touches no kernel state; executors apply slices.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cgroup/hierarchy.hpp"
#include "changes/store.hpp"
#include "idmap/idmap.hpp"
#include "mount/mount_plan.hpp"
#include "ns/namespace_plan.hpp"
#include "plan/process_spec.hpp"
#include "profile/profile.hpp"
#include "seccomp/policy.hpp"

namespace sb {

// Facts read from the host before planning (see prepare_host_facts in supervisor/).
struct HostFacts {
    std::uint32_t uid = 0, gid = 0;
    std::string user_name;
    bool is_root = false;
    // Root only: the ids that exist in our own user namespace (/proc/self/uid_map, gid_map; all
    // of them in the initial one), and whether it allows setgroups (/proc/self/setgroups).
    std::vector<IdMapEntry> own_uid_map{{0, 0, 4294967295U}}, own_gid_map{{0, 0, 4294967295U}};
    bool setgroups_allowed = true;
    std::optional<SubidRange> subuid, subgid;
    std::string newuidmap, newgidmap;  // paths; empty when not installed
    std::map<std::string, std::string> environment;
    std::function<bool(const std::string&)> path_exists = [](const std::string&) { return true; };
    // "MAJOR:MINOR" of a block device; nullopt when the path is not one.
    std::function<std::optional<std::string>(const std::string&)> block_device =
        [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    // The names in a directory (sorted); empty when it cannot be listed.
    std::function<std::vector<std::string>(const std::string&)> list_dir = [](const std::string&) {
        return std::vector<std::string>();
    };
    // Whether the path is a socket (stat, following links: the session's own sockets).
    std::function<bool(const std::string&)> is_socket = [](const std::string&) { return true; };
    // A small file's bytes (an Xauthority file); nullopt when it cannot be read.
    std::function<std::optional<std::string>(const std::string&)> read_file =
        [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    std::string hostname;  // uname's nodename (Xauthority entries name it)
    // The path with every symlink resolved (realpath); the path itself when it cannot be.
    std::function<std::string(const std::string&)> resolve_path = [](const std::string& path) { return path; };
    CgroupFacts cgroup;     // the cgroup we run in (see cgroup/hierarchy.hpp)
    std::string state_dir;  // where running sandboxes are recorded ($XDG_RUNTIME_DIR/sandbox)
    std::string data_dir;   // where kept changes live (changes/store.hpp), symlinks resolved; "" = none
    std::int64_t now = 0;   // epoch seconds, for a new change set
    std::uint32_t random = 0;  // for generated names
    int landlock_abi = 0;      // 0: this kernel has no Landlock
    bool kernel_runs_x32 = true;  // x86_64 kernels may not (seccomp/policy.hpp); true: filter it
    HostRlimits rlimits;       // the caller's own (getrlimit)
    unsigned terminal_fds = 0;  // bit N: the caller's fd N is a terminal

    // A variable of the caller's environment; "" when unset.
    std::string env(const std::string& name) const {
        auto found = environment.find(name);
        return found == environment.end() ? std::string() : found->second;
    }
};

// What the command line overrides.
struct Overrides {
    std::vector<std::string> command;
    std::optional<std::string> hostname, cwd;
    std::optional<UserMode> user_mode;
    std::optional<NetworkMode> network;
    std::vector<std::string> publish;  // port forwards, as in [network] ports
    std::vector<std::string> env;  // NAME=VALUE
    std::optional<std::string> name;
    std::optional<std::string> memory, cpus, pids;  // --memory, --cpus, --pids
    SeccompMode seccomp_mode = SeccompMode::Enforce;  // --violations, --learn
    std::vector<std::string> rlimits;                // --rlimit NAME=VALUE
    std::optional<std::string> timeout;              // --timeout DURATION
    bool detach = false;                             // run --detach
    bool remove = false;                             // run --rm (the default in the foreground)
    bool tty = false;                                // run --detach --tty: a pty the supervisor keeps
    bool overlay = false;  // --overlay: the current directory behind an overlay with a kept upper
};

// The overlays whose changes outlive the sandbox (changes/store.hpp): made ready by the
// supervisor before the sandbox starts. Empty `dir`: there are none.
struct ChangesPlan {
    std::string dir;              // DATA/changes/NAME
    bool name_generated = false;  // an old change set of that name is someone else's
    // Hidden directories of the data directory that a bind shows: made first, so they can be hidden.
    std::vector<std::string> make_dirs;
    ChangeSetMeta meta;           // written when the change set is new
};

struct Plan {
    std::string name;  // the sandbox's name (ps, stats, pause, resume)
    std::string state_dir;
    Limits limits;
    CgroupPlan cgroup;
    IdMapping ids;
    std::string id_map_warning;  // set when falling back to a single-id map
    std::vector<std::string> warnings;  // said before the run (and by check)
    std::vector<std::string> desktop;   // what [desktop] gives, one line each (--dry-run, check)
    std::string app_home;               // [desktop] home = "persistent": made (0700) before the start
    std::string app_home_profile;       // the profile it belongs to (recorded beside it, checked at each start)
    ProcessSpec process;  // the payload
    NamespacePlan namespaces;
    NetworkMode network = NetworkMode::None;
    SlirpSettings slirp;        // mode slirp
    std::vector<MountStep> mounts;
    ChangesPlan changes;            // kept overlay uppers
    std::vector<std::string> hidden_dirs;  // covered wherever a bind shows them (state dir, kept changes)
    LandlockPlan landlock;          // the payload's second fence, from the mounts
    std::uint64_t timeout_ms = 0;     // 0: none; else TERM, a grace period, KILL, exit 124
    bool detach = false;              // the supervisor leaves the caller; output goes to a log
    bool keep_record = false;         // record, exit code and log stay until `sandbox rm` (detach without --rm)
    std::vector<std::string> profile_files;
};

// Variables available in profiles, from the host facts.
Variables profile_variables(const HostFacts& facts);

// Throws ConfigError (bad profile values found now, e.g. a missing bind source) or UsageError.
Plan build_plan(const Profile& profile, const Overrides& overrides, const HostFacts& facts);

// The ids of a sandbox in root mode (uid 0 = the caller, then the subordinate range): what
// `diff`, `commit` and `discard` run as, to read and remove whatever a sandbox made.
IdMapping sandbox_root_ids(const HostFacts& facts);
// As sandbox_root_ids with only the user's own ids (0 = the user), for a user; root's as above.
IdMapping sandbox_root_own_ids(const HostFacts& facts);

// Parents before children: a stable sort by the number of path components of the target.
void order_mounts(std::vector<MountStep>& mounts);

// The environment of the payload.
std::vector<std::string> build_environment(const Profile& profile, const Overrides& overrides,
                                           const HostFacts& facts, std::uint32_t payload_uid);

// For `check`: what each bind source resolves to now, and what [desktop] gives in this session,
// as TOML comments.
std::string render_bind_sources(const Plan& plan);

// Human-readable plan for --dry-run.
std::string render_plan(const Plan& plan);
// The same as a JSON object (for `sandbox inspect --json`): structured where programs need it
// (argv, env, ids, namespaces, mounts, ports, limits), with each part's text summary.
std::string render_plan_json(const Plan& plan);

}  // namespace sb
