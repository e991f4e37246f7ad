#include "manage/manage.hpp"
#include "manage/changes_commands.hpp"

#include <sched.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cgroup/limits.hpp"
#include "cgroup/sandbox_cgroup.hpp"
#include "cgroup/stats.hpp"
#include "manage/diagnose.hpp"
#include "state/registry.hpp"
#include "sys/child_process.hpp"
#include "sys/error.hpp"
#include "sys/syscalls.hpp"

namespace sb {
namespace {

StateRecord running_sandbox(const HostFacts& facts, const std::string& name) {
    auto record = find_running(facts.state_dir, name);
    if (!record)
        throw SetupError(Stage::Lookup, "no running sandbox named " + name, "see `sandbox ps` for the names");
    return *record;
}

const std::string& cgroup_of(const StateRecord& record, Stage what) {
    if (record.cgroup.empty())
        throw SetupError(what, "sandbox " + record.name + " has no cgroup of its own (it started without a delegated cgroup)",
                         "see `sandbox doctor`");
    if (!record_cgroup_is_valid(record))
        throw SetupError(what, "the record of " + record.name + " does not point at the cgroup its sandbox made (" +
                                   record.cgroup + ")",
                         "it may be still starting: try again");
    return record.cgroup;
}

std::string state_of(const SandboxEntry& entry) {
    const StateRecord& record = entry.record;
    if (entry.status == SandboxStatus::Exited) return "exited(" + std::to_string(*record.exit_code) + ")";
    if (entry.status == SandboxStatus::Gone) return "gone";
    if (record.cgroup.empty() || !record_cgroup_is_valid(record)) return "running";
    auto events = read_cgroup_file(record.cgroup, "cgroup.events");
    if (!events) return "running";
    return parse_keyed_values(*events)["frozen"] ? "paused" : "running";
}

std::string padded(const std::string& text, std::size_t width) {
    return text.size() >= width ? text + " " : text + std::string(width - text.size(), ' ');
}

}  // namespace

int list_sandboxes(const HostFacts& facts, bool json, bool all) {
    auto entries = list_sandboxes_in(facts.state_dir, all);
    std::int64_t now = ::time(nullptr);
    // With --all: sandboxes whose overlays keep changes (until commit or discard), with a record or not.
    std::set<std::string> kept;
    if (all)
        for (auto& name : names_with_kept_changes(facts)) kept.insert(std::move(name));
    std::vector<std::string> only_changes;
    for (const auto& name : kept)
        if (std::none_of(entries.begin(), entries.end(), [&](const SandboxEntry& entry) { return entry.record.name == name; }))
            only_changes.push_back(name);
    if (json) {
        nlohmann::ordered_json list = nlohmann::ordered_json::array();
        for (const auto& entry : entries) {
            const StateRecord& r = entry.record;
            nlohmann::ordered_json item;
            item["name"] = r.name;
            item["pid"] = r.pid;
            item["init_pid"] = r.init_pid;
            item["profile"] = r.profile;
            item["cgroup"] = r.cgroup.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.cgroup);
            item["created"] = r.created;
            std::int64_t end = entry.status == SandboxStatus::Running ? now : (r.finished ? r.finished : r.created);
            item["uptime_seconds"] = std::max<std::int64_t>(0, end - r.created);
            item["state"] = entry.status == SandboxStatus::Exited ? "exited" : state_of(entry);
            item["command"] = r.command;
            item["exit_code"] = r.exit_code ? nlohmann::ordered_json(*r.exit_code) : nlohmann::ordered_json(nullptr);
            item["finished"] = r.finished ? nlohmann::ordered_json(r.finished) : nlohmann::ordered_json(nullptr);
            item["kept_changes"] = kept.count(r.name) > 0;
            list.push_back(item);
        }
        for (const auto& name : only_changes)
            list.push_back({{"name", name}, {"state", "changes"}, {"kept_changes", true}});
        std::cout << list.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
        return 0;
    }
    std::cout << padded("NAME", 24) << padded("PID", 9) << padded("CREATED", 12) << padded("STATE", 13)
              << padded("COMMAND", 24) << "PROFILE\n";
    for (const auto& entry : entries) {
        const StateRecord& r = entry.record;
        bool running = entry.status == SandboxStatus::Running;
        std::string command = r.command.size() > 22 ? r.command.substr(0, 21) + "~" : r.command;
        std::cout << padded(r.name, 24) << padded(running ? std::to_string(r.pid) : "-", 9)
                  << padded(format_duration(now - r.created) + " ago", 12) << padded(state_of(entry), 13)
                  << padded(command.empty() ? "-" : command, 24) << r.profile << "\n";
    }
    // No record (it ended with --rm): only its kept changes, for `sandbox diff`, commit or discard.
    for (const auto& name : only_changes)
        std::cout << padded(name, 24) << padded("-", 9) << padded("-", 12) << padded("changes", 13) << padded("-", 24) << "-\n";
    return 0;
}

int freeze_sandbox(const HostFacts& facts, const std::string& name, bool frozen) {
    StateRecord record = running_sandbox(facts, name);
    set_frozen(cgroup_of(record, frozen ? Stage::Pause : Stage::Resume), frozen);
    std::cout << name << "\n";
    return 0;
}

int show_stats(const HostFacts& facts, const std::string& name, bool json) {
    StateRecord record = running_sandbox(facts, name);
    const std::string& path = cgroup_of(record, Stage::Stats);
    CgroupStats stats = collect_stats([&](const std::string& file) { return read_sandbox_stat(path, file); });
    std::cout << (json ? render_stats_json(name, stats) : render_stats_text(name, stats));
    return 0;
}

int probe_user_namespace() {
    pid_t pid = ::fork();
    if (pid == 0) ::_exit(::unshare(CLONE_NEWUSER) == 0 ? 0 : errno & 0xff);
    if (pid < 0) return errno;
    int status = ChildProcess(pid).wait();
    return WIFEXITED(status) ? WEXITSTATUS(status) : EINVAL;
}

namespace {

IsolationFacts read_isolation_facts(const HostFacts& facts) {
    IsolationFacts isolation = read_user_namespace_sysctls();
    isolation.userns_probe_errno = probe_user_namespace();
    std::string status = read_text_file("/proc/self/status").value_or("");
    auto seccomp = status.find("\nSeccomp:");
    isolation.seccomp_filters = seccomp != std::string::npos &&
                                read_text_file("/proc/sys/kernel/seccomp/actions_avail").has_value();
    if (seccomp != std::string::npos) isolation.already_filtered = status.compare(seccomp + 9, 2, "\t2") == 0;
    isolation.seccomp_actions = read_text_file("/proc/sys/kernel/seccomp/actions_avail").value_or("");
    while (!isolation.seccomp_actions.empty() && isolation.seccomp_actions.back() == '\n')
        isolation.seccomp_actions.pop_back();
    isolation.landlock_abi = facts.landlock_abi;
    return isolation;
}

}  // namespace

IsolationFacts read_user_namespace_sysctls() {
    IsolationFacts isolation;
    isolation.max_user_namespaces = read_text_file("/proc/sys/user/max_user_namespaces");
    isolation.unprivileged_userns_clone = read_text_file("/proc/sys/kernel/unprivileged_userns_clone");
    isolation.apparmor_restrict_userns = read_text_file("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
    return isolation;
}

int run_doctor(const HostFacts& facts) {
    std::ostringstream out;
    auto line = [&](const std::string& what, bool ok, const std::string& detail) {
        out << (ok ? "  ok    " : "  no    ") << padded(what, 20) << detail << "\n";
    };
    auto diagnosed = [&](const std::string& what, const Diagnosis& d) {
        line(what, d.ok, d.detail);
        if (!d.fix.empty()) out << "        fix: " << d.fix << "\n";
    };
    IsolationFacts isolation = read_isolation_facts(facts);
    out << "user namespaces and ids\n";
    diagnosed("user namespaces", diagnose_user_namespaces(isolation));
    line("id helpers", !facts.newuidmap.empty() && !facts.newgidmap.empty(),
         facts.newuidmap.empty() ? "newuidmap not found: install the uidmap package" : facts.newuidmap + ", " + facts.newgidmap);
    line("subordinate uids", facts.subuid.has_value(),
         facts.subuid ? std::to_string(facts.subuid->count) + " from " + std::to_string(facts.subuid->start)
                      : "none for " + facts.user_name + ": a single-id map will be used");
    line("subordinate gids", facts.subgid.has_value(),
         facts.subgid ? std::to_string(facts.subgid->count) + " from " + std::to_string(facts.subgid->start)
                      : "none for " + facts.user_name);
    out << "hardening\n";
    diagnosed("seccomp", diagnose_seccomp(isolation));
    diagnosed("landlock", diagnose_landlock(isolation));
    out << "network\n";
    bool tun = ::access("/dev/net/tun", R_OK | W_OK) == 0;
    line("/dev/net/tun", tun, tun ? "slirp uses a tap device" : "not usable: slirp uses a veth pair and a packet socket");
    out << "cgroups (resource limits, pause, stats)\n";
    const CgroupFacts& cg = facts.cgroup;
    Delegation delegation = decide_delegation(cg);
    line("cgroup v2", cg.have_cgroup2, cg.have_cgroup2 ? "own cgroup " + cg.own_path : "no cgroup2 mount");
    line("delegated cgroup", delegation.usable, delegation.usable ? delegation.directory : delegation.reason);
    if (!delegation.usable) out << "        fix: " << delegation.hint << "\n";
    for (const auto& controller : known_controllers()) {
        bool available = delegation.usable && delegation.controllers.count(controller);
        std::string detail = available ? "enforceable" : "";
        if (!delegation.usable) {
            detail = "not enforceable: no delegated cgroup";
        } else if (!available) {
            CgroupWrite probe{controller, "", "", controller + " limits", "", {}};
            LimitProblem problem = explain_missing(probe, delegation, cg.systemd);
            detail = problem.reason + "\n        fix: " + problem.hint;
        }
        line(controller, available, detail);
    }
    if (delegation.usable) {
        // The limits that need a kernel feature beyond their controller.
        for (const auto& kind : limit_kinds()) {
            if (!*kind.needs || !delegation.controllers.count(kind.controller)) continue;
            bool present = delegation.has_file(kind.file);
            line(kind.key, present, present ? "enforceable" : std::string("no ") + kind.file + ": needs " + kind.needs);
        }
        bool kill = ::access((delegation.directory + "/cgroup.kill").c_str(), F_OK) == 0;
        bool freeze = ::access((delegation.directory + "/cgroup.freeze").c_str(), F_OK) == 0;
        line("cgroup.kill", kill, kill ? "ends a sandbox's every process at once" : "missing (kernel < 5.14)");
        line("cgroup.freeze", freeze, freeze ? "pause and resume work" : "missing (kernel < 5.2): no pause");
    }
    line("state directory", true, facts.state_dir);
    std::cout << out.str();
    return 0;
}

}  // namespace sb
