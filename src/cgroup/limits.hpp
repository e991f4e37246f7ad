// Resource limits ([limits] in a profile, --memory/--cpus/--pids on the command line) and what
// they mean for cgroup v2: which controller each needs and which interface file gets which
// value. Pure: the kernel is touched by cgroup/sandbox_cgroup.cpp.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sys/error.hpp"

namespace sb {

constexpr std::uint64_t kNoLimit = UINT64_MAX;  // "max" in a cgroup file

// strict: a limit that cannot be enforced fails the run (exit 125);
// best-effort: it is skipped with one warning.
enum class Enforce { Strict, BestEffort };
const char* to_string(Enforce enforce);

// One [[limits.io]] entry: a block device and its io.max values.
struct IoDeviceLimit {
    std::string device;  // the path, as written (e.g. "/dev/sda")
    std::string number;  // "MAJOR:MINOR", filled in at plan time from the host
    std::optional<std::uint64_t> read_bps, write_bps, read_iops, write_iops;
    SourceLocation where;
};

// The limits of a sandbox. The scalar ones (all but io) are described by limit_kinds() below.
struct Limits {
    std::optional<std::uint64_t> memory_max, memory_high, memory_swap;  // bytes or kNoLimit
    std::optional<std::uint64_t> cpu_millis;  // 1500 = 1.5 CPUs (cpu.max)
    std::optional<std::uint64_t> cpu_weight;  // 1..10000 (cpu.weight)
    std::optional<std::uint64_t> pids;        // pids.max, or kNoLimit
    std::optional<std::uint64_t> io_weight;   // 1..10000 (io.weight)
    std::vector<IoDeviceLimit> io;
    std::optional<std::string> cpuset_cpus, cpuset_mems;
    Enforce enforce = Enforce::Strict;
    bool nested = false;  // the sandbox may write its own /sys/fs/cgroup
    // Where each key was set (for messages about it): "memory", "cpus", "io", ...
    std::map<std::string, SourceLocation> where;

    bool any() const;
};

// How a limit's value is written and checked. Each rule is in one place: profile/limits.cpp reads
// a profile's value (TOML types), parse_limit_text below reads the command line's, and
// profile/render.cpp and cgroup_writes write them back.
enum class LimitValue {
    Size,        // "512M", 1073741824 or "max"; not 0
    SizeOrZero,  // the same, 0 allowed (memory_swap = 0: no swap at all)
    Count,       // 1 to 4194304 (the kernel's PID_MAX_LIMIT), or "max"
    Weight,      // 1 to 10000 (100 is the default share)
    Cpus,        // 0.01 to 1024 CPUs, at most three decimals; kept in thousandths
    CpuList,     // "0-3,6"
};

// One [limits] key with a single value and the cgroup file it becomes.
//
// Worked example: adding `hugetlb_2m = "1G"`, written to hugetlb.2MB.max, takes three places:
//   1. a field of Limits:            std::optional<std::uint64_t> hugetlb_2m;
//   2. a row of limit_kinds():       {"hugetlb_2m", LimitValue::Size, "hugetlb", "hugetlb.2MB.max",
//      (cgroup/limits.cpp)            &Limits::hugetlb_2m},
//   3. its entry under [limits] in man/sandbox.toml.5.
// The rest follows from the row: the profile key and its errors with file:line:col, `extends`
// merging, --dry-run and `check` rendering, the cgroup write, the controller to enable (and in the
// systemd Delegate= hint), strict or best-effort, doctor's check, and the tests that walk the
// table (tests/unit/test_profile_limits.cpp). A --hugetlb-2m option would be one line in
// src/cli/cli.cpp and apply_limit_overrides. Only a new kind of value (beyond LimitValue) needs
// its case in profile/limits.cpp, parse_limit_text and the renderers.
struct LimitKind {
    const char* key;         // the profile key: "memory"
    LimitValue value;
    const char* controller;  // "memory"
    const char* file;        // "memory.max"
    std::optional<std::uint64_t> Limits::*number = nullptr;  // the field, for every value but CpuList
    std::optional<std::string> Limits::*text = nullptr;      // the field, for CpuList
    const char* file_prefix = "";  // written before the value: io.weight takes "default N"
    // Where the controller is delegated but this file is missing: the kernel feature it needs.
    const char* needs = "";
};

// In the order people read them (profiles, --dry-run, error messages).
const std::vector<LimitKind>& limit_kinds();
const LimitKind* find_limit_kind(const std::string& key);

// The command line's form of a value (--memory 512M, --cpus 1.5, --pids max); nullopt when it
// breaks the value's rule. Not for CpuList.
std::optional<std::uint64_t> parse_limit_text(LimitValue value, const std::string& text);
// What a value must look like, for error messages: "a size such as 512M, 2G or max".
const char* limit_value_expected(LimitValue value);

// One value to write into the sandbox's cgroup before anything runs in it.
struct CgroupWrite {
    std::string controller;  // "memory", "cpu", "pids", "io", "cpuset"
    std::string file;        // "memory.max"
    std::string value;       // what is written: "134217728"
    std::string label;       // for people: "memory.max 128M"
    std::string key;         // the profile key it comes from: "memory"
    SourceLocation where;    // where that key was set (line 0: the command line or unknown)
};

// In a fixed order (cpuset first: the kernel wants cpuset.cpus before anything runs).
std::vector<CgroupWrite> cgroup_writes(const Limits& limits);

// The controllers `writes` need, sorted.
std::set<std::string> controllers_needed(const std::vector<CgroupWrite>& writes);

// "512M", "1G", "64k", "4096", or "max" (kNoLimit when allow_max). nullopt when malformed.
std::optional<std::uint64_t> parse_size(const std::string& text, bool allow_max);
// 128M, 1.5G-style rendering: the largest binary unit that divides exactly; "max" for kNoLimit.
std::string format_size(std::uint64_t bytes);
// A finite value >= 0 rounded to the nearest integer, halves up. Our own, not libm's llround:
// the binary then needs no libm, one less shared library to map at every start.
inline std::uint64_t round_non_negative(double value) { return static_cast<std::uint64_t>(value + 0.5); }
// "1.5" -> 1500 (thousandths of a CPU); from 0.01 to 1024 CPUs.
std::optional<std::uint32_t> parse_cpus(const std::string& text);
std::string format_cpus(std::uint32_t millis);
// A cpuset list: "0-3,5". Only the syntax is checked here; the kernel checks the CPUs exist.
bool valid_cpu_list(const std::string& text);

// The command line's values: --memory 512M --cpus 1 --pids 256. Throws UsageError.
void apply_limit_overrides(Limits& limits, const std::optional<std::string>& memory,
                           const std::optional<std::string>& cpus, const std::optional<std::string>& pids);

}  // namespace sb
