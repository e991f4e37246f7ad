// What happens to a call the filter refuses when the policy runs in log or learn mode: the
// supervisor hears of it through seccomp user notification, decides here (pure), answers, and
// records it as one JSON line (--violations FILE). --learn lets the calls through and prints the
// [seccomp] allow lines that would have permitted them.
#pragma once
#include <cstdint>
#include <set>
#include <string>

#include "seccomp/policy.hpp"

namespace sb {

// A notification as the kernel reports it, with the names resolved.
struct RefusedCall {
    std::string syscall;     // "keyctl"; "#N" when no architecture of ours knows the number
    std::string abi;         // "x86_64", "x86", "x32", "aarch64", "arm"
    std::uint64_t args[6] = {};
    std::int64_t pid = 0;    // in the supervisor's pid namespace
    std::string executable;  // /proc/PID/exe as the supervisor saw it; "" when gone
};

struct RefusalVerdict {
    bool let_through = false;  // learn mode
    int error = 1;             // errno given otherwise
};

RefusalVerdict decide(const SeccompPolicy& policy, const RefusedCall& call);

// {"syscall":"keyctl","abi":"x86_64","errno":"EPERM","pid":123,"executable":"/usr/bin/keyctl"}
// ("errno": null and "action": "allowed" for calls let through).
std::string violation_json(const RefusedCall& call, const RefusalVerdict& verdict);

// The profile lines that allow `names` (sorted), for --learn.
std::string learned_allow_lines(const std::set<std::string>& names);

// Of `names`, those whose default denial guards against escapes or kernel attack surface
// (namespaces, mounts, tracing, keyring, io_uring, bpf and kin), as "unshare (namespaces), ...";
// "" when none.
std::string risky_allowances(const std::set<std::string>& names);

// The ABI and syscall names of a notification's (arch, nr).
std::string abi_name(std::uint32_t audit_arch, std::int32_t nr);
std::string syscall_name(std::uint32_t audit_arch, std::int32_t nr);

}  // namespace sb
