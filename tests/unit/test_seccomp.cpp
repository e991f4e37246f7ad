// Seccomp: the policy as data (src/seccomp/policy.cpp), the compiled classic-BPF program
// (src/seccomp/compile.cpp) run through a small interpreter below, the prebuilt programs
// (src/seccomp/program.cpp) and the [security]/[seccomp] tables of profiles
// (src/profile/security.cpp). Syscall numbers come from the kernel headers, not from libseccomp,
// so the program is checked against the ABI the kernel really uses.
#include <catch2/catch.hpp>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>

#include "profile/profile.hpp"
#include "seccomp/bpf_writer.hpp"
#include "seccomp/compile.hpp"
#include "seccomp/violations.hpp"
#include "seccomp/policy.hpp"
#include "support.hpp"

using sb::SeccompMode;
using sb::SeccompPolicy;
using sb::SeccompProgram;
using sb::SeccompSettings;
using sb::SyscallChoice;

namespace {

// ---------------------------------------------------------------------------------------------
// A classic-BPF interpreter for seccomp programs: exactly the instructions libseccomp 2.5 and the
// prefix emit (loads of seccomp_data words, AND with a constant, JA, JEQ/JGT/JGE with a
// constant, RET with a constant; the test "the compiled programs use exactly the instructions
// the interpreter knows" keeps that true). Anything else throws, so an unexpected opcode fails
// the test loudly instead of being guessed at.

using Values = std::vector<std::uint64_t>;

struct Args {
    std::uint64_t v[6] = {};
};

Args args(std::initializer_list<std::uint64_t> values) {
    Args out;
    std::size_t i = 0;
    for (auto value : values) out.v[i++] = value;
    return out;
}

std::string hex(std::uint64_t value) {
    std::ostringstream out;
    out << "0x" << std::hex << value;
    return out.str();
}

[[noreturn]] void bad_program(std::size_t pc, const std::string& what) {
    throw std::runtime_error("BPF instruction " + std::to_string(pc) + ": " + what);
}

std::uint32_t load_word(const seccomp_data& data, std::uint32_t offset, std::size_t pc) {
    if (offset % 4 != 0 || offset + 4 > sizeof(seccomp_data)) bad_program(pc, "load outside seccomp_data " + hex(offset));
    std::uint32_t word;
    std::memcpy(&word, reinterpret_cast<const char*>(&data) + offset, sizeof word);
    return word;
}

// Whether the conditional jump (JEQ, JGT, JGE or JSET with a constant) is taken.
bool jump_taken(const sock_filter& insn, std::uint32_t a) {
    switch (BPF_OP(insn.code)) {
        case BPF_JEQ: return a == insn.k;
        case BPF_JGT: return a > insn.k;
        case BPF_JSET: return (a & insn.k) != 0;
        default: return a >= insn.k;  // BPF_JGE: run_bpf lets no other jump through
    }
}

// One run of a program: its answer, or where it stopped.
struct Trace {
    std::uint32_t ret = 0;
    std::size_t steps = 0;         // instructions run, the last one included
    bool read_argument = false;    // stopped at a load of something other than nr and arch
};

bool loads_argument(const sock_filter& insn) {
    return insn.code == (BPF_LD | BPF_W | BPF_ABS) && insn.k != offsetof(seccomp_data, nr) &&
           insn.k != offsetof(seccomp_data, arch);
}

// With stop_at_argument, runs as the kernel does when it loads a filter (seccomp_cache_prepare
// emulates the program for each syscall number to cache the calls it always allows): up to a
// return or the first instruction that loads an argument.
Trace trace_bpf(const std::vector<sock_filter>& code, const seccomp_data& data, bool stop_at_argument = false) {
    std::uint32_t a = 0;
    Trace trace;
    for (std::size_t pc = 0; pc < code.size(); ++pc) {
        const sock_filter& insn = code[pc];
        ++trace.steps;
        auto jump_to = [&](std::size_t offset) {
            if (pc + 1 + offset >= code.size()) bad_program(pc, "jump past the end");
            pc += offset;
        };
        if (stop_at_argument && loads_argument(insn)) {
            trace.read_argument = true;
            return trace;
        }
        switch (insn.code) {
            case BPF_LD | BPF_W | BPF_ABS: a = load_word(data, insn.k, pc); break;
            case BPF_ALU | BPF_AND | BPF_K: a &= insn.k; break;
            case BPF_JMP | BPF_JA: jump_to(insn.k); break;
            case BPF_JMP | BPF_JEQ | BPF_K:
            case BPF_JMP | BPF_JGT | BPF_K:
            case BPF_JMP | BPF_JGE | BPF_K:
            case BPF_JMP | BPF_JSET | BPF_K: jump_to(jump_taken(insn, a) ? insn.jt : insn.jf); break;
            case BPF_RET | BPF_K: trace.ret = insn.k; return trace;
            default: bad_program(pc, "opcode " + hex(insn.code) + " not understood by the test interpreter");
        }
    }
    throw std::runtime_error("BPF program ran off its end without returning");
}

std::uint32_t run_bpf(const std::vector<sock_filter>& code, const seccomp_data& data) {
    return trace_bpf(code, data).ret;
}

// The opcodes run_bpf implements.
const std::set<std::uint16_t>& interpreted_opcodes() {
    static const std::set<std::uint16_t> codes = {BPF_LD | BPF_W | BPF_ABS,  BPF_ALU | BPF_AND | BPF_K,
                                                  BPF_JMP | BPF_JA,          BPF_JMP | BPF_JEQ | BPF_K,
                                                  BPF_JMP | BPF_JGT | BPF_K, BPF_JMP | BPF_JGE | BPF_K,
                                                  BPF_JMP | BPF_JSET | BPF_K, BPF_RET | BPF_K};
    return codes;
}

// ---------------------------------------------------------------------------------------------
// ABIs and their syscall numbers (x86_64 from <sys/syscall.h>, i386 and x32 copied from the
// kernel's asm/unistd_32.h and asm/unistd_x32.h; -1: the ABI has no such call).

enum class Abi { X86_64, I386, X32 };
constexpr Abi kAbis[] = {Abi::X86_64, Abi::I386, Abi::X32};
constexpr std::uint32_t kX32Bit = 0x40000000;

const char* abi_name(Abi abi) { return abi == Abi::X86_64 ? "x86_64" : abi == Abi::I386 ? "i386" : "x32"; }
std::uint32_t audit_arch(Abi abi) { return abi == Abi::I386 ? AUDIT_ARCH_I386 : AUDIT_ARCH_X86_64; }
std::uint32_t scmp_token(Abi abi) {
    return abi == Abi::X86_64 ? SCMP_ARCH_X86_64 : abi == Abi::I386 ? SCMP_ARCH_X86 : SCMP_ARCH_X32;
}

struct SyscallNumbers {
    const char* name;
    int x86_64, i386, x32;  // x32 without its bit
};

#define X64(name) SYS_##name
// clang-format off
const SyscallNumbers kNumbers[] = {
    {"read", X64(read), 3, 0},
    {"clone", X64(clone), 120, 56},
    {"unshare", X64(unshare), 310, 272},
    {"setns", X64(setns), 346, 308},
    {"clone3", X64(clone3), 435, 435},
    {"mount", X64(mount), 21, 165},
    {"umount", -1, 22, -1},
    {"umount2", X64(umount2), 52, 166},
    {"pivot_root", X64(pivot_root), 217, 155},
    {"chroot", X64(chroot), 61, 161},
    {"open_tree", X64(open_tree), 428, 428},
    {"move_mount", X64(move_mount), 429, 429},
    {"fsopen", X64(fsopen), 430, 430},
    {"fsconfig", X64(fsconfig), 431, 431},
    {"fsmount", X64(fsmount), 432, 432},
    {"fspick", X64(fspick), 433, 433},
    {"mount_setattr", X64(mount_setattr), 442, 442},
    {"add_key", X64(add_key), 286, 248},
    {"keyctl", X64(keyctl), 288, 250},
    {"request_key", X64(request_key), 287, 249},
    {"io_uring_setup", X64(io_uring_setup), 425, 425},
    {"io_uring_enter", X64(io_uring_enter), 426, 426},
    {"io_uring_register", X64(io_uring_register), 427, 427},
    {"bpf", X64(bpf), 357, 321},
    {"perf_event_open", X64(perf_event_open), 336, 298},
    {"userfaultfd", X64(userfaultfd), 374, 323},
    {"fanotify_init", X64(fanotify_init), 338, 300},
    {"lookup_dcookie", X64(lookup_dcookie), 253, 212},
    {"ptrace", X64(ptrace), 26, 521},
    {"process_vm_readv", X64(process_vm_readv), 347, 539},
    {"process_vm_writev", X64(process_vm_writev), 348, 540},
    {"kcmp", X64(kcmp), 349, 312},
    {"open_by_handle_at", X64(open_by_handle_at), 342, 304},
    {"name_to_handle_at", X64(name_to_handle_at), 341, 303},
    {"init_module", X64(init_module), 128, 175},
    {"finit_module", X64(finit_module), 350, 313},
    {"delete_module", X64(delete_module), 129, 176},
    {"create_module", X64(create_module), 127, -1},
    {"get_kernel_syms", X64(get_kernel_syms), 130, -1},
    {"query_module", X64(query_module), 167, -1},
    {"kexec_load", X64(kexec_load), 283, 528},
    {"kexec_file_load", X64(kexec_file_load), -1, 320},
    {"reboot", X64(reboot), 88, 169},
    {"swapon", X64(swapon), 87, 167},
    {"swapoff", X64(swapoff), 115, 168},
    {"syslog", X64(syslog), 103, 103},
    {"acct", X64(acct), 51, 163},
    {"quotactl", X64(quotactl), 131, 179},
    {"quotactl_fd", X64(quotactl_fd), 443, 443},
    {"vhangup", X64(vhangup), 111, 153},
    {"settimeofday", X64(settimeofday), 79, 164},
    {"stime", -1, 25, -1},
    {"clock_settime", X64(clock_settime), 264, 227},
    {"clock_adjtime", X64(clock_adjtime), 343, 305},
    {"nfsservctl", X64(nfsservctl), 169, -1},
    {"_sysctl", X64(_sysctl), 149, -1},
    {"iopl", X64(iopl), 110, 172},
    {"ioperm", X64(ioperm), 101, 173},
    {"modify_ldt", X64(modify_ldt), 123, 154},
    {"vm86", -1, 166, -1},
    {"vm86old", -1, 113, -1},
    {"uselib", X64(uselib), 86, -1},
    {"ustat", X64(ustat), 62, 136},
    {"sysfs", X64(sysfs), 135, 139},
    {"mbind", X64(mbind), 274, 237},
    {"get_mempolicy", X64(get_mempolicy), 275, 239},
    {"set_mempolicy", X64(set_mempolicy), 276, 238},
    {"migrate_pages", X64(migrate_pages), 294, 256},
    {"move_pages", X64(move_pages), 317, 533},
    {"set_mempolicy_home_node", X64(set_mempolicy_home_node), 450, 450},
    {"ioctl", X64(ioctl), 54, 514},
    {"socket", X64(socket), 359, 41},
    {"socketpair", X64(socketpair), 360, 53},
    {"personality", X64(personality), 136, 135},
    {"socketcall", -1, 102, -1},
};
// clang-format on
#undef X64

const SyscallNumbers* numbers_of(const std::string& name) {
    for (const auto& entry : kNumbers)
        if (name == entry.name) return &entry;
    return nullptr;
}

// The number of `name` in `abi` (x32 with its bit), or -1 when the ABI lacks it.
std::int64_t nr_of(Abi abi, const std::string& name) {
    const SyscallNumbers* entry = numbers_of(name);
    if (!entry) throw std::logic_error("syscall " + name + " is missing from the test's number table");
    switch (abi) {
        case Abi::X86_64: return entry->x86_64;
        case Abi::I386: return entry->i386;
        case Abi::X32: return entry->x32 < 0 ? -1 : std::int64_t{entry->x32} | kX32Bit;
    }
    return -1;
}

// ---------------------------------------------------------------------------------------------
// Verdicts, as text so a failing CHECK says what the filter answered.

std::string verdict_text(std::uint32_t ret) {
    std::uint32_t action = ret & SECCOMP_RET_ACTION_FULL, data = ret & SECCOMP_RET_DATA;
    switch (action) {
        case SECCOMP_RET_ALLOW: return "ALLOW";
        case SECCOMP_RET_KILL_PROCESS: return "KILL_PROCESS";
        case SECCOMP_RET_USER_NOTIF: return "USER_NOTIF";
        case SECCOMP_RET_ERRNO: return "ERRNO(" + sb::errno_name(static_cast<int>(data)) + ")";
    }
    return "other " + hex(ret);
}

const std::string kAllow = "ALLOW", kKill = "KILL_PROCESS", kNotify = "USER_NOTIF";
std::string refused(int error) { return verdict_text(SECCOMP_RET_ERRNO | static_cast<std::uint32_t>(error)); }

// The compiled program's answer for one call, as the kernel would hand it over.
std::string decide_raw(const SeccompProgram& program, std::uint32_t arch, std::uint32_t nr, const Args& a = {}) {
    seccomp_data data{};
    data.nr = static_cast<int>(nr);
    data.arch = arch;
    data.instruction_pointer = 0x401000;
    for (int i = 0; i < 6; ++i) data.args[i] = a.v[i];
    return verdict_text(run_bpf(program.code, data));
}

std::string decide(const SeccompProgram& program, Abi abi, std::uint32_t nr, const Args& a = {}) {
    return decide_raw(program, audit_arch(abi), nr, a);
}

// By name: the ABI must have the call.
std::string decide(const SeccompProgram& program, Abi abi, const std::string& name, const Args& a = {}) {
    std::int64_t nr = nr_of(abi, name);
    if (nr < 0) throw std::logic_error(name + " does not exist on " + abi_name(abi));
    return decide(program, abi, static_cast<std::uint32_t>(nr), a);
}

// What the policy as data says about the call: the rule matching_rule finds, in the policy's mode.
std::string expected(const SeccompPolicy& policy, const std::string& name, const Args& a = {}) {
    const sb::SyscallRule* rule = sb::matching_rule(policy, name, a.v);
    if (!rule) return kAllow;
    return policy.mode == SeccompMode::Enforce ? refused(rule->error) : kNotify;
}

// ---------------------------------------------------------------------------------------------
// Policies and programs.

SeccompSettings settings_with(std::map<std::string, SyscallChoice> syscalls = {}, bool nested = false) {
    SeccompSettings settings;
    settings.nested_namespaces = nested;
    settings.syscalls = std::move(syscalls);
    return settings;
}

SyscallChoice allow() { return SyscallChoice{true, 0, {}}; }
SyscallChoice deny(int error = EPERM) { return SyscallChoice{false, error, {}}; }

SeccompPolicy default_policy(bool nested = false, SeccompMode mode = SeccompMode::Enforce) {
    return sb::build_seccomp_policy(settings_with({}, nested), mode);
}

SeccompProgram compiled(const SeccompPolicy& policy) { return sb::compile_seccomp(policy); }

std::vector<std::string> rule_names(const SeccompPolicy& policy) {
    std::vector<std::string> names;
    for (const auto& rule : policy.rules)
        if (std::find(names.begin(), names.end(), rule.syscall) == names.end()) names.push_back(rule.syscall);
    return names;
}

std::vector<const sb::SyscallRule*> rules_for(const SeccompPolicy& policy, const std::string& name) {
    std::vector<const sb::SyscallRule*> out;
    for (const auto& rule : policy.rules)
        if (rule.syscall == name) out.push_back(&rule);
    return out;
}

// Arguments that satisfy every comparison of `rule` (the others zero).
Args args_matching(const sb::SyscallRule& rule) {
    Args a;
    for (const auto& check : rule.when) {
        a.v[check.arg] = check.value;
        if (check.op == sb::ArgCheck::Op::In32) a.v[check.arg] = check.values.front();
        if (check.op == sb::ArgCheck::Op::NotIn32)  // the first value outside the set
            while (std::find(check.values.begin(), check.values.end(), a.v[check.arg]) != check.values.end())
                ++a.v[check.arg];
        if (check.op == sb::ArgCheck::Op::AnyBit32)  // the lowest of the bits
            a.v[check.arg] = check.mask & (~check.mask + 1);
    }
    return a;
}

bool same_code(const std::vector<sock_filter>& a, const std::vector<sock_filter>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].code != b[i].code || a[i].jt != b[i].jt || a[i].jf != b[i].jf || a[i].k != b[i].k) return false;
    return true;
}

// The highest number libseccomp names for the ABI, found by scanning numbers (not names, as
// compile.cpp does), so a libseccomp that knows a call compile.cpp's list forgot shows up here.
std::uint32_t highest_named(Abi abi) {
    std::uint32_t highest = 0, bias = abi == Abi::X32 ? kX32Bit : 0;
    for (std::uint32_t nr = 0; nr < 1024; ++nr) {
        if (abi == Abi::X32 && nr >= 512 && nr < 548) continue;  // x32's own compat calls
        char* name = seccomp_syscall_resolve_num_arch(scmp_token(abi), static_cast<int>(nr | bias));
        if (name) highest = nr;
        std::free(name);
    }
    return highest;
}

// The name libseccomp gives a number of the ABI, "" for none.
std::string name_of(Abi abi, std::uint32_t nr) {
    char* name = seccomp_syscall_resolve_num_arch(scmp_token(abi), static_cast<int>(nr));
    std::string out = name ? name : "";
    std::free(name);
    return out;
}

// ---------------------------------------------------------------------------------------------
// Profiles.

const std::string kFile = "/mem/test.toml";

SeccompSettings seccomp_of(const std::string& text) { return test::load_text(text).seccomp; }

sb::ConfigError error_of(const std::string& text) {
    auto error = test::config_error(text);
    if (!error) FAIL("expected a ConfigError for:\n" << text);
    return *error;
}

// Asserts the exact location in /mem/test.toml and a fragment of the message.
void expect_error(const std::string& text, int line, int column, const std::string& fragment) {
    sb::ConfigError error = error_of(text);
    INFO("profile:\n" << text << "\nerror: " << error.what());
    CHECK(error.where().file == kFile);
    CHECK(error.where().line == line);
    CHECK(error.where().column == column);
    CHECK_THAT(error.message(), Catch::Matchers::Contains(fragment));
}

// The profile's choices in a comparable form: name -> "allow" or the errno name.
std::map<std::string, std::string> choices(const SeccompSettings& settings) {
    std::map<std::string, std::string> out;
    for (const auto& [name, choice] : settings.syscalls) out[name] = choice.allow ? "allow" : sb::errno_name(choice.error);
    return out;
}

// Flags and values the tests use, named.
constexpr std::uint64_t kTiocsti = 0x5412, kTioclinux = 0x541C, kFionread = 0x541B;
constexpr std::uint64_t kCloneNewFlags[] = {CLONE_NEWNS,  CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                                            CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET};
constexpr std::uint64_t kThreadFlags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                                       CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
constexpr std::uint64_t kForkFlags = CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD;
constexpr std::uint64_t kVforkFlags = CLONE_VM | CLONE_VFORK | SIGCHLD;

}  // namespace

// =============================================================================================
// The interpreter and the program's shape

namespace {
// Below, with the policies the layouts are compared on.
SeccompPolicy many_denials();
SeccompPolicy libseccomp_checks();
}  // namespace

TEST_CASE("seccomp: the compiled programs use exactly the instructions the test interpreter knows", "[seccomp]") {
    std::set<std::uint16_t> seen;
    for (bool nested : {false, true})
        for (auto mode : {SeccompMode::Enforce, SeccompMode::Log})
            for (const auto& insn : compiled(default_policy(nested, mode)).code) seen.insert(insn.code);
    for (auto code : compiled(sb::build_seccomp_policy(settings_with({{"socket", deny(EACCES)}}), SeccompMode::Enforce)).code)
        seen.insert(code.code);
    // The reference layout the tree is held to (its ranges test with BPF_JGT, libseccomp jumps).
    for (auto code : sb::compile_seccomp(default_policy(), sb::SeccompLayout::Linear).code) seen.insert(code.code);
    for (auto code : compiled(many_denials()).code) seen.insert(code.code);
    for (auto code : compiled(libseccomp_checks()).code) seen.insert(code.code);
    for (auto code : seen) {
        INFO("opcode " << hex(code));
        CHECK(interpreted_opcodes().count(code) == 1);
    }
    // And nothing the interpreter implements goes unused (so none of it is untested guesswork).
    CHECK(seen == interpreted_opcodes());
}

TEST_CASE("seccomp: the test interpreter refuses what it does not understand", "[seccomp]") {
    seccomp_data data{};
    CHECK_THROWS_WITH(run_bpf({BPF_STMT(BPF_LDX | BPF_W | BPF_MEM, 0)}, data), Catch::Contains("not understood"));
    CHECK_THROWS_WITH(run_bpf({BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 64)}, data), Catch::Contains("outside"));
    CHECK_THROWS_WITH(run_bpf({BPF_STMT(BPF_MISC | BPF_TAX, 0)}, data), Catch::Contains("not understood"));
    CHECK_THROWS_WITH(run_bpf({BPF_STMT(BPF_JMP | BPF_JA, 1), BPF_STMT(BPF_RET | BPF_K, 0)}, data),
                      Catch::Contains("past the end"));
    CHECK_THROWS_WITH(run_bpf({BPF_JUMP(BPF_JMP | BPF_JSET | BPF_X, 1, 0, 0)}, data), Catch::Contains("not understood"));
    CHECK_THROWS_WITH(run_bpf({BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_X, 0, 0, 0)}, data), Catch::Contains("not understood"));
    CHECK_THROWS_WITH(run_bpf({BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 5, 5)}, data), Catch::Contains("past the end"));
    CHECK_THROWS_WITH(run_bpf({BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0)}, data), Catch::Contains("off its end"));
    CHECK(run_bpf({BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)}, data) == SECCOMP_RET_ALLOW);
}

TEST_CASE("seccomp: the compiled programs fit the kernel's limit", "[seccomp]") {
    for (bool nested : {false, true}) {
        auto program = compiled(default_policy(nested));
        INFO("nested " << nested << ": " << program.code.size() << " instructions");
        CHECK(!program.code.empty());
        CHECK(program.code.size() <= BPF_MAXINSNS);
        CHECK(!program.notify);
    }
}

TEST_CASE("seccomp: the test's syscall numbers agree with libseccomp's table", "[seccomp]") {
    for (const auto& entry : kNumbers) {
        for (Abi abi : kAbis) {
            std::int64_t nr = nr_of(abi, entry.name);
            if (nr < 0) continue;
            INFO(entry.name << " on " << abi_name(abi) << " = " << nr);
            CHECK(name_of(abi, static_cast<std::uint32_t>(nr)) == entry.name);
        }
    }
}

// =============================================================================================
// The default policy, compiled, on each ABI

TEST_CASE("seccomp: every default rule refuses its call on x86_64, i386 and x32", "[seccomp]") {
    auto policy = default_policy();
    auto program = compiled(policy);
    for (const auto& rule : policy.rules) {
        Args a = args_matching(rule);
        for (Abi abi : kAbis) {
            if (nr_of(abi, rule.syscall) < 0) continue;
            if (abi == Abi::I386 && std::any_of(std::begin(a.v), std::end(a.v), [](auto v) { return v > 0xffffffffu; }))
                continue;
            INFO(rule.syscall << " on " << abi_name(abi) << " args " << hex(a.v[0]) << ", " << hex(a.v[1]));
            CHECK(decide(program, abi, rule.syscall, a) == refused(rule.error));
            // The first matching rule may be an earlier one of the same call: same errno here.
            CHECK(expected(policy, rule.syscall, a) == refused(rule.error));
        }
    }
}

TEST_CASE("seccomp: unconditional denials on i386 with the kernel's numbers", "[seccomp]") {
    auto program = compiled(default_policy());
    CHECK(decide(program, Abi::I386, 288) == refused(EPERM));  // keyctl
    CHECK(decide(program, Abi::I386, 310, args({CLONE_NEWUSER})) == refused(EPERM));  // unshare
    CHECK(decide(program, Abi::I386, 310, args({CLONE_FILES})) == kAllow);
    CHECK(decide(program, Abi::I386, 346) == refused(EPERM));  // setns
    CHECK(decide(program, Abi::I386, 54, args({0, kTiocsti})) == refused(EPERM));  // ioctl
    CHECK(decide(program, Abi::I386, 54, args({0, kFionread})) == kAllow);
    CHECK(decide(program, Abi::I386, 359, args({AF_PACKET})) == refused(EAFNOSUPPORT));  // socket
    CHECK(decide(program, Abi::I386, 359, args({AF_INET})) == kAllow);
    CHECK(decide(program, Abi::I386, 136, args({0x0040000})) == refused(EPERM));  // personality
    CHECK(decide(program, Abi::I386, 136, args({8})) == kAllow);
    CHECK(decide(program, Abi::I386, 166) == refused(EPERM));  // vm86: i386 only
    CHECK(decide(program, Abi::I386, 3) == kAllow);            // read
}

TEST_CASE("seccomp: x32 calls (x86_64 arch, nr with bit 30) are filtered too", "[seccomp]") {
    auto program = compiled(default_policy());
    CHECK(decide(program, Abi::X32, "ptrace") == refused(EPERM));  // 521: an x32 compat number
    CHECK(decide(program, Abi::X32, "keyctl") == refused(EPERM));
    CHECK(decide(program, Abi::X32, "ioctl", args({0, kTiocsti})) == refused(EPERM));
    CHECK(decide(program, Abi::X32, "ioctl", args({0, 0x100005412})) == refused(EPERM));
    CHECK(decide(program, Abi::X32, "ioctl", args({0, kFionread})) == kAllow);
    CHECK(decide(program, Abi::X32, "socket", args({AF_PACKET})) == refused(EAFNOSUPPORT));
    CHECK(decide(program, Abi::X32, "socket", args({AF_UNIX})) == kAllow);
    CHECK(decide(program, Abi::X32, "unshare", args({CLONE_NEWNET})) == refused(EPERM));
    CHECK(decide(program, Abi::X32, "read") == kAllow);
}

TEST_CASE("seccomp: ioctl refuses TIOCSTI and TIOCLINUX, whatever the high 32 bits", "[seccomp]") {
    auto program = compiled(default_policy());
    for (std::uint64_t request : Values{kTiocsti, kTioclinux, 0x100005412ull, 0xffffffff00005412ull, 0x10000541Cull}) {
        INFO("request " << hex(request));
        CHECK(decide(program, Abi::X86_64, "ioctl", args({1, request})) == refused(EPERM));
    }
    for (std::uint64_t request : Values{kFionread, std::uint64_t{0x5413} /*TIOCGWINSZ*/, std::uint64_t{0}, 0x100000000ull}) {
        INFO("request " << hex(request));
        CHECK(decide(program, Abi::X86_64, "ioctl", args({1, request})) == kAllow);
    }
    // The request is argument 1: TIOCSTI as the fd number is nothing.
    CHECK(decide(program, Abi::X86_64, "ioctl", args({kTiocsti, kFionread})) == kAllow);
}

TEST_CASE("seccomp: socket allows AF_UNIX, AF_INET, AF_INET6 and AF_NETLINK only", "[seccomp]") {
    auto program = compiled(default_policy());
    for (std::uint64_t family : Values{AF_UNIX, AF_INET, AF_INET6, AF_NETLINK}) {
        INFO("family " << family);
        CHECK(decide(program, Abi::X86_64, "socket", args({family, SOCK_STREAM})) == kAllow);
    }
    // The kernel reads the family as an int: high bits do not change what it is.
    CHECK(decide(program, Abi::X86_64, "socket", args({(1ull << 32) | AF_UNIX, SOCK_STREAM})) == kAllow);
    for (std::uint64_t family : Values{AF_PACKET, AF_PACKET | (1ull << 32), 0, 3, 99, AF_BLUETOOTH, AF_VSOCK,
                                       ~0ull}) {
        INFO("family " << hex(family));
        CHECK(decide(program, Abi::X86_64, "socket", args({family, SOCK_RAW})) == refused(EAFNOSUPPORT));
    }
}

TEST_CASE("seccomp: personality allows the Linux personas and the query only", "[seccomp]") {
    auto program = compiled(default_policy());
    for (std::uint64_t persona : {0x0ull, 0x8ull, 0x20000ull, 0x20008ull, 0xffffffffull}) {
        INFO("persona " << hex(persona));
        CHECK(decide(program, Abi::X86_64, "personality", args({persona})) == kAllow);
        CHECK(decide(program, Abi::I386, "personality", args({persona})) == kAllow);
    }
    for (std::uint64_t persona : {0x0040000ull /*ADDR_NO_RANDOMIZE*/, 0x0400000ull /*READ_IMPLIES_EXEC*/,
                                  0x80000000ull, 0xfffffffeull, 0x1ull, 0x20009ull, 0x7fffffffull}) {
        INFO("persona " << hex(persona));
        CHECK(decide(program, Abi::X86_64, "personality", args({persona})) == refused(EPERM));
        CHECK(decide(program, Abi::I386, "personality", args({persona})) == refused(EPERM));
    }
}

TEST_CASE("seccomp: clone refuses every CLONE_NEW* flag and allows fork, vfork and threads", "[seccomp]") {
    auto program = compiled(default_policy());
    for (Abi abi : kAbis) {
        for (std::uint64_t flag : kCloneNewFlags) {
            INFO(abi_name(abi) << " flag " << hex(flag));
            CHECK(decide(program, abi, "clone", args({flag})) == refused(EPERM));
            CHECK(decide(program, abi, "clone", args({flag | kForkFlags})) == refused(EPERM));
        }
        for (std::uint64_t flags : {std::uint64_t{SIGCHLD}, kForkFlags, kVforkFlags, kThreadFlags,
                                    std::uint64_t{CLONE_NEWTIME} /*in clone(): exit signal 128*/}) {
            INFO(abi_name(abi) << " flags " << hex(flags));
            CHECK(decide(program, abi, "clone", args({flags})) == kAllow);
        }
    }
}

TEST_CASE("seccomp: unshare refuses new namespaces including CLONE_NEWTIME", "[seccomp]") {
    auto program = compiled(default_policy());
    for (Abi abi : kAbis) {
        INFO(abi_name(abi));
        for (std::uint64_t flag : kCloneNewFlags) CHECK(decide(program, abi, "unshare", args({flag})) == refused(EPERM));
        CHECK(decide(program, abi, "unshare", args({CLONE_NEWTIME})) == refused(EPERM));
        CHECK(decide(program, abi, "unshare", args({CLONE_FILES})) == kAllow);
        CHECK(decide(program, abi, "unshare", args({CLONE_FS | CLONE_SYSVSEM})) == kAllow);
    }
}

TEST_CASE("seccomp: clone and unshare judge the low 32 bits of their flags, as the kernel reads them",
          "[seccomp]") {
    auto program = compiled(default_policy());
    for (Abi abi : {Abi::X86_64, Abi::X32}) {  // i386 arguments have no high half
        INFO(abi_name(abi));
        for (std::uint64_t high : {0x100000000ull, 0xffffffff00000000ull}) {
            CHECK(decide(program, abi, "clone", args({high | CLONE_NEWUSER | SIGCHLD})) == refused(EPERM));
            CHECK(decide(program, abi, "clone", args({high | kForkFlags})) == kAllow);
            CHECK(decide(program, abi, "unshare", args({high | CLONE_NEWNS})) == refused(EPERM));
        }
        // Every flag at once, and each namespace flag among unrelated ones.
        CHECK(decide(program, abi, "clone", args({0xffffffffull})) == refused(EPERM));
        for (std::uint64_t flag : kCloneNewFlags)
            CHECK(decide(program, abi, "unshare", args({flag | CLONE_FILES | CLONE_FS})) == refused(EPERM));
    }
}

TEST_CASE("seccomp: clone and unshare are one rule each, a BPF_JSET, not a comparison per flag", "[seccomp]") {
    auto policy = default_policy();
    REQUIRE(rules_for(policy, "clone").size() == 1);
    REQUIRE(rules_for(policy, "unshare").size() == 1);
    CHECK(sb::compiled_by_us(*rules_for(policy, "clone").front()));
    CHECK(rules_for(policy, "unshare").front()->when.front().mask ==
          (rules_for(policy, "clone").front()->when.front().mask | CLONE_NEWTIME));
    std::size_t jsets = 0;
    for (const auto& insn : compiled(policy).code) jsets += insn.code == (BPF_JMP | BPF_JSET | BPF_K);
    CHECK(jsets == 2);  // shared by the architectures
    CHECK_THAT(sb::render_seccomp_policy(policy),
               Catch::Contains("deny clone (namespaces): EPERM when arg0 (low 32 bits) has any bit of 0x7e020000"));
}

TEST_CASE("seccomp: clone3 answers ENOSYS so libc falls back to clone", "[seccomp]") {
    auto program = compiled(default_policy());
    for (Abi abi : kAbis) {
        INFO(abi_name(abi));
        CHECK(decide(program, abi, "clone3") == refused(ENOSYS));
        CHECK(decide(program, abi, "fsopen") == refused(ENOSYS));
        CHECK(decide(program, abi, "mount") == refused(EPERM));
    }
}

TEST_CASE("seccomp: a call from another architecture kills the process", "[seccomp]") {
    auto program = compiled(default_policy());
    for (std::uint32_t arch : std::vector<std::uint32_t>{AUDIT_ARCH_AARCH64, AUDIT_ARCH_ARM, AUDIT_ARCH_PPC64LE,
                                                           AUDIT_ARCH_RISCV64, 0}) {
        INFO("arch " << hex(arch));
        CHECK(decide_raw(program, arch, 0) == kKill);
        CHECK(decide_raw(program, arch, 1000) == kKill);  // not a "future" call there either
    }
}

// =============================================================================================
// Calls newer than the table: the ENOSYS prefix

TEST_CASE("seccomp: x86_64 calls above the newest known number answer ENOSYS", "[seccomp]") {
    auto policy = default_policy();
    auto program = compiled(policy);
    std::uint32_t top = highest_named(Abi::X86_64);
    INFO("newest x86_64 call libseccomp knows: " << top << " " << name_of(Abi::X86_64, top));
    REQUIRE(top >= SYS_set_mempolicy_home_node);
    for (std::uint32_t nr = 457; nr <= 470; ++nr) {
        if (nr <= top) continue;  // a newer libseccomp: the table covers it
        INFO("nr " << nr);
        CHECK(decide(program, Abi::X86_64, nr) == refused(ENOSYS));
    }
    for (std::uint32_t nr : {top + 1, 1000u, 0x3fffffffu}) {
        INFO("nr " << nr);
        CHECK(decide(program, Abi::X86_64, nr) == refused(ENOSYS));
    }
    CHECK(decide(program, Abi::X86_64, "read") == kAllow);
    CHECK(decide(program, Abi::X86_64, top) == expected(policy, name_of(Abi::X86_64, top)));
    // x32's compat numbers without the x32 bit: old kernels ran the x32 entry for them.
    for (std::uint32_t nr = 512; nr <= 547; ++nr) {
        INFO("nr " << nr);
        CHECK(decide(program, Abi::X86_64, nr) == refused(ENOSYS));
    }
}

TEST_CASE("seccomp: every x86_64 and i386 number up to the newest known follows the rules", "[seccomp]") {
    auto policy = default_policy();
    auto program = compiled(policy);
    for (Abi abi : {Abi::X86_64, Abi::I386}) {
        std::uint32_t top = highest_named(abi);
        for (std::uint32_t nr = 0; nr <= top; ++nr) {
            std::string name = name_of(abi, nr);
            INFO(abi_name(abi) << " nr " << nr << " " << name);
            CHECK(decide(program, abi, nr) == (name.empty() ? kAllow : expected(policy, name)));
        }
        INFO(abi_name(abi) << " top " << top);
        CHECK(decide(program, abi, top + 1) == refused(ENOSYS));
        CHECK(decide(program, abi, 0xffffffffu) == refused(ENOSYS));
    }
}

TEST_CASE("seccomp: x32 numbers follow the rules up to the newest, 512..547 included", "[seccomp]") {
    auto policy = default_policy();
    auto program = compiled(policy);
    std::uint32_t top = highest_named(Abi::X32);
    auto follows_rules = [&](std::uint32_t nr) {
        std::string name = name_of(Abi::X32, kX32Bit | nr);
        INFO("x32 nr " << nr << " " << name);
        CHECK(decide(program, Abi::X32, kX32Bit | nr) == (name.empty() ? kAllow : expected(policy, name)));
    };
    for (std::uint32_t nr = 0; nr <= top; ++nr) follows_rules(nr);
    for (std::uint32_t nr = 512; nr <= 547; ++nr) {
        follows_rules(nr);
        CHECK(decide(program, Abi::X32, kX32Bit | nr) != refused(ENOSYS));
    }
    for (std::uint32_t nr : {top + 1, 511u, 548u, 1000u, 0x3fffffffu}) {
        INFO("x32 nr " << nr);
        CHECK(decide(program, Abi::X32, kX32Bit | nr) == refused(ENOSYS));
    }
}

TEST_CASE("seccomp: where the kernel runs no x32 calls, every x32 number answers ENOSYS and the rest is the same",
          "[seccomp]") {
    for (bool nested : {false, true}) {
        for (auto mode : {SeccompMode::Enforce, SeccompMode::Log}) {
            auto full = sb::build_seccomp_policy(settings_with({}, nested), mode, true);
            auto no_x32 = sb::build_seccomp_policy(settings_with({}, nested), mode, false);
            CHECK(no_x32.architectures == std::vector<std::string>{"x86_64", "x86"});
            CHECK(no_x32.rules == full.rules);
            auto with = compiled(full), without = compiled(no_x32);
            INFO("nested " << nested << ": " << with.code.size() << " -> " << without.code.size() << " instructions");
            CHECK(without.code.size() * 5 < with.code.size() * 4);  // a fifth smaller at least
            for (std::uint32_t nr = 0; nr < 1024; ++nr) {
                INFO("nr " << nr);
                CHECK(decide(without, Abi::X32, kX32Bit | nr) == refused(ENOSYS));
                CHECK(decide(without, Abi::X32, kX32Bit | nr, args({CLONE_NEWUSER, kTiocsti})) == refused(ENOSYS));
                for (Abi abi : {Abi::X86_64, Abi::I386})
                    for (const Args& a : {Args{}, args({CLONE_NEWUSER, kTiocsti}), args({AF_PACKET})})
                        CHECK(decide(without, abi, nr, a) == decide(with, abi, nr, a));
            }
            for (std::uint32_t nr : {0x40000400u, 0x7fffffffu, 0xbfffffffu, 0xffffffffu})
                CHECK(decide(without, Abi::X32, nr) == refused(ENOSYS));
        }
    }
}

// =============================================================================================
// Nested namespaces

TEST_CASE("seccomp: nested_namespaces lets namespaces and mounts through", "[seccomp]") {
    auto policy = default_policy(true);
    auto program = compiled(policy);
    for (Abi abi : kAbis) {
        INFO(abi_name(abi));
        CHECK(decide(program, abi, "unshare", args({CLONE_NEWUSER | CLONE_NEWNS})) == kAllow);
        CHECK(decide(program, abi, "unshare", args({CLONE_NEWTIME})) == kAllow);
        CHECK(decide(program, abi, "clone", args({CLONE_NEWUSER | SIGCHLD})) == kAllow);
        CHECK(decide(program, abi, "setns") == kAllow);
        CHECK(decide(program, abi, "mount") == kAllow);
        CHECK(decide(program, abi, "clone3") == kAllow);
        CHECK(decide(program, abi, "fsopen") == kAllow);
        CHECK(decide(program, abi, "pivot_root") == kAllow);
        // The rest stays.
        CHECK(decide(program, abi, "keyctl") == refused(EPERM));
        CHECK(decide(program, abi, "ioctl", args({0, kTiocsti})) == refused(EPERM));
        CHECK(decide(program, abi, "socket", args({AF_PACKET})) == refused(EAFNOSUPPORT));
    }
    for (const auto& rule : policy.rules) {
        INFO(rule.syscall);
        CHECK(rule.why != "namespaces");
        CHECK(rule.why != "mounts");
    }
}

// =============================================================================================
// The program and the policy as data must not drift

TEST_CASE("seccomp: the program's verdict equals matching_rule over a grid of calls", "[seccomp]") {
    const std::vector<std::string> names = {"clone",  "unshare", "ioctl",  "socket", "personality", "setns",
                                            "clone3", "mount",   "ptrace", "read",   "keyctl",      "bpf"};
    const std::vector<std::uint64_t> first = {0,          1,          2,          3,          8,          10,
                                              16,         17,         0x80,       SIGCHLD,    0x20000,    0x20008,
                                              0x40000,    0x400000,   CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET,
                                              kThreadFlags, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
                                              1ull << 32, (1ull << 32) | 17, (1ull << 32) | 8, ~0ull};
    const std::vector<std::uint64_t> second = {0, kTiocsti, kTioclinux, kFionread, 0x100005412, 0xffffffff0000541C};
    std::vector<SeccompPolicy> policies = {
        default_policy(false), default_policy(true), default_policy(false, SeccompMode::Log),
        sb::build_seccomp_policy(settings_with({{"socket", allow()}, {"ioctl", deny(EACCES)}, {"read", deny(EIO)}}),
                                 SeccompMode::Enforce)};
    for (const auto& policy : policies) {
        auto program = compiled(policy);
        for (Abi abi : kAbis) {
            for (const auto& name : names) {
                std::int64_t nr = nr_of(abi, name);
                if (nr < 0) continue;
                for (auto a0 : first) {
                    for (auto a1 : second) {
                        // i386 registers hold 32 bits: the kernel never hands over more.
                        if (abi == Abi::I386 && (a0 > 0xffffffffu || a1 > 0xffffffffu)) continue;
                        Args a = args({a0, a1});
                        INFO(abi_name(abi) << " " << name << "(" << hex(a0) << ", " << hex(a1)
                                           << ") nested " << policy.nested_namespaces);
                        CHECK(decide(program, abi, static_cast<std::uint32_t>(nr), a) == expected(policy, name, a));
                    }
                }
            }
        }
    }
}

TEST_CASE("seccomp: the cross-check notices a program and a policy that disagree", "[seccomp]") {
    // The grid above is only worth something if a drift shows: drop the TIOCSTI rule from the
    // data but not from the program.
    auto policy = default_policy();
    auto program = compiled(policy);
    auto stale = policy;
    stale.rules.erase(std::remove_if(stale.rules.begin(), stale.rules.end(),
                                     [](const auto& rule) { return rule.syscall == "ioctl"; }),
                      stale.rules.end());
    Args tiocsti = args({0, kTiocsti});
    CHECK(decide(program, Abi::X86_64, "ioctl", tiocsti) == expected(policy, "ioctl", tiocsti));
    CHECK(decide(program, Abi::X86_64, "ioctl", tiocsti) != expected(stale, "ioctl", tiocsti));
}

// i386's socketcall(2) multiplexer hides the socket family behind a pointer. libseccomp turns
// each conditional socket rule into "socketcall(SYS_SOCKET, ...)" without the condition, so the
// program refuses every socket() made through socketcall, while the policy as data has no rule
// for socketcall at all.
constexpr std::uint32_t kI386Socketcall = 102;
constexpr std::uint64_t kSysSocket = 1, kSysConnect = 3;
const Values kPointers = {0, 1, 2, 17, 0x08049000, 0xffffd000};

TEST_CASE("seccomp: i386 socketcall(SYS_SOCKET) never lets a family through unchecked", "[seccomp]") {
    auto program = compiled(default_policy());
    for (std::uint64_t pointer : kPointers) {
        INFO("socketcall(SYS_SOCKET, " << hex(pointer) << ")");
        CHECK(decide(program, Abi::I386, kI386Socketcall, args({kSysSocket, pointer})) != kAllow);
        CHECK(decide(program, Abi::I386, kI386Socketcall, args({kSysConnect, pointer})) == kAllow);
    }
    // With socket allowed by the profile, socketcall is free too, as the data says.
    auto open = sb::build_seccomp_policy(settings_with({{"socket", allow()}}), SeccompMode::Enforce);
    auto open_program = compiled(open);
    for (std::uint64_t pointer : kPointers) {
        Args a = args({kSysSocket, pointer});
        CHECK(decide(open_program, Abi::I386, kI386Socketcall, a) == expected(open, "socketcall", a));
    }
    // A profile may refuse socketcall outright.
    auto closed = sb::build_seccomp_policy(settings_with({{"socketcall", deny(ENOSYS)}}), SeccompMode::Enforce);
    CHECK(decide(compiled(closed), Abi::I386, kI386Socketcall, args({kSysConnect, 0})) == refused(ENOSYS));
}

// Known bug (reported to the lead): the data and the program disagree on socketcall, and 32-bit
// programs whose libc creates sockets through socketcall get EAFNOSUPPORT even for AF_UNIX.
TEST_CASE("seccomp: i386 socketcall(SYS_SOCKET) is decided as the policy data says",
          "[seccomp]") {
    auto policy = default_policy();
    auto program = compiled(policy);
    for (std::uint64_t pointer : kPointers) {
        Args a = args({kSysSocket, pointer});
        INFO("socketcall(SYS_SOCKET, " << hex(pointer) << ")");
        CHECK(decide(program, Abi::I386, kI386Socketcall, a) == expected(policy, "socketcall", a));
    }
}

TEST_CASE("seccomp: without the prefix, libseccomp alone would allow calls newer than its table", "[seccomp]") {
    // Shows the ENOSYS checks above test the prefix: in the linear layout it is 6 instructions
    // per range, 4 ranges here (x86_64, i386, x32 twice), and the rest of the program allows
    // number 1000. (The tree layout decides the same, as a test below shows.)
    auto program = sb::compile_seccomp(default_policy(), sb::SeccompLayout::Linear);
    REQUIRE(program.code.size() > 24);
    SeccompProgram body;
    body.code.assign(program.code.begin() + 24, program.code.end());
    CHECK(decide(program, Abi::X86_64, 1000u) == refused(ENOSYS));
    CHECK(decide(body, Abi::X86_64, 1000u) == kAllow);
    CHECK(decide(body, Abi::X86_64, "keyctl") == refused(EPERM));
}

// =============================================================================================
// The tree layout: the same decisions as the linear one, in a few instructions per call

namespace {

// The kernel's cost of loading a filter grows with the instructions each syscall number runs
// through before a return or an argument load: it emulates the program for every number of
// x86_64 and i386 (not x32, whose numbers are outside its cache) to cache the calls always
// allowed. The tree layout keeps that path short for every number.
constexpr std::size_t kPathBound = 24;

std::uint32_t verdict_of(const SeccompProgram& program, std::uint32_t arch, std::uint32_t nr, const Args& a) {
    seccomp_data data{};
    data.nr = static_cast<int>(nr);
    data.arch = arch;
    data.instruction_pointer = 0x401000;
    for (int i = 0; i < 6; ++i) data.args[i] = a.v[i];
    return run_bpf(program.code, data);
}

std::size_t path_length(const SeccompProgram& program, std::uint32_t arch, std::uint32_t nr) {
    seccomp_data data{};
    data.nr = static_cast<int>(nr);
    data.arch = arch;
    return trace_bpf(program.code, data, true).steps;
}

// Every number up to past the newest of each ABI, and the edges of the ENOSYS ranges.
std::vector<std::uint32_t> numbers_to_compare(Abi abi) {
    std::uint32_t bias = abi == Abi::X32 ? kX32Bit : 0;
    std::vector<std::uint32_t> numbers;
    for (std::uint32_t nr = 0; nr < 600; ++nr) numbers.push_back(bias | nr);
    for (std::uint32_t nr : {0x3fffffffu, 0x40000000u, 0x400001ffu, 0x40000200u, 0x40000223u, 0x40000224u,
                             0x7fffffffu, 0x80000000u, 0xfffffffeu, 0xffffffffu})
        numbers.push_back(nr);
    return numbers;
}

// Arguments that cross every argument test of the built-in rules: socket families, personas,
// clone and unshare flags, socketcall's call numbers (first argument); ioctl requests (second).
std::vector<Args> representative_args() {
    std::vector<Args> samples;
    for (std::uint64_t first : Values{0, AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, AF_VSOCK, 3, 8, 99,
                                      (1ull << 32) | AF_UNIX, (1ull << 32) | AF_PACKET, 0x20000, 0x20008, 0x40000,
                                      0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, ~0ull, SIGCHLD, CLONE_NEWTIME,
                                      CLONE_NEWUSER, CLONE_NEWNS | SIGCHLD, CLONE_NEWNET | CLONE_NEWPID, kThreadFlags,
                                      kVforkFlags})
        samples.push_back(args({first}));
    for (std::uint64_t flag : kCloneNewFlags) samples.push_back(args({flag | kForkFlags}));
    for (std::uint64_t request : Values{kTiocsti, kTioclinux, kFionread, 0x100005412, 0xffffffff0000541C})
        samples.push_back(args({1, request}));
    return samples;
}

// A policy with only rules the compile step writes itself: libseccomp's part has no rule.
SeccompPolicy own_rules_only() {
    SeccompPolicy policy = default_policy();
    policy.builtin = false;
    std::erase_if(policy.rules, [](const sb::SyscallRule& rule) { return !sb::compiled_by_us(rule); });
    REQUIRE(!policy.rules.empty());
    return policy;
}

// Only the socket rule (a value set).
SeccompPolicy value_sets_only() {
    SeccompPolicy policy = own_rules_only();
    std::erase_if(policy.rules, [](const sb::SyscallRule& rule) { return rule.syscall != "socket"; });
    REQUIRE(policy.rules.size() == 1);
    return policy;
}

// A profile that denies every third call of x86_64's table: a search longer than 8-bit jumps
// reach, so the tree is written with BPF_JA on the way.
SeccompPolicy many_denials() {
    std::map<std::string, SyscallChoice> syscalls;
    for (int nr = 0; nr < 450; nr += 3) {
        char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
        if (name) syscalls[name] = deny(EIO);
        std::free(name);
    }
    REQUIRE(syscalls.size() > 110);
    return sb::build_seccomp_policy(settings_with(std::move(syscalls)), SeccompMode::Enforce);
}

// Rules with the 64-bit comparisons libseccomp writes (no profile says them today; the built-in
// rules compare 32 bits with checks of our own): the tree sends their numbers to its program.
SeccompPolicy libseccomp_checks() {
    SeccompPolicy policy = default_policy();
    policy.builtin = false;
    using Op = sb::ArgCheck::Op;
    policy.rules.push_back({"fcntl", EINVAL, {{1, Op::MaskedEqual, 0xff, 0x4, {}}}, "test"});
    policy.rules.push_back({"prctl", EPERM, {{0, Op::Equal, ~0ull, 0x16, {}}}, "test"});
    policy.rules.push_back({"mmap", EACCES, {{2, Op::GreaterEqual, ~0ull, 0x8, {}}}, "test"});
    policy.rules.push_back({"kill", ESRCH, {{0, Op::Equal, ~0ull, 1, {}}, {1, Op::Equal, ~0ull, 9, {}}}, "test"});
    return policy;
}

std::vector<SeccompPolicy> policies_to_compare() {
    std::vector<SeccompPolicy> policies;
    for (bool nested : {false, true})
        for (auto mode : {SeccompMode::Enforce, SeccompMode::Log, SeccompMode::Learn})
            policies.push_back(default_policy(nested, mode));
    auto chosen = [](std::map<std::string, SyscallChoice> syscalls) {
        return sb::build_seccomp_policy(settings_with(std::move(syscalls)), SeccompMode::Enforce);
    };
    policies.push_back(chosen({{"socket", allow()}, {"ioctl", deny(EACCES)}, {"read", deny(EIO)}}));
    policies.push_back(chosen({{"socket", deny(EACCES)}, {"personality", allow()}}));
    policies.push_back(chosen({{"socketcall", deny(ENOSYS)}, {"socketpair", allow()}}));
    policies.push_back(chosen({{"socket", allow()}, {"socketpair", allow()}, {"personality", allow()}}));
    policies.push_back(own_rules_only());
    policies.push_back(many_denials());
    policies.push_back(libseccomp_checks());
    return policies;
}

}  // namespace

TEST_CASE("seccomp: the tree layout decides every call as the linear layout", "[seccomp]") {
    const auto samples = representative_args();
    for (const auto& policy : policies_to_compare()) {
        auto tree = compiled(policy);
        auto linear = sb::compile_seccomp(policy, sb::SeccompLayout::Linear);
        INFO(sb::render_seccomp_policy(policy));
        REQUIRE_FALSE(same_code(tree.code, linear.code));
        std::size_t compared = 0, differing = 0;
        std::string first_difference;
        auto compare = [&](std::uint32_t arch, std::uint32_t nr, const Args& a) {
            std::uint32_t from_tree = verdict_of(tree, arch, nr, a), from_linear = verdict_of(linear, arch, nr, a);
            ++compared;
            if (from_tree != from_linear && differing++ == 0)
                first_difference = "arch " + hex(arch) + " nr " + hex(nr) + " args " + hex(a.v[0]) + ", " +
                                   hex(a.v[1]) + ": tree " + verdict_text(from_tree) + ", linear " +
                                   verdict_text(from_linear);
        };
        for (Abi abi : kAbis)
            for (std::uint32_t nr : numbers_to_compare(abi))
                for (const auto& a : samples) compare(audit_arch(abi), nr, a);
        for (std::uint32_t arch : {std::uint32_t{AUDIT_ARCH_AARCH64}, std::uint32_t{AUDIT_ARCH_ARM}, 0u})
            for (std::uint32_t nr : {0u, 41u, 359u, 1000u, 0x40000029u}) compare(arch, nr, samples.front());
        INFO(first_difference);
        CHECK(differing == 0);
        CHECK(compared > 3 * 600 * samples.size());
    }
}

TEST_CASE("seccomp: every syscall number returns or reads an argument within a few instructions", "[seccomp]") {
    for (const auto& policy : policies_to_compare()) {
        auto program = compiled(policy);
        for (Abi abi : kAbis) {
            std::size_t longest = 0;
            std::string where;
            for (std::uint32_t nr : numbers_to_compare(abi)) {
                std::size_t steps = path_length(program, audit_arch(abi), nr);
                if (steps > longest) where = std::string(abi_name(abi)) + " nr " + hex(nr);
                longest = std::max(longest, steps);
            }
            INFO(sb::render_seccomp_policy(policy) << "longest path: " << longest << " instructions, " << where);
            // x32's numbers, which the kernel never caches, weigh least in the search: below
            // x86_64's in the same one (a profile denying a hundred calls puts them deepest).
            CHECK(longest <= (abi == Abi::X32 ? 2 * kPathBound : kPathBound));
        }
    }
}

TEST_CASE("seccomp: the numbers the kernel caches run through about ten instructions on average", "[seccomp]") {
    // The load's cost: the kernel runs the program for each of them. The search is shaped by how
    // many numbers each run holds, so the long allowed runs sit near its root: about 9 on x86_64
    // and 11 on i386 (the layout before took 18, past libseccomp's own search).
    for (bool x32 : {false, true}) {
        auto program = compiled(sb::build_seccomp_policy(SeccompSettings{}, SeccompMode::Enforce, x32));
        for (Abi abi : {Abi::X86_64, Abi::I386}) {
            std::size_t total = 0;
            for (std::uint32_t nr = 0; nr < 460; ++nr) total += path_length(program, audit_arch(abi), nr);
            INFO(abi_name(abi) << (x32 ? " with x32" : "") << ": " << total << " instructions for 460 numbers");
            CHECK(total <= 460 * 12);
        }
    }
}

TEST_CASE("seccomp: the linear layout runs most calls through far more instructions than the bound", "[seccomp]") {
    // What the bound above buys: the layout before the tree walked every rule for an allowed call.
    auto linear = sb::compile_seccomp(default_policy(), sb::SeccompLayout::Linear);
    auto tree = compiled(default_policy());
    std::size_t linear_total = 0, tree_total = 0, over_bound = 0;
    for (Abi abi : {Abi::X86_64, Abi::I386}) {
        for (std::uint32_t nr = 0; nr < 460; ++nr) {
            std::size_t steps = path_length(linear, audit_arch(abi), nr);
            linear_total += steps;
            tree_total += path_length(tree, audit_arch(abi), nr);
            if (steps > kPathBound) ++over_bound;
        }
    }
    INFO("linear " << linear_total << " instructions, tree " << tree_total);
    CHECK(over_bound > 800);
    CHECK(tree_total * 5 < linear_total);
}

TEST_CASE("seccomp: a value-set rule has 1 to 250 values (each value test jumps over the rest)", "[seccomp]") {
    SeccompPolicy policy = value_sets_only();
    auto& values = policy.rules.front().when.front().values;
    values.clear();
    for (std::uint32_t v = 0; v < 250; ++v) values.push_back(v * 3);
    auto program = compiled(policy);
    CHECK(decide(program, Abi::X86_64, "socket", args({249 * 3})) == kAllow);
    CHECK(decide(program, Abi::X86_64, "socket", args({1})) == refused(EAFNOSUPPORT));
    CHECK(decide(program, Abi::I386, "socket", args({747})) == kAllow);
    values.push_back(750);
    CHECK_THROWS_AS(compiled(policy), sb::SetupError);
    values.clear();
    CHECK_THROWS_AS(compiled(policy), sb::SetupError);
}

// =============================================================================================
// BpfWriter

TEST_CASE("seccomp: BpfWriter fills in jump offsets from named targets", "[seccomp]") {
    sb::BpfWriter out;
    auto yes = out.label(), no = out.label(), after = out.label();
    out.load(offsetof(seccomp_data, nr));
    out.jump_if(BPF_JEQ, 7, yes, no);
    out.place(no);
    out.jump(after);
    out.place(yes);
    out.ret(SECCOMP_RET_ERRNO | EPERM);
    out.place(after);
    out.ret(SECCOMP_RET_ALLOW);
    REQUIRE(out.in_reach());
    auto code = out.finish();
    REQUIRE(code.size() == 5);
    CHECK(code[1].jt == 1);
    CHECK(code[1].jf == 0);
    CHECK(code[2].k == 1);
    seccomp_data data{};
    data.nr = 7;
    CHECK(run_bpf(code, data) == (SECCOMP_RET_ERRNO | EPERM));
    data.nr = 8;
    CHECK(run_bpf(code, data) == SECCOMP_RET_ALLOW);
}

TEST_CASE("seccomp: BpfWriter refuses offsets that do not fit and targets behind or nowhere", "[seccomp]") {
    auto far_jump = [](std::size_t distance) {
        sb::BpfWriter out;
        auto far = out.label(), near = out.label();
        out.jump_if(BPF_JEQ, 1, far, near);
        out.place(near);
        for (std::size_t i = 0; i < distance; ++i) out.ret(SECCOMP_RET_ALLOW);
        out.place(far);
        out.ret(SECCOMP_RET_KILL_PROCESS);
        return out;
    };
    CHECK(far_jump(255).in_reach());
    CHECK(far_jump(255).finish()[0].jt == 255);
    CHECK_FALSE(far_jump(256).in_reach());
    CHECK_THROWS_AS(far_jump(256).finish(), sb::SetupError);
    // BPF_JA takes 32 bits.
    sb::BpfWriter ja;
    auto end = ja.label();
    ja.jump(end);
    for (int i = 0; i < 1000; ++i) ja.ret(SECCOMP_RET_ALLOW);
    ja.place(end);
    ja.ret(SECCOMP_RET_KILL_PROCESS);
    CHECK(ja.finish()[0].k == 1000);

    sb::BpfWriter backwards;
    auto start = backwards.label();
    backwards.place(start);
    backwards.jump(start);
    backwards.ret(0);
    CHECK_THROWS_AS(backwards.finish(), sb::SetupError);
    sb::BpfWriter nowhere;
    nowhere.jump(nowhere.label());
    nowhere.ret(0);
    CHECK_THROWS_AS(nowhere.finish(), sb::SetupError);
    sb::BpfWriter twice;
    auto label = twice.label();
    twice.place(label);
    CHECK_THROWS_AS(twice.place(label), sb::SetupError);
}

// =============================================================================================
// Log and learn modes

TEST_CASE("seccomp: in log and learn modes refusals go to the listener, the rest is unchanged", "[seccomp]") {
    for (auto mode : {SeccompMode::Log, SeccompMode::Learn}) {
        auto program = compiled(default_policy(false, mode));
        INFO("mode " << static_cast<int>(mode));
        CHECK(program.notify);
        for (Abi abi : kAbis) {
            INFO(abi_name(abi));
            CHECK(decide(program, abi, "keyctl") == kNotify);
            CHECK(decide(program, abi, "clone3") == kNotify);
            CHECK(decide(program, abi, "socket", args({AF_PACKET})) == kNotify);
            CHECK(decide(program, abi, "ioctl", args({0, kTiocsti})) == kNotify);
            CHECK(decide(program, abi, "socket", args({AF_INET})) == kAllow);
            CHECK(decide(program, abi, "ioctl", args({0, kFionread})) == kAllow);
            CHECK(decide(program, abi, "read") == kAllow);
        }
        // The ENOSYS prefix and the architecture check do not depend on the mode.
        CHECK(decide(program, Abi::X86_64, 1000u) == refused(ENOSYS));
        CHECK(decide_raw(program, AUDIT_ARCH_AARCH64, 0) == kKill);
    }
}

// =============================================================================================
// Prebuilt programs

TEST_CASE("seccomp: the prebuilt programs equal a fresh compile of the built-in policies", "[seccomp]") {
    for (bool nested : {false, true}) {
        for (auto mode : {SeccompMode::Enforce, SeccompMode::Log, SeccompMode::Learn}) {
          for (bool x32 : {true, false}) {
            auto policy = sb::build_seccomp_policy(settings_with({}, nested), mode, x32);
            INFO("nested " << nested << " mode " << static_cast<int>(mode) << " x32 " << x32);
            REQUIRE(policy.builtin);
            auto prebuilt = sb::seccomp_program_for(policy);
            auto fresh = sb::compile_seccomp(policy);
            CHECK(prebuilt.code.size() == fresh.code.size());
            CHECK(same_code(prebuilt.code, fresh.code));
            CHECK(prebuilt.notify == fresh.notify);
            CHECK(prebuilt.notify == (mode != SeccompMode::Enforce));
          }
        }
    }
    CHECK_FALSE(same_code(sb::seccomp_program_for(sb::build_seccomp_policy({}, SeccompMode::Enforce, true)).code,
                          sb::seccomp_program_for(sb::build_seccomp_policy({}, SeccompMode::Enforce, false)).code));
    CHECK_FALSE(same_code(sb::seccomp_program_for(default_policy(false)).code,
                          sb::seccomp_program_for(default_policy(true)).code));
}

TEST_CASE("seccomp: a policy with profile choices is compiled, not prebuilt", "[seccomp]") {
    auto policy = sb::build_seccomp_policy(settings_with({{"ptrace", allow()}, {"chmod", deny(EACCES)}}),
                                           SeccompMode::Enforce);
    CHECK_FALSE(policy.builtin);
    auto program = sb::seccomp_program_for(policy);
    CHECK(same_code(program.code, sb::compile_seccomp(policy).code));
    CHECK_FALSE(same_code(program.code, sb::seccomp_program_for(default_policy()).code));
    CHECK(decide(program, Abi::X86_64, SYS_ptrace) == kAllow);
    CHECK(decide(program, Abi::X86_64, SYS_chmod) == refused(EACCES));
    CHECK(decide(program, Abi::I386, 15 /*chmod*/) == refused(EACCES));
}

TEST_CASE("seccomp: seccomp = false gives no rules and an empty program", "[seccomp]") {
    SeccompSettings settings = settings_with({{"ptrace", deny()}});
    settings.enabled = false;
    auto policy = sb::build_seccomp_policy(settings, SeccompMode::Log);
    CHECK_FALSE(policy.enabled);
    CHECK(policy.rules.empty());
    CHECK(policy.allowed.empty());
    CHECK(sb::compile_seccomp(policy).code.empty());
    CHECK(sb::seccomp_program_for(policy).code.empty());
    std::uint64_t zero[6] = {};
    CHECK(sb::matching_rule(policy, "ptrace", zero) == nullptr);
}

// =============================================================================================
// build_seccomp_policy

TEST_CASE("seccomp policy: allow removes every default rule of the call and lists it", "[seccomp]") {
    auto policy = sb::build_seccomp_policy(settings_with({{"socket", allow()}, {"ptrace", allow()}}),
                                           SeccompMode::Enforce);
    CHECK(rules_for(policy, "socket").empty());
    CHECK(rules_for(policy, "ptrace").empty());
    CHECK(policy.allowed == std::vector<std::string>{"ptrace", "socket"});
    CHECK_FALSE(rules_for(policy, "keyctl").empty());
    // Allowing socket also lifts the socketcall(SYS_SOCKET) rule libseccomp derives from it.
    CHECK(rules_for(policy, "socketcall").empty());
    CHECK(policy.rules.size() == default_policy().rules.size() - rules_for(default_policy(), "socket").size() -
                                     rules_for(default_policy(), "socketcall").size() - 1);
    auto program = compiled(policy);
    CHECK(decide(program, Abi::X86_64, "socket", args({AF_PACKET})) == kAllow);
    CHECK(decide(program, Abi::X86_64, "socket", args({99})) == kAllow);
    CHECK(decide(program, Abi::I386, "ptrace") == kAllow);
    CHECK(decide(program, Abi::X32, "ptrace") == kAllow);
}

TEST_CASE("seccomp policy: allowing a call that is not denied lists nothing", "[seccomp]") {
    auto policy = sb::build_seccomp_policy(settings_with({{"read", allow()}}), SeccompMode::Enforce);
    CHECK(policy.allowed.empty());
    CHECK(policy.rules == default_policy().rules);
    CHECK_FALSE(policy.builtin);
}

TEST_CASE("seccomp policy: deny replaces the default rules by one unconditional rule", "[seccomp]") {
    auto policy = sb::build_seccomp_policy(settings_with({{"socket", deny(EACCES)}, {"chmod", deny()}}),
                                           SeccompMode::Enforce);
    auto socket = rules_for(policy, "socket");
    REQUIRE(socket.size() == 1);
    CHECK(socket[0]->error == EACCES);
    CHECK(socket[0]->when.empty());
    CHECK(socket[0]->why == "profile");
    auto chmod = rules_for(policy, "chmod");
    REQUIRE(chmod.size() == 1);
    CHECK(chmod[0]->error == EPERM);
    CHECK(policy.allowed.empty());
    auto program = compiled(policy);
    CHECK(decide(program, Abi::X86_64, "socket", args({AF_UNIX})) == refused(EACCES));
    CHECK(decide(program, Abi::X86_64, "socket", args({AF_PACKET})) == refused(EACCES));
    CHECK(decide(program, Abi::I386, "socket", args({AF_INET})) == refused(EACCES));
    CHECK(decide(program, Abi::X86_64, SYS_chmod) == refused(EPERM));
}

TEST_CASE("seccomp policy: the defaults are grouped, fixed and made of known calls", "[seccomp]") {
    auto rules = sb::default_seccomp_rules(false);
    CHECK(rules == sb::default_seccomp_rules(false));
    for (const auto& rule : rules) {
        INFO(rule.syscall);
        CHECK(sb::known_syscall(rule.syscall));
        CHECK(numbers_of(rule.syscall) != nullptr);
        CHECK(!rule.why.empty());
        CHECK(rule.error > 0);
        for (const auto& check : rule.when) CHECK(check.arg < 6);
    }
    auto nested = sb::default_seccomp_rules(true);
    CHECK(nested.size() < rules.size());
    for (const char* name : {"clone", "unshare", "setns", "clone3", "mount", "umount2", "pivot_root", "chroot",
                             "open_tree", "mount_setattr"}) {
        INFO(name);
        CHECK(std::none_of(nested.begin(), nested.end(), [&](const auto& r) { return r.syscall == name; }));
        CHECK(std::any_of(rules.begin(), rules.end(), [&](const auto& r) { return r.syscall == name; }));
    }
}

// =============================================================================================
// Names

TEST_CASE("seccomp: errno names", "[seccomp]") {
    CHECK(sb::errno_from_name("EACCES") == EACCES);
    CHECK(sb::errno_from_name("EPERM") == EPERM);
    CHECK(sb::errno_from_name("ENOSYS") == ENOSYS);
    CHECK(sb::errno_from_name("EHWPOISON") == EHWPOISON);
    CHECK_FALSE(sb::errno_from_name("EWHAT"));
    CHECK_FALSE(sb::errno_from_name(""));
    CHECK_FALSE(sb::errno_from_name("eacces"));
    CHECK_FALSE(sb::errno_from_name("13"));
    CHECK(sb::errno_name(EACCES) == "EACCES");
    CHECK(sb::errno_name(EAFNOSUPPORT) == "EAFNOSUPPORT");
    CHECK(sb::errno_name(4000) == "4000");
}

// errno(3) lists these names as well; strerrorname_np gives only one name per number.
TEST_CASE("seccomp: errno aliases from errno(3) are accepted", "[seccomp]") {
    CHECK(sb::errno_from_name("EWOULDBLOCK") == EWOULDBLOCK);
    CHECK(sb::errno_from_name("ENOTSUP") == ENOTSUP);
    CHECK(sb::errno_from_name("EDEADLOCK") == EDEADLOCK);
}

TEST_CASE("seccomp: known_syscall knows every filtered architecture's calls", "[seccomp]") {
    CHECK(sb::known_syscall("ptrace"));
    CHECK(sb::known_syscall("read"));
    CHECK(sb::known_syscall("vm86"));        // i386 only
    CHECK(sb::known_syscall("socketcall"));  // i386 only
    CHECK_FALSE(sb::known_syscall("nosuchcall"));
    CHECK_FALSE(sb::known_syscall(""));
    CHECK_FALSE(sb::known_syscall("PTRACE"));
    CHECK(sb::seccomp_architectures() == std::vector<std::string>{"x86_64", "x86", "x32"});
    CHECK(sb::seccomp_architectures(false) == std::vector<std::string>{"x86_64", "x86"});
}

// =============================================================================================
// render_seccomp_policy

TEST_CASE("seccomp: the rendered policy names every denied call and the architectures", "[seccomp]") {
    auto policy = default_policy();
    std::string text = sb::render_seccomp_policy(policy);
    INFO(text);
    for (const auto& name : rule_names(policy)) CHECK_THAT(text, Catch::Contains("deny " + name + " ("));
    CHECK_THAT(text, Catch::Contains("architectures: x86_64 x86 x32"));
    CHECK_THAT(text, Catch::Contains("nested namespaces refused"));
    CHECK_THAT(text, Catch::Contains("ENOSYS"));
    CHECK_THAT(text, Catch::Contains("deny socket (sockets): EAFNOSUPPORT when"));
    CHECK_THAT(text, Catch::Contains("deny ioctl (terminal): EPERM when arg1 (low 32 bits) in {0x5412, 0x541c}"));
    CHECK_THAT(text, !Catch::Contains("allowed by the profile"));
    CHECK_THAT(text, !Catch::Contains("(x32"));
    CHECK_THAT(sb::render_seccomp_policy(sb::build_seccomp_policy({}, SeccompMode::Enforce, false)),
               Catch::Contains("architectures: x86_64 x86 (x32: every call ENOSYS, as this kernel answers);"));
}

TEST_CASE("seccomp: the rendered policy lists what the profile allowed, and the mode", "[seccomp]") {
    auto policy = sb::build_seccomp_policy(settings_with({{"ptrace", allow()}, {"keyctl", allow()}}, true),
                                           SeccompMode::Learn);
    std::string text = sb::render_seccomp_policy(policy);
    INFO(text);
    CHECK_THAT(text, Catch::Contains("allowed by the profile: keyctl ptrace"));
    CHECK_THAT(text, Catch::Contains("learn"));
    CHECK_THAT(text, Catch::Contains("nested namespaces allowed"));
    CHECK_THAT(text, !Catch::Contains("deny ptrace"));
    SeccompSettings off;
    off.enabled = false;
    CHECK_THAT(sb::render_seccomp_policy(sb::build_seccomp_policy(off, SeccompMode::Enforce)),
               Catch::Contains("seccomp: off"));
}

// =============================================================================================
// Profiles: [security] and [seccomp]

TEST_CASE("seccomp profile: the defaults without the tables", "[seccomp][profile]") {
    auto settings = seccomp_of("command = [\"/bin/true\"]\n");
    CHECK(settings.enabled);
    CHECK_FALSE(settings.nested_namespaces);
    CHECK(settings.syscalls.empty());
}

TEST_CASE("seccomp profile: switches, allow and deny with errno", "[seccomp][profile]") {
    auto settings = seccomp_of(
        "[security]\nseccomp = false\nnested_namespaces = true\n"
        "[seccomp]\nallow = [\"ptrace\", \"socket\"]\ndeny = [\"chmod\", \"keyctl:EACCES\", \"bpf:ENOSYS\"]\n");
    CHECK_FALSE(settings.enabled);
    CHECK(settings.nested_namespaces);
    CHECK(choices(settings) == std::map<std::string, std::string>{{"ptrace", "allow"},
                                                                 {"socket", "allow"},
                                                                 {"chmod", "EPERM"},
                                                                 {"keyctl", "EACCES"},
                                                                 {"bpf", "ENOSYS"}});
    const auto& where = settings.syscalls.at("keyctl").where;
    CHECK(where.file == kFile);
    CHECK(where.line == 6);
    CHECK(where.column == 18);
}

TEST_CASE("seccomp profile: an unknown syscall name is an error at its position", "[seccomp][profile]") {
    expect_error("[seccomp]\nallow = [\"ptrace\", \"nosuchcall\"]\n", 2, 20,
                 "unknown system call 'nosuchcall' in [seccomp] allow");
    expect_error("[seccomp]\ndeny = [\"nosuchcall\"]\n", 2, 9, "unknown system call 'nosuchcall' in [seccomp] deny");
    expect_error("[seccomp]\ndeny = [\"nosuchcall:EACCES\"]\n", 2, 9, "unknown system call 'nosuchcall'");
}

TEST_CASE("seccomp profile: an error in an extended file is located in that file", "[seccomp][profile]") {
    auto source = test::memory_source({{"/m/base.toml", "[seccomp]\n\ndeny = [\"ptrace\", \"nosuchcall\"]\n"},
                                       {"/m/child.toml", "extends = [\"base\"]\n"}});
    try {
        sb::load_profile("/m/child.toml", test::test_vars(), source);
        FAIL("expected a ConfigError");
    } catch (const sb::ConfigError& error) {
        CHECK(std::string(error.what()) ==
              "/m/base.toml:3:19: unknown system call 'nosuchcall' in [seccomp] deny (names as in syscalls(2), "
              "such as \"ptrace\")");
    }
}

TEST_CASE("seccomp profile: an unknown errno is an error at its position", "[seccomp][profile]") {
    expect_error("[seccomp]\ndeny = [\"ptrace:EWHAT\"]\n", 2, 9, "unknown errno 'EWHAT' in \"ptrace:EWHAT\"");
    expect_error("[seccomp]\ndeny = [\"ptrace:\"]\n", 2, 9, "unknown errno ''");
    expect_error("[seccomp]\ndeny = [\"ptrace:13\"]\n", 2, 9, "unknown errno '13'");
}

TEST_CASE("seccomp profile: a call both allowed and denied in one file is an error", "[seccomp][profile]") {
    expect_error("[seccomp]\nallow = [\"ptrace\"]\ndeny = [\"ptrace:EACCES\"]\n", 3, 9,
                 "'ptrace' is both allowed (at /mem/test.toml:2:10) and denied in [seccomp]");
    // Order in the file does not matter.
    expect_error("[seccomp]\ndeny = [\"keyctl\"]\nallow = [\"keyctl\"]\n", 2, 9, "'keyctl' is both allowed");
}

TEST_CASE("seccomp profile: a later file overrides an earlier file's choice", "[seccomp][profile]") {
    auto source = test::memory_source({
        {"/m/base.toml", "[security]\nnested_namespaces = true\n[seccomp]\ndeny = [\"ptrace\", \"chmod:EACCES\"]\n"
                         "allow = [\"keyctl\"]\n"},
        {"/m/child.toml", "extends = [\"base\"]\n[seccomp]\nallow = [\"ptrace\"]\ndeny = [\"keyctl:ENOSYS\"]\n"},
    });
    auto settings = sb::load_profile("/m/child.toml", test::test_vars(), source).seccomp;
    CHECK(settings.nested_namespaces);
    CHECK(choices(settings) ==
          std::map<std::string, std::string>{{"ptrace", "allow"}, {"chmod", "EACCES"}, {"keyctl", "ENOSYS"}});
    CHECK(settings.syscalls.at("ptrace").where.file == "/m/child.toml");
    CHECK(settings.syscalls.at("chmod").where.file == "/m/base.toml");
}

TEST_CASE("seccomp profile: wrong types are errors", "[seccomp][profile]") {
    expect_error("[seccomp]\nallow = \"x\"\n", 2, 9, "'allow' must be an array of strings, not a string");
    expect_error("[seccomp]\ndeny = \"ptrace\"\n", 2, 8, "'deny' must be an array of strings, not a string");
    expect_error("[seccomp]\nallow = [1]\n", 2, 10, "'allow' must be a string, not an integer");
    expect_error("[seccomp]\ndeny = [true]\n", 2, 9, "'deny' must be a string, not a boolean");
    expect_error("[security]\nseccomp = \"yes\"\n", 2, 11, "'seccomp' must be a boolean (true or false), not a string");
    expect_error("[security]\nnested_namespaces = 1\n", 2, 21, "'nested_namespaces' must be a boolean");
    expect_error("security = true\n", 1, 12, "'security' must be a table");
    expect_error("seccomp = [\"ptrace\"]\n", 1, 11, "'seccomp' must be a table");
}

TEST_CASE("seccomp profile: unknown keys are errors", "[seccomp][profile]") {
    expect_error("[security]\nseccomp = true\nseccom = true\n", 3, 1,
                 "unknown key 'seccom' in [security] (expected one of: seccomp, nested_namespaces, landlock)");
    expect_error("[seccomp]\nallowed = [\"ptrace\"]\n", 2, 1,
                 "unknown key 'allowed' in [seccomp] (expected one of: allow, deny)");
}

TEST_CASE("seccomp profile: render_profile_toml shows the tables and reloads to the same settings",
          "[seccomp][profile][render]") {
    for (bool enabled : {true, false}) {
        std::string original_text = std::string("command = [\"/bin/sh\"]\n[security]\nseccomp = ") +
                                    (enabled ? "true" : "false") +
                                    "\nnested_namespaces = true\n[seccomp]\nallow = [\"ptrace\", \"socket\"]\n"
                                    "deny = [\"chmod\", \"keyctl:EACCES\", \"bpf:ENOSYS\"]\n";
        auto original = test::load_text(original_text);
        std::string text = sb::render_profile_toml(original);
        INFO(text);
        CHECK_THAT(text, Catch::Contains(std::string("[security]\nseccomp = ") + (enabled ? "true" : "false") +
                                         "\nnested_namespaces = true\n"));
        CHECK_THAT(text, Catch::Contains("[seccomp]\nallow = [\"ptrace\", \"socket\"]\n"
                                         "deny = [\"bpf:ENOSYS\", \"chmod\", \"keyctl:EACCES\"]\n"));
        auto again = test::load_text(text);
        CHECK(again.seccomp.enabled == original.seccomp.enabled);
        CHECK(again.seccomp.nested_namespaces == original.seccomp.nested_namespaces);
        CHECK(choices(again.seccomp) == choices(original.seccomp));
    }
    auto plain = sb::render_profile_toml(test::load_text("command = [\"/bin/sh\"]\n"));
    CHECK_THAT(plain, Catch::Contains("[security]\nseccomp = true\nnested_namespaces = false\nlandlock = \"best-effort\"\n\n[seccomp]\n"
                                      "allow = []\ndeny = []\n"));
}

TEST_CASE("seccomp profile: the loaded choices become the policy", "[seccomp][profile]") {
    auto settings = seccomp_of("[seccomp]\nallow = [\"ptrace\"]\ndeny = [\"socket:EACCES\"]\n");
    auto policy = sb::build_seccomp_policy(settings, SeccompMode::Enforce);
    CHECK(policy.allowed == std::vector<std::string>{"ptrace"});
    auto program = sb::seccomp_program_for(policy);
    CHECK(decide(program, Abi::X86_64, "ptrace") == kAllow);
    CHECK(decide(program, Abi::X86_64, "socket", args({AF_UNIX})) == refused(EACCES));
    CHECK(decide(program, Abi::X86_64, "keyctl") == refused(EPERM));
}

TEST_CASE("seccomp profile: nested_namespaces = true selects the nested built-in program", "[seccomp][profile]") {
    auto settings = seccomp_of("[security]\nnested_namespaces = true\n");
    auto policy = sb::build_seccomp_policy(settings, SeccompMode::Enforce);
    CHECK(policy.builtin);
    auto program = sb::seccomp_program_for(policy);
    CHECK(same_code(program.code, compiled(default_policy(true)).code));
    CHECK(decide(program, Abi::X86_64, "unshare", args({CLONE_NEWUSER})) == kAllow);
    CHECK(decide(program, Abi::X86_64, "clone", args({CLONE_NEWUSER | SIGCHLD})) == kAllow);
    CHECK(decide(program, Abi::X86_64, "setns") == kAllow);
    CHECK(decide(program, Abi::X86_64, "mount") == kAllow);
    CHECK(decide(program, Abi::X86_64, "clone3") == kAllow);
}

TEST_CASE("seccomp: socketpair only for AF_UNIX (it loads a family's module before refusing)", "[seccomp]") {
    auto program = compiled(default_policy());
    CHECK(decide(program, Abi::X86_64, "socketpair", args({AF_UNIX, SOCK_STREAM})) == kAllow);
    for (std::uint64_t family : Values{AF_INET, AF_VSOCK, AF_PACKET, 99, (1ull << 32) | AF_VSOCK})
        CHECK(decide(program, Abi::X86_64, "socketpair", args({family, SOCK_STREAM})) == refused(EAFNOSUPPORT));
    CHECK(decide(program, Abi::I386, "socketpair", args({AF_VSOCK, SOCK_STREAM})) == refused(EAFNOSUPPORT));
    CHECK(decide(program, Abi::I386, kI386Socketcall, args({8, 0x1000})) == refused(EAFNOSUPPORT));
}

TEST_CASE("seccomp: --learn names the allowances that lift the fences that matter", "[seccomp]") {
    CHECK(sb::risky_allowances({"unshare", "ptrace", "mbind"}) == "ptrace (tracing), unshare (namespaces)");
    CHECK(sb::risky_allowances({"mbind", "acct"}).empty());
}

// =============================================================================================
// Loaded once, by pid 1 before the payload's fork

TEST_CASE("seccomp: pid 1 loads the filter before the fork for the built-in policies only", "[seccomp]") {
    for (bool nested : {false, true})
        for (auto mode : {SeccompMode::Enforce, SeccompMode::Log, SeccompMode::Learn})
            CHECK(sb::filter_loaded_before_fork(default_policy(nested, mode)));
    // A profile's denial may refuse a call of the payload's last steps: the payload loads it then.
    CHECK_FALSE(sb::filter_loaded_before_fork(
        sb::build_seccomp_policy(settings_with({{"setresuid", deny(EACCES)}}), SeccompMode::Enforce)));
    CHECK_FALSE(sb::filter_loaded_before_fork(
        sb::build_seccomp_policy(settings_with({{"ptrace", allow()}}), SeccompMode::Enforce)));
    SeccompSettings off;
    off.enabled = false;
    CHECK_FALSE(sb::filter_loaded_before_fork(sb::build_seccomp_policy(off, SeccompMode::Enforce)));
}

TEST_CASE("seccomp: the built-in filters let through every call pid 1 and the payload make after the load",
          "[seccomp]") {
    constexpr std::uint64_t kTiocsctty = 0x540E, kPrCapbsetDrop = 24, kPrSetNoNewPrivs = 38, kPrCapAmbient = 47;
    // pid 1: the listener and the announcement, vfork, its capability drop, its signal loop.
    // The payload: signals, terminal, capabilities and ids, cwd, fds, rlimits, Landlock, exec,
    // and the report of a failure. (As strace shows them on x86_64 with glibc.)
    const std::vector<std::pair<long, Args>> calls = {
        {SYS_sendmsg, {}},        {SYS_close, {}},           {SYS_vfork, {}},
        {SYS_openat, {}},         {SYS_read, {}},            {SYS_prctl, args({kPrCapbsetDrop, 1})},
        {SYS_prctl, args({kPrSetNoNewPrivs, 1})}, {SYS_prctl, args({kPrCapAmbient, 4})},
        {SYS_capget, {}},         {SYS_capset, {}},          {SYS_poll, {}},
        {SYS_wait4, {}},          {SYS_kill, {}},            {SYS_exit_group, {}},
        {SYS_rt_sigaction, {}},   {SYS_rt_sigprocmask, {}},  {SYS_setsid, {}},
        {SYS_ioctl, args({3, kTiocsctty, 0})},               {SYS_dup2, {}},
        {SYS_dup3, {}},           {SYS_setgroups, {}},       {SYS_setresgid, {}},
        {SYS_setresuid, {}},      {SYS_chdir, {}},           {SYS_close_range, args({3, ~0u, 4})},
        {SYS_prlimit64, {}},      {SYS_landlock_create_ruleset, {}}, {SYS_landlock_add_rule, {}},
        {SYS_landlock_restrict_self, {}}, {SYS_openat2, {}}, {SYS_newfstatat, {}},
        {SYS_fcntl, {}},          {SYS_execve, {}},
    };
    for (bool nested : {false, true}) {
        for (auto mode : {SeccompMode::Enforce, SeccompMode::Log, SeccompMode::Learn}) {
            auto program = sb::seccomp_program_for(default_policy(nested, mode));
            for (const auto& [nr, a] : calls) {
                INFO("nested " << nested << " mode " << static_cast<int>(mode) << " x86_64 nr " << nr);
                CHECK(decide(program, Abi::X86_64, static_cast<std::uint32_t>(nr), a) == kAllow);
            }
        }
    }
}
