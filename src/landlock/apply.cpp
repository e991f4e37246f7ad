#include "landlock/apply.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "sys/error.hpp"
#include "sys/unique_fd.hpp"

namespace sb {
namespace {

// From <linux/landlock.h>, which Debian 12's headers have only in part.
constexpr long kCreateRuleset = 444, kAddRule = 445, kRestrictSelf = 446;
constexpr unsigned kCreateRulesetVersion = 1u << 0;
constexpr int kRulePathBeneath = 1;

struct RulesetAttr {
    std::uint64_t handled_access_fs, handled_access_net, scoped;
};

struct __attribute__((packed)) PathBeneathAttr {
    std::uint64_t allowed_access;
    std::int32_t parent_fd;
};

// The attribute size an ABI understands: scoped exists from 6, handled_access_net from 4.
std::size_t ruleset_attr_size(int abi) {
    if (abi >= 6) return sizeof(RulesetAttr);
    if (abi >= 4) return offsetof(RulesetAttr, scoped);
    return offsetof(RulesetAttr, handled_access_net);
}

// The rule's path, opened without following any symlink: the mount executor resolved every
// target the same way, and nothing of the payload's has run yet.
UniqueFd open_rule_path(const std::string& path) {
    open_how how{};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    long fd = ::syscall(SYS_openat2, AT_FDCWD, path.c_str(), &how, sizeof how);
    return UniqueFd(fd < 0 ? -1 : static_cast<int>(fd));
}

}  // namespace

int landlock_abi() {
    long abi = ::syscall(kCreateRuleset, nullptr, 0, kCreateRulesetVersion);
    return abi < 0 ? 0 : static_cast<int>(abi);
}

bool apply_landlock(const LandlockPlan& plan) {
    int abi = plan.abi;
    if (plan.mode == LandlockMode::Off) return false;
    if (abi < 1) {
        if (plan.mode == LandlockMode::BestEffort) return false;
        throw SetupError(Stage::Landlock, "this kernel has no Landlock (landlock_create_ruleset: not supported)",
                         "boot a kernel with CONFIG_SECURITY_LANDLOCK and 'landlock' in lsm=, or set [security] "
                         "landlock = \"best-effort\"");
    }
    std::uint64_t handled = landlock_handled_access(abi);
    RulesetAttr attr{handled, 0, landlock_scopes(abi)};
    long ruleset = ::syscall(kCreateRuleset, &attr, ruleset_attr_size(abi), 0);
    if (ruleset < 0) throw SysError("landlock_create_ruleset", "", errno);
    UniqueFd owner(static_cast<int>(ruleset));
    for (const auto& rule : plan.rules) {
        UniqueFd fd = open_rule_path(rule.path);
        if (!fd) {
            if (errno == ENOENT) continue;
            throw SysError("open (landlock rule)", rule.path, errno);
        }
        struct stat st {};
        if (::fstat(fd.get(), &st) < 0) throw SysError("fstat (landlock rule)", rule.path, errno);
        std::uint64_t access = rule.access & handled;
        if (!S_ISDIR(st.st_mode)) access &= landlock_access::kFileOnly;
        PathBeneathAttr beneath{access, fd.get()};
        if (::syscall(kAddRule, owner.get(), kRulePathBeneath, &beneath, 0) < 0)
            throw SysError("landlock_add_rule", rule.path, errno);
    }
    if (::syscall(kRestrictSelf, owner.get(), 0) < 0) throw SysError("landlock_restrict_self", "", errno);
    return true;
}

}  // namespace sb
