#include "seccomp/violations.hpp"

#include <linux/audit.h>
#include <seccomp.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

namespace sb {
namespace {

constexpr std::int32_t kX32Bit = 0x40000000;

}  // namespace

RefusalVerdict decide(const SeccompPolicy& policy, const RefusedCall& call) {
    RefusalVerdict verdict;
    if (policy.mode == SeccompMode::Learn) {
        verdict.let_through = true;
        verdict.error = 0;
        return verdict;
    }
    // Only calls a rule matched reach us; a call no rule explains (a number newer than the
    // table answers ENOSYS in the filter itself) is refused with EPERM.
    if (const SyscallRule* rule = matching_rule(policy, call.syscall, call.args)) verdict.error = rule->error;
    return verdict;
}

std::string violation_json(const RefusedCall& call, const RefusalVerdict& verdict) {
    nlohmann::json line = {
        {"syscall", call.syscall},
        {"abi", call.abi},
        {"action", verdict.let_through ? "allowed" : "refused"},
        {"errno", verdict.let_through ? nlohmann::json(nullptr) : nlohmann::json(errno_name(verdict.error))},
        {"pid", call.pid},
        {"executable", call.executable},
    };
    // Executable paths are bytes, not always UTF-8: replace what is not, rather than throw.
    return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string learned_allow_lines(const std::set<std::string>& names) {
    std::string list;
    for (const auto& name : names) list += (list.empty() ? "\"" : ", \"") + name + "\"";
    return "[seccomp]\nallow = [" + list + "]\n";
}

std::string risky_allowances(const std::set<std::string>& names) {
    static const std::set<std::string> risky_groups = {"namespaces", "mounts", "tracing", "keyring", "io_uring",
                                                       "kernel-surface", "modules", "file-handles"};
    std::string out;
    for (const auto& name : names) {
        for (const auto& rule : default_seccomp_rules(false)) {
            if (rule.syscall != name || !risky_groups.count(rule.why)) continue;
            out += (out.empty() ? "" : ", ") + name + " (" + rule.why + ")";
            break;
        }
    }
    return out;
}

std::string abi_name(std::uint32_t audit_arch, std::int32_t nr) {
    switch (audit_arch) {
        case AUDIT_ARCH_X86_64: return (nr & kX32Bit) ? "x32" : "x86_64";
        case AUDIT_ARCH_I386: return "x86";
        case AUDIT_ARCH_AARCH64: return "aarch64";
        case AUDIT_ARCH_ARM: return "arm";
        default: return "arch-" + std::to_string(audit_arch);
    }
}

std::string syscall_name(std::uint32_t audit_arch, std::int32_t nr) {
    std::uint32_t token = audit_arch;  // libseccomp's tokens are the audit values
    if (audit_arch == AUDIT_ARCH_X86_64 && (nr & kX32Bit)) token = SCMP_ARCH_X32;
    char* name = seccomp_syscall_resolve_num_arch(token, nr);
    std::string result = name ? name : "#" + std::to_string(nr);
    std::free(name);
    return result;
}

}  // namespace sb
