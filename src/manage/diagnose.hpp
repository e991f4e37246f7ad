// What `sandbox doctor` concludes about the kernel's isolation features, from facts read from
// /proc (pure, unit-tested): whether an unprivileged user may make user namespaces and, when not,
// which of the usual restrictions is the cause and its fix; what seccomp and Landlock offer.
#pragma once
#include <optional>
#include <string>

namespace sb {

struct IsolationFacts {
    std::optional<std::string> max_user_namespaces;         // /proc/sys/user/max_user_namespaces
    std::optional<std::string> unprivileged_userns_clone;   // /proc/sys/kernel/unprivileged_userns_clone (Debian < 11)
    std::optional<std::string> apparmor_restrict_userns;    // /proc/sys/kernel/apparmor_restrict_unprivileged_userns (Ubuntu)
    int userns_probe_errno = 0;   // a child's unshare(CLONE_NEWUSER): 0 when it worked
    bool seccomp_filters = false;  // the kernel has seccomp filters (Seccomp: in /proc/self/status)
    std::string seccomp_actions;   // /proc/sys/kernel/seccomp/actions_avail
    int already_filtered = 0;      // Seccomp: 2 in our own status: under an outer filter
    int landlock_abi = 0;
};

struct Diagnosis {
    bool ok = false;
    std::string detail;  // what holds, or what is wrong
    std::string fix;     // "" when ok
};

Diagnosis diagnose_user_namespaces(const IsolationFacts& facts);
Diagnosis diagnose_seccomp(const IsolationFacts& facts);
Diagnosis diagnose_landlock(const IsolationFacts& facts);

}  // namespace sb
