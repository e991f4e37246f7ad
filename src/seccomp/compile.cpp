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

struct FutureRange {
    std::uint32_t audit_arch, first, last;  // nr in [first, last] gets ENOSYS
};

std::vector<FutureRange> future_ranges(const std::vector<std::string>& architectures) {
    std::vector<FutureRange> ranges;
    for (const auto& name : architectures) {
        std::uint32_t token = arch_token(name);
        std::uint32_t top = highest_known(token);
        if (token == SCMP_ARCH_X86_64) {
            ranges.push_back({AUDIT_ARCH_X86_64, top + 1, kX32Bit - 1});
            // A kernel that does not run x32 answers every x32 number ENOSYS: so does the filter.
            bool x32 = std::find(architectures.begin(), architectures.end(), "x32") != architectures.end();
            if (!x32) ranges.push_back({AUDIT_ARCH_X86_64, kX32Bit, 0xffffffffu});
        } else if (token == SCMP_ARCH_X32) {
            // x32 shares AUDIT_ARCH_X86_64; its own compat calls sit at 512..547.
            ranges.push_back({AUDIT_ARCH_X86_64, kX32Bit + top + 1, kX32Bit + 511});
            ranges.push_back({AUDIT_ARCH_X86_64, kX32Bit + 548, 0xffffffffu});
        } else if (token == SCMP_ARCH_ARM) {
            ranges.push_back({token, top + 1, kArmPrivateBase - 1});
        } else {
            ranges.push_back({token, top + 1, 0xffffffffu});
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
// The prefix: what the program decides before libseccomp's part, which cannot say it.
//   - calls numbered above the newest this build knows: ENOSYS;
//   - the rules with a NotIn32 check ("the low 32 bits of args[i] are none of {v...}") or an
//     AnyBit32 check ("... have any of these bits"), a few instructions each where libseccomp
//     would need one rule per value range or per bit.
// A call the prefix does not answer goes on to libseccomp's program, which reloads what it needs.

// One decision of the prefix, in the order the decisions apply: calls of `audit_arch` numbered
// first..last get `action`: all of them, or with `check`, those whose argument passes it.
struct PrefixRule {
    std::uint32_t audit_arch, first, last;
    std::uint32_t action;
    const ArgCheck* check = nullptr;
};

const ArgCheck& own_check(const SyscallRule& rule) {
    if (rule.when.size() != 1) throw SetupError(Stage::Seccomp, "a rule for " + rule.syscall + " compiled by us has other checks");
    const ArgCheck& check = rule.when.front();
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
    for (const auto& range : future_ranges(policy.architectures))
        rules.push_back({range.audit_arch, range.first, range.last, SECCOMP_RET_ERRNO | ENOSYS});
    for (const auto& rule : policy.rules) {
        if (!compiled_by_us(rule)) continue;
        const ArgCheck& check = own_check(rule);
        std::uint32_t action = notify ? SECCOMP_RET_USER_NOTIF : SECCOMP_RET_ERRNO | (rule.error & SECCOMP_RET_DATA);
        for (const auto& name : policy.architectures) {
            std::uint32_t token = arch_token(name);
            int nr = direct_syscall_number(token, rule.syscall);
            if (nr < 0) continue;  // no such call on this architecture
            std::uint32_t audit = token == SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : token;
            auto number = static_cast<std::uint32_t>(nr);
            rules.push_back({audit, number, number, action, &check});
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
    for (std::uint32_t value : check.values) {  // NotIn32: any value of the set fails it
        BpfWriter::Label next = out.label();
        out.jump_if(BPF_JEQ, value, fails, next);
        out.place(next);
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

// The tree layout. The kernel runs the program for every syscall number of each architecture
// when the filter is loaded (to cache the calls it always allows), so the path a number takes
// is paid about a thousand times per load: one architecture test, one load of the number, a
// binary search over the runs of numbers the prefix treats alike, and into libseccomp's binary
// search past its own architecture test.

// A run of numbers (from `first` to the next run's first) that the same prefix rules apply to,
// in order, up to the first that answers every call; none: straight on to libseccomp's part.
struct Segment {
    std::uint32_t first;
    std::vector<const PrefixRule*> rules;
};

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
        if (segments.empty() || segments.back().rules != applying) segments.push_back({start, std::move(applying)});
    }
    return segments;
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

// How a search reaches libseccomp's part: with the search's own conditional jumps where they
// reach (8 bits), else through a BPF_JA, one more instruction on the way.
enum class Reach { Direct, ThroughJump };

struct TreeWriter {
    explicit TreeWriter(Reach how) : reach(how) {}

    BpfWriter out;
    Reach reach;
    BpfWriter::Label body = out.label();  // the start of libseccomp's part
    BpfWriter::Label entry = body;        // where the architecture being searched enters it
    // Argument tests, written after every search so that their length never lengthens a search's
    // jumps; shared by the architectures that have the same call.
    std::vector<std::pair<BpfWriter::Label, std::vector<const PrefixRule*>>> arg_tests;
};

bool same_tests(const std::vector<const PrefixRule*>& a, const std::vector<const PrefixRule*>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const PrefixRule* x, const PrefixRule* y) {
        return x->check == y->check && x->action == y->action;
    });
}

BpfWriter::Label arg_tests_for(TreeWriter& tree, const std::vector<const PrefixRule*>& rules) {
    for (const auto& [label, written] : tree.arg_tests)
        if (same_tests(written, rules)) return label;
    tree.arg_tests.emplace_back(tree.out.label(), rules);
    return tree.arg_tests.back().first;
}

void write_leaf(TreeWriter& tree, const Segment& segment) {
    if (segment.rules.empty()) return tree.out.jump(tree.entry);
    if (!segment.rules.front()->check) return tree.out.ret(segment.rules.front()->action);
    tree.out.jump(arg_tests_for(tree, segment.rules));
}

// The target for a search over `segments`: libseccomp's part itself when they are one run the
// prefix lets through, else a new label the caller places before writing their search.
BpfWriter::Label target_of(TreeWriter& tree, std::span<const Segment> segments) {
    bool straight_on = segments.size() == 1 && segments.front().rules.empty();
    return straight_on && tree.reach == Reach::Direct ? tree.entry : tree.out.label();
}

void write_search(TreeWriter& tree, std::span<const Segment> segments) {
    if (segments.size() == 1) return write_leaf(tree, segments.front());
    std::size_t half = segments.size() / 2;
    auto low_half = segments.first(half), high_half = segments.subspan(half);
    BpfWriter::Label low = target_of(tree, low_half), high = target_of(tree, high_half);
    tree.out.jump_if(BPF_JGE, high_half.front().first, high, low);
    if (low != tree.entry) {
        tree.out.place(low);
        write_search(tree, low_half);
    }
    if (high != tree.entry) {
        tree.out.place(high);
        write_search(tree, high_half);
    }
}

void write_arg_tests(TreeWriter& tree, const std::vector<const PrefixRule*>& rules) {
    for (const PrefixRule* rule : rules) {
        if (!rule->check) return tree.out.ret(rule->action);
        BpfWriter::Label fails = tree.out.label();
        write_check(tree.out, *rule->check, fails);
        tree.out.ret(rule->action);
        tree.out.place(fails);
    }
    tree.out.jump(tree.body);
}

std::vector<std::uint32_t> architectures_of(const std::vector<PrefixRule>& rules) {
    std::vector<std::uint32_t> arches;  // in the order of the policy's architectures
    for (const auto& rule : rules)
        if (std::find(arches.begin(), arches.end(), rule.audit_arch) == arches.end()) arches.push_back(rule.audit_arch);
    return arches;
}

BpfWriter write_tree(const std::vector<PrefixRule>& rules, const std::vector<sock_filter>& body, Reach reach) {
    TreeWriter tree(reach);
    auto arches = architectures_of(rules);
    std::vector<BpfWriter::Label> searches, entries;
    tree.out.load(kArchWord);
    for (std::uint32_t arch : arches) {
        BpfWriter::Label search = tree.out.label(), next = tree.out.label();
        tree.out.jump_if(BPF_JEQ, arch, search, next);
        tree.out.place(next);
        searches.push_back(search);
        entries.push_back(tree.out.label());
    }
    tree.out.jump(tree.body);  // another architecture: libseccomp's part kills it
    for (std::size_t i = 0; i < arches.size(); ++i) {
        std::vector<const PrefixRule*> own;
        for (const auto& rule : rules)
            if (rule.audit_arch == arches[i]) own.push_back(&rule);
        tree.out.place(searches[i]);
        tree.out.load(kNrWord);
        tree.entry = entries[i];
        write_search(tree, segments_of(own));
    }
    for (const auto& [label, applying] : tree.arg_tests) {
        tree.out.place(label);
        write_arg_tests(tree, applying);
    }
    std::size_t start = tree.out.size();
    tree.out.place(tree.body);
    for (std::size_t i = 0; i < arches.size(); ++i) tree.out.place_at(entries[i], start + entry_for(body, arches[i]));
    tree.out.append(body);
    return std::move(tree.out);
}

std::vector<sock_filter> tree_program(const std::vector<PrefixRule>& rules, const std::vector<sock_filter>& body) {
    BpfWriter direct = write_tree(rules, body, Reach::Direct);
    return direct.in_reach() ? direct.finish() : write_tree(rules, body, Reach::ThroughJump).finish();
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

// The rules libseccomp can say, as its program: the architecture check (any other is killed),
// then the syscall numbers, then their arguments.
std::vector<sock_filter> libseccomp_program(const SeccompPolicy& policy, bool notify, SeccompLayout layout) {
    FilterContext ctx(seccomp_init(SCMP_ACT_ALLOW), &seccomp_release);
    if (!ctx) throw SetupError(Stage::Seccomp, "seccomp_init failed", "libseccomp could not allocate a filter");
    // Any other architecture (say, a 32-bit ARM binary on an x86 host through binfmt) is killed:
    // a call the filter cannot read must not run.
    int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    if (rc < 0) fail("seccomp_attr_set ACT_BADARCH", rc);
    // We set no_new_privs ourselves, in the order the payload needs.
    rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0);
    if (rc < 0) fail("seccomp_attr_set CTL_NNP", rc);
    for (const auto& name : policy.architectures) {
        std::uint32_t token = arch_token(name);
        if (token == seccomp_arch_native()) continue;  // already in
        rc = seccomp_arch_add(ctx.get(), token);
        if (rc < 0 && rc != -EEXIST) fail("seccomp_arch_add " + name, rc);
    }
    std::size_t added = 0;
    for (const auto& rule : policy.rules)
        if (!rule.derived && !compiled_by_us(rule) && add_rule(ctx.get(), rule, notify)) ++added;
    // A binary search on the syscall number instead of one test per rule. Not for a filter
    // without rules: libseccomp 2.5.3 and older then drop the default action (their bug #370).
    if (layout == SeccompLayout::Tree && added > 0) {
        rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);
        if (rc < 0) fail("seccomp_attr_set CTL_OPTIMIZE", rc);
    }
    return export_program(ctx.get());
}

}  // namespace

SeccompProgram compile_seccomp(const SeccompPolicy& policy, SeccompLayout layout) {
    SeccompProgram program;
    if (!policy.enabled) return program;
    if (policy.architectures.empty())
        throw SetupError(Stage::Seccomp, "a filter for no architecture", hint(Cause::Bug));
    program.notify = policy.mode != SeccompMode::Enforce;
    auto body = libseccomp_program(policy, program.notify, layout);
    if (body.empty())
        throw SetupError(Stage::Seccomp, "libseccomp exported an empty filter", hint(Cause::Bug));
    auto prefix = prefix_rules(policy, program.notify);
    program.code = layout == SeccompLayout::Tree ? tree_program(prefix, body) : linear_program(prefix, body);
    if (program.code.size() > kMaxInstructions)
        throw SetupError(Stage::Seccomp, "the filter has " + std::to_string(program.code.size()) +
                                        " instructions; the kernel takes at most 4096",
                         "deny fewer system calls with argument conditions in [seccomp]");
    return program;
}

}  // namespace sb
