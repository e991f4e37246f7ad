// Where the sandbox's cgroup can come from, decided from facts read off the host (see
// cgroup/delegation.cpp, which reads them), and what to tell people when a limit cannot be
// enforced. Pure.
//
// The sources, in order (ARCHITECTURE: rootless limits need a delegated subtree):
//   (a) the cgroup we already run in, when it is delegated to us: owned by us and writable, and
//       on a systemd host also marked delegated (systemd owns and rewrites the rest of the user's
//       cgroups, e.g. a terminal's app-*.scope); for root, marked trusted.delegate and owned by
//       root, so that root never takes over a host cgroup nor one a user marked;
//   (b) a transient systemd scope with Delegate=yes from the user's manager, over D-Bus (as crun
//       does) -- not built yet: delegation.cpp has the place for it, between (a) and (c);
//   (c) none: the sandbox runs in our cgroup, and only a run without limits can go on.
#pragma once
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cgroup/limits.hpp"

namespace sb {

// The name of a sandbox's cgroup, a child of the delegated cgroup: "sandbox-NAME".
std::string cgroup_leaf_name(const std::string& sandbox_name);
// Where the processes found in the delegated cgroup are moved (no internal processes rule): a
// sibling of the sandboxes' cgroups, named so that no sandbox name can collide with it.
extern const char* const kHostProcessesLeaf;
// The cgroup to use as the delegated one, for a tool running in `own_path`: its own, or the
// parent when it runs in the host-processes leaf a previous run made.
std::string delegation_candidate(const std::string& own_path);

// The controllers the tool knows how to use (those of limit_kinds()), in the order they are enabled.
const std::vector<std::string>& known_controllers();

// The path of the unified (v2) hierarchy in /proc/PID/cgroup ("0::/user.slice/...").
std::optional<std::string> parse_proc_cgroup(const std::string& text);

struct Cgroup2Mount {
    std::string mount_point;  // "/sys/fs/cgroup" (or "/sys/fs/cgroup/unified" on hybrid hosts)
    std::string root;         // the cgroup at the mount's root, usually "/"
};
// The first cgroup2 mount in /proc/self/mountinfo.
std::optional<Cgroup2Mount> find_cgroup2_mount(const std::string& mountinfo);
// The directory of cgroup `path` under `mount`; nullopt when the mount does not show it.
std::optional<std::string> cgroup_directory(const Cgroup2Mount& mount, const std::string& path);

// Space-separated names, as in cgroup.controllers and cgroup.subtree_control.
std::set<std::string> parse_controller_list(const std::string& text);

struct CgroupFacts {
    bool have_cgroup2 = false;
    std::string own_path;           // our cgroup, as /proc/self/cgroup names it
    std::string directory;          // its directory; "" when no cgroup2 mount shows it
    bool owned = false;             // the directory belongs to our euid
    bool writable = false;          // we can write the directory, cgroup.procs and cgroup.subtree_control
    bool running_as_root = false;
    bool trusted_delegate = false;  // systemd's trusted.delegate xattr is "1" (set by the system manager)
    bool user_delegate = false;     // user.delegate is "1" (systemd >= 251 sets it too; the owner can)
    bool ancestor_user_delegate = false;  // a cgroup above carries user.delegate: this systemd marks
                                          // what it delegates (before 251 it set only trusted.*,
                                          // which users cannot read)
    bool systemd = false;           // /run/systemd/system exists
    std::set<std::string> controllers;  // the directory's cgroup.controllers
    // Whether the directory has an interface file (memory.swap.max exists only with swap
    // accounting, io.weight only with an io cost model); asked lazily, for requested limits.
    std::function<bool(const std::string&)> has_file = [](const std::string&) { return true; };
};

struct Delegation {
    bool usable = false;
    std::string directory;  // the delegated cgroup; sandboxes become its children
    std::set<std::string> controllers;
    std::function<bool(const std::string&)> has_file = [](const std::string&) { return true; };
    std::string reason;     // why it is not usable (for messages and `doctor`)
    std::string hint;       // the fix
};

Delegation decide_delegation(const CgroupFacts& facts);

// The limits that can and cannot be enforced with `delegation`.
struct LimitCheck {
    std::vector<CgroupWrite> enforced;
    std::vector<CgroupWrite> missing;
};
LimitCheck check_limits(const std::vector<CgroupWrite>& writes, const Delegation& delegation);

// "cannot enforce memory.max 128M: ..." and the hint that names the fix.
struct LimitProblem {
    std::string limit;   // "memory.max 64M" (for a refused write, with what was written where)
    std::string reason;  // why this host cannot enforce it
    std::string hint;    // the fix
    SourceLocation where;  // the profile value that asked for the limit (line 0: the command line)
    bool refused_by_kernel = false;  // the value was written and the kernel refused it

    // "cannot enforce memory.max 64M: the memory controller is not delegated to ..."
    std::string message() const;
    // The message, after the place in the profile that asked for it.
    std::string located() const;
};

// The one rule for a limit this host cannot enforce, asked by the plan's rendering, set-up,
// `check` and the cgroup: strict refuses the run, best-effort runs without it and says so once.
struct LimitVerdict {
    bool refuse = false;
    std::string message, hint;  // as the user reads them
};
LimitVerdict judge_limit(const LimitProblem& problem, Enforce enforce);
LimitProblem explain_missing(const CgroupWrite& write, const Delegation& delegation, bool systemd);

// The cgroup slice of the plan.
// The sandbox's cgroup: a child of the delegated cgroup, made and removed by the supervisor.
struct CgroupPlan {
    bool use = false;                  // the sandbox gets a cgroup of its own
    std::string parent;                // the delegated cgroup's directory
    std::string reason, hint;          // why there is none (when !use)
    std::vector<std::string> enable;   // controllers to enable in parent's cgroup.subtree_control
    std::vector<CgroupWrite> writes;   // the limits that will be enforced
    std::vector<LimitProblem> unenforceable;  // asked for, but this host cannot enforce them
    Enforce enforce = Enforce::Strict;
};

// The systemd drop-in that delegates every controller of known_controllers() to users.
std::string systemd_delegate_drop_in();

}  // namespace sb
