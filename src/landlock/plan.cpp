#include "landlock/plan.hpp"

#include <sstream>

#include "mount/mount_plan.hpp"

namespace sb {
namespace la = landlock_access;

const char* to_string(LandlockMode mode) {
    switch (mode) {
        case LandlockMode::Off: return "off";
        case LandlockMode::BestEffort: return "best-effort";
        case LandlockMode::Required: return "required";
    }
    return "?";
}

std::optional<LandlockMode> parse_landlock_mode(const std::string& text) {
    if (text == "off") return LandlockMode::Off;
    if (text == "best-effort") return LandlockMode::BestEffort;
    if (text == "required") return LandlockMode::Required;
    return std::nullopt;
}

namespace {

// What the payload may do beneath a mount's target, beyond reading.
std::uint64_t extra_access(const MountStep& step) {
    if (step.read_only) return 0;
    switch (step.kind) {
        case MountKind::Bind:
        case MountKind::Overlay:
        case MountKind::Tmpfs:
        case MountKind::Dev:
        case MountKind::Cgroup: return la::kWrite;
        // /proc/self/... takes writes (oom_score_adj, comm); its files are never created.
        case MountKind::Proc: return la::kWriteFile | la::kTruncate;
        // dir, file and symlink live in the root tmpfs, read-only once set up.
        default: return 0;
    }
}

}  // namespace

LandlockPlan plan_landlock(LandlockMode mode, const std::vector<MountStep>& mounts) {
    LandlockPlan plan;
    plan.mode = mode;
    if (mode == LandlockMode::Off) return plan;
    plan.rules.push_back({"/", la::kRead});
    for (const auto& step : mounts) {
        std::uint64_t extra = extra_access(step);
        if (extra) plan.rules.push_back({step.target, la::kRead | extra});
    }
    return plan;
}

std::uint64_t landlock_handled_access(int abi) {
    if (abi < 1) return 0;
    std::uint64_t handled = (la::kMakeSym << 1) - 1;  // the 13 rights of ABI 1
    if (abi >= 2) handled |= la::kRefer;
    if (abi >= 3) handled |= la::kTruncate;
    return handled;
}

std::uint64_t landlock_scopes(int abi) { return abi >= 6 ? la::kScopeAbstractUnix | la::kScopeSignal : 0; }

std::string describe_landlock(const LandlockPlan& plan) {
    int abi = plan.abi;
    std::ostringstream out;
    out << "landlock:   " << to_string(plan.mode);
    if (plan.mode == LandlockMode::Off) return out.str() + " ([security] landlock = \"off\")\n";
    if (abi < 1) {
        out << "; this kernel has no Landlock"
            << (plan.mode == LandlockMode::Required ? ": the run will fail (required)\n" : ": not applied\n");
        return out.str();
    }
    out << "; ABI " << abi << ": files" << (abi >= 2 ? ", refer" : "") << (abi >= 3 ? ", truncate" : "")
        << (landlock_scopes(abi) ? ", abstract UNIX sockets and signals scoped to the sandbox" : "") << "\n";
    for (const auto& rule : plan.rules)
        out << "  " << rule.path << ": " << ((rule.access & la::kWrite) ? "read, write" : "read") << "\n";
    return out.str();
}

}  // namespace sb
