#include "seccomp/compile.hpp"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <span>

#include "seccomp/bpf_writer.hpp"
#include "sys/error.hpp"
#include "sys/hints.hpp"

namespace sb {
namespace {

using FilterContext = std::unique_ptr<void, decltype(&seccomp_release)>;
constexpr std::uint32_t kX32Bit = 0x40000000;
constexpr std::uint32_t kArmPrivateBase = 0x0f0000;  // cacheflush, set_tls, ...: never "future"
constexpr std::size_t kMaxInstructions = 4096;       // BPF_MAXINSNS

[[noreturn]] void fail(const std::string& what, int rc) {
    throw SetupError(Stage::Seccomp, what + ": " + std::strerror(-rc),
                     "this libseccomp cannot express the policy; check [seccomp] in the profile");
}

scmp_compare compare_op(ArgCheck::Op op) {
    switch (op) {
        case ArgCheck::Op::Equal: return SCMP_CMP_EQ;
        case ArgCheck::Op::MaskedEqual: return SCMP_CMP_MASKED_EQ;
        case ArgCheck::Op::GreaterEqual: return SCMP_CMP_GE;
        case ArgCheck::Op::In32:
        case ArgCheck::Op::NotIn32:
        case ArgCheck::Op::AnyBit32: break;  // compiled by us (prefix_rules), never by libseccomp
    }
    throw SetupError(Stage::Seccomp, "an argument check libseccomp is not given", hint(Cause::Bug));
}

std::uint32_t arch_token(const std::string& name) {
    return name == "native" ? seccomp_arch_native() : seccomp_arch_resolve_name(name.c_str());
}

// Returns whether the rule is in the filter: not for a call no architecture of it has.
bool add_rule(scmp_filter_ctx ctx, const SyscallRule& rule, bool notify) {
    int nr = seccomp_syscall_resolve_name(rule.syscall.c_str());
    if (nr == __NR_SCMP_ERROR) fail("unknown system call " + rule.syscall, -EINVAL);
    std::vector<scmp_arg_cmp> checks;
    for (const auto& check : rule.when) {
        scmp_arg_cmp cmp{};
        cmp.arg = check.arg;
        cmp.op = compare_op(check.op);
        cmp.datum_a = check.op == ArgCheck::Op::MaskedEqual ? check.mask : check.value;
        cmp.datum_b = check.op == ArgCheck::Op::MaskedEqual ? check.value : 0;
        checks.push_back(cmp);
    }
    std::uint32_t action = notify ? SCMP_ACT_NOTIFY : SCMP_ACT_ERRNO(static_cast<std::uint16_t>(rule.error));
    int rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(checks.size()), checks.data());
    // -EDOM: the call does not exist on any architecture of the filter (vm86 on x86_64 only);
    // nothing to refuse there.
    if (rc == -EDOM) return false;
    if (rc < 0) fail("seccomp_rule_add " + rule.syscall, rc);
    return true;
}

// The highest syscall number this build's policy was written against. Since Linux 5.1 new calls
// get the same number on every architecture we filter (x32 adds its bit), so one name decides.
// Looked up by name: a scan of numbers costs milliseconds at every start.
std::uint32_t highest_known(std::uint32_t token) {
    for (const char* name : {"futex_requeue", "futex_wait", "futex_wake", "map_shadow_stack", "fchmodat2",
                             "cachestat", "set_mempolicy_home_node", "futex_waitv"}) {
        int nr = seccomp_syscall_resolve_name_arch(token, name);
        if (nr >= 0) return static_cast<std::uint32_t>(nr) & ~kX32Bit;
    }
    return 448;  // an older libseccomp: process_mrelease (Linux 5.15) is the newest it may know
}

bool has_architecture(const std::vector<std::string>& architectures, std::uint32_t token) {
    return std::any_of(architectures.begin(), architectures.end(),
                       [&](const std::string& name) { return arch_token(name) == token; });
}

// Numbers decided by their range alone: those above the newest this build knows get ENOSYS; and
// of the two ABIs sharing AUDIT_ARCH_X86_64, the one the policy leaves out: x32 gets ENOSYS (a
// kernel that does not run it answers so too), x86_64 is killed as any other architecture (no
// policy of ours leaves it out).
struct NumberRange {
    std::uint32_t audit_arch, first, last;
    std::uint32_t action;
};

std::vector<NumberRange> range_rules(const std::vector<std::string>& architectures) {
    constexpr std::uint32_t kEnosys = SECCOMP_RET_ERRNO | ENOSYS;
    std::vector<NumberRange> ranges;
    bool x86_64 = has_architecture(architectures, SCMP_ARCH_X86_64);
    bool x32 = has_architecture(architectures, SCMP_ARCH_X32);
    if (x32 && !x86_64) ranges.push_back({AUDIT_ARCH_X86_64, 0, kX32Bit - 1, SECCOMP_RET_KILL_PROCESS});
    if (x86_64 && !x32) ranges.push_back({AUDIT_ARCH_X86_64, kX32Bit, 0xffffffffu, kEnosys});
    for (const auto& name : architectures) {
        std::uint32_t token = arch_token(name);
        std::uint32_t top = highest_known(token);
        if (token == SCMP_ARCH_X86_64) {
            ranges.push_back({AUDIT_ARCH_X86_64, top + 1, kX32Bit - 1, kEnosys});
        } else if (token == SCMP_ARCH_X32) {
            // Its own compat calls sit at 512..547.
            ranges.push_back({AUDIT_ARCH_X86_64, kX32Bit + top + 1, kX32Bit + 511, kEnosys});
            ranges.push_back({AUDIT_ARCH_X86_64, kX32Bit + 548, 0xffffffffu, kEnosys});
        } else if (token == SCMP_ARCH_ARM) {
            ranges.push_back({token, top + 1, kArmPrivateBase - 1, kEnosys});
        } else {
            ranges.push_back({token, top + 1, 0xffffffffu, kEnosys});
        }
    }
    return ranges;
}

// The number the kernel gives a call on an architecture. For calls i386 also multiplexes through
// socketcall (socket, connect, ...) libseccomp answers a negative pseudo-number; the direct call
// (Linux 4.3+) is found in its table by number. Only the compile step asks, and rarely.
int direct_syscall_number(std::uint32_t token, const std::string& name) {
    int nr = seccomp_syscall_resolve_name_arch(token, name.c_str());
    if (nr >= 0 || nr == __NR_SCMP_ERROR) return nr;
    std::uint32_t base = token == SCMP_ARCH_X32 ? kX32Bit : 0;
    for (std::uint32_t n = 0; n < 1024; ++n) {
        char* known = seccomp_syscall_resolve_num_arch(token, static_cast<int>(base + n));
        bool same = known && name == known;
        std::free(known);
        if (same) return static_cast<int>(base + n);
    }
    return -1;
}

// ---------------------------------------------------------------------------------------------
// Rules by number: what the program decides itself.
//   - calls numbered above the newest this build knows, and of an ABI sharing x86_64's audit
//     architecture the policy leaves out (range_rules);
//   - the rules with a NotIn32 check ("the low 32 bits of args[i] are none of {v...}") or an
//     AnyBit32 check ("... have any of these bits"), a few instructions each where libseccomp
//     would need one rule per value range or per bit;
//   - in the tree layout, also libseccomp's rules that need no argument (tree_split).
// In the linear layout they are a prefix: a call they do not answer goes on to libseccomp's
// program, which reloads what it needs.

// One decision by number, in the order the decisions apply: calls of `audit_arch` numbered
// first..last get `action`: all of them, or with `check`, those whose argument passes it; or, with
// `to_libseccomp`, whatever libseccomp's program answers.
struct PrefixRule {
    std::uint32_t audit_arch, first, last;
    std::uint32_t action = 0;
    const ArgCheck* check = nullptr;
    bool to_libseccomp = false;
};

std::uint32_t refusal(const SyscallRule& rule, bool notify) {
    // The kernel caps what a filter returns at MAX_ERRNO; libseccomp refuses more, and so do we.
    if (rule.error < 1 || rule.error > 4095)
        throw SetupError(Stage::Seccomp, "the rule for " + rule.syscall + " refuses with errno " +
                                        std::to_string(rule.error) + " (1 to 4095)", hint(Cause::Bug));
    return notify ? SECCOMP_RET_USER_NOTIF : SECCOMP_RET_ERRNO | static_cast<std::uint32_t>(rule.error);
}

// x32 shares x86_64's audit architecture; its numbers carry kX32Bit.
std::uint32_t audit_arch_of(std::uint32_t token) { return token == SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : token; }

const ArgCheck& own_check(const SyscallRule& rule) {
    if (rule.when.size() != 1) throw SetupError(Stage::Seccomp, "a rule for " + rule.syscall + " compiled by us has other checks");
    const ArgCheck& check = rule.when.front();
    if (check.arg > 5) throw SetupError(Stage::Seccomp, "a rule for " + rule.syscall + " checks argument " + std::to_string(check.arg) + " (0 to 5)", hint(Cause::Bug));
    if (check.op == ArgCheck::Op::AnyBit32) {
        if (check.mask == 0 || check.mask > 0xffffffffu)
            throw SetupError(Stage::Seccomp, "an any-bit rule for " + rule.syscall + " has no bits in the low 32", hint(Cause::Bug));
        return check;
    }
    // Each value is one instruction that skips the rest: they must fit a jump's 8 bits.
    if (check.values.empty() || check.values.size() > 250)
        throw SetupError(Stage::Seccomp, "a value-set rule for " + rule.syscall + " has " +
                                        std::to_string(check.values.size()) + " values (1 to 250)");
    return check;
}

std::vector<PrefixRule> prefix_rules(const SeccompPolicy& policy, bool notify) {
    std::vector<PrefixRule> rules;
    for (const auto& range : range_rules(policy.architectures))
        rules.push_back({range.audit_arch, range.first, range.last, range.action});
    for (const auto& rule : policy.rules) {
        if (!compiled_by_us(rule)) continue;
        const ArgCheck& check = own_check(rule);
        for (const auto& name : policy.architectures) {
            std::uint32_t token = arch_token(name);
            int nr = direct_syscall_number(token, rule.syscall);
            if (nr < 0) continue;  // no such call on this architecture
            auto number = static_cast<std::uint32_t>(nr);
            rules.push_back({audit_arch_of(token), number, number, refusal(rule, notify), &check});
        }
    }
    return rules;
}

constexpr std::uint32_t kArchWord = offsetof(seccomp_data, arch), kNrWord = offsetof(seccomp_data, nr);

// Goes on when the check holds for the low 32 bits of the argument; else to `fails`.
void write_check(BpfWriter& out, const ArgCheck& check, BpfWriter::Label fails) {
    static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the low 32 bits of an argument come first");
    out.load(static_cast<std::uint32_t>(offsetof(seccomp_data, args) + 8 * check.arg));
    BpfWriter::Label holds = out.label();
    if (check.op == ArgCheck::Op::AnyBit32) {
        out.jump_if(BPF_JSET, static_cast<std::uint32_t>(check.mask), holds, fails);
        out.place(holds);
        return;
    }
    // In32: a value of the set holds, and none fails; NotIn32: a value of the set fails.
    bool in = check.op == ArgCheck::Op::In32;
    for (std::size_t i = 0; i < check.values.size(); ++i) {
        bool none_left = i + 1 == check.values.size();
        BpfWriter::Label next = in && none_left ? fails : out.label();
        out.jump_if(BPF_JEQ, check.values[i], in ? holds : fails, next);
        if (next != fails) out.place(next);
    }
    out.place(holds);
}

// The linear layout: each rule tests the architecture, the number and the argument in turn.
void write_linear_rule(BpfWriter& out, const PrefixRule& rule) {
    BpfWriter::Label skip = out.label(), same_arch = out.label(), same_number = out.label();
    out.load(kArchWord);
    out.jump_if(BPF_JEQ, rule.audit_arch, same_arch, skip);
    out.place(same_arch);
    out.load(kNrWord);
    if (rule.check) {
        out.jump_if(BPF_JEQ, rule.first, same_number, skip);
        out.place(same_number);
        write_check(out, *rule.check, skip);
    } else {
        BpfWriter::Label from_first = out.label();
        out.jump_if(BPF_JGE, rule.first, from_first, skip);
        out.place(from_first);
        out.jump_if(BPF_JGT, rule.last, skip, same_number);
        out.place(same_number);
    }
    out.ret(rule.action);
    out.place(skip);
}

std::vector<sock_filter> linear_program(const std::vector<PrefixRule>& rules, const std::vector<sock_filter>& body) {
    BpfWriter out;
    for (const auto& rule : rules) write_linear_rule(out, rule);
    out.append(body);
    return out.finish();
}

// ---------------------------------------------------------------------------------------------
// The tree layout. At every load the kernel turns the program into machine code and runs it
// once for every syscall number of x86_64 and i386 (to cache the calls it always allows): both
// grow with the program, here about 0.3 us an instruction and 3 ns an instruction run. So each
// architecture gets one search over the runs of numbers treated alike, shaped by how many
// numbers each run holds (the long allowed runs sit near the root), whose leaves are returns
// shared by the whole program. libseccomp's program keeps only what needs its argument
// comparisons, and only its numbers reach it.

// Which of libseccomp's rules the tree says itself. A rule without argument checks is a
// constant answer for its number on each architecture: a leaf of the search. A rule with
// checks, or one for a call an architecture multiplexes (i386's socket and SysV IPC calls, also
// reached through socketcall and ipc), stays libseccomp's, and the search sends its numbers
// there. Each number is decided by one side only: a constant rule on a number libseccomp's part
// decides moves to that part too.
struct TreeSplit {
    std::vector<PrefixRule> numbers;             // constant answers, then routes to libseccomp's part
    std::vector<const SyscallRule*> libseccomp;  // the rules libseccomp's program says
};

struct RuleNumbers {
    const SyscallRule* rule;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> numbers;  // (audit arch, number) it decides
    bool kept_by_libseccomp;
};

RuleNumbers numbers_of(const SyscallRule& rule, const std::vector<std::string>& architectures) {
    if (seccomp_syscall_resolve_name(rule.syscall.c_str()) == __NR_SCMP_ERROR)
        fail("unknown system call " + rule.syscall, -EINVAL);
    RuleNumbers out{&rule, {}, !rule.when.empty()};
    for (const auto& name : architectures) {
        std::uint32_t token = arch_token(name), audit = audit_arch_of(token);
        int nr = seccomp_syscall_resolve_name_arch(token, rule.syscall.c_str());
        if (nr >= 0) {
            out.numbers.emplace_back(audit, static_cast<std::uint32_t>(nr));
            continue;
        }
        // A pseudo-number: not on this architecture, or multiplexed (libseccomp then rewrites
        // it to the multiplexer's number, and also decides the direct call where there is one).
        int multiplexer = seccomp_syscall_resolve_name_rewrite(token, rule.syscall.c_str());
        if (nr == __NR_SCMP_ERROR || multiplexer < 0) continue;
        out.kept_by_libseccomp = true;
        out.numbers.emplace_back(audit, static_cast<std::uint32_t>(multiplexer));
        int direct = direct_syscall_number(token, rule.syscall);
        if (direct >= 0) out.numbers.emplace_back(audit, static_cast<std::uint32_t>(direct));
    }
    return out;
}

TreeSplit tree_split(const SeccompPolicy& policy, bool notify) {
    std::vector<RuleNumbers> rules;
    for (const auto& rule : policy.rules)
        if (!rule.derived && !compiled_by_us(rule)) rules.push_back(numbers_of(rule, policy.architectures));
    using Number = std::pair<std::uint32_t, std::uint32_t>;
    for (bool moved = true; moved;) {
        moved = false;
        std::set<Number> routed, constant, twice;
        for (const auto& rule : rules)
            for (const Number& number : rule.numbers)
                if (rule.kept_by_libseccomp) routed.insert(number);
                else if (!constant.insert(number).second) twice.insert(number);
        for (auto& rule : rules) {
            if (rule.kept_by_libseccomp) continue;
            rule.kept_by_libseccomp = std::any_of(rule.numbers.begin(), rule.numbers.end(), [&](const Number& number) {
                return routed.count(number) || twice.count(number);
            });
            moved = moved || rule.kept_by_libseccomp;
        }
    }
    TreeSplit split;
    std::set<Number> routed;
    for (const auto& rule : rules) {
        if (rule.kept_by_libseccomp) split.libseccomp.push_back(rule.rule);
        for (const auto& [audit, nr] : rule.numbers)
            if (!rule.kept_by_libseccomp) split.numbers.push_back({audit, nr, nr, refusal(*rule.rule, notify)});
            else if (routed.insert({audit, nr}).second) split.numbers.push_back({audit, nr, nr, 0, nullptr, true});
    }
    return split;
}

// What libseccomp's program answers for a call, if that does not depend on its arguments (the
// kernel's own test when it caches a call).
std::optional<std::uint32_t> constant_answer(const std::vector<sock_filter>& code, std::uint32_t arch, std::uint32_t nr) {
    std::uint32_t a = 0;
    for (std::size_t pc = 0; pc < code.size(); ++pc) {
        const sock_filter& insn = code[pc];
        switch (insn.code) {
            case BPF_LD | BPF_W | BPF_ABS:
                if (insn.k != kArchWord && insn.k != kNrWord) return std::nullopt;
                a = insn.k == kArchWord ? arch : nr;
                break;
            case BPF_RET | BPF_K: return insn.k;
            case BPF_JMP | BPF_JA: pc += insn.k; break;
            case BPF_JMP | BPF_JEQ | BPF_K: pc += a == insn.k ? insn.jt : insn.jf; break;
            case BPF_JMP | BPF_JGT | BPF_K: pc += a > insn.k ? insn.jt : insn.jf; break;
            case BPF_JMP | BPF_JGE | BPF_K: pc += a >= insn.k ? insn.jt : insn.jf; break;
            case BPF_JMP | BPF_JSET | BPF_K: pc += (a & insn.k) ? insn.jt : insn.jf; break;
            case BPF_ALU | BPF_AND | BPF_K: a &= insn.k; break;
            default: return std::nullopt;
        }
    }
    return std::nullopt;
}

// A run of numbers (from `first` to the next run's first) that the same rules apply to, in
// order, up to the first that answers every call (or hands it to libseccomp's part); none: allowed.
struct Segment {
    std::uint32_t first;
    std::vector<const PrefixRule*> rules;
};

bool same_tests(const std::vector<const PrefixRule*>& a, const std::vector<const PrefixRule*>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const PrefixRule* x, const PrefixRule* y) {
        return x->check == y->check && x->action == y->action && x->to_libseccomp == y->to_libseccomp;
    });
}

// Whether two runs end in the same leaf: the same return, libseccomp's part, or the same tests.
bool same_leaf(const std::vector<const PrefixRule*>& a, const std::vector<const PrefixRule*>& b) {
    if (a.empty() || b.empty()) return a.empty() && b.empty();
    const PrefixRule &x = *a.front(), &y = *b.front();
    if (x.check || y.check) return same_tests(a, b);
    return x.to_libseccomp == y.to_libseccomp && (x.to_libseccomp || x.action == y.action);
}

std::vector<Segment> segments_of(const std::vector<const PrefixRule*>& rules) {
    std::set<std::uint32_t> starts{0};
    for (const PrefixRule* rule : rules) {
        starts.insert(rule->first);
        if (rule->last != 0xffffffffu) starts.insert(rule->last + 1);
    }
    std::vector<Segment> segments;
    for (std::uint32_t start : starts) {
        std::vector<const PrefixRule*> applying;
        for (const PrefixRule* rule : rules) {
            if (start < rule->first || start > rule->last) continue;
            applying.push_back(rule);
            if (!rule->check) break;  // it answers every call: later rules are never reached
        }
        if (segments.empty() || !same_leaf(segments.back().rules, applying)) segments.push_back({start, std::move(applying)});
    }
    return segments;
}

// The search with the fewest instructions run over all the numbers the kernel caches: an optimal
// alphabetic tree (Knuth's dynamic program) where a run weighs as many numbers as it holds below
// `cached_below`. split[i][j]: the first segment of the high half of the search over i..j-1.
std::vector<std::vector<std::size_t>> best_splits(const std::vector<Segment>& segments, std::uint32_t cached_below) {
    std::size_t n = segments.size();
    // A run's weight: the numbers of it the kernel caches, and a little for every run, so that
    // the runs it never caches (x32's, the numbers past its table) still get a balanced search.
    constexpr std::uint64_t kPerNumber = 16;
    std::vector<std::uint64_t> before(n + 1, 0);  // the weight of segments 0..i-1
    for (std::size_t i = 0; i < n; ++i) {
        std::uint64_t end = i + 1 < n ? segments[i + 1].first : 0x100000000ull;
        std::uint64_t low = std::min<std::uint64_t>(segments[i].first, cached_below);
        before[i + 1] = before[i] + 1 + kPerNumber * (std::min<std::uint64_t>(end, cached_below) - low);
    }
    std::vector<std::vector<std::uint64_t>> cost(n + 1, std::vector<std::uint64_t>(n + 1, 0));
    std::vector<std::vector<std::size_t>> split(n + 1, std::vector<std::size_t>(n + 1, 0));
    for (std::size_t i = 0; i + 1 < n; ++i) split[i][i + 2] = i + 1;
    for (std::size_t i = 0; i + 1 < n; ++i) cost[i][i + 2] = before[i + 2] - before[i];
    for (std::size_t width = 3; width <= n; ++width) {
        for (std::size_t i = 0; i + width <= n; ++i) {
            std::size_t j = i + width;
            std::uint64_t best = UINT64_MAX;
            // Knuth: the best split moves right with either end.
            for (std::size_t s = split[i][j - 1]; s <= split[i + 1][j]; ++s) {
                std::uint64_t c = cost[i][s] + cost[s][j];
                if (c < best) best = c, split[i][j] = s;
            }
            cost[i][j] = best + before[j] - before[i];
        }
    }
    return split;
}

// Where libseccomp's program, run for a call of `arch`, first does something other than test
// the architecture: everything before depends on the architecture alone, which the prefix has
// just tested, so the prefix can jump there. Only where that instruction does not read the
// accumulator (a load or a constant return: the prefix leaves the number in it); else 0.
std::size_t entry_for(const std::vector<sock_filter>& body, std::uint32_t arch) {
    bool arch_loaded = false;
    for (std::size_t pc = 0; pc < body.size(); ++pc) {
        const sock_filter& insn = body[pc];
        if (insn.code == (BPF_LD | BPF_W | BPF_ABS) && insn.k == kArchWord) {
            arch_loaded = true;
        } else if (arch_loaded && insn.code == (BPF_JMP | BPF_JEQ | BPF_K)) {
            pc += arch == insn.k ? insn.jt : insn.jf;
        } else {
            bool overwrites_or_ignores = insn.code == (BPF_LD | BPF_W | BPF_ABS) || insn.code == (BPF_RET | BPF_K);
            return overwrites_or_ignores ? pc : 0;
        }
    }
    return 0;
}

// How a search reaches its leaves. Direct: every conditional jump goes straight to the leaf's
// target (a return shared by the whole program, argument tests, libseccomp's part). When that is
// farther than 8 bits reach (a profile that denies many calls), Chunked: the search is cut into
// pieces that fit, each followed by its own block of returns and BPF_JA (32 bits) to the far
// targets, and the cuts are nodes whose high half is reached through a BPF_JA.
enum class Reach { Direct, Chunked };

// Where the leaves of a search (or of one piece) jump: a return per action, and for far targets
// either themselves (far_direct) or a BPF_JA to them, written as a block after the search.
struct TargetBlock {
    bool far_direct = false;
    std::vector<std::pair<std::uint32_t, BpfWriter::Label>> returns;  // (action, label)
    std::vector<std::pair<BpfWriter::Label, BpfWriter::Label>> jumps;  // (far target, label)
};

struct TreeWriter {
    BpfWriter out;
    BpfWriter::Label body = out.label();  // the start of libseccomp's part
    BpfWriter::Label entry = body;        // where the architecture being searched enters it
    // Argument tests, written after every search so that their length never lengthens a
    // search's jumps; shared by the architectures that have the same call.
    std::vector<std::pair<BpfWriter::Label, std::vector<const PrefixRule*>>> arg_tests;
};

BpfWriter::Label arg_tests_for(TreeWriter& tree, const std::vector<const PrefixRule*>& rules) {
    for (const auto& [label, written] : tree.arg_tests)
        if (same_tests(written, rules)) return label;
    tree.arg_tests.emplace_back(tree.out.label(), rules);
    return tree.arg_tests.back().first;
}

BpfWriter::Label return_in(TreeWriter& tree, TargetBlock& block, std::uint32_t action) {
    for (const auto& [written, label] : block.returns)
        if (written == action) return label;
    block.returns.emplace_back(action, tree.out.label());
    return block.returns.back().second;
}

BpfWriter::Label jump_in(TreeWriter& tree, TargetBlock& block, BpfWriter::Label far) {
    if (block.far_direct) return far;
    for (const auto& [target, label] : block.jumps)
        if (target == far) return label;
    block.jumps.emplace_back(far, tree.out.label());
    return block.jumps.back().second;
}

BpfWriter::Label leaf_target(TreeWriter& tree, TargetBlock& block, const Segment& segment) {
    if (segment.rules.empty()) return return_in(tree, block, SECCOMP_RET_ALLOW);
    const PrefixRule& first = *segment.rules.front();
    if (first.to_libseccomp) return jump_in(tree, block, tree.entry);
    if (!first.check) return return_in(tree, block, first.action);
    return jump_in(tree, block, arg_tests_for(tree, segment.rules));
}

void write_block(TreeWriter& tree, const TargetBlock& block) {
    for (const auto& [action, label] : block.returns) {
        tree.out.place(label);
        tree.out.ret(action);
    }
    for (const auto& [far, label] : block.jumps) {
        tree.out.place(label);
        tree.out.jump(far);
    }
}

using Splits = std::vector<std::vector<std::size_t>>;

// segments (at least two), with every leaf jumping into `block`.
void write_search(TreeWriter& tree, TargetBlock& block, std::span<const Segment> segments, std::size_t offset,
                  const Splits& split) {
    std::size_t half = split[offset][offset + segments.size()] - offset;
    auto low_half = segments.first(half), high_half = segments.subspan(half);
    auto target_of = [&](std::span<const Segment> part) {
        return part.size() == 1 ? leaf_target(tree, block, part.front()) : tree.out.label();
    };
    BpfWriter::Label low = target_of(low_half), high = target_of(high_half);
    tree.out.jump_if(BPF_JGE, high_half.front().first, high, low);
    if (low_half.size() > 1) {
        tree.out.place(low);
        write_search(tree, block, low_half, offset, split);
    }
    if (high_half.size() > 1) {
        tree.out.place(high);
        write_search(tree, block, high_half, offset + half, split);
    }
}

// Whether a search over `segments` and its block of targets fit a conditional jump's 255:
// n runs are n - 1 tests, then one return or BPF_JA per distinct leaf.
bool fits_one_piece(std::span<const Segment> segments) {
    constexpr std::size_t kReach = 255;
    if (segments.size() > kReach) return false;
    std::vector<const Segment*> distinct;
    for (const Segment& segment : segments)
        if (std::none_of(distinct.begin(), distinct.end(),
                         [&](const Segment* seen) { return same_leaf(seen->rules, segment.rules); }))
            distinct.push_back(&segment);
    return segments.size() - 1 + distinct.size() <= kReach;
}

void write_chunked(TreeWriter& tree, std::span<const Segment> segments, std::size_t offset, const Splits& split) {
    if (segments.size() == 1) {
        TargetBlock block;
        tree.out.jump(leaf_target(tree, block, segments.front()));
        return write_block(tree, block);
    }
    if (fits_one_piece(segments)) {
        TargetBlock block;
        write_search(tree, block, segments, offset, split);
        return write_block(tree, block);
    }
    std::size_t half = split[offset][offset + segments.size()] - offset;
    BpfWriter::Label low = tree.out.label(), far = tree.out.label(), high = tree.out.label();
    tree.out.jump_if(BPF_JGE, segments[half].first, far, low);
    tree.out.place(far);
    tree.out.jump(high);
    tree.out.place(low);
    write_chunked(tree, segments.first(half), offset, split);
    tree.out.place(high);
    write_chunked(tree, segments.subspan(half), offset + half, split);
}

void write_arg_tests(TreeWriter& tree, const std::vector<const PrefixRule*>& rules) {
    for (const PrefixRule* rule : rules) {
        if (rule->to_libseccomp) return tree.out.jump(tree.body);
        if (!rule->check) return tree.out.ret(rule->action);
        BpfWriter::Label fails = tree.out.label();
        write_check(tree.out, *rule->check, fails);
        tree.out.ret(rule->action);
        tree.out.place(fails);
    }
    tree.out.ret(SECCOMP_RET_ALLOW);
}

std::vector<std::uint32_t> architectures_of(const std::vector<PrefixRule>& rules) {
    std::vector<std::uint32_t> arches;  // in the order of the policy's architectures
    for (const auto& rule : rules)
        if (std::find(arches.begin(), arches.end(), rule.audit_arch) == arches.end()) arches.push_back(rule.audit_arch);
    return arches;
}

// The split rests on what libseccomp does with a rule (its numbers, its multiplexers), so it is
// checked against libseccomp's program: a number the search allows must be one that program
// allows too, whatever the arguments.
void check_routes(const std::vector<sock_filter>& body, std::uint32_t arch, const std::vector<Segment>& segments) {
    std::size_t at = 0;
    for (std::uint32_t base : {0u, kX32Bit}) {
        for (std::uint32_t nr = base; nr < base + 1024; ++nr) {
            while (at + 1 < segments.size() && segments[at + 1].first <= nr) ++at;
            if (!segments[at].rules.empty()) continue;
            auto answer = constant_answer(body, arch, nr);
            if (answer && *answer == SECCOMP_RET_ALLOW) continue;
            throw SetupError(Stage::Seccomp,
                             "libseccomp's program decides call " + std::to_string(nr) + " of architecture " +
                                 std::to_string(arch) + ", which the filter's search allows",
                             hint(Cause::Bug));
        }
    }
}

// The numbers the kernel runs the program for at a load, per audit architecture: those of its
// syscall table (about the newest this build knows). x32's, above kX32Bit, it never caches.
std::uint32_t cached_below(const std::vector<std::string>& architectures, std::uint32_t audit) {
    for (const auto& name : architectures) {
        std::uint32_t token = arch_token(name);
        if (token != SCMP_ARCH_X32 && audit_arch_of(token) == audit) return highest_known(token) + 1;
    }
    return 0;
}

struct TreeInput {
    std::vector<std::string> architectures;
    std::vector<PrefixRule> rules;  // prefix_rules, then tree_split's numbers
    std::vector<sock_filter> body;  // libseccomp's program for the rest (empty: none)
};

BpfWriter write_tree(const TreeInput& input, Reach reach) {
    TreeWriter tree;
    auto arches = architectures_of(input.rules);
    std::vector<BpfWriter::Label> searches, entries, tests;
    tree.out.load(kArchWord);
    for (std::uint32_t arch : arches) {
        BpfWriter::Label search = tree.out.label(), next = tree.out.label();
        tests.push_back(reach == Reach::Direct ? search : tree.out.label());
        tree.out.jump_if(BPF_JEQ, arch, tests.back(), next);
        tree.out.place(next);
        searches.push_back(search);
        entries.push_back(tree.out.label());
    }
    // Any other architecture (say, a 32-bit ARM binary on an x86 host through binfmt) is
    // killed: a call the filter cannot read must not run.
    tree.out.ret(SECCOMP_RET_KILL_PROCESS);
    if (reach == Reach::Chunked) {
        for (std::size_t i = 0; i < arches.size(); ++i) {
            tree.out.place(tests[i]);
            tree.out.jump(searches[i]);
        }
    }
    TargetBlock shared;  // Direct: one block of returns after every search
    shared.far_direct = true;
    for (std::size_t i = 0; i < arches.size(); ++i) {
        std::vector<const PrefixRule*> own;
        for (const auto& rule : input.rules)
            if (rule.audit_arch == arches[i]) own.push_back(&rule);
        tree.out.place(searches[i]);
        tree.out.load(kNrWord);
        tree.entry = entries[i];
        auto segments = segments_of(own);
        if (!input.body.empty()) check_routes(input.body, arches[i], segments);
        auto split = best_splits(segments, cached_below(input.architectures, arches[i]));
        if (reach == Reach::Chunked) write_chunked(tree, segments, 0, split);
        else if (segments.size() == 1) tree.out.jump(leaf_target(tree, shared, segments.front()));
        else write_search(tree, shared, segments, 0, split);
    }
    write_block(tree, shared);
    for (const auto& [label, applying] : tree.arg_tests) {
        tree.out.place(label);
        write_arg_tests(tree, applying);
    }
    std::size_t start = tree.out.size();
    tree.out.place(tree.body);
    for (std::size_t i = 0; i < arches.size(); ++i)
        tree.out.place_at(entries[i], start + entry_for(input.body, arches[i]));
    tree.out.append(input.body);
    return std::move(tree.out);
}

std::vector<sock_filter> tree_program(const TreeInput& input) {
    BpfWriter direct = write_tree(input, Reach::Direct);
    return direct.in_reach() ? direct.finish() : write_tree(input, Reach::Chunked).finish();
}

std::vector<sock_filter> export_program(scmp_filter_ctx ctx) {
    int fd = ::memfd_create("seccomp-bpf", MFD_CLOEXEC);
    if (fd < 0) throw SysError("memfd_create", "seccomp-bpf", errno);
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    int rc = seccomp_export_bpf(ctx, fd);
    if (rc < 0) fail("seccomp_export_bpf", rc);
    off_t size = ::lseek(fd, 0, SEEK_END);
    if (size < 0 || size % sizeof(sock_filter) != 0) throw SysError("lseek", "seccomp-bpf", errno ? errno : EINVAL);
    std::vector<sock_filter> code(static_cast<std::size_t>(size) / sizeof(sock_filter));
    if (::pread(fd, code.data(), static_cast<std::size_t>(size), 0) != size)
        throw SysError("pread", "seccomp-bpf", errno ? errno : EIO);
    return code;
}

// `rules` as libseccomp's program: the architecture check (any other is killed), then the
// syscall numbers, then their arguments.
std::vector<sock_filter> libseccomp_program(const std::vector<std::string>& architectures,
                                            const std::vector<const SyscallRule*>& rules, bool notify) {
    FilterContext ctx(seccomp_init(SCMP_ACT_ALLOW), &seccomp_release);
    if (!ctx) throw SetupError(Stage::Seccomp, "seccomp_init failed", "libseccomp could not allocate a filter");
    // Any other architecture (say, a 32-bit ARM binary on an x86 host through binfmt) is killed:
    // a call the filter cannot read must not run.
    int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    if (rc < 0) fail("seccomp_attr_set ACT_BADARCH", rc);
    // We set no_new_privs ourselves, in the order the payload needs.
    rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0);
    if (rc < 0) fail("seccomp_attr_set CTL_NNP", rc);
    for (const auto& name : architectures) {
        std::uint32_t token = arch_token(name);
        if (token == seccomp_arch_native()) continue;  // already in
        rc = seccomp_arch_add(ctx.get(), token);
        if (rc < 0 && rc != -EEXIST) fail("seccomp_arch_add " + name, rc);
    }
    std::size_t added = 0;
    for (const SyscallRule* rule : rules)
        if (add_rule(ctx.get(), *rule, notify)) ++added;
    // A binary search on the syscall number instead of one test per rule, in both layouts: the
    // plain output of libseccomp 2.5.4 can miss the load of the number at the start of an
    // architecture's tests (and then let that architecture's calls through; see
    // tests/unit/test_seccomp_layouts.cpp). Not for a filter without rules: libseccomp 2.5.3 and
    // older then drop the default action (their bug #370).
    if (added > 0) {
        rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);
        if (rc < 0) fail("seccomp_attr_set CTL_OPTIMIZE", rc);
    }
    return export_program(ctx.get());
}

std::vector<sock_filter> libseccomp_body(const SeccompPolicy& policy, const std::vector<const SyscallRule*>& rules,
                                         bool notify) {
    auto body = libseccomp_program(policy.architectures, rules, notify);
    if (body.empty()) throw SetupError(Stage::Seccomp, "libseccomp exported an empty filter", hint(Cause::Bug));
    return body;
}

// The reference layout: the prefix, then libseccomp's program of every other rule.
std::vector<sock_filter> linear_layout(const SeccompPolicy& policy, bool notify) {
    std::vector<const SyscallRule*> rules;
    for (const auto& rule : policy.rules)
        if (!rule.derived && !compiled_by_us(rule)) rules.push_back(&rule);
    return linear_program(prefix_rules(policy, notify), libseccomp_body(policy, rules, notify));
}

std::vector<sock_filter> tree_layout(const SeccompPolicy& policy, bool notify) {
    TreeSplit split = tree_split(policy, notify);
    TreeInput input{policy.architectures, prefix_rules(policy, notify), {}};
    input.rules.insert(input.rules.end(), split.numbers.begin(), split.numbers.end());
    if (!split.libseccomp.empty()) input.body = libseccomp_body(policy, split.libseccomp, notify);
    return tree_program(input);
}

}  // namespace

SeccompProgram compile_seccomp(const SeccompPolicy& policy, SeccompLayout layout) {
    SeccompProgram program;
    if (!policy.enabled) return program;
    if (policy.architectures.empty())
        throw SetupError(Stage::Seccomp, "a filter for no architecture", hint(Cause::Bug));
    program.notify = policy.mode != SeccompMode::Enforce;
    program.code = layout == SeccompLayout::Tree ? tree_layout(policy, program.notify) : linear_layout(policy, program.notify);
    if (program.code.size() > kMaxInstructions)
        throw SetupError(Stage::Seccomp, "the filter has " + std::to_string(program.code.size()) +
                                        " instructions; the kernel takes at most 4096",
                         "deny fewer system calls with argument conditions in [seccomp]");
    return program;
}

}  // namespace sb
