#include "plan/plan.hpp"

#include "desktop/expand.hpp"
#include "changes/protect.hpp"

#include "net/virtual_addresses.hpp"
#include "state/record.hpp"
#include "sys/hints.hpp"

#include <algorithm>
#include <sstream>

#include <nlohmann/json.hpp>

namespace sb {
namespace {

bool is_bind(const MountSpec& spec) { return spec.type->source == MountSource::HostPath; }

bool strictly_below(const std::string& path, const std::string& ancestor) {
    if (ancestor == "/") return path != "/";
    return path.size() > ancestor.size() && path.compare(0, ancestor.size(), ancestor) == 0 &&
           path[ancestor.size()] == '/';
}

// " (use type \"ro-bind-try\" to skip a missing path)": the type that makes the same step and
// skips a missing source, if there is one.
std::string try_hint(const MountType& type) {
    for (const auto& other : mount_types())
        if (other.skip_missing_source && other.kind == type.kind && other.read_only == type.read_only)
            return std::string(" (use type \"") + other.name + "\" to skip a missing path)";
    return "";
}

std::size_t depth(const std::string& path) { return std::count(path.begin(), path.end(), '/'); }

const char* const kDefaultEnvAllowlist[] = {"TERM", "COLORTERM", "LANG", "LANGUAGE", "LC_*", "TZ",
                                            "NO_COLOR"};

bool name_matches(const std::string& pattern, const std::string& name) {
    if (!pattern.empty() && pattern.back() == '*')
        return name.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
    return pattern == name;
}

IdMapping plan_id_maps(UserMode mode, bool subordinate_ids, const HostFacts& facts, std::string& warning) {
    IdMapping ids;
    if (!subordinate_ids && !facts.is_root) {
        // Asked for by the profile: only our own ids, as bubblewrap maps them; no warning.
        ids.writer = MapWriter::SingleId;
        ids.uid_map = compute_id_map(mode, facts.uid, std::nullopt);
        ids.gid_map = compute_id_map(mode, facts.gid, std::nullopt);
        return ids;
    }
    if (facts.is_root) {
        // Root may write any map of the ids that exist where it runs; without a range of its
        // own, the first 64Ki of them onto themselves, as rootful podman does. A range of its own
        // that does not exist here (root of `unshare -r`) is left out.
        ids.writer = MapWriter::Direct;
        struct Kind {
            const char* name;
            const std::optional<SubidRange>& range;
            const std::vector<IdMapEntry>& own;  // the ids of this kind that exist here
            std::vector<IdMapEntry>& map;
        };
        for (const Kind& kind : {Kind{"uid", facts.subuid, facts.own_uid_map, ids.uid_map},
                                 Kind{"gid", facts.subgid, facts.own_gid_map, ids.gid_map}}) {
            // Inside 0 is root itself, so a range holding 0 would map it twice.
            const auto& range = kind.range;
            if (range && range->start > 0 && map_covers(kind.own, range->start, range->count) &&
                map_contains(kind.own, 0)) {
                kind.map = compute_id_map(mode, 0, range);
                continue;
            }
            kind.map = identity_map_within(kind.own, 65536);
            if (map_size(kind.map) < 65536 && warning.empty())
                warning = "only " + std::to_string(map_size(kind.map)) + " " + kind.name +
                          "(s) exist in the user namespace this runs in (" + format_id_map(kind.own) +
                          "): files of other owners show as nobody inside";
        }
        return ids;
    }
    bool helpers = !facts.newuidmap.empty() && !facts.newgidmap.empty();
    bool ranges = facts.subuid && facts.subgid && helpers;
    ids.writer = ranges ? MapWriter::NewIdMap : MapWriter::SingleId;
    ids.uid_map = compute_id_map(mode, facts.uid, ranges ? facts.subuid : std::nullopt);
    ids.gid_map = compute_id_map(mode, facts.gid, ranges ? facts.subgid : std::nullopt);
    if (ranges) {
        ids.uid_helper = facts.newuidmap;
        ids.gid_helper = facts.newgidmap;
    }
    if (!ranges) {
        std::string why = !helpers
                              ? "newuidmap/newgidmap are not installed"
                              : "user " + facts.user_name + " has no range in /etc/subuid and /etc/subgid";
        warning = "using a single-id map because " + why +
                  ": only your own uid and gid exist inside, files of other owners show as "
                  "nobody, and setgroups is disabled\n"
                  "hint: " + (helpers ? "" : hint(Cause::IdHelpersMissing) + "; ") +
                  hint(Cause::NoSubordinateRanges, facts.user_name);
    }
    return ids;
}

// Bind sources are opened without following symlinks in any component: a payload that can
// write where a later run's source lives could otherwise swap it for a link to anything. The
// executor enforces it on the opened source; here it becomes a profile error with its location.
std::string checked_bind_source(const MountSpec& spec, const HostFacts& facts) {
    std::string resolved = facts.resolve_path(spec.source);
    if (resolved == spec.source || spec.follow_symlinks) return resolved;
    throw ConfigError(spec.source_where.line > 0 ? spec.source_where : spec.where,
                      "bind source " + spec.source + " is reached through a symlink (it resolves to " + resolved +
                          "); bind sources are opened without following symlinks\nhint: bind " + resolved +
                          " instead, or set follow_symlinks = true on this mount if every link on the way is yours");
}

// Why a writable bind of `resolved` would expose too much; "" when it is an ordinary directory.
// The host's system trees, the shared temporary directory, and your home and runtime
// directories (or a directory above them: a bind of /home shows your home too).
std::string sensitive_reason(const std::string& resolved, const HostFacts& facts) {
    static const std::map<std::string, std::string> kSystem = {
        {"/", "the host's whole file system"},      {"/proc", "the host's /proc"},
        {"/sys", "the host's /sys"},                {"/dev", "the host's devices"},
        {"/run", "the host's runtime state"},       {"/tmp", "the temporary directory every program shares"},
        {"/var/tmp", "the temporary directory every program shares"}};
    if (auto found = kSystem.find(resolved); found != kSystem.end()) return found->second;
    auto at_or_above = [&](const std::string& dir) {
        return !dir.empty() && (dir == resolved || dir.compare(0, resolved.size() + 1, resolved + "/") == 0);
    };
    std::string home = facts.env("HOME").empty() ? "" : facts.resolve_path(facts.env("HOME"));
    // Without XDG_RUNTIME_DIR the runtime directory is where the state directory lives.
    std::string runtime = facts.env("XDG_RUNTIME_DIR");
    if (runtime.empty() && facts.state_dir.rfind('/') != std::string::npos && facts.state_dir.rfind('/') > 0)
        runtime = facts.state_dir.substr(0, facts.state_dir.rfind('/'));
    if (!runtime.empty()) runtime = facts.resolve_path(runtime);
    if (at_or_above(home)) return resolved == home ? "your home directory" : "a directory holding your home directory";
    if (at_or_above(runtime))
        return resolved == runtime ? "your runtime directory (sockets of your session)" : "a directory holding your runtime directory";
    if (at_or_above(facts.data_dir))
        return "a directory holding the kept changes of your sandboxes (" + facts.data_dir + ")";
    return "";
}

// A writable bind of one of these (by where the source really is: `cd ~/../you` or a link
// does not evade it) needs allow_sensitive = true. `shell` started in /tmp or ~ would otherwise
// hand the payload all of it.
void check_sensitive_bind(const MountSpec& spec, const std::string& resolved, const HostFacts& facts) {
    // An overlay's writes go to its upper; a kept one's reach its source when committed.
    bool writable_bind = spec.type->kind == MountKind::Bind || (spec.type->kind == MountKind::Overlay && spec.kept_upper);
    if (spec.allow_sensitive || !writable_bind) return;
    std::string reason = sensitive_reason(resolved, facts);
    if (reason.empty()) return;
    if (spec.where.line == 0)  // --overlay
        throw UsageError("--overlay: refusing to keep changes of " + resolved + " (" + reason +
                         "): a commit could plant anything there\nhint: start from a project directory");
    throw ConfigError(spec.source_where.line > 0 ? spec.source_where : spec.where,
                      "refusing a writable bind of " + resolved + " (" + reason +
                          "): the sandbox could change or plant anything there\nhint: bind a subdirectory, use "
                          "ro-bind, start from another directory, or set allow_sensitive = true on this mount if "
                          "you mean it");
}

// Nothing the plan mounts or makes may lie inside a slave bind: a mount the host makes later
// on the bind's source, or on a directory above the step, would cover it (a tmpfs hiding a
// secret, say, or a mirror), and the sandbox would see what it hid. Steps the plan adds (the
// resolver's file, the cgroup view) count too; they are refused at the bind.
void refuse_steps_inside_slave_binds(const std::vector<MountStep>& steps) {
    for (const auto& slave : steps) {
        if (!is_bind(slave.kind) || slave.propagation != Propagation::Slave) continue;
        for (const auto& step : steps)
            if (strictly_below(step.target, slave.target)) {
                bool added = step.where.line == 0;
                throw ConfigError(added ? slave.where : step.where,
                                  step.target + (added ? " (which the sandbox adds)" : "") + " lies inside the bind at " +
                                      slave.target + ", whose propagation is \"slave\": a mount the host makes there "
                                      "later would cover it\nhint: " +
                                      (added ? "" : "move it out of " + slave.target + ", or ") +
                                      "leave that bind's propagation \"private\"");
            }
    }
}

std::vector<MountStep> plan_mounts(const Profile& profile, const HostFacts& facts) {
    std::vector<MountStep> steps;
    for (const auto& spec : profile.mounts) {
        if (is_bind(spec) && !spec.app_home && !facts.path_exists(spec.source)) {
            if (spec.type->skip_missing_source) continue;
            throw ConfigError(spec.source_where.line > 0 ? spec.source_where : spec.where,
                              "bind source " + spec.source + " does not exist" + try_hint(*spec.type));
        }
        MountStep step;
        step.kind = spec.type->kind;
        step.source = spec.source;
        step.target = spec.target;
        step.where = spec.target_where.line > 0 ? spec.target_where : spec.where;
        step.read_only = spec.type->read_only;
        step.size_bytes = spec.size_bytes.value_or(0);
        step.mode = spec.mode.value_or(spec.type->default_mode);
        step.contents = spec.contents;
        step.devices = spec.devices;
        step.follow_symlinks = spec.follow_symlinks;
        step.app_home = spec.app_home;
        step.propagation = spec.propagation;
        step.lower = spec.lower;
        for (const auto& lower : spec.lower)
            if (!facts.path_exists(lower))
                throw ConfigError(spec.where, "lower directory " + lower + " of the overlay at " + spec.target + " does not exist");
        if (is_bind(spec)) {
            step.resolved_source = checked_bind_source(spec, facts);
            check_sensitive_bind(spec, step.resolved_source, facts);
        }
        steps.push_back(std::move(step));
    }
    order_mounts(steps);
    return steps;
}

}  // namespace

IdMapping sandbox_root_ids(const HostFacts& facts) {
    std::string warning;
    return plan_id_maps(UserMode::Root, true, facts, warning);
}

IdMapping sandbox_root_own_ids(const HostFacts& facts) {
    std::string warning;
    return plan_id_maps(UserMode::Root, false, facts, warning);
}

Variables profile_variables(const HostFacts& facts) {
    return {{"HOME", facts.env("HOME")},
            {"USER", facts.user_name},
            {"UID", std::to_string(facts.uid)},
            {"GID", std::to_string(facts.gid)},
            {"XDG_RUNTIME_DIR", facts.env("XDG_RUNTIME_DIR")},
            {"PWD", facts.env("PWD")}};
}

void order_mounts(std::vector<MountStep>& mounts) {
    std::stable_sort(mounts.begin(), mounts.end(), [](const MountStep& a, const MountStep& b) {
        return depth(a.target) < depth(b.target);
    });
}

std::vector<std::string> build_environment(const Profile& profile, const Overrides& overrides,
                                           const HostFacts& facts, std::uint32_t payload_uid) {
    std::map<std::string, std::string> env;
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
    env["HOME"] = facts.env("HOME").empty() ? "/" : facts.env("HOME");
    std::string user = payload_uid == 0 ? "root" : facts.user_name;
    env["USER"] = user;
    env["LOGNAME"] = user;
    std::vector<std::string> keep(std::begin(kDefaultEnvAllowlist), std::end(kDefaultEnvAllowlist));
    keep.insert(keep.end(), profile.env_keep.begin(), profile.env_keep.end());
    for (const auto& [name, value] : facts.environment)
        for (const auto& pattern : keep)
            if (name_matches(pattern, name)) env[name] = value;
    for (const auto& [name, value] : profile.env_set) env[name] = value;
    for (const auto& name : profile.env_unset) env.erase(name);
    for (const auto& assignment : overrides.env) {
        auto eq = assignment.find('=');
        if (eq == std::string::npos || eq == 0)
            throw UsageError("--env needs NAME=VALUE, not \"" + assignment + "\"");
        env[assignment.substr(0, eq)] = assignment.substr(eq + 1);
    }
    std::vector<std::string> out;
    for (const auto& [name, value] : env) out.push_back(name + "=" + value);
    return out;
}

namespace {

// With slirp the sandbox asks the DNS forwarder of its virtual network, unless the profile
// provides its own /etc/resolv.conf.
void add_resolver_file(Plan& plan) {
    for (const auto& mount : plan.mounts)
        if (mount.target == "/etc/resolv.conf") return;
    GuestAddresses addresses = guest_addresses(plan.slirp);
    MountStep resolver;
    resolver.kind = MountKind::File;
    resolver.target = "/etc/resolv.conf";
    resolver.read_only = true;
    resolver.mode = 0644;
    resolver.contents = "nameserver " + format_ip(addresses.dns4) + "\nnameserver " + format_ip(addresses.dns6) + "\n";
    plan.mounts.push_back(resolver);
    order_mounts(plan.mounts);
}

// After the mounts: slirp adds the sandbox's /etc/resolv.conf.
void plan_network(Plan& plan, const Profile& profile, const Overrides& overrides) {
    plan.network = overrides.network.value_or(profile.network);
    plan.namespaces.net = plan.network != NetworkMode::Host;
    if (!overrides.publish.empty() && plan.network != NetworkMode::Slirp)
        throw UsageError("--publish needs the slirp network (--network slirp or [network] mode = \"slirp\")");
    if (plan.network != NetworkMode::Slirp) return;
    plan.slirp = profile.slirp;
    plan.slirp.outside = plan.slirp.egress;
    plan.slirp.learn = overrides.seccomp_mode == SeccompMode::Learn;
    if (plan.slirp.egress_preset == "public-only") {
        EgressPolicy preset = public_only_policy();
        plan.slirp.outside.deny.insert(plan.slirp.outside.deny.end(), preset.deny.begin(), preset.deny.end());
    }
    for (const auto& spec : overrides.publish) {
        std::string error;
        auto forward = parse_port_forward(spec, error);
        if (!forward) throw UsageError("--publish: " + error);
        add_port_forward(plan.slirp.ports, *forward);
    }
    add_resolver_file(plan);
}

void plan_name(Plan& plan, const Profile& profile, const Overrides& overrides, const HostFacts& facts) {
    if (overrides.name) {
        if (!valid_sandbox_name(*overrides.name))
            throw UsageError("--name " + *overrides.name +
                             ": a name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit");
        plan.name = *overrides.name;
    } else if (!profile.name.empty()) {
        plan.name = profile.name;
    } else {
        plan.name = generate_sandbox_name(profile.files.empty() ? "sandbox" : profile.files.back(), facts.random);
    }
}

// Overlays with a kept upper: each gets a numbered directory in the sandbox's change set, in
// the order of the mounts (a later run of the same name must show the same ones).
void plan_changes(Plan& plan, const Profile& profile, const Overrides& overrides, const HostFacts& facts) {
    ChangeSetMeta& meta = plan.changes.meta;
    for (const auto& spec : profile.mounts) {
        if (spec.type->kind != MountKind::Overlay || !spec.kept_upper) continue;
        if (facts.data_dir.empty())
            throw ConfigError(spec.where, "upper = \"kept\" needs a data directory for the changes, and neither "
                                          "XDG_DATA_HOME nor HOME is set\nhint: set XDG_DATA_HOME, or use upper = \"tmpfs\"");
        meta.mounts.push_back({spec.target, spec.source, spec.lower});
    }
    if (meta.mounts.empty()) return;
    plan.changes.dir = changes_root(facts.data_dir) + "/" + plan.name;
    plan.changes.name_generated = !overrides.name && profile.name.empty();
    meta.name = plan.name;
    meta.created = facts.now;
    meta.protect = default_protected_paths();
    for (const auto& pattern : profile.protect)
        if (std::find(meta.protect.begin(), meta.protect.end(), pattern) == meta.protect.end()) meta.protect.push_back(pattern);
    for (auto& step : plan.mounts) {
        if (step.kind != MountKind::Overlay) continue;
        for (std::size_t i = 0; i < meta.mounts.size(); ++i)
            if (meta.mounts[i].target == step.target) step.upper_dir = plan.changes.dir + "/" + std::to_string(i);
    }
}

// Without a runtime directory the run is not recorded. Said only when the run asked for what
// needs the record: a name of its own (to find it with ps, stats, pause, resume) or limits.
void warn_unrecorded(Plan& plan, const Profile& profile, const Overrides& overrides, const HostFacts& facts) {
    if (!plan.state_dir.empty() || !(overrides.name || !profile.name.empty() || plan.limits.any())) return;
    plan.warnings.push_back("no runtime directory (XDG_RUNTIME_DIR is unset and /run/user/" + std::to_string(facts.uid) +
                            " is not yours): `sandbox ps`, `stats`, `pause` and `resume` will not see " + plan.name);
}

// A detached sandbox has no terminal of the caller's (its output goes to the log; with --tty it
// gets a pty of its own, which `sandbox attach` reaches) and needs its record: that is how it
// is found again.
void plan_detach(Plan& plan, const Overrides& overrides) {
    plan.detach = overrides.detach;
    plan.keep_record = overrides.detach && !overrides.remove;
    if (overrides.tty && !overrides.detach)
        throw UsageError("--tty needs --detach (in the foreground the command gets a pty when your terminal is one)");
    if (plan.detach) plan.process.terminal_fds = overrides.tty ? 7u : 0u;
    if (plan.detach && plan.state_dir.empty())
        throw UsageError("--detach needs a runtime directory to keep the sandbox's record and log (XDG_RUNTIME_DIR is "
                         "unset and /run/user/UID is not yours)");
}

void plan_limits(Plan& plan, const Profile& profile, const Overrides& overrides, const HostFacts& facts) {
    plan.limits = profile.limits;
    apply_limit_overrides(plan.limits, overrides.memory, overrides.cpus, overrides.pids);
    for (auto& device : plan.limits.io) {
        auto number = facts.block_device(device.device);
        if (!number) throw ConfigError(device.where, "'device' " + device.device + " is not a block device on this host");
        device.number = *number;
    }
    CgroupPlan& cgroup = plan.cgroup;
    cgroup.enforce = plan.limits.enforce;
    Delegation delegation = decide_delegation(facts.cgroup);
    std::vector<CgroupWrite> writes = cgroup_writes(plan.limits);
    for (auto& write : writes) {
        auto asked = plan.limits.where.find(write.key);
        if (asked != plan.limits.where.end()) write.where = asked->second;
    }
    LimitCheck check = check_limits(writes, delegation);
    cgroup.writes = check.enforced;
    for (const auto& write : check.missing)
        cgroup.unenforceable.push_back(explain_missing(write, delegation, facts.cgroup.systemd));
    cgroup.use = delegation.usable;
    cgroup.reason = delegation.reason;
    cgroup.hint = delegation.hint;
    if (!cgroup.use) return;
    cgroup.parent = delegation.directory;
    // Every available controller but cpuset (only when asked for): stats need them, and a
    // controller enabled later would need every process moved out again.
    std::set<std::string> needed = controllers_needed(cgroup.writes);
    for (const auto& name : known_controllers())
        if (delegation.controllers.count(name) && (name != "cpuset" || needed.count(name)))
            cgroup.enable.push_back(name);
    if (plan.namespaces.cgroup) {
        MountStep view;
        view.kind = MountKind::Cgroup;
        view.target = "/sys/fs/cgroup";
        view.read_only = !plan.limits.nested;
        plan.mounts.push_back(view);
    }
}

// The records of running sandboxes and the kept changes of overlays are none of a sandbox's
// business: where a bind (writable or not) or an overlay's layer shows one, an empty read-only
// tmpfs hides it. Not even a read-only view: a sandbox could hold a lock on the records (flock
// needs only a read-only open) and stall every start, or read another sandbox's changes.
// Paths are compared after resolving symlinks (a bind of /var/run/user/1000 shows /run/user/1000).
// This is the forecast --dry-run shows: the decision itself is made at mount time on the opened
// bind source and the opened directory, so a path that changes in between cannot evade it.
void protect_hidden_dirs(Plan& plan, const HostFacts& facts) {
    struct Hidden {
        std::string path, resolved, what;
    };
    std::vector<Hidden> hidden;
    if (!plan.state_dir.empty()) {
        // Resolved through its parent: on a first run the directory itself does not exist yet.
        const std::string& dir = plan.state_dir;
        const std::size_t slash = dir.rfind('/');
        std::string resolved = slash == 0 || slash == std::string::npos
                                   ? facts.resolve_path(dir)
                                   : facts.resolve_path(dir.substr(0, slash)) + dir.substr(slash);
        hidden.push_back({dir, resolved, "the records of running sandboxes"});
    }
    // The data directory comes resolved (host facts).
    if (!facts.data_dir.empty()) {
        hidden.push_back({changes_root(facts.data_dir), changes_root(facts.data_dir), "the kept changes of sandboxes"});
        hidden.push_back({app_homes_root(facts.data_dir), app_homes_root(facts.data_dir), "the homes of sandboxed apps"});
    }
    // Each mount's host directories, resolved once: a bind's (and an overlay's source) the plan
    // resolved already when it checked it.
    std::vector<std::vector<std::string>> resolved_sources(plan.mounts.size());
    for (std::size_t i = 0; i < plan.mounts.size(); ++i) {
        const MountStep& mount = plan.mounts[i];
        if (!is_bind(mount.kind) && mount.kind != MountKind::Overlay) continue;
        resolved_sources[i].push_back(mount.resolved_source.empty() ? facts.resolve_path(mount.source) : mount.resolved_source);
        for (const auto& lower : mount.lower) resolved_sources[i].push_back(facts.resolve_path(lower));
    }
    std::vector<MountStep> covers;
    for (const auto& [dir, resolved, what] : hidden) {
        plan.hidden_dirs.push_back(dir);
        for (std::size_t i = 0; i < plan.mounts.size(); ++i) {
            const MountStep& mount = plan.mounts[i];
            for (const auto& source : resolved_sources[i]) {
                // An app's own home is the one directory in there a sandbox gets: its own.
                if (mount.app_home && dir == app_homes_root(facts.data_dir) && source == plan.app_home) continue;
                if (source.compare(0, resolved.size() + 1, resolved + "/") == 0)
                    throw ConfigError(mount.where, mount.source + " lies inside " + what + " (" + dir +
                                                       "), which no sandbox may see\nhint: mount another directory");
                bool shows = resolved == source || source == "/" || resolved.compare(0, source.size() + 1, source + "/") == 0;
                if (!shows) continue;
                // A cover sits on the directory as it is at start: a runtime directory the host
                // mounts again later (at the next login) would arrive over it, uncovered.
                if (mount.propagation == Propagation::Slave)
                    throw ConfigError(mount.where, "a bind of " + mount.source + " with propagation = \"slave\" would show " +
                                                       what + " (" + dir + ") once the host mounts it again\nhint: bind a " +
                                                       "directory beside it, or leave propagation \"private\"");
                // Made before the sandbox starts when missing, so it is there to be covered.
                if (dir != plan.state_dir && std::find(plan.changes.make_dirs.begin(), plan.changes.make_dirs.end(), dir) ==
                                                 plan.changes.make_dirs.end())
                    plan.changes.make_dirs.push_back(dir);
                MountStep cover;
                cover.kind = MountKind::Tmpfs;
                cover.target = mount.target + (source == "/" ? resolved : resolved.substr(source.size()));
                cover.source = what;
                cover.read_only = true;
                cover.mode = 0500;
                cover.size_bytes = 4096;
                cover.state_dir_cover = true;
                covers.push_back(cover);
            }
        }
    }
    plan.mounts.insert(plan.mounts.end(), covers.begin(), covers.end());
}

void plan_identity(Plan& plan, const Profile& profile, const Overrides& overrides, const HostFacts& facts) {
    UserMode mode = overrides.user_mode.value_or(profile.user_mode);
    if (overrides.user_mode && *overrides.user_mode == UserMode::KeepId && !profile.capabilities.empty())
        throw UsageError("--user-mode keep-id cannot keep the profile's capabilities");
    plan.ids = plan_id_maps(mode, profile.subordinate_ids, facts, plan.id_map_warning);
    bool own_ids = !facts.is_root && mode == UserMode::KeepId;
    // A single-id map denies setgroups, and so does a namespace we run in that denies it: the
    // supplementary groups then stay as they were.
    plan.process.set_groups = plan.ids.writer != MapWriter::SingleId && (!facts.is_root || facts.setgroups_allowed);
    plan.process.uid = profile.uid.value_or(own_ids ? facts.uid : 0);
    plan.process.gid = profile.gid.value_or(own_ids ? facts.gid : 0);
    auto unmapped = [](const char* what, std::uint32_t id, const std::vector<IdMapEntry>& map,
                       const SourceLocation& where) {
        std::string message = std::string("[user] ") + what + " " + std::to_string(id) +
                              " is not mapped inside the sandbox (map: " + format_id_map(map) + ")";
        if (where.line > 0) throw ConfigError(where, message);
        throw UsageError(message);
    };
    if (!map_contains(plan.ids.uid_map, plan.process.uid))
        unmapped("uid", plan.process.uid, plan.ids.uid_map, profile.uid_where);
    if (!map_contains(plan.ids.gid_map, plan.process.gid))
        unmapped("gid", plan.process.gid, plan.ids.gid_map, profile.gid_where);
    const auto& names = capability_names();
    for (const auto& cap : profile.capabilities)
        plan.process.capabilities.push_back(static_cast<int>(std::find(names.begin(), names.end(), cap) - names.begin()));
}

}  // namespace

namespace {

bool mounts_something(MountKind kind) { return kind != MountKind::Dir && kind != MountKind::Symlink; }

// `path` (a target below `bind`'s target) where the host has it.
std::string host_path_in_bind(const MountStep& bind, const std::string& path) {
    std::string base = bind.resolved_source.empty() ? bind.source : bind.resolved_source;
    std::string rest = bind.target == "/" ? path : path.substr(bind.target.size());
    return base == "/" ? (rest.empty() ? "/" : rest) : base + rest;
}

// The innermost mount above `step` among the steps before it; null when only the root tmpfs is.
const MountStep* enclosing_mount(const std::vector<MountStep>& mounts, std::size_t index) {
    const MountStep* parent = nullptr;
    for (std::size_t j = 0; j < index; ++j)
        if (mounts_something(mounts[j].kind) && !mounts[j].state_dir_cover && strictly_below(mounts[index].target, mounts[j].target) &&
            (!parent || mounts[j].target.size() > parent->target.size()))
            parent = &mounts[j];
    return parent;
}

struct PendingMirror {
    MountStep step;
    std::size_t bind_index;  // the bind it lies in: it goes right after it
    bool over_writable;
};

PendingMirror& mirror_for(std::vector<PendingMirror>& mirrors, const std::vector<MountStep>& mounts,
                          std::size_t bind_index, const std::string& target) {
    for (auto& mirror : mirrors)
        if (mirror.step.target == target) return mirror;
    const MountStep& bind = mounts[bind_index];
    MountStep step;
    step.kind = MountKind::Tmpfs;
    step.mirror = true;
    step.target = target;
    step.source = host_path_in_bind(bind, target);
    step.inside_bind = bind.source;
    step.read_only = true;
    mirrors.push_back({step, bind_index, !bind.read_only});
    return mirrors.back();
}

std::string mirror_warning(const MountStep& mirror) {
    std::string names;
    for (const auto& reserved : mirror.reserved) names += (names.empty() ? "" : ", ") + reserved;
    return mirror.target + " is shown through a read-only mirror of " + mirror.source + " to make room for " + names +
           " without creating anything on the host: its entries are those of the start, and none can be made, "
           "removed or renamed directly in " + mirror.target + " (their contents stay writable)" +
           "\nhint: create what is missing in " + mirror.source + " on the host to keep it writable";
}

// Whatever the sandbox makes itself (a mount point, a `dir`, a `symlink`, the directories on the
// way) it makes in its own tmpfs, never in a host directory: there it would stay after the
// sandbox ends (an empty ~/.bashrc in the real home). Where a target inside a bind is missing on
// the host, the nearest directory of the bind that exists is mirrored: a read-only tmpfs over
// it shows each of its entries bound in place (writes to them reach the host as before), and
// the missing names are made in that tmpfs. The cost, shown by --dry-run and warned of when the
// bind is writable: new names cannot be made directly in a mirrored directory.
// This is the forecast; at mount time creation is refused wherever the directory turns out to
// belong to the host after all (mount/setup.cpp), so a path removed in between changes nothing.
void reserve_mount_points(Plan& plan, const HostFacts& facts) {
    std::vector<MountStep>& mounts = plan.mounts;
    std::vector<PendingMirror> mirrors;
    for (std::size_t i = 0; i < mounts.size(); ++i) {
        MountStep& step = mounts[i];
        if (step.state_dir_cover) continue;
        const MountStep* bind = enclosing_mount(mounts, i);
        if (!bind || !is_bind(bind->kind)) continue;
        step.inside_bind = bind->source;
        if (facts.path_exists(host_path_in_bind(*bind, step.target))) continue;
        step.inside_bind.clear();  // made in the mirror, not in the bind
        std::string existing = directory_of(step.target);
        while (existing != bind->target && !facts.path_exists(host_path_in_bind(*bind, existing)))
            existing = directory_of(existing);
        auto bind_index = static_cast<std::size_t>(bind - mounts.data());
        mirror_for(mirrors, mounts, bind_index, existing).step.reserved.push_back(step.target);
        step.in_mirror = existing;
    }
    for (const auto& mirror : mirrors)
        if (mirror.over_writable) plan.warnings.push_back(mirror_warning(mirror.step));
    // Each right after its bind (order_mounts keeps that order among equal depths), so it is
    // applied after the bind and before everything it makes room for. From the back: the
    // indices of the binds stay valid.
    std::stable_sort(mirrors.begin(), mirrors.end(),
                     [](const PendingMirror& a, const PendingMirror& b) { return a.bind_index > b.bind_index; });
    for (auto& mirror : mirrors)
        mounts.insert(mounts.begin() + static_cast<std::ptrdiff_t>(mirror.bind_index) + 1, std::move(mirror.step));
}

}  // namespace

namespace {

// --overlay: the current directory behind an overlay with a kept upper, in place of the
// profile's own mount of it (the shell profile binds it).
Profile with_project_overlay(const Profile& given, const HostFacts& facts) {
    Profile profile = given;
    auto pwd = normalize_absolute_path(facts.env("PWD"));
    if (!pwd || *pwd == "/") throw UsageError("--overlay needs a current directory other than / (PWD)");
    MountSpec overlay;
    overlay.type = find_mount_type("overlay");
    overlay.source = overlay.target = *pwd;
    overlay.kept_upper = true;
    overlay.where = {"--overlay", 0, 0};
    auto same = std::find_if(profile.mounts.begin(), profile.mounts.end(),
                             [&](const MountSpec& mount) { return mount.target == *pwd; });
    if (same != profile.mounts.end()) {
        *same = overlay;
    } else {
        profile.mounts.push_back(overlay);
    }
    return profile;
}

// [desktop]: its mounts and environment added to the profile's own, which win where they meet.
Profile with_desktop(const Profile& given, const Overrides& overrides, const HostFacts& facts, Plan& plan) {
    Profile profile = given;
    DesktopContext context;
    context.network = overrides.network.value_or(profile.network);
    context.abstract_sockets_scoped = profile.landlock != LandlockMode::Off && landlock_scopes(facts.landlock_abi) != 0;
    // Never --name: a label given at the command line must not hand one app's home to another
    // profile. The home remembers its profile (the supervisor checks it), so two files of one
    // name do not share one either.
    context.app = app_name(profile);
    DesktopExpansion desktop = expand_desktop(profile.desktop, facts, context);
    auto home = normalize_absolute_path(facts.env("HOME"));
    for (auto& mount : desktop.mounts) {
        auto own = std::find_if(profile.mounts.begin(), profile.mounts.end(),
                                [&](const MountSpec& own) { return own.target == mount.target; });
        // The home [desktop] asks for takes the place of the profile's own (default's tmpfs).
        bool home_mount = profile.desktop.home != HomeMode::Profile && home && mount.target == *home;
        if (own == profile.mounts.end()) profile.mounts.push_back(std::move(mount));
        else if (home_mount) *own = std::move(mount);
    }
    plan.app_home = desktop.app_home;
    if (!plan.app_home.empty() && !profile.files.empty()) plan.app_home_profile = facts.resolve_path(profile.files.back());
    for (const auto& [name, value] : desktop.env)
        if (!profile.env_set.count(name) &&
            std::find(profile.env_unset.begin(), profile.env_unset.end(), name) == profile.env_unset.end())
            profile.env_set[name] = value;
    plan.desktop = std::move(desktop.lines);
    plan.warnings.insert(plan.warnings.end(), desktop.warnings.begin(), desktop.warnings.end());
    return profile;
}

}  // namespace

Plan build_plan(const Profile& given, const Overrides& overrides, const HostFacts& facts) {
    Plan plan;
    std::optional<Profile> overlaid, desktop;
    if (overrides.overlay) overlaid = with_project_overlay(given, facts);
    if ((overlaid ? *overlaid : given).desktop.any()) desktop = with_desktop(overlaid ? *overlaid : given, overrides, facts, plan);
    const Profile& profile = desktop ? *desktop : overlaid ? *overlaid : given;
    plan_identity(plan, profile, overrides, facts);
    plan.namespaces.uts = profile.ns_uts;
    plan.namespaces.ipc = profile.ns_ipc;
    plan.namespaces.cgroup = profile.ns_cgroup;
    plan.namespaces.hostname = overrides.hostname.value_or(profile.hostname);
    if (auto problem = hostname_problem(plan.namespaces.hostname)) throw UsageError("--hostname " + *problem);
    plan.mounts = plan_mounts(profile, facts);
    plan_network(plan, profile, overrides);
    plan_name(plan, profile, overrides, facts);
    plan_changes(plan, profile, overrides, facts);
    plan.state_dir = facts.state_dir;
    plan_limits(plan, profile, overrides, facts);
    warn_unrecorded(plan, profile, overrides, facts);
    refuse_steps_inside_slave_binds(plan.mounts);
    reserve_mount_points(plan, facts);
    protect_hidden_dirs(plan, facts);
    order_mounts(plan.mounts);
    for (auto& step : plan.mounts) step.flags = mount_flags(step);
    plan.process.seccomp = build_seccomp_policy(profile.seccomp, overrides.seccomp_mode, facts.kernel_runs_x32);
    plan.landlock = plan_landlock(profile.landlock, plan.mounts);
    plan.landlock.abi = facts.landlock_abi;
    plan.process.rlimits = plan_rlimits(profile.rlimits, overrides.rlimits, facts.rlimits);
    plan.process.terminal_fds = facts.terminal_fds;
    plan_detach(plan, overrides);
    plan.timeout_ms = profile.timeout_ms.value_or(0);
    if (overrides.timeout) {
        auto ms = parse_duration(*overrides.timeout);
        if (!ms) throw UsageError("--timeout " + *overrides.timeout + ": expected a duration such as 30s, 5m or 1h");
        plan.timeout_ms = *ms;
    }
    plan.process.argv = overrides.command.empty() ? profile.command : overrides.command;
    if (plan.process.argv.empty())
        throw UsageError("no command: the profile has no 'command' and none was given after --");
    std::string cwd = overrides.cwd.value_or(profile.cwd);
    auto normalized = normalize_absolute_path(cwd);
    if (!normalized) throw UsageError("--cwd must be an absolute path, not \"" + cwd + "\"");
    plan.process.cwd = *normalized;
    plan.process.env = build_environment(profile, overrides, facts, plan.process.uid);
    plan.profile_files = profile.files;
    return plan;
}

namespace {

// "read-only, recursive, nosuid, nodev": what the kernel is told about the mount.
std::string flags_text(const MountStep& m) {
    std::string flags;
    auto add = [&](const char* flag) { flags += std::string(flags.empty() ? "" : ", ") + flag; };
    if (m.read_only) add(is_bind(m.kind) ? "read-only, recursive" : "read-only");
    if (mounts_something(m.kind) && m.flags) {
        if (m.flags->nosuid) add("nosuid");
        add(m.flags->nodev ? "nodev" : "device nodes work");
        if (m.flags->noexec) add("noexec");
    }
    if (m.propagation == Propagation::Slave) add("slave: shows what the host mounts below its source later");
    return flags;
}

std::string describe_mount(const MountStep& m) {
    std::ostringstream out;
    out << to_string(m.kind) << " ";
    switch (m.kind) {
        case MountKind::RoBind:
        case MountKind::Bind:
            out << m.source << " -> " << m.target;
            if (m.follow_symlinks) out << " (source follows symlinks: now " << m.resolved_source << ")";
            break;
        case MountKind::Symlink: out << m.target << " -> " << m.source; break;
        case MountKind::Tmpfs:
            if (m.mirror) {
                out << m.target << " (" << flags_text(m) << ") (mirror of " << m.source
                    << ": each entry bound in place, so that these are made without creating anything on the host: ";
                for (std::size_t i = 0; i < m.reserved.size(); ++i) out << (i ? ", " : "") << m.reserved[i];
                out << "; no name can be made, removed or renamed directly in " << m.target << ")";
                return out.str();
            }
            out << m.target << " mode=" << std::oct << m.mode << std::dec;
            if (m.size_bytes) out << " size=" << m.size_bytes;
            break;
        case MountKind::Cgroup: out << m.target << " (the sandbox's own cgroup)"; break;
        case MountKind::Overlay:
            out << m.source;
            for (const auto& lower : m.lower) out << ":" << lower;
            out << " -> " << m.target << " (copy-on-write; upper: "
                << (m.upper_dir.empty() ? "a tmpfs, gone with the sandbox" : m.upper_dir + ", kept until commit or discard")
                << ")";
            if (m.size_bytes && m.upper_dir.empty()) out << " size=" << m.size_bytes;
            break;
        case MountKind::Dir: out << m.target << " mode=" << std::oct << m.mode << std::dec; break;
        case MountKind::File:
            out << m.target << " (" << m.contents.size() << " bytes, mode=" << std::oct << m.mode << std::dec << ")";
            break;
        default: out << m.target; break;
    }
    if (std::string flags = flags_text(m); !flags.empty()) out << " (" << flags << ")";
    if (m.state_dir_cover) out << " (hides " << m.source << "; made wherever the opened bind source shows it)";
    if (!m.inside_bind.empty()) out << " (its mount point exists in the bind of " << m.inside_bind << ": nothing is created on the host)";
    if (!m.in_mirror.empty())
        out << (mounts_something(m.kind) ? " (its mount point is made in the mirror at " : " (made in the read-only mirror at ")
            << m.in_mirror << ", not on the host)";
    return out.str();
}

std::string describe_namespaces(const Plan& plan) {
    std::string out = "user mount pid";
    if (plan.namespaces.uts) out += " uts";
    if (plan.namespaces.ipc) out += " ipc";
    if (plan.namespaces.net) out += " net";
    if (plan.namespaces.cgroup) out += " cgroup";
    return out;
}

std::string describe_network(const Plan& plan) {
    if (plan.network == NetworkMode::None) return "none (loopback only)";
    if (plan.network == NetworkMode::Host) return "host";
    const SlirpSettings& net = plan.slirp;
    std::string out = "slirp " + format_cidr(net.subnet4) + " and " + format_cidr(net.subnet6) + ", mtu " +
                      std::to_string(net.mtu) + ", dns via " + (net.dns ? format_server_address(*net.dns) : "the host's resolver") +
                      ", host loopback " + (net.allow_host_loopback ? "allowed" : "denied");
    for (const auto& forward : net.ports) out += "\n            forward " + format_port_forward(forward);
    if (!net.allow_domains.empty()) {
        out += "\n            dns answered in process for allow_domains only (UDP; TCP at the IPv4 address); the outside is "
               "reached only at the addresses they resolve to" +
               std::string(net.egress.allow.empty() ? "" : " and where egress allows");
        for (const auto& rule : net.allow_domains) out += "\n            allow domain " + format_domain_rule(rule);
    }
    // Every rule enforced on what leaves the virtual network, the preset's marked as such.
    for (const auto& rule : net.outside.allow) out += "\n            egress allow " + format_egress_rule(rule);
    for (std::size_t i = 0; i < net.outside.deny.size(); ++i)
        out += "\n            egress deny " + format_egress_rule(net.outside.deny[i]) +
               (i >= net.egress.deny.size() ? " (preset " + net.egress_preset + ")" : "");
    return out;
}

std::string describe_cgroup(const Plan& plan) {
    const CgroupPlan& cgroup = plan.cgroup;
    std::string out;
    if (cgroup.use) {
        out = cgroup.parent + "/" + cgroup_leaf_name(plan.name) + " (controllers:";
        for (const auto& name : cgroup.enable) out += " " + name;
        out += ")";
    } else {
        out = "none: " + cgroup.reason;
    }
    for (const auto& write : cgroup.writes) out += "\n            limit " + write.label;
    for (const auto& problem : cgroup.unenforceable)
        out += std::string("\n            ") + (judge_limit(problem, cgroup.enforce).refuse ? "CANNOT ENFORCE: " : "skipped (best-effort): ") +
               problem.limit + ": " + problem.reason;
    return out;
}

std::string describe_payload(const Plan& plan) {
    std::string caps;
    for (int cap : plan.process.capabilities) caps += (caps.empty() ? "" : ",") + capability_names()[cap];
    std::string terminal;
    for (int fd = 0; fd < 3; ++fd)
        if (plan.process.terminal_fds & (1u << fd)) terminal += (terminal.empty() ? "" : ",") + std::to_string(fd);
    return "uid " + std::to_string(plan.process.uid) + ", gid " + std::to_string(plan.process.gid) +
           ", capabilities " + (caps.empty() ? "none" : caps) + (plan.process.no_new_privs ? ", no_new_privs" : "") +
           (terminal.empty() ? "" : ", fds " + terminal + " on a pty of its own");
}

}  // namespace

std::string render_bind_sources(const Plan& plan) {
    std::string out;
    for (const auto& m : plan.mounts) {
        if (!is_bind(m.kind)) continue;
        if (out.empty()) out = "\n# bind sources, as they resolve now:\n";
        out += "#   " + m.source + (m.follow_symlinks ? " -> " + m.resolved_source + " (follow_symlinks)" : " (no symlinks)") + "\n";
    }
    if (!plan.desktop.empty()) {
        out += "\n# [desktop], in this session:\n";
        for (const auto& line : plan.desktop) out += "#   " + line + "\n";
    }
    return out;
}

std::string render_plan(const Plan& plan) {
    std::ostringstream out;
    const char* writer = plan.ids.writer == MapWriter::NewIdMap ? "newuidmap/newgidmap"
                         : plan.ids.writer == MapWriter::Direct ? "written directly (root)"
                         : plan.id_map_warning.empty()          ? "single-id, as the profile asks; setgroups denied"
                                                                : "single-id fallback, setgroups denied";
    out << "profile:    ";
    for (std::size_t i = 0; i < plan.profile_files.size(); ++i) out << (i ? " <- " : "") << plan.profile_files[i];
    out << "\nuid_map:    " << format_id_map(plan.ids.uid_map) << "   (" << writer << ")\n";
    out << "gid_map:    " << format_id_map(plan.ids.gid_map) << "\n";
    out << "payload:    " << describe_payload(plan) << "\n";
    out << "namespaces: " << describe_namespaces(plan) << "\n";
    out << "shared:     " << (plan.namespaces.uts ? "" : "uts ") << (plan.namespaces.ipc ? "" : "ipc ")
        << (plan.namespaces.net ? "" : "net(host) ") << (plan.namespaces.cgroup ? "" : "cgroup ") << "\n";
    out << "network:    " << describe_network(plan) << "\n";
    out << "name:       " << plan.name << "\n";
    out << "cgroup:     " << describe_cgroup(plan) << "\n";
    out << "hostname:   " << plan.namespaces.hostname << (plan.namespaces.uts ? "" : " (uts shared: not set)") << "\n";
    out << "root:       tmpfs, read-only after setup, pivot_root, old root detached\n";
    if (!plan.desktop.empty()) {
        out << "desktop:\n";
        for (const auto& line : plan.desktop) out << "  " << line << "\n";
    }
    out << "mounts:\n";
    for (const auto& m : plan.mounts) out << "  " << describe_mount(m) << "\n";
    out << render_seccomp_policy(plan.process.seccomp);
    out << describe_landlock(plan.landlock);
    out << "rlimits:   ";
    for (const auto& step : plan.process.rlimits) out << " " << step.name << "=" << format_rlimit_value(*find_rlimit(step.name), step.value);
    out << "\ntimeout:    " << (plan.timeout_ms ? format_duration_ms(plan.timeout_ms) + " (then TERM, KILL after the grace period, exit 124)" : "none") << "\n";
    out << "cwd:        " << plan.process.cwd << "\nenv:\n";
    for (const auto& var : plan.process.env) out << "  " << var << "\n";
    out << "argv:      ";
    for (const auto& arg : plan.process.argv) out << " " << arg;
    out << "\n";
    return out.str();
}

std::string render_plan_json(const Plan& plan) {
    using Json = nlohmann::ordered_json;
    Json out;
    out["name"] = plan.name;
    out["profile_files"] = plan.profile_files;
    if (!plan.desktop.empty()) out["desktop"] = plan.desktop;
    Json& process = out["process"];
    process["argv"] = plan.process.argv;
    process["env"] = plan.process.env;
    process["cwd"] = plan.process.cwd;
    process["uid"] = plan.process.uid;
    process["gid"] = plan.process.gid;
    process["no_new_privs"] = plan.process.no_new_privs;
    Json caps = Json::array();
    for (int cap : plan.process.capabilities) caps.push_back(capability_names()[cap]);
    process["capabilities"] = caps;
    Json rlimits = Json::object();
    for (const auto& step : plan.process.rlimits)
        rlimits[step.name] = format_rlimit_value(*find_rlimit(step.name), step.value);
    process["rlimits"] = rlimits;
    process["summary"] = describe_payload(plan);
    out["uid_map"] = format_id_map(plan.ids.uid_map);
    out["gid_map"] = format_id_map(plan.ids.gid_map);
    Json& namespaces = out["namespaces"];
    namespaces["uts"] = plan.namespaces.uts;
    namespaces["ipc"] = plan.namespaces.ipc;
    namespaces["net"] = plan.namespaces.net;
    namespaces["cgroup"] = plan.namespaces.cgroup;
    namespaces["hostname"] = plan.namespaces.hostname;
    Json& network = out["network"];
    network["mode"] = plan.network == NetworkMode::None ? "none" : plan.network == NetworkMode::Host ? "host" : "slirp";
    Json ports = Json::array();
    if (plan.network == NetworkMode::Slirp)
        for (const auto& forward : plan.slirp.ports) ports.push_back(format_port_forward(forward));
    network["ports"] = ports;
    network["summary"] = describe_network(plan);
    Json& cgroup = out["cgroup"];
    cgroup["path"] = plan.cgroup.use ? Json(plan.cgroup.parent + "/" + cgroup_leaf_name(plan.name)) : Json(nullptr);
    Json limits = Json::array();
    for (const auto& write : plan.cgroup.writes) limits.push_back(write.label);
    cgroup["limits"] = limits;
    cgroup["summary"] = describe_cgroup(plan);
    Json mounts = Json::array();
    for (const auto& m : plan.mounts) {
        Json mount;
        mount["type"] = to_string(m.kind);
        mount["source"] = m.source;
        mount["target"] = m.target;
        mount["read_only"] = m.read_only;
        mount["summary"] = describe_mount(m);
        mounts.push_back(mount);
    }
    out["mounts"] = mounts;
    out["seccomp"] = render_seccomp_policy(plan.process.seccomp);
    out["landlock"] = describe_landlock(plan.landlock);
    out["timeout_ms"] = plan.timeout_ms;
    out["detach"] = plan.detach;
    return out.dump(-1, ' ', false, Json::error_handler_t::replace);  // paths and env need not be UTF-8
}

}  // namespace sb
