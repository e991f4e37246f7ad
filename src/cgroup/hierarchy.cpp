#include "cgroup/hierarchy.hpp"

#include <sstream>
#include <string_view>

namespace sb {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_octal(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        bool octal = text[i] == '\\' && i + 3 < text.size() &&
                     text.substr(i + 1, 3).find_first_not_of("01234567") == std::string::npos;
        if (octal) {
            out += static_cast<char>(std::stoi(text.substr(i + 1, 3), nullptr, 8));
            i += 3;
        } else {
            out += text[i];
        }
    }
    return out;
}

std::string join(const std::set<std::string>& names) {
    std::string out;
    for (const auto& name : names) out += (out.empty() ? "" : " ") + name;
    return out.empty() ? "none" : out;
}

}  // namespace

const char* const kHostProcessesLeaf = "sandbox.host-processes";

std::string cgroup_leaf_name(const std::string& sandbox_name) { return "sandbox-" + sandbox_name; }

std::string delegation_candidate(const std::string& own_path) {
    auto slash = own_path.rfind('/');
    if (slash == std::string::npos || own_path.compare(slash + 1, std::string::npos, kHostProcessesLeaf) != 0)
        return own_path;
    return slash == 0 ? "/" : own_path.substr(0, slash);
}

// The controllers of the limits table, cpuset first (cpuset.cpus is written before anything else).
const std::vector<std::string>& known_controllers() {
    static const std::vector<std::string> names = [] {
        std::set<std::string> all;
        for (const auto& kind : limit_kinds()) all.insert(kind.controller);
        std::vector<std::string> ordered;
        if (all.erase("cpuset")) ordered.push_back("cpuset");
        ordered.insert(ordered.end(), all.begin(), all.end());
        return ordered;
    }();
    return names;
}

std::string systemd_delegate_drop_in() {
    std::set<std::string> sorted(known_controllers().begin(), known_controllers().end());
    return "/etc/systemd/system/user@.service.d/delegate.conf containing \"[Service]\" and \"Delegate=" +
           join(sorted) + "\", then `systemctl daemon-reload` and log in again";
}

// Calls `each` with every line of `text` (without its newline) until it returns true.
template <typename Each>
void for_each_line(const std::string& text, Each each) {
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        if (each(std::string_view(text).substr(start, end - start))) return;
        start = end + 1;
    }
}

std::optional<std::string> parse_proc_cgroup(const std::string& text) {
    std::optional<std::string> path;
    for_each_line(text, [&](std::string_view line) {
        if (line.substr(0, 3) != "0::") return false;
        path = std::string(line.substr(3));
        return true;
    });
    return path;
}

// mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS".
// Parsed without streams: this runs at every start, and the host may have many mounts.
std::optional<Cgroup2Mount> find_cgroup2_mount(const std::string& mountinfo) {
    std::optional<Cgroup2Mount> found;
    for_each_line(mountinfo, [&](std::string_view line) {
        std::vector<std::string_view> fields;
        std::size_t at = 0;
        while (at < line.size()) {
            std::size_t end = line.find(' ', at);
            if (end == std::string_view::npos) end = line.size();
            if (end > at) fields.push_back(line.substr(at, end - at));
            at = end + 1;
        }
        std::size_t dash = 0;
        for (std::size_t i = 6; i < fields.size(); ++i)
            if (fields[i] == "-") {
                dash = i;
                break;
            }
        if (dash == 0 || dash + 1 >= fields.size() || fields[dash + 1] != "cgroup2") return false;
        found = Cgroup2Mount{unescape_octal(std::string(fields[4])), unescape_octal(std::string(fields[3]))};
        return true;
    });
    return found;
}

std::optional<std::string> cgroup_directory(const Cgroup2Mount& mount, const std::string& path) {
    if (path.empty() || path[0] != '/') return std::nullopt;
    std::string root = mount.root == "/" ? "" : mount.root;
    if (path.compare(0, root.size(), root) != 0) return std::nullopt;
    std::string rest = path.substr(root.size());
    if (!rest.empty() && rest[0] != '/') return std::nullopt;
    if (rest == "/") rest.clear();
    return mount.mount_point + rest;
}

std::set<std::string> parse_controller_list(const std::string& text) {
    std::istringstream in(text);
    std::set<std::string> out;
    std::string name;
    while (in >> name) out.insert(name);
    return out;
}

Delegation decide_delegation(const CgroupFacts& facts) {
    Delegation d;
    d.directory = facts.directory;
    d.controllers = facts.controllers;
    d.has_file = facts.has_file;
    const std::string systemd_hint =
        "run it in a delegated scope: systemd-run --user --scope -p Delegate=yes sandbox run ...";
    if (!facts.have_cgroup2) {
        d.reason = "this host has no cgroup v2 hierarchy mounted";
        d.hint = "boot with systemd.unified_cgroup_hierarchy=1 (or mount cgroup2 at /sys/fs/cgroup)";
        return d;
    }
    if (facts.directory.empty()) {
        d.reason = "the cgroup this runs in (" + facts.own_path + ") is not visible under any cgroup2 mount";
        d.hint = "mount cgroup2 at /sys/fs/cgroup";
        return d;
    }
    if (facts.running_as_root) {
        // Root can write every cgroup on the host: only a cgroup handed to us on purpose is ours,
        // and only systemd's trusted mark counts (any owner can set user.delegate).
        if (!facts.trusted_delegate || !facts.owned) {
            d.reason = "running as root in " + facts.own_path + ", which is not marked as delegated (trusted.delegate)";
            d.hint = facts.systemd ? "run it in a scope of its own: systemd-run --scope -p Delegate=yes sandbox run ..."
                                   : "run it in a cgroup marked delegated (the trusted.delegate xattr set to 1)";
            return d;
        }
    } else if (!facts.owned || !facts.writable) {
        d.reason = "the cgroup this runs in (" + facts.own_path + ") is not delegated to you (" +
                   (facts.owned ? "not writable" : "owned by another user") + ")";
        d.hint = facts.systemd ? systemd_hint
                               : "ask your administrator to delegate a cgroup v2 subtree to you (chown its "
                                 "directory, cgroup.procs, cgroup.subtree_control and cgroup.threads) and "
                                 "start your session in it";
        return d;
    } else if (facts.systemd && facts.ancestor_user_delegate && !facts.trusted_delegate && !facts.user_delegate) {
        // Yours, but a unit systemd manages (it may rewrite its controllers under us).
        d.reason = "the cgroup this runs in (" + facts.own_path +
                   ") belongs to you but systemd did not delegate it (no delegate mark)";
        d.hint = systemd_hint;
        return d;
    }
    d.usable = true;
    return d;
}

LimitCheck check_limits(const std::vector<CgroupWrite>& writes, const Delegation& delegation) {
    LimitCheck check;
    for (const auto& write : writes) {
        // The delegated cgroup's own files show what its children will have: a controller's
        // file missing there (with the controller on) is a feature this kernel lacks.
        bool available = delegation.usable && delegation.controllers.count(write.controller) &&
                         delegation.has_file(write.file);
        (available ? check.enforced : check.missing).push_back(write);
    }
    return check;
}

std::string LimitProblem::message() const {
    return (refused_by_kernel ? "cannot set " : "cannot enforce ") + limit + ": " + reason;
}

std::string LimitProblem::located() const {
    return where.line > 0 ? format_location(where) + ": " + message() : message();
}

LimitVerdict judge_limit(const LimitProblem& problem, Enforce enforce) {
    if (enforce == Enforce::Strict)
        return {true, problem.located(), problem.hint + "; or set [limits] enforce = \"best-effort\" to run without it"};
    return {false, problem.located() + " (best-effort: running without it)", problem.hint};
}

LimitProblem explain_missing(const CgroupWrite& write, const Delegation& delegation, bool systemd) {
    LimitProblem problem;
    problem.limit = write.label;
    problem.where = write.where;
    if (!delegation.usable) {
        problem.reason = delegation.reason;
        problem.hint = delegation.hint;
        return problem;
    }
    if (delegation.controllers.count(write.controller)) {
        problem.reason = "this kernel offers no " + write.file + " (in " + delegation.directory + ")";
        const LimitKind* kind = find_limit_kind(write.key);
        problem.hint = kind && *kind->needs ? write.file + " needs " + kind->needs + ", or drop " + kind->key
                                            : "this limit needs a kernel feature that is missing";
        return problem;
    }
    problem.reason = "the " + write.controller + " controller is not delegated to " + delegation.directory +
                     " (available: " + join(delegation.controllers) + ")";
    if (systemd)
        problem.hint = "systemd delegates only memory and pids to users by default; as root, add " +
                       systemd_delegate_drop_in();
    else
        problem.hint = "as root, enable it in the parent cgroup: write +" + write.controller +
                       " to the cgroup.subtree_control of every cgroup above " + delegation.directory;
    return problem;
}

}  // namespace sb
