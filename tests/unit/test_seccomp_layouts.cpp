// The tree layout of the seccomp program (src/seccomp/compile.cpp) against the linear one, its
// reference, on policies drawn at random: profiles (sb::build_seccomp_policy with random allow and
// deny choices) and hand-built rule lists (our own 32-bit checks and libseccomp's 64-bit ones,
// mixed, several on one syscall). Both programs run through a BPF interpreter for every audit
// architecture, every number up to 1100 (x32's too) and the edges of the ENOSYS ranges, with
// argument vectors on both sides of every value a check compares. Any call the two decide
// differently is a failure that prints the policy and the call. Both are also held to what the
// policy as data says (expected_by_policy), which tells which side is wrong, catches a mistake
// both share, and stands in for the linear program where libseccomp 2.5.4 miscompiled it (the
// test "the linear reference tests the syscall numbers it has loaded" shows how). Every program
// is checked as the kernel checks it at load time, and every compile must succeed.
//
// The generator is seeded (std::mt19937 with fixed seeds): a failure repeats on every run.
#include <catch2/catch.hpp>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "seccomp/compile.hpp"
#include "seccomp/policy.hpp"

using sb::ArgCheck;
using sb::SeccompLayout;
using sb::SeccompMode;
using sb::SeccompPolicy;
using sb::SeccompProgram;
using sb::SeccompSettings;
using sb::SyscallChoice;
using sb::SyscallRule;

namespace {

constexpr std::uint32_t kX32Bit = 0x40000000;
constexpr std::size_t kMaxInstructions = 4096;  // BPF_MAXINSNS
using Op = ArgCheck::Op;
using Args = std::array<std::uint64_t, 6>;

std::string hex(std::uint64_t value) {
    std::ostringstream out;
    out << "0x" << std::hex << value;
    return out.str();
}

// ---------------------------------------------------------------------------------------------
// What the kernel checks when it is handed a program (bpf_check_classic and
// seccomp_check_filter), restricted to the instructions the interpreter below runs: an empty
// string when the program would be accepted, else why not.

bool is_conditional_jump(std::uint16_t code) {
    return code == (BPF_JMP | BPF_JEQ | BPF_K) || code == (BPF_JMP | BPF_JGT | BPF_K) ||
           code == (BPF_JMP | BPF_JGE | BPF_K) || code == (BPF_JMP | BPF_JSET | BPF_K);
}

bool known_action(std::uint32_t action) {
    switch (action & SECCOMP_RET_ACTION_FULL) {
        case SECCOMP_RET_KILL_PROCESS:
        case SECCOMP_RET_KILL_THREAD:
        case SECCOMP_RET_TRAP:
        case SECCOMP_RET_ERRNO:
        case SECCOMP_RET_USER_NOTIF:
        case SECCOMP_RET_TRACE:
        case SECCOMP_RET_LOG:
        case SECCOMP_RET_ALLOW: return true;
        default: return false;
    }
}

std::string kernel_objection(const std::vector<sock_filter>& code) {
    if (code.empty()) return "empty program";
    if (code.size() > kMaxInstructions) return std::to_string(code.size()) + " instructions, more than 4096";
    // Jumps only go forward, so a program whose every jump lands inside it and whose last
    // instruction is a return cannot fall off its end.
    if (code.back().code != (BPF_RET | BPF_K)) return "the last instruction is not a return";
    for (std::size_t pc = 0; pc < code.size(); ++pc) {
        const sock_filter& insn = code[pc];
        std::size_t left = code.size() - pc - 1;  // instructions after this one
        std::string at = "instruction " + std::to_string(pc) + ": ";
        if (insn.code == (BPF_LD | BPF_W | BPF_ABS)) {
            if (insn.k >= sizeof(seccomp_data) || insn.k % 4 != 0) return at + "load at " + hex(insn.k);
        } else if (insn.code == (BPF_ALU | BPF_AND | BPF_K)) {
        } else if (insn.code == (BPF_RET | BPF_K)) {
            if (!known_action(insn.k)) return at + "return of unknown action " + hex(insn.k);
        } else if (insn.code == (BPF_JMP | BPF_JA)) {
            if (insn.k >= left) return at + "BPF_JA past the end";
        } else if (is_conditional_jump(insn.code)) {
            if (insn.jt >= left || insn.jf >= left) return at + "conditional jump past the end";
        } else {
            return at + "opcode " + hex(insn.code) + " outside the set the layouts emit";
        }
    }
    return "";
}

// Whether some path compares the architecture word with a constant that is no architecture of
// the policy: a program that tests a syscall number without having loaded it. libseccomp 2.5.4
// writes such programs (see the test "the linear reference ..." at the end). Follows what the
// accumulator may hold at each instruction along every path (jumps only go forward).
bool compares_arch_with_numbers(const std::vector<sock_filter>& code, const std::set<std::uint32_t>& arches) {
    enum : std::uint8_t { kNothing = 1, kArch = 2, kOther = 4 };
    std::vector<std::uint8_t> holds(code.size() + 1, 0);
    holds[0] = kNothing;
    for (std::size_t pc = 0; pc < code.size(); ++pc) {
        const sock_filter& insn = code[pc];
        std::uint8_t now = holds[pc];
        if (now == 0) continue;  // no path reaches it
        if (insn.code == (BPF_LD | BPF_W | BPF_ABS)) {
            holds[pc + 1] |= insn.k == offsetof(seccomp_data, arch) ? kArch : kOther;
        } else if (insn.code == (BPF_ALU | BPF_AND | BPF_K)) {
            holds[pc + 1] |= kOther;
        } else if (insn.code == (BPF_JMP | BPF_JA)) {
            holds[pc + 1 + insn.k] |= now;
        } else if (is_conditional_jump(insn.code)) {
            if ((now & kArch) && !arches.count(insn.k)) return true;
            holds[pc + 1 + insn.jt] |= now;
            holds[pc + 1 + insn.jf] |= now;
        }
    }
    return false;
}

// The audit architectures of a policy, as its programs compare them.
std::set<std::uint32_t> audit_arches_of(const SeccompPolicy& policy) {
    std::set<std::uint32_t> arches;
    for (const auto& name : policy.architectures) {
        std::uint32_t token = name == "native" ? seccomp_arch_native() : seccomp_arch_resolve_name(name.c_str());
        arches.insert(token == SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : token);
    }
    arches.insert(AUDIT_ARCH_X86_64);  // libseccomp keeps the native ABI in every filter
    return arches;
}

// ---------------------------------------------------------------------------------------------
// A classic-BPF interpreter for what passed kernel_objection (so no bounds are checked here).

struct Run {
    std::uint32_t action = 0;
    bool read_argument = false;  // some load of args[] happened on the way
};

Run run_bpf(const std::vector<sock_filter>& code, std::uint32_t arch, std::uint32_t nr, const Args& args) {
    seccomp_data data{};
    data.nr = static_cast<int>(nr);
    data.arch = arch;
    data.instruction_pointer = 0x401000;
    for (std::size_t i = 0; i < 6; ++i) data.args[i] = args[i];
    Run run;
    std::uint32_t a = 0;
    for (std::size_t pc = 0; pc < code.size(); ++pc) {
        const sock_filter& insn = code[pc];
        switch (insn.code) {
            case BPF_LD | BPF_W | BPF_ABS:
                std::memcpy(&a, reinterpret_cast<const char*>(&data) + insn.k, sizeof a);
                run.read_argument = run.read_argument || insn.k >= offsetof(seccomp_data, args);
                break;
            case BPF_ALU | BPF_AND | BPF_K: a &= insn.k; break;
            case BPF_JMP | BPF_JA: pc += insn.k; break;
            case BPF_JMP | BPF_JEQ | BPF_K: pc += a == insn.k ? insn.jt : insn.jf; break;
            case BPF_JMP | BPF_JGT | BPF_K: pc += a > insn.k ? insn.jt : insn.jf; break;
            case BPF_JMP | BPF_JGE | BPF_K: pc += a >= insn.k ? insn.jt : insn.jf; break;
            case BPF_JMP | BPF_JSET | BPF_K: pc += (a & insn.k) ? insn.jt : insn.jf; break;
            case BPF_RET | BPF_K: run.action = insn.k; return run;
            default: throw std::logic_error("opcode " + hex(insn.code) + " at " + std::to_string(pc));
        }
    }
    throw std::logic_error("the program ran off its end");
}

std::string action_text(std::uint32_t action) {
    switch (action & SECCOMP_RET_ACTION_FULL) {
        case SECCOMP_RET_ALLOW: return "allow";
        case SECCOMP_RET_KILL_PROCESS: return "kill";
        case SECCOMP_RET_USER_NOTIF: return "notify";
        case SECCOMP_RET_ERRNO: return "errno " + std::to_string(action & SECCOMP_RET_DATA);
        default: return hex(action);
    }
}

// ---------------------------------------------------------------------------------------------
// Policies as text, all of it: render_seccomp_policy folds more than three rules on one call into
// "N argument patterns" and leaves out `derived`.

std::string op_name(Op op) {
    switch (op) {
        case Op::Equal: return "Equal";
        case Op::MaskedEqual: return "MaskedEqual";
        case Op::GreaterEqual: return "GreaterEqual";
        case Op::In32: return "In32";
        case Op::NotIn32: return "NotIn32";
        case Op::AnyBit32: return "AnyBit32";
    }
    return "?";
}

std::string rule_text(const SyscallRule& rule) {
    std::ostringstream out;
    out << rule.syscall << " errno " << rule.error << (rule.derived ? " (derived)" : "");
    for (const auto& check : rule.when) {
        out << " [arg" << check.arg << " " << op_name(check.op) << " mask " << hex(check.mask) << " value "
            << hex(check.value);
        for (auto value : check.values) out << " " << hex(value);
        out << "]";
    }
    return out.str();
}

std::string policy_text(const SeccompPolicy& policy) {
    std::ostringstream out;
    out << sb::render_seccomp_policy(policy) << "every rule, in order:\n";
    for (const auto& rule : policy.rules) out << "  " << rule_text(rule) << "\n";
    return out.str();
}

// ---------------------------------------------------------------------------------------------
// Syscall names, from libseccomp's tables: the attacker picks any name a profile may say.

// Names an architecture multiplexes (i386's socketcall and ipc), the multiplexers themselves,
// names of one architecture only, and calls with x32 numbers of their own (512..547): where the
// tree's split of the rules between its search and libseccomp's program is most delicate.
const std::vector<std::string>& delicate_names() {
    static const std::vector<std::string> names = {
        "socketcall", "ipc", "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
        "getsockname", "getpeername", "send", "recv", "sendto", "recvfrom", "shutdown", "setsockopt",
        "getsockopt", "sendmsg", "recvmsg", "recvmmsg", "sendmmsg", "semop", "semget", "semctl", "semtimedop",
        "msgsnd", "msgrcv", "msgget", "msgctl", "shmat", "shmdt", "shmget", "shmctl", "vm86", "vm86old",
        "tuxcall", "security", "arch_prctl", "set_thread_area", "uselib", "rt_sigaction", "ioctl", "readv",
        "execve", "ptrace", "read", "clone", "unshare", "personality", "mount", "umount", "kexec_file_load",
        "process_vm_readv", "waitid", "io_submit", "futex_waitv", "set_mempolicy_home_node", "getresgid32",
        "fstatat64", "newfstatat",
        // Names only other machines have: libseccomp knows them, no number here.
        "cacheflush", "arm_fadvise64_64", "s390_runtime_instr", "sysmips"};
    return names;
}

// Every name x86_64, i386 or x32 has a number for, and the delicate ones; sorted, so the seeds
// pick the same names on every run.
const std::vector<std::string>& all_names() {
    static const std::vector<std::string> names = [] {
        std::set<std::string> found(delicate_names().begin(), delicate_names().end());
        using TableOf = std::pair<std::uint32_t, std::uint32_t>;  // (libseccomp token, first number)
        for (auto [token, base] : {TableOf{SCMP_ARCH_X86_64, 0}, TableOf{SCMP_ARCH_X86, 0}, TableOf{SCMP_ARCH_X32, kX32Bit}}) {
            for (std::uint32_t nr = 0; nr < 1024; ++nr) {
                char* name = seccomp_syscall_resolve_num_arch(token, static_cast<int>(base + nr));
                if (name) found.insert(name);
                std::free(name);
            }
        }
        return std::vector<std::string>(found.begin(), found.end());
    }();
    return names;
}

// The calls the built-in rules refuse (or restrict): a profile's allow lifts them.
const std::vector<std::string>& default_names() {
    static const std::vector<std::string> names = [] {
        std::set<std::string> found;
        for (const auto& rule : sb::default_seccomp_rules(false)) found.insert(rule.syscall);
        found.insert("socketcall");
        return std::vector<std::string>(found.begin(), found.end());
    }();
    return names;
}

// ---------------------------------------------------------------------------------------------
// Random choices.

class Dice {
public:
    explicit Dice(std::uint32_t seed) : engine_(seed) {}
    std::size_t below(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(engine_); }
    bool chance(double p) { return std::bernoulli_distribution(p)(engine_); }
    template <class T>
    const T& pick(const std::vector<T>& from) {
        return from[below(from.size())];
    }
    std::uint64_t bits64() { return (std::uint64_t{engine_()} << 32) | engine_(); }

    // A value a check compares with: small, 32 bits, the top of 32 bits, or 64 bits.
    std::uint64_t value() {
        switch (below(6)) {
            case 0: return below(16);
            case 1: return engine_();
            case 2: return 0xffffffffull - below(4);
            case 3: return bits64();
            case 4: return (std::uint64_t{1} << 32) | below(16);
            default: return std::uint64_t{1} << below(64);
        }
    }

    // An errno: mostly the usual ones, so rules share returns, sometimes any, and the top value
    // libseccomp takes (it refuses 4095, MAX_ERRNO, which the kernel would take).
    int error() {
        static const std::vector<int> usual = {EPERM, EACCES, ENOSYS, EIO, EINVAL, EAFNOSUPPORT};
        if (chance(0.7)) return pick(usual);
        return chance(0.9) ? static_cast<int>(1 + below(133)) : 4094;
    }

private:
    std::mt19937 engine_;
};

SeccompMode random_mode(Dice& dice) {
    static const std::vector<SeccompMode> modes = {SeccompMode::Enforce, SeccompMode::Log, SeccompMode::Learn};
    return dice.pick(modes);
}

const std::string& random_name(Dice& dice) {
    return dice.chance(0.5) ? dice.pick(delicate_names()) : dice.pick(all_names());
}

// A profile's [security] and [seccomp] tables, drawn at random.
SeccompPolicy random_profile_policy(Dice& dice) {
    SeccompSettings settings;
    settings.nested_namespaces = dice.chance(0.5);
    std::size_t denials = dice.chance(0.1) ? 20 + dice.below(60) : dice.below(12);
    for (std::size_t i = 0; i < denials; ++i)
        settings.syscalls[random_name(dice)] = SyscallChoice{false, dice.error(), {}};
    std::size_t allowances = dice.below(6);
    for (std::size_t i = 0; i < allowances; ++i)
        settings.syscalls[dice.chance(0.8) ? dice.pick(default_names()) : random_name(dice)] =
            SyscallChoice{true, 0, {}};
    return sb::build_seccomp_policy(settings, random_mode(dice), dice.chance(0.5));
}

// A check libseccomp writes (64-bit comparisons).
ArgCheck random_libseccomp_check(Dice& dice, unsigned arg) {
    ArgCheck check;
    check.arg = arg;
    switch (dice.below(3)) {
        case 0: check.op = Op::Equal; check.value = dice.value(); break;
        case 1:
            check.op = Op::MaskedEqual;
            check.mask = dice.chance(0.5) ? dice.value() | 1 : 0xffffffffull;
            check.value = dice.value() & check.mask;  // else the rule could never match
            break;
        default: check.op = Op::GreaterEqual; check.value = dice.value(); break;
    }
    return check;
}

// A check the compile step writes itself (32 bits).
ArgCheck random_own_check(Dice& dice) {
    ArgCheck check;
    check.arg = static_cast<unsigned>(dice.below(6));
    switch (dice.below(3)) {
        case 0:
        case 1: {
            check.op = dice.chance(0.5) ? Op::In32 : Op::NotIn32;
            std::size_t count = 1 + dice.below(dice.chance(0.1) ? 250 : 5);
            for (std::size_t i = 0; i < count; ++i) check.values.push_back(static_cast<std::uint32_t>(dice.value()));
            break;
        }
        default:
            check.op = Op::AnyBit32;
            check.mask = static_cast<std::uint32_t>(dice.value());
            if (check.mask == 0) check.mask = 0x80;
            break;
    }
    return check;
}

// Rules built by hand (no profile can say the 64-bit ones today), on the built-in rules or on
// none: constant denials, libseccomp's comparisons and our own checks, often several on one
// syscall, with the architectures a host may have.
SeccompPolicy random_handmade_policy(Dice& dice) {
    bool x32 = dice.chance(0.5);
    SeccompPolicy policy = sb::build_seccomp_policy(SeccompSettings{}, random_mode(dice), x32);
    if (dice.chance(0.4)) policy.rules.clear();
    policy.builtin = false;
    std::vector<std::string> used;
    std::size_t count = 1 + dice.below(8);
    for (std::size_t i = 0; i < count; ++i) {
        SyscallRule rule;
        rule.syscall = !used.empty() && dice.chance(0.35) ? dice.pick(used) : random_name(dice);
        used.push_back(rule.syscall);
        rule.error = dice.error();
        rule.why = "random";
        switch (dice.below(3)) {
            case 0: break;  // every call
            case 1: {
                // One or two checks on different arguments (libseccomp wants one per argument).
                unsigned first = static_cast<unsigned>(dice.below(6));
                rule.when.push_back(random_libseccomp_check(dice, first));
                if (dice.chance(0.3)) rule.when.push_back(random_libseccomp_check(dice, (first + 1 + dice.below(5)) % 6));
                break;
            }
            default: rule.when.push_back(random_own_check(dice)); break;
        }
        rule.derived = !rule.when.empty() && dice.chance(0.05);
        // Anywhere: before the built-in rules too, whose order decides which rule answers.
        auto at = policy.rules.begin() + static_cast<std::ptrdiff_t>(dice.below(policy.rules.size() + 1));
        policy.rules.insert(at, std::move(rule));
    }
    return policy;
}

// ---------------------------------------------------------------------------------------------
// The calls both programs are run for.

struct Call {
    std::uint32_t arch, nr;
};

// Past every table (the newest x86 number is about 460) and past the x32 compat range
// (512..547), with the edges of the ENOSYS ranges and of the x32 bit.
std::vector<Call> calls_to_compare() {
    std::vector<Call> calls;
    for (std::uint32_t arch : {std::uint32_t{AUDIT_ARCH_X86_64}, std::uint32_t{AUDIT_ARCH_I386}}) {
        for (std::uint32_t nr = 0; nr <= 1100; ++nr) calls.push_back({arch, nr});
        for (std::uint32_t nr : {0x3fffffffu, 0x7fffffffu, 0x80000000u, 0xbfffffffu, 0xc0000000u, 0xfffffffeu,
                                 0xffffffffu})
            calls.push_back({arch, nr});
    }
    for (std::uint32_t arch : {std::uint32_t{AUDIT_ARCH_X86_64}, std::uint32_t{AUDIT_ARCH_I386}})
        for (std::uint32_t nr = 0; nr <= 1100; ++nr) calls.push_back({arch, kX32Bit | nr});
    return calls;
}

// Architectures no policy names: every call of theirs must be killed. 0x4000003e is libseccomp's
// token for x32, never an audit architecture.
const std::vector<std::uint32_t>& foreign_arches() {
    static const std::vector<std::uint32_t> arches = {AUDIT_ARCH_AARCH64, AUDIT_ARCH_ARM, AUDIT_ARCH_PPC64LE,
                                                      AUDIT_ARCH_RISCV64, SCMP_ARCH_X32, AUDIT_ARCH_X86_64 ^ 1,
                                                      0, 0xffffffffu};
    return arches;
}

const std::vector<std::uint32_t>& foreign_numbers() {
    static const std::vector<std::uint32_t> numbers = {0, 1, 41, 102, 117, 359, 1000, kX32Bit | 41, 0xffffffffu};
    return numbers;
}

// Values on both sides of what a check compares: each value, one off either way, with the high
// 32 bits set or all ones, and for bit tests each bit on its own.
void add_edges(std::set<std::uint64_t>& into, std::uint64_t value) {
    for (std::uint64_t v : {value, value - 1, value + 1}) {
        into.insert(v);
        into.insert(v ^ (std::uint64_t{1} << 32));
        into.insert(v | 0xffffffff00000000ull);
        into.insert(v & 0xffffffffull);
    }
}

std::set<std::uint64_t> edges_of(const ArgCheck& check) {
    std::set<std::uint64_t> edges;
    switch (check.op) {
        case Op::Equal:
        case Op::GreaterEqual: add_edges(edges, check.value); break;
        case Op::MaskedEqual:
            add_edges(edges, check.value);
            edges.insert(check.value | ~check.mask);  // the bits outside the mask do not count
            for (unsigned bit = 0; bit < 64; ++bit)
                if (check.mask >> bit & 1) edges.insert(check.value ^ (std::uint64_t{1} << bit));
            break;
        case Op::In32:
        case Op::NotIn32:
            for (auto value : check.values) add_edges(edges, value);
            break;
        case Op::AnyBit32:
            add_edges(edges, check.mask);
            edges.insert(~check.mask & 0xffffffffull);
            for (unsigned bit = 0; bit < 64; ++bit)
                if (check.mask >> bit & 1) edges.insert(std::uint64_t{1} << bit);
            break;
    }
    return edges;
}

// A value for which the check holds, so rules with several checks are reached.
std::uint64_t satisfying(const ArgCheck& check) {
    switch (check.op) {
        case Op::Equal:
        case Op::GreaterEqual: return check.value;
        case Op::MaskedEqual: return check.value;
        case Op::In32: return check.values.front();
        case Op::NotIn32: {
            std::uint32_t v = 0x5eed;
            while (std::find(check.values.begin(), check.values.end(), v) != check.values.end()) ++v;
            return v;
        }
        case Op::AnyBit32: return check.mask & (~check.mask + 1);
    }
    return 0;
}

// The argument vectors for one policy: zeros and all ones; each edge of each check on its own
// argument (the others zero); for each rule every check held at once, and then each one pushed
// over its edges while the others hold; and a few random mixes of the edges.
std::vector<Args> argument_vectors(const SeccompPolicy& policy, Dice& dice) {
    std::set<Args> vectors = {Args{}, Args{~0ull, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull}};
    std::vector<std::vector<std::uint64_t>> per_arg(6);
    for (const auto& rule : policy.rules) {
        Args held{};
        for (const auto& check : rule.when)
            if (check.arg < 6) held[check.arg] = satisfying(check);
        vectors.insert(held);
        for (const auto& check : rule.when) {
            if (check.arg >= 6) continue;
            for (std::uint64_t edge : edges_of(check)) {
                Args alone{};
                alone[check.arg] = edge;
                vectors.insert(alone);
                Args with_others = held;
                with_others[check.arg] = edge;
                vectors.insert(with_others);
                per_arg[check.arg].push_back(edge);
            }
        }
    }
    for (int i = 0; i < 16; ++i) {
        Args mix{};
        for (std::size_t arg = 0; arg < 6; ++arg)
            if (!per_arg[arg].empty()) mix[arg] = dice.pick(per_arg[arg]);
        vectors.insert(mix);
    }
    return {vectors.begin(), vectors.end()};
}

// ---------------------------------------------------------------------------------------------
// What the policy as data says about a call, worked out independently of both layouts: the
// oracle that tells which side is wrong when they differ, and that catches a mistake both share.
// nullopt where the answer is libseccomp's own business: i386's multiplexers socketcall and ipc
// (it turns rules on socket and IPC calls into tests of their first argument), two matching
// rules with different errnos, and 64-bit comparisons on the 32-bit ABIs (i386, x32), which
// libseccomp reduces to 32 bits.

// The newest number this build knows per ABI, found as compile.cpp finds it (by name).
std::uint32_t newest_known(std::uint32_t token) {
    for (const char* name : {"futex_requeue", "futex_wait", "futex_wake", "map_shadow_stack", "fchmodat2",
                             "cachestat", "set_mempolicy_home_node", "futex_waitv"}) {
        int nr = seccomp_syscall_resolve_name_arch(token, name);
        if (nr >= 0) return static_cast<std::uint32_t>(nr) & ~kX32Bit;
    }
    return 448;
}

// Syscall names by number (without x32's bit) per ABI, looked up once.
const std::string& name_at(std::uint32_t token, std::uint32_t nr) {
    static std::map<std::pair<std::uint32_t, std::uint32_t>, std::string> names;
    auto key = std::pair{token, nr};
    auto found = names.find(key);
    if (found != names.end()) return found->second;
    std::uint32_t base = token == SCMP_ARCH_X32 ? kX32Bit : 0;
    char* name = seccomp_syscall_resolve_num_arch(token, static_cast<int>(base + nr));
    std::string& slot = names[key];
    if (name) slot = name;
    std::free(name);
    return slot;
}

bool holds(const ArgCheck& check, std::uint64_t value) {
    auto low = static_cast<std::uint32_t>(value);
    switch (check.op) {
        case Op::Equal: return value == check.value;
        case Op::MaskedEqual: return (value & check.mask) == check.value;
        case Op::GreaterEqual: return value >= check.value;
        case Op::In32: return std::find(check.values.begin(), check.values.end(), low) != check.values.end();
        case Op::NotIn32: return std::find(check.values.begin(), check.values.end(), low) == check.values.end();
        case Op::AnyBit32: return (low & check.mask) != 0;
    }
    return false;
}

bool holds(const SyscallRule& rule, const Args& args) {
    return std::all_of(rule.when.begin(), rule.when.end(), [&](const ArgCheck& c) { return holds(c, args[c.arg]); });
}

// Whether a 64-bit comparison means the same when libseccomp compares 32 bits.
bool fits_32_bits(const SyscallRule& rule, const Args& args) {
    return std::all_of(rule.when.begin(), rule.when.end(),
                       [&](const ArgCheck& c) { return c.value >> 32 == 0 && args[c.arg] >> 32 == 0; });
}

std::optional<std::uint32_t> expected_by_policy(const SeccompPolicy& policy, std::uint32_t arch, std::uint32_t nr,
                                                const Args& args) {
    auto has = [&](const char* name) {
        return std::find(policy.architectures.begin(), policy.architectures.end(), name) != policy.architectures.end();
    };
    const std::uint32_t enosys = SECCOMP_RET_ERRNO | ENOSYS;
    std::uint32_t token = 0, number = nr;
    if (arch == AUDIT_ARCH_X86_64 && has("x86_64") && nr < kX32Bit) {
        token = SCMP_ARCH_X86_64;
        if (nr > newest_known(token)) return enosys;
    } else if (arch == AUDIT_ARCH_X86_64 && has("x86_64")) {
        if (!has("x32")) return enosys;  // the kernel runs no x32 call: ENOSYS, its own answer
        token = SCMP_ARCH_X32;
        number = nr - kX32Bit;
        bool compat = number >= 512 && number <= 547;  // x32's own calls
        if (nr >= 2 * kX32Bit || (number > newest_known(token) && !compat)) return enosys;
    } else if (arch == AUDIT_ARCH_I386 && has("x86")) {
        token = SCMP_ARCH_X86;
        if (nr > newest_known(token)) return enosys;
    } else {
        return SECCOMP_RET_KILL_PROCESS;
    }
    const std::string& name = name_at(token, number);
    if (name.empty()) return SECCOMP_RET_ALLOW;
    if (token == SCMP_ARCH_X86 && (name == "socketcall" || name == "ipc")) return std::nullopt;
    auto action = [&](const SyscallRule& rule) {
        return policy.mode != SeccompMode::Enforce
                   ? std::uint32_t{SECCOMP_RET_USER_NOTIF}
                   : SECCOMP_RET_ERRNO | (static_cast<std::uint32_t>(rule.error) & SECCOMP_RET_DATA);
    };
    // Our own checks come first, in the policy's order (derived or not: they are compiled).
    for (const auto& rule : policy.rules)
        if (rule.syscall == name && sb::compiled_by_us(rule) && holds(rule, args)) return action(rule);
    // Then libseccomp's rules: a rule for every call of the syscall overrides the others; else
    // the one rule whose checks hold.
    std::set<std::uint32_t> unconditional, matching;
    bool narrowed = token != SCMP_ARCH_X86_64;
    for (const auto& rule : policy.rules) {
        if (rule.syscall != name || rule.derived || sb::compiled_by_us(rule)) continue;
        if (rule.when.empty()) unconditional.insert(action(rule));
        else if (narrowed && !fits_32_bits(rule, args)) return std::nullopt;
        else if (holds(rule, args)) matching.insert(action(rule));
    }
    if (!unconditional.empty()) return unconditional.size() == 1 ? std::optional(*unconditional.begin()) : std::nullopt;
    if (matching.empty()) return SECCOMP_RET_ALLOW;
    return matching.size() == 1 ? std::optional(*matching.begin()) : std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// The comparison.

struct Comparison {
    std::size_t calls = 0;                      // (arch, nr, args) run through both programs
    std::size_t checked_by_policy = 0;          // of them, also held to expected_by_policy
    bool refused_by_both = false;               // libseccomp cannot express a rule: both throw alike
    bool reference_miscompiled = false;         // the linear program tests numbers it never loaded
    std::string failure;                        // empty: every call decided alike, programs well formed
    std::size_t far_jumps = 0;                  // BPF_JA in the tree program (the chunked layout)
};

std::string call_text(std::uint32_t arch, std::uint32_t nr, const Args& args) {
    std::ostringstream out;
    out << "arch " << hex(arch) << " nr " << hex(nr) << " (" << nr << ") args";
    for (auto value : args) out << " " << hex(value);
    return out.str();
}

std::optional<SeccompProgram> try_compile(const SeccompPolicy& policy, SeccompLayout layout, std::string& error) {
    try {
        return sb::compile_seccomp(policy, layout);
    } catch (const std::exception& e) {
        error = e.what();
        return std::nullopt;
    }
}

// Which side a difference is on, with the policy's own answer as the judge.
std::string difference_text(std::uint32_t from_tree, std::uint32_t from_linear, std::optional<std::uint32_t> expected) {
    std::string verdicts = "tree " + action_text(from_tree) + ", linear " + action_text(from_linear) +
                           ", policy " + (expected ? action_text(*expected) : std::string("(libseccomp's to say)"));
    if (from_tree == from_linear) return "both layouts differ from the policy: " + verdicts;
    if (expected == from_tree) return "the linear reference is wrong: " + verdicts;
    if (expected == from_linear) return "the TREE is wrong: " + verdicts;
    return "the layouts differ: " + verdicts;
}

Comparison compare_layouts(const SeccompPolicy& policy, Dice& dice) {
    Comparison result;
    std::string tree_error, linear_error;
    auto tree = try_compile(policy, SeccompLayout::Tree, tree_error);
    auto linear = try_compile(policy, SeccompLayout::Linear, linear_error);
    if (!tree && !linear && tree_error == linear_error) {
        result.refused_by_both = true;
        return result;
    }
    if (!tree || !linear) {
        result.failure = "compile threw: tree: " + (tree ? std::string("ok") : tree_error) +
                         "; linear: " + (linear ? std::string("ok") : linear_error);
        return result;
    }
    for (auto [program, name] : {std::pair{&*tree, "tree"}, std::pair{&*linear, "linear"}}) {
        std::string objection = kernel_objection(program->code);
        if (!objection.empty()) {
            result.failure = std::string("the kernel would refuse the ") + name + " program: " + objection;
            return result;
        }
    }
    // libseccomp 2.5.4 sometimes leaves out the load of the syscall number (the test at the end of
    // this file): such a linear program is no reference, and the tree is held to the policy's
    // own answer alone. The tree must never look like that.
    auto arches = audit_arches_of(policy);
    if (compares_arch_with_numbers(tree->code, arches)) {
        result.failure = "the tree program compares the architecture word with syscall numbers";
        return result;
    }
    result.reference_miscompiled = compares_arch_with_numbers(linear->code, arches);
    result.far_jumps = static_cast<std::size_t>(std::count_if(
        tree->code.begin(), tree->code.end(), [](const sock_filter& insn) { return insn.code == (BPF_JMP | BPF_JA); }));
    if (tree->notify != linear->notify) {
        result.failure = "one layout notifies, the other not";
        return result;
    }
    const auto vectors = argument_vectors(policy, dice);
    const Args zeros{}, ones{~0ull, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull};
    // Runs the call through both programs and the policy; true (and the failure noted) when
    // any two that have an answer disagree.
    auto differs = [&](std::uint32_t arch, std::uint32_t nr, const Args& args, Run& from_tree) {
        ++result.calls;
        from_tree = run_bpf(tree->code, arch, nr, args);
        Run from_linear = run_bpf(linear->code, arch, nr, args);
        auto expected = expected_by_policy(policy, arch, nr, args);
        result.checked_by_policy += expected.has_value();
        bool agree = (result.reference_miscompiled || from_tree.action == from_linear.action) &&
                     (!expected || *expected == from_tree.action);
        if (agree) return false;
        result.failure = call_text(arch, nr, args) + ": " + difference_text(from_tree.action, from_linear.action, expected);
        return true;
    };
    for (const Call& call : calls_to_compare()) {
        // Until a program loads an argument its path depends on arch and nr alone: when neither
        // program loads one for zero arguments, no arguments can change either answer.
        Run tree_zero, tree_ones;
        if (differs(call.arch, call.nr, zeros, tree_zero) || differs(call.arch, call.nr, ones, tree_ones))
            return result;
        bool linear_reads = run_bpf(linear->code, call.arch, call.nr, zeros).read_argument;
        if (!tree_zero.read_argument && !linear_reads) continue;
        Run ignored;
        for (const Args& args : vectors)
            if (differs(call.arch, call.nr, args, ignored)) return result;
    }
    for (std::uint32_t arch : foreign_arches()) {
        for (std::uint32_t nr : foreign_numbers()) {
            Run from_tree;
            if (differs(arch, nr, ones, from_tree)) return result;
            if (from_tree.action != SECCOMP_RET_KILL_PROCESS) {
                result.failure = call_text(arch, nr, ones) + ": a foreign architecture is not killed but " +
                                 action_text(from_tree.action);
                return result;
            }
        }
    }
    return result;
}

struct Tally {
    std::size_t policies = 0, calls = 0, checked_by_policy = 0;
    std::size_t refused_by_both = 0;  // libseccomp refused a hand-built rule in both layouts
    std::size_t reference_miscompiled = 0;  // compared with the policy only: libseccomp's linear program is wrong
    std::size_t chunked = 0;          // tree programs written with BPF_JA (the chunked layout)
    std::size_t failed = 0;           // policies with a difference (or a throw)
};

std::ostream& operator<<(std::ostream& out, const Tally& tally) {
    return out << tally.policies << " policies, " << tally.calls << " calls compared (" << tally.checked_by_policy
               << " also against the policy's own answer), " << tally.refused_by_both
               << " refused by libseccomp in both layouts, " << tally.reference_miscompiled
               << " with a miscompiled linear reference (tree held to the policy alone), " << tally.chunked << " chunked, " << tally.failed
               << " failed";
}

// Runs the comparison for every policy `make` draws from seeds first..first+count-1 and reports
// each policy the layouts disagree on (the first few in full). Profiles must always compile; a
// hand-built rule libseccomp cannot express (two rules for every call of one syscall with
// different errnos) may make both layouts throw the same error.
template <class Make>
Tally compare_random_policies(std::uint32_t first_seed, std::uint32_t count, Make make, bool both_may_refuse) {
    constexpr std::size_t kShown = 3;
    Tally tally;
    for (std::uint32_t seed = first_seed; seed < first_seed + count; ++seed) {
        Dice dice(seed);
        SeccompPolicy policy = make(dice);
        Comparison comparison = compare_layouts(policy, dice);
        ++tally.policies;
        tally.calls += comparison.calls;
        tally.checked_by_policy += comparison.checked_by_policy;
        tally.chunked += comparison.far_jumps > 0;
        tally.refused_by_both += comparison.refused_by_both;
        tally.reference_miscompiled += comparison.reference_miscompiled;
        if (comparison.failure.empty() && (both_may_refuse || !comparison.refused_by_both)) continue;
        if (tally.failed++ >= kShown) continue;
        INFO("seed " << seed << "\n" << policy_text(policy));
        FAIL_CHECK((comparison.refused_by_both ? std::string("both layouts threw") : comparison.failure));
    }
    return tally;
}

Comparison require_same_decisions(const SeccompPolicy& policy) {
    Dice dice(1);
    Comparison comparison = compare_layouts(policy, dice);
    INFO(policy_text(policy));
    INFO(comparison.failure);
    CHECK(comparison.failure.empty());
    CHECK_FALSE(comparison.refused_by_both);
    return comparison;
}

SeccompPolicy profile_policy(std::map<std::string, SyscallChoice> syscalls, bool x32 = true,
                             SeccompMode mode = SeccompMode::Enforce) {
    SeccompSettings settings;
    settings.syscalls = std::move(syscalls);
    return sb::build_seccomp_policy(settings, mode, x32);
}

SyscallChoice deny(int error = EPERM) { return SyscallChoice{false, error, {}}; }
SyscallChoice allow() { return SyscallChoice{true, 0, {}}; }

// The built-in policy plus `extra` rules, as a hand-built policy.
SeccompPolicy defaults_with(std::vector<SyscallRule> extra, bool x32 = true) {
    SeccompPolicy policy = sb::build_seccomp_policy(SeccompSettings{}, SeccompMode::Enforce, x32);
    policy.builtin = false;
    for (auto& rule : extra) policy.rules.push_back(std::move(rule));
    return policy;
}

ArgCheck equal(unsigned arg, std::uint64_t value) { return {arg, Op::Equal, ~0ull, value, {}}; }
ArgCheck in32(unsigned arg, std::vector<std::uint32_t> values) { return {arg, Op::In32, 0, 0, std::move(values)}; }
ArgCheck any_bit32(unsigned arg, std::uint32_t mask) { return {arg, Op::AnyBit32, mask, 0, {}}; }

}  // namespace

// =============================================================================================
// Random policies

TEST_CASE("seccomp layouts: random profiles are decided alike by the tree and the linear layout",
          "[seccomp][layouts]") {
    Tally tally = compare_random_policies(1000, 200, random_profile_policy, false);
    INFO(tally);
    CHECK(tally.failed == 0);
    CHECK(tally.calls > 200 * 6000);
    CHECK(tally.chunked > 0);
}

TEST_CASE("seccomp layouts: random hand-built rules are decided alike by the tree and the linear layout",
          "[seccomp][layouts]") {
    Tally tally = compare_random_policies(5000, 200, random_handmade_policy, true);
    INFO(tally);
    CHECK(tally.failed == 0);
    CHECK(tally.calls > 200 * 6000);
    CHECK(tally.refused_by_both * 10 < tally.policies);  // most hand-built policies are compared, not refused
    CHECK(tally.reference_miscompiled == 0);              // libseccomp writes both layouts' part as a tree
}

// =============================================================================================
// Cases chosen where the tree's split is delicate

TEST_CASE("seccomp layouts: a number both a constant rule and a libseccomp rule decide", "[seccomp][layouts]") {
    // read: constant and compared; socketcall: constant while connect (multiplexed on i386) also
    // lands on 102; ipc and shmget likewise on 117.
    require_same_decisions(defaults_with({{"read", EIO, {}, "t"}, {"read", EACCES, {equal(0, 3)}, "t"}}));
    require_same_decisions(defaults_with({{"read", EACCES, {equal(0, 3)}, "t"}, {"read", EIO, {}, "t"}}));
    require_same_decisions(profile_policy({{"socketcall", deny(ENOSYS)}, {"connect", deny(EACCES)}}));
    require_same_decisions(profile_policy({{"ipc", deny(EIO)}, {"shmget", deny(EACCES)}}, false));
    require_same_decisions(profile_policy({{"connect", deny(EACCES)}, {"socket", allow()}}));
    require_same_decisions(profile_policy({{"semop", deny(EACCES)}, {"semtimedop", deny(EIO)}}));
    // Two names with one number on i386 through the multiplexer, with different errnos.
    require_same_decisions(profile_policy({{"accept", deny(EIO)}, {"accept4", deny(EACCES)}, {"recv", deny(EPERM)}}));
}

TEST_CASE("seccomp layouts: our own checks in front of libseccomp's rules on one call", "[seccomp][layouts]") {
    // Ours first, then libseccomp's constant or compared rule on the same numbers.
    require_same_decisions(defaults_with({{"ioctl", EIO, {}, "t"}}));
    require_same_decisions(defaults_with({{"ioctl", EIO, {equal(1, 0x5413)}, "t"}}));
    require_same_decisions(defaults_with({{"socketcall", EIO, {equal(0, 3)}, "t"}}));
    require_same_decisions(defaults_with({{"socketcall", EIO, {}, "t"}, {"connect", EACCES, {}, "t"}}));
    // An own check on a multiplexed name (only its direct number is ours) next to libseccomp's
    // rule for it (the multiplexer too).
    require_same_decisions(defaults_with({{"connect", EIO, {in32(0, {3, 4})}, "t"}, {"connect", EACCES, {}, "t"}}));
    require_same_decisions(defaults_with({{"shmget", EIO, {any_bit32(2, 0x200)}, "t"}, {"shmget", EACCES, {}, "t"}}));
    // The same own check shared by every ABI, followed by different things on each.
    require_same_decisions(defaults_with({{"vm86", EIO, {}, "t"}, {"clone", EACCES, {equal(1, 0)}, "t"}}));
}

TEST_CASE("seccomp layouts: calls of one architecture only and x32's own numbers", "[seccomp][layouts]") {
    for (bool x32 : {false, true}) {
        require_same_decisions(profile_policy({{"vm86", deny(EIO)}, {"vm86old", deny(EACCES)}, {"tuxcall", deny()}}, x32));
        require_same_decisions(profile_policy({{"rt_sigaction", deny(EIO)}, {"execve", deny(EACCES)},
                                               {"ptrace", allow()}, {"readv", deny(ENOSYS)}}, x32));
        require_same_decisions(defaults_with({{"vm86", EIO, {equal(0, 1)}, "t"}, {"tuxcall", EIO, {equal(0, 1)}, "t"}}, x32));
        require_same_decisions(defaults_with({{"rt_sigaction", EIO, {in32(0, {2})}, "t"},
                                              {"rt_sigaction", EACCES, {equal(1, 0)}, "t"}}, x32));
    }
}

TEST_CASE("seccomp layouts: the newest known calls next to the ENOSYS range", "[seccomp][layouts]") {
    require_same_decisions(profile_policy({{"futex_waitv", deny(EIO)}, {"set_mempolicy_home_node", allow()}}));
    require_same_decisions(defaults_with({{"futex_waitv", EIO, {equal(0, 0)}, "t"}}));
}

TEST_CASE("seccomp layouts: a profile denying many calls with one errno each", "[seccomp][layouts]") {
    // The search grows past a conditional jump's reach: the chunked layout (BPF_JA) takes over.
    std::map<std::string, SyscallChoice> syscalls;
    for (std::uint32_t nr = 0; nr < 440; nr += 2) {
        char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, static_cast<int>(nr));
        if (name) syscalls[name] = deny(EIO);
        std::free(name);
    }
    CHECK(require_same_decisions(profile_policy(syscalls)).far_jumps > 0);
}

TEST_CASE("seccomp layouts: a profile denying many calls with many errnos still compiles", "[seccomp][layouts]") {
    // Regression: a piece of the chunked search was cut at 200 runs of numbers whatever its block
    // of returns (one per action) held, so with about a hundred different errnos the jumps from
    // its first leaves to the block reached past 255 instructions and the compile threw ("a
    // conditional jump of 278 instructions at instruction 40 (at most 255)"): a valid profile
    // (errno names go up to EHWPOISON, 133) that the sandbox refused to start. A piece now counts
    // its block (fits_one_piece). x86_64's calls 0..199, each denied with the next errno of
    // 1..133, with and without x32.
    std::map<std::string, SyscallChoice> syscalls;
    for (std::uint32_t nr = 0; nr < 200; ++nr) {
        char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, static_cast<int>(nr));
        if (name) syscalls[name] = deny(static_cast<int>(1 + nr % 133));
        std::free(name);
    }
    for (bool x32 : {true, false}) {
        INFO((x32 ? "with x32" : "without x32"));
        CHECK(require_same_decisions(profile_policy(syscalls, x32)).far_jumps > 0);
    }
}

TEST_CASE("seccomp layouts: many own checks make many far targets in the chunked layout", "[seccomp][layouts]") {
    // Each own rule on its own call is one block of argument tests the search jumps to.
    SeccompPolicy policy = defaults_with({});
    for (std::uint32_t nr = 0; nr < 440; nr += 3) {
        char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, static_cast<int>(nr));
        if (name) policy.rules.push_back({name, EIO, {in32(0, {nr})}, "t"});
        std::free(name);
    }
    CHECK(require_same_decisions(policy).far_jumps > 0);
}

// =============================================================================================
// The reference itself

TEST_CASE("seccomp layouts: the linear reference tests the syscall numbers it has loaded", "[seccomp][layouts]") {
    // libseccomp 2.5.4 (Debian 12) writes its plain (not binary-tree) program without the load
    // of the syscall number at the start of an ABI's block when the first call of the block is
    // one the ABI does not have (x86_64: getresgid32, vm86; i386: semop, which it multiplexes
    // through ipc) and a rule with an argument comparison follows: the block then compares the
    // architecture word with syscall numbers, none match, and every call of that ABI is allowed.
    // So both layouts have libseccomp write a binary tree, which loads the number (regression:
    // the linear layout, the tests' reference, used the plain program). Profiles cannot say
    // argument comparisons, so only hand-built policies meet it.
    auto sysfs_when_arg4 = SyscallRule{"sysfs", EACCES, {equal(4, 0xfffffffc)}, "t"};
    for (bool x32 : {true, false}) {
        INFO((x32 ? "with x32" : "without x32"));
        SeccompPolicy first_missing_on_x86_64 = defaults_with({}, x32);
        first_missing_on_x86_64.rules = {sysfs_when_arg4, {"getresgid32", EINVAL, {}, "t"}};
        SeccompPolicy first_multiplexed_on_i386 = defaults_with({}, x32);
        first_multiplexed_on_i386.rules = {{"sched_setscheduler", ENOSYS, {equal(2, 7)}, "t"},
                                           {"semop", EAFNOSUPPORT, {}, "t"}};
        for (const auto* policy : {&first_missing_on_x86_64, &first_multiplexed_on_i386}) {
            auto linear = sb::compile_seccomp(*policy, SeccompLayout::Linear);
            auto tree = sb::compile_seccomp(*policy);
            INFO(policy_text(*policy));
            CHECK_FALSE(compares_arch_with_numbers(tree.code, audit_arches_of(*policy)));
            CHECK_FALSE(compares_arch_with_numbers(linear.code, audit_arches_of(*policy)));
            require_same_decisions(*policy);
        }
        // The calls themselves: sysfs(0, 0, 0, 0, 0xfffffffc) on x86_64 (139), sched_setscheduler
        // (0, 0, 7) on i386 (156).
        const Args sysfs_args{0, 0, 0, 0, 0xfffffffc, 0}, sched_args{0, 0, 7, 0, 0, 0};
        auto linear = sb::compile_seccomp(first_missing_on_x86_64, SeccompLayout::Linear);
        CHECK(action_text(run_bpf(linear.code, AUDIT_ARCH_X86_64, 139, sysfs_args).action) == "errno 13");
        CHECK(action_text(run_bpf(sb::compile_seccomp(first_missing_on_x86_64).code, AUDIT_ARCH_X86_64, 139,
                                  sysfs_args).action) == "errno 13");
        auto linear_i386 = sb::compile_seccomp(first_multiplexed_on_i386, SeccompLayout::Linear);
        CHECK(action_text(run_bpf(linear_i386.code, AUDIT_ARCH_I386, 156, sched_args).action) == "errno 38");
    }
}

// =============================================================================================
// Architecture lists seccomp_architectures() never makes

TEST_CASE("seccomp layouts: an x86_64 call is killed when the policy has x32 but not x86_64",
          "[seccomp][layouts]") {
    // compile_seccomp's contract: "any other architecture is killed, except x32 on x86_64". x32
    // shares x86_64's audit architecture, so a policy for x32 alone (or i386 and x32) must kill
    // plain x86_64 calls (nr below the x32 bit) itself. Regression: the tree's search for
    // AUDIT_ARCH_X86_64 had only x32's numbers and allowed every plain x86_64 call (read
    // included, which the policy denies), or threw in check_routes when libseccomp's part was
    // needed. Not reachable through build_seccomp_policy, whose architectures always start with
    // the native one.
    for (auto architectures : std::vector<std::vector<std::string>>{{"x32"}, {"x86", "x32"}}) {
        SeccompPolicy policy = defaults_with({});
        policy.architectures = architectures;
        policy.rules = {{"read", EIO, {}, "t"}};
        auto tree = sb::compile_seccomp(policy);
        INFO(policy_text(policy));
        for (std::uint32_t nr : {0u, 1u, 59u, 1000u}) {
            INFO("x86_64 nr " << nr);
            CHECK(run_bpf(tree.code, AUDIT_ARCH_X86_64, nr, Args{}).action == SECCOMP_RET_KILL_PROCESS);
        }
        CHECK(action_text(run_bpf(tree.code, AUDIT_ARCH_X86_64, kX32Bit | 0, Args{}).action) == "errno 5");
        // With a rule for libseccomp's part (an argument comparison) too: it compiles.
        policy.rules.push_back({"write", EIO, {equal(0, 9)}, "t"});
        std::string error;
        CHECK(try_compile(policy, SeccompLayout::Tree, error).has_value());
        INFO(error);
        CHECK(error.empty());
    }
}
