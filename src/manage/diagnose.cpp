#include "manage/diagnose.hpp"

#include <cerrno>
#include <cstring>

namespace sb {
namespace {

std::string trimmed(const std::optional<std::string>& text) {
    if (!text) return "";
    std::string value = *text;
    while (!value.empty() && (value.back() == '\n' || value.back() == ' ')) value.pop_back();
    return value;
}

bool has_word(const std::string& list, const std::string& word) {
    return (" " + list + " ").find(" " + word + " ") != std::string::npos;
}

}  // namespace

Diagnosis diagnose_user_namespaces(const IsolationFacts& facts) {
    if (facts.userns_probe_errno == 0)
        return {true, "an unprivileged process may create them (max_user_namespaces = " +
                          trimmed(facts.max_user_namespaces) + ")", ""};
    // The usual causes, most specific first.
    if (trimmed(facts.max_user_namespaces) == "0")
        return {false, "user.max_user_namespaces = 0: the kernel allows none",
                "as root: sysctl -w user.max_user_namespaces=15000 (and in /etc/sysctl.d/ to keep it)"};
    if (trimmed(facts.unprivileged_userns_clone) == "0")
        return {false, "kernel.unprivileged_userns_clone = 0: only root may create user namespaces",
                "as root: sysctl -w kernel.unprivileged_userns_clone=1 (and in /etc/sysctl.d/ to keep it)"};
    if (trimmed(facts.apparmor_restrict_userns) == "1")
        return {false,
                "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1)",
                "give sandbox an AppArmor profile with the 'userns,' rule (see "
                "/etc/apparmor.d/ for examples such as bwrap-userns-restrict), or as root: sysctl -w "
                "kernel.apparmor_restrict_unprivileged_userns=0"};
    if (facts.userns_probe_errno == ENOSPC)
        return {false, "the user namespace limit is reached (ENOSPC)",
                "end other sandboxes or containers, or raise user.max_user_namespaces"};
    return {false,
            std::string("unshare(CLONE_NEWUSER) fails: ") + std::strerror(facts.userns_probe_errno) +
                " (no sysctl forbids it: a container, or a seccomp filter of the parent, refuses them)",
            "run sandbox on the host, or let the container allow nested user namespaces (e.g. podman "
            "--security-opt seccomp=unconfined, or docker's --security-opt systempaths=unconfined)"};
}

Diagnosis diagnose_seccomp(const IsolationFacts& facts) {
    if (!facts.seccomp_filters)
        return {false, "this kernel has no seccomp filters (CONFIG_SECCOMP_FILTER): sandboxes run without the filter",
                "use a kernel built with CONFIG_SECCOMP_FILTER"};
    std::string detail = "filters on every ABI";
    bool notify = has_word(facts.seccomp_actions, "user_notif");
    detail += notify ? "; --violations and --learn work (user_notif)" : "; no user_notif: --violations and --learn fail";
    if (facts.already_filtered) detail += "; sandbox itself runs under an outer filter, which still applies";
    return {true, detail, notify ? "" : "Linux 5.0 or newer has user notification"};
}

Diagnosis diagnose_landlock(const IsolationFacts& facts) {
    int abi = facts.landlock_abi;
    if (abi < 1)
        return {false, "no Landlock: the mounts are the only filesystem fence (landlock = \"required\" fails)",
                "boot a kernel with CONFIG_SECURITY_LANDLOCK and 'landlock' in its lsm= list"};
    std::string detail = "ABI " + std::to_string(abi) + ": writes confined to the writable mounts";
    if (abi >= 2) detail += ", refer";
    if (abi >= 3) detail += ", truncate";
    detail += abi >= 6 ? "; abstract UNIX sockets and signals scoped to the sandbox"
                       : "; abstract UNIX sockets and signals not scoped (ABI 6, Linux 6.12)";
    return {true, detail, ""};
}

}  // namespace sb
