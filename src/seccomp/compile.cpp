#include "seccomp/compile.hpp"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "sys/error.hpp"

namespace sb {
namespace {

using FilterContext = std::unique_ptr<void, decltype(&seccomp_release)>;
constexpr std::uint32_t kX32Bit = 0x40000000;
constexpr std::uint32_t kArmPrivateBase = 0x0f0000;  // cacheflush, set_tls, ...: never "future"
constexpr std::size_t kMaxInstructions = 4096;       // BPF_MAXINSNS

[[noreturn]] void fail(const std::string& what, int rc) {
    throw SetupError("seccomp", what + ": " + std::strerror(-rc),
                     "this libseccomp cannot express the policy; check [seccomp] in the profile");
}

scmp_compare compare_op(ArgCheck::Op op) {
    switch (op) {
        case ArgCheck::Op::Equal: return SCMP_CMP_EQ;
        case ArgCheck::Op::MaskedEqual: return SCMP_CMP_MASKED_EQ;
        case ArgCheck::Op::GreaterEqual: return SCMP_CMP_GE;
    }
    return SCMP_CMP_EQ;
}

std::uint32_t arch_token(const std::string& name) {
    return name == "native" ? seccomp_arch_native() : seccomp_arch_resolve_name(name.c_str());
}

void add_rule(scmp_filter_ctx ctx, const SyscallRule& rule, bool notify) {
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
    if (rc < 0 && rc != -EDOM) fail("seccomp_rule_add " + rule.syscall, rc);
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

std::vector<FutureRange> future_ranges() {
    std::vector<FutureRange> ranges;
    for (const auto& name : seccomp_architectures()) {
        std::uint32_t token = arch_token(name);
        std::uint32_t top = highest_known(token);
        if (token == SCMP_ARCH_X86_64) {
            ranges.push_back({AUDIT_ARCH_X86_64, top + 1, kX32Bit - 1});
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

// A prefix that answers ENOSYS for syscall numbers in a future range, then falls through to
// libseccomp's program (which reloads what it needs). Jumps are relative, so prepending is safe.
std::vector<sock_filter> future_prefix() {
    std::vector<sock_filter> code;
    constexpr std::uint32_t kArch = offsetof(seccomp_data, arch), kNr = offsetof(seccomp_data, nr);
    for (const auto& range : future_ranges()) {
        // if (arch == A && nr >= first && nr <= last) return ERRNO(ENOSYS);
        code.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kArch));
        code.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, range.audit_arch, 0, 4));
        code.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kNr));
        code.push_back(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, range.first, 0, 2));
        code.push_back(BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, range.last, 1, 0));
        code.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS));
    }
    return code;
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

// The rules with a NotIn32 check, for every architecture:
//   if (arch == A && nr == N && (u32)args[i] not in {v...}) return ERRNO(e) (or USER_NOTIF);
// then fall through. A few instructions a rule, where libseccomp would need one rule per value
// range (and hundreds of instructions: every instruction costs at each filter load).
std::vector<sock_filter> value_set_rules(const std::vector<SyscallRule>& rules, bool notify) {
    static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the low 32 bits of an argument come first");
    constexpr std::uint32_t kArch = offsetof(seccomp_data, arch), kNr = offsetof(seccomp_data, nr);
    std::vector<sock_filter> code;
    for (const auto& rule : rules) {
        if (!compiled_by_us(rule)) continue;
        if (rule.when.size() != 1) throw SetupError("seccomp", "a value-set rule for " + rule.syscall + " has other checks");
        const ArgCheck& check = rule.when.front();
        // Jump offsets are 8 bits: a block is values + 5 instructions long.
        if (check.values.empty() || check.values.size() > 250)
            throw SetupError("seccomp", "a value-set rule for " + rule.syscall + " has " +
                                            std::to_string(check.values.size()) + " values (1 to 250)");
        std::uint32_t action = notify ? SECCOMP_RET_USER_NOTIF : SECCOMP_RET_ERRNO | (rule.error & SECCOMP_RET_DATA);
        for (const auto& name : seccomp_architectures()) {
            std::uint32_t token = arch_token(name);
            int nr = direct_syscall_number(token, rule.syscall);
            if (nr < 0) continue;  // no such call on this architecture
            std::uint32_t audit = token == SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : token;
            auto values = static_cast<std::uint8_t>(check.values.size());
            // Skip counts are relative to the next instruction.
            std::uint8_t past = static_cast<std::uint8_t>(values + 4);  // from the arch test to the end
            code.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kArch));
            code.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, audit, 0, past));
            code.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kNr));
            code.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<std::uint32_t>(nr), 0, static_cast<std::uint8_t>(past - 2)));
            code.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                    static_cast<std::uint32_t>(offsetof(seccomp_data, args) + 8 * check.arg)));
            for (std::uint8_t i = 0; i < values; ++i)
                code.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, check.values[i], static_cast<std::uint8_t>(values - i), 0));
            code.push_back(BPF_STMT(BPF_RET | BPF_K, action));
        }
    }
    return code;
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

}  // namespace

SeccompProgram compile_seccomp(const SeccompPolicy& policy) {
    SeccompProgram program;
    if (!policy.enabled) return program;
    program.notify = policy.mode != SeccompMode::Enforce;
    FilterContext ctx(seccomp_init(SCMP_ACT_ALLOW), &seccomp_release);
    if (!ctx) throw SetupError("seccomp", "seccomp_init failed", "libseccomp could not allocate a filter");
    // Any other architecture (say, a 32-bit ARM binary on an x86 host through binfmt) is killed:
    // a call the filter cannot read must not run.
    int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    if (rc < 0) fail("seccomp_attr_set ACT_BADARCH", rc);
    // We set no_new_privs ourselves, in the order the payload needs.
    rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0);
    if (rc < 0) fail("seccomp_attr_set CTL_NNP", rc);
    for (const auto& name : seccomp_architectures()) {
        std::uint32_t token = arch_token(name);
        if (token == seccomp_arch_native()) continue;  // already in
        rc = seccomp_arch_add(ctx.get(), token);
        if (rc < 0 && rc != -EEXIST) fail("seccomp_arch_add " + name, rc);
    }
    for (const auto& rule : policy.rules)
        if (!rule.derived && !compiled_by_us(rule)) add_rule(ctx.get(), rule, program.notify);
    program.code = future_prefix();
    auto value_sets = value_set_rules(policy.rules, program.notify);
    program.code.insert(program.code.end(), value_sets.begin(), value_sets.end());
    auto body = export_program(ctx.get());
    program.code.insert(program.code.end(), body.begin(), body.end());
    if (body.empty())
        throw SetupError("seccomp", "libseccomp exported an empty filter", "this is a bug in sandbox; please report it");
    if (program.code.size() > kMaxInstructions)
        throw SetupError("seccomp", "the filter has " + std::to_string(program.code.size()) +
                                        " instructions; the kernel takes at most 4096",
                         "deny fewer system calls with argument conditions in [seccomp]");
    return program;
}

}  // namespace sb
