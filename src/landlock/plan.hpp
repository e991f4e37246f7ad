// Landlock as a second fence, planned from the mount plan (pure): everything is readable and
// executable, and only what the plan makes writable (writable binds, tmpfs, /dev, a nested
// cgroup) is writable; a payload that got around a mount (a remount, a bug of ours) still cannot
// write elsewhere. Where the kernel has ABI 6, abstract UNIX sockets and signals are scoped to
// the sandbox too (this closes the host's abstract sockets under network = "host").
//
// Landlock only adds rights along a path: a read-only mount inside a writable one stays
// read-only through the mount alone.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <optional>

namespace sb {

struct MountStep;

enum class LandlockMode { Off, BestEffort, Required };
const char* to_string(LandlockMode mode);
std::optional<LandlockMode> parse_landlock_mode(const std::string& text);

// The access rights of landlock.h, spelled out: Debian 12's kernel headers predate most of them.
namespace landlock_access {
constexpr std::uint64_t kExecute = 1ull << 0, kWriteFile = 1ull << 1, kReadFile = 1ull << 2, kReadDir = 1ull << 3,
                        kRemoveDir = 1ull << 4, kRemoveFile = 1ull << 5, kMakeChar = 1ull << 6,
                        kMakeDir = 1ull << 7, kMakeReg = 1ull << 8, kMakeSock = 1ull << 9, kMakeFifo = 1ull << 10,
                        kMakeBlock = 1ull << 11, kMakeSym = 1ull << 12, kRefer = 1ull << 13,
                        kTruncate = 1ull << 14;
constexpr std::uint64_t kRead = kExecute | kReadFile | kReadDir;
constexpr std::uint64_t kWrite = kWriteFile | kRemoveDir | kRemoveFile | kMakeChar | kMakeDir | kMakeReg |
                                 kMakeSock | kMakeFifo | kMakeBlock | kMakeSym | kRefer | kTruncate;
constexpr std::uint64_t kFileOnly = kExecute | kWriteFile | kReadFile | kTruncate;
constexpr std::uint64_t kScopeAbstractUnix = 1ull << 0, kScopeSignal = 1ull << 1;
}  // namespace landlock_access

struct LandlockRule {
    std::string path;     // inside the sandbox
    std::uint64_t access = 0;
    bool operator==(const LandlockRule&) const = default;
};

struct LandlockPlan {
    LandlockMode mode = LandlockMode::BestEffort;
    std::vector<LandlockRule> rules;  // "/" readable first, then each writable mount target
    int abi = 0;                      // of this kernel (a host fact); 0 = none
};

LandlockPlan plan_landlock(LandlockMode mode, const std::vector<MountStep>& mounts);

// The rights an ABI version handles (1: the first 13, 2: + refer, 3: + truncate) and the scopes
// it has (6: abstract UNIX sockets and signals).
std::uint64_t landlock_handled_access(int abi);
std::uint64_t landlock_scopes(int abi);

// For --dry-run, check and doctor: what applies with `abi` (0: none on this kernel).
std::string describe_landlock(const LandlockPlan& plan);

}  // namespace sb
