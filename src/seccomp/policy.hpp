// The seccomp policy as plain data: what the profile asks for ([seccomp], [security]) plus the
// built-in denials, turned into rules that the compile step hands to libseccomp. Pure: names are
// checked against libseccomp's syscall table, nothing touches the kernel.
//
// Why a deny list: a sandbox runs arbitrary programs (shells, compilers, desktop apps), so we
// close the kernel surface that flatpak and podman close (keyrings, io_uring, bpf, perf, module
// loading, nested namespaces, terminal injection, rare socket families) and allow the rest. Calls
// newer than this build's syscall table are refused with ENOSYS by the compile step, so a new
// kernel cannot open a door the list does not know about.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sys/error.hpp"

namespace sb {

// One comparison of a syscall argument. The rule matches when every comparison holds.
// The checks on arguments the kernel reads as 32 bits the compile step writes as BPF of its own
// (and such a rule has no other check), a few instructions shared by every ABI where libseccomp
// compares 64 bits per rule and per ABI: In32, "the low 32 bits are one of these values";
// NotIn32, "... none of these values" (libseccomp would need a rule per range between them);
// AnyBit32, "... have any of the mask's bits" (one BPF_JSET where libseccomp needs a masked
// comparison per bit: 8 for unshare's namespace flags).
struct ArgCheck {
    enum class Op { Equal, MaskedEqual, GreaterEqual, In32, NotIn32, AnyBit32 };
    unsigned arg = 0;
    Op op = Op::Equal;
    std::uint64_t mask = ~std::uint64_t{0};  // MaskedEqual: (arg & mask) == value; AnyBit32: (arg & mask) != 0
    std::uint64_t value = 0;
    std::vector<std::uint32_t> values;       // In32, NotIn32
    bool operator==(const ArgCheck&) const = default;
};

struct SyscallRule {
    std::string syscall;
    int error = 1;               // errno the call fails with (EPERM unless said otherwise)
    std::vector<ArgCheck> when;  // empty: every call
    std::string why;             // the group it belongs to, for --dry-run, check and the log
    bool derived = false;        // libseccomp makes it from other rules: data only, never compiled
    bool operator==(const SyscallRule&) const = default;
};

// What a profile says about one syscall; later files replace earlier ones.
struct SyscallChoice {
    bool allow = false;
    int error = 1;  // deny: the errno (EPERM by default)
    SourceLocation where;
};

struct SeccompSettings {
    bool enabled = true;             // [security] seccomp = false turns the filter off (not advised)
    bool nested_namespaces = false;  // [security] nested_namespaces: podman/bwrap inside
    std::map<std::string, SyscallChoice> syscalls;  // [seccomp] allow / deny
};

// How refused calls are handled at run time.
enum class SeccompMode {
    Enforce,  // refused with their errno
    Log,      // refused, and every refusal is recorded (--violations FILE)
    Learn,    // let through and recorded; the allow lines are printed at the end (--learn)
};

struct SeccompPolicy {
    bool enabled = true;
    bool nested_namespaces = false;
    SeccompMode mode = SeccompMode::Enforce;
    std::vector<std::string> architectures;  // seccomp_architectures(): each gets every rule
    std::vector<SyscallRule> rules;    // the denials in force
    std::vector<std::string> allowed;  // default denials the profile lifted, sorted
    bool builtin = true;               // exactly the built-in rules (a prebuilt program exists)
    bool operator==(const SeccompPolicy&) const = default;
};

// The built-in denials, grouped, in a fixed order. nested_namespaces drops the "namespaces" and
// "mounts" groups.
std::vector<SyscallRule> default_seccomp_rules(bool nested_namespaces);

// Defaults minus what the profile allows, plus what it denies (a denied name replaces every
// default rule for that syscall by one unconditional rule). kernel_runs_x32: the host fact
// (see seccomp_architectures); true gives the filter for every ABI.
SeccompPolicy build_seccomp_policy(const SeccompSettings& settings, SeccompMode mode, bool kernel_runs_x32 = true);

// Whether pid 1 loads the filter before it forks the payload, which inherits it: one load per
// start instead of two (a load costs about 0.1 ms: the kernel runs the program for every syscall
// number to cache the calls always allowed). Then the payload's last steps before exec run under
// the filter, so only for the built-in policies, which let all of them through (tests/unit checks
// that); a profile's [seccomp] deny may refuse one (setresuid, chdir, ...), and then the payload
// loads the filter itself as its last step before exec, and pid 1 after the fork.
bool filter_loaded_before_fork(const SeccompPolicy& policy);

// Whether the compile step writes the rule's BPF itself (an In32, NotIn32 or AnyBit32 check) instead of
// libseccomp.
bool compiled_by_us(const SyscallRule& rule);

// Whether libseccomp knows the name on some architecture this build filters.
bool known_syscall(const std::string& name);

// "EPERM" -> 1; nullopt for an unknown name. Accepts the names of errno(3).
std::optional<int> errno_from_name(const std::string& name);
std::string errno_name(int error);

// The policy for people (--dry-run, check): one line a syscall, grouped.
std::string render_seccomp_policy(const SeccompPolicy& policy);

// The architectures the filter covers on this machine, native first (x86_64: x86_64, x86, x32;
// aarch64: aarch64, arm), as libseccomp names them. Without x32 where the kernel does not run its
// calls (most kernels are built without it; Debian's turns it off at boot): the filter then
// refuses every x32 number with ENOSYS, the kernel's own answer, in one test instead of a copy of
// every rule (a third of the program, paid at every load). That is safe even if the fact is
// wrong: an x32 call is refused either way, never let through.
std::vector<std::string> seccomp_architectures(bool kernel_runs_x32 = true);

// For tests and the learn mode: the rule that refuses syscall(args), if any. Evaluates the rules as
// the kernel filter does (args compared as 64-bit values).
const SyscallRule* matching_rule(const SeccompPolicy& policy, const std::string& syscall,
                                 const std::uint64_t (&args)[6]);

}  // namespace sb
