#include "seccomp/policy.hpp"

#include <seccomp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <sstream>

namespace sb {
namespace {

// Values from <linux/sched.h>, <sys/socket.h> and <asm/ioctls.h>, spelled out so the table does
// not depend on which headers a libc happens to expose.
constexpr std::uint32_t kCloneNamespaceFlags = 0x00020000    // CLONE_NEWNS
                                              | 0x02000000  // CLONE_NEWCGROUP
                                              | 0x04000000  // CLONE_NEWUTS
                                              | 0x08000000  // CLONE_NEWIPC
                                              | 0x10000000  // CLONE_NEWUSER
                                              | 0x20000000  // CLONE_NEWPID
                                              | 0x40000000; // CLONE_NEWNET
constexpr std::uint32_t kCloneNewTime = 0x00000080;  // unshare only: in clone() it is the exit signal
constexpr std::uint32_t kTiocsti = 0x5412, kTioclinux = 0x541C;
// socket() families a sandboxed program needs: AF_UNIX, AF_INET, AF_INET6, AF_NETLINK.
constexpr std::uint32_t kAllowedFamilies[] = {1, 2, 10, 16};
// personality(): PER_LINUX, PER_LINUX32, UNAME26 with either, and 0xffffffff (the query), as podman.
constexpr std::uint32_t kPersonalities[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

SyscallRule deny(const char* name, int error, const char* why, std::vector<ArgCheck> when = {}) {
    return SyscallRule{name, error, std::move(when), why};
}

// The kernel reads clone's flags as 32 bits (lower_32_bits) and refuses unshare flags above them
// (EINVAL): the low 32 bits decide.
ArgCheck any_bit(unsigned arg, std::uint32_t bits) { return {arg, ArgCheck::Op::AnyBit32, bits, 0, {}}; }

void add_namespace_rules(std::vector<SyscallRule>& rules) {
    const char* why = "namespaces";
    rules.push_back(deny("clone", EPERM, why, {any_bit(0, kCloneNamespaceFlags)}));
    rules.push_back(deny("unshare", EPERM, why, {any_bit(0, kCloneNamespaceFlags | kCloneNewTime)}));
    rules.push_back(deny("setns", EPERM, why));
    // clone3 passes its flags in memory, out of the filter's sight: ENOSYS makes libc fall back
    // to clone, whose flags are checked above.
    rules.push_back(deny("clone3", ENOSYS, why));
}

void add_mount_rules(std::vector<SyscallRule>& rules) {
    const char* why = "mounts";
    for (const char* name : {"mount", "umount", "umount2", "pivot_root", "chroot"})
        rules.push_back(deny(name, EPERM, why));
    // The new mount API: ENOSYS, as flatpak does, so tools fall back to mount(2), refused above.
    for (const char* name : {"open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr"})
        rules.push_back(deny(name, ENOSYS, why));
}

void add_kernel_surface_rules(std::vector<SyscallRule>& rules) {
    for (const char* name : {"add_key", "keyctl", "request_key"}) rules.push_back(deny(name, EPERM, "keyring"));
    for (const char* name : {"io_uring_setup", "io_uring_enter", "io_uring_register"})
        rules.push_back(deny(name, EPERM, "io_uring"));
    for (const char* name : {"bpf", "perf_event_open", "userfaultfd", "fanotify_init", "lookup_dcookie"})
        rules.push_back(deny(name, EPERM, "kernel-surface"));
    for (const char* name : {"ptrace", "process_vm_readv", "process_vm_writev", "kcmp"})
        rules.push_back(deny(name, EPERM, "tracing"));
    for (const char* name : {"open_by_handle_at", "name_to_handle_at"})
        rules.push_back(deny(name, EPERM, "file-handles"));
    for (const char* name : {"init_module", "finit_module", "delete_module", "create_module", "get_kernel_syms",
                             "query_module", "kexec_load", "kexec_file_load"})
        rules.push_back(deny(name, EPERM, "modules"));
    for (const char* name : {"reboot", "swapon", "swapoff", "syslog", "acct", "quotactl", "quotactl_fd", "vhangup",
                             "settimeofday", "stime", "clock_settime", "clock_adjtime", "nfsservctl", "_sysctl"})
        rules.push_back(deny(name, EPERM, "system"));
    for (const char* name : {"iopl", "ioperm", "modify_ldt", "vm86", "vm86old", "uselib", "ustat", "sysfs"})
        rules.push_back(deny(name, EPERM, "obsolete"));
    for (const char* name : {"mbind", "get_mempolicy", "set_mempolicy", "migrate_pages", "move_pages",
                             "set_mempolicy_home_node"})
        rules.push_back(deny(name, EPERM, "numa"));
}

void add_terminal_rules(std::vector<SyscallRule>& rules) {
    // The kernel reads the request as 32 bits: compare only those, or a request with high bits
    // set slips through (CVE-2019-10063).
    rules.push_back(deny("ioctl", EPERM, "terminal", {{1, ArgCheck::Op::In32, 0, 0, {kTiocsti, kTioclinux}}}));
}

void add_socket_rules(std::vector<SyscallRule>& rules) {
    // The kernel reads the family as an int: values with high bits set are judged by their low 32.
    rules.push_back(deny("socket", EAFNOSUPPORT, "sockets",
                         {{0, ArgCheck::Op::NotIn32, 0, 0, {std::begin(kAllowedFamilies), std::end(kAllowedFamilies)}}}));
    // socketpair creates its sockets (loading the family's module) before it checks that the
    // family has pairs: only AF_UNIX, which is the only one that has them.
    rules.push_back(deny("socketpair", EAFNOSUPPORT, "sockets", {{0, ArgCheck::Op::NotIn32, 0, 0, {1}}}));
}

// i386's socketcall(SYS_SOCKET, args) passes the family in memory, out of the filter's sight: while
// socket is restricted, it is refused whole, with the socket rule's errno (allow = ["socket"]
// lifts it too). libseccomp writes this rule itself from socket rules it is given; it is then
// `derived` (data only), else the compile step gets it like any other.
void add_socketcall_rule(std::vector<SyscallRule>& rules, const std::map<std::string, SyscallChoice>& chosen) {
    if (chosen.count("socketcall")) return;  // the profile's own rule decides
    auto socket = std::find_if(rules.begin(), rules.end(), [](const SyscallRule& r) { return r.syscall == "socket"; });
    if (socket == rules.end()) return;
    bool derived = std::any_of(rules.begin(), rules.end(), [](const SyscallRule& r) {
        return r.syscall == "socket" && !compiled_by_us(r);
    });
    // Its first argument, the call, is an int (compat tasks pass 32 bits): a check of our own,
    // unless libseccomp writes the rule (then it is data only, in libseccomp's terms).
    ArgCheck sys_socket = derived ? ArgCheck{0, ArgCheck::Op::Equal, ~0ull, 1, {}} : ArgCheck{0, ArgCheck::Op::In32, 0, 0, {1}};
    SyscallRule rule = deny("socketcall", socket->error, "sockets", {sys_socket});
    rule.derived = derived;
    rules.push_back(rule);
    // socketcall(SYS_SOCKETPAIR, args): the same, for the socketpair rule.
    if (std::any_of(rules.begin(), rules.end(), [](const SyscallRule& r) { return r.syscall == "socketpair"; }))
        rules.push_back(deny("socketcall", EAFNOSUPPORT, "sockets", {{0, ArgCheck::Op::In32, 0, 0, {8}}}));
}

// personality(2) takes 32 bits.
void add_personality_rules(std::vector<SyscallRule>& rules) {
    rules.push_back(deny("personality", EPERM, "personality",
                         {{0, ArgCheck::Op::NotIn32, 0, 0, {std::begin(kPersonalities), std::end(kPersonalities)}}}));
}

bool holds(const ArgCheck& check, const std::uint64_t (&args)[6]) {
    std::uint64_t value = args[check.arg];
    switch (check.op) {
        case ArgCheck::Op::Equal: return value == check.value;
        case ArgCheck::Op::MaskedEqual: return (value & check.mask) == check.value;
        case ArgCheck::Op::GreaterEqual: return value >= check.value;
        case ArgCheck::Op::In32:
        case ArgCheck::Op::NotIn32: {
            bool in = std::find(check.values.begin(), check.values.end(), static_cast<std::uint32_t>(value)) !=
                      check.values.end();
            return in == (check.op == ArgCheck::Op::In32);
        }
        case ArgCheck::Op::AnyBit32: return (static_cast<std::uint32_t>(value) & check.mask) != 0;
    }
    return false;
}

std::string describe(const ArgCheck& check) {
    std::ostringstream out;
    out << "arg" << check.arg << std::hex;
    switch (check.op) {
        case ArgCheck::Op::Equal: out << " == 0x" << check.value; break;
        case ArgCheck::Op::MaskedEqual: out << " & 0x" << check.mask << " == 0x" << check.value; break;
        case ArgCheck::Op::GreaterEqual: out << " >= 0x" << check.value; break;
        case ArgCheck::Op::In32:
        case ArgCheck::Op::NotIn32:
            out << (check.op == ArgCheck::Op::In32 ? " (low 32 bits) in {" : " (low 32 bits) not in {");
            for (std::size_t i = 0; i < check.values.size(); ++i) out << (i ? ", 0x" : "0x") << check.values[i];
            out << "}";
            break;
        case ArgCheck::Op::AnyBit32: out << " (low 32 bits) has any bit of 0x" << check.mask; break;
    }
    return out.str();
}

}  // namespace

std::vector<SyscallRule> default_seccomp_rules(bool nested_namespaces) {
    std::vector<SyscallRule> rules;
    if (!nested_namespaces) {
        add_namespace_rules(rules);
        add_mount_rules(rules);
    }
    add_kernel_surface_rules(rules);
    add_terminal_rules(rules);
    add_socket_rules(rules);
    add_personality_rules(rules);
    return rules;
}

SeccompPolicy build_seccomp_policy(const SeccompSettings& settings, SeccompMode mode, bool kernel_runs_x32) {
    SeccompPolicy policy;
    policy.enabled = settings.enabled;
    policy.nested_namespaces = settings.nested_namespaces;
    policy.mode = mode;
    if (!settings.enabled) return policy;
    policy.architectures = seccomp_architectures(kernel_runs_x32);
    policy.builtin = settings.syscalls.empty();
    std::set<std::string> defaults;
    for (auto& rule : default_seccomp_rules(settings.nested_namespaces)) {
        defaults.insert(rule.syscall);
        if (!settings.syscalls.count(rule.syscall)) policy.rules.push_back(std::move(rule));
    }
    for (const auto& [name, choice] : settings.syscalls) {
        if (!choice.allow) policy.rules.push_back(SyscallRule{name, choice.error, {}, "profile"});
        else if (defaults.count(name)) policy.allowed.push_back(name);
    }
    add_socketcall_rule(policy.rules, settings.syscalls);
    return policy;
}

bool filter_loaded_before_fork(const SeccompPolicy& policy) { return policy.enabled && policy.builtin; }

bool compiled_by_us(const SyscallRule& rule) {
    return std::any_of(rule.when.begin(), rule.when.end(),
                       [](const ArgCheck& check) {
                           return check.op == ArgCheck::Op::In32 || check.op == ArgCheck::Op::NotIn32 ||
                                  check.op == ArgCheck::Op::AnyBit32;
                       });
}

bool known_syscall(const std::string& name) {
    for (const auto& arch : seccomp_architectures()) {
        std::uint32_t token = arch == "native" ? SCMP_ARCH_NATIVE : seccomp_arch_resolve_name(arch.c_str());
        if (seccomp_syscall_resolve_name_arch(token, name.c_str()) >= 0) return true;
    }
    return false;
}

std::optional<int> errno_from_name(const std::string& name) {
    // errno(3)'s aliases, which strerrorname_np never returns.
    if (name == "EWOULDBLOCK") return EWOULDBLOCK;
    if (name == "ENOTSUP") return ENOTSUP;
    if (name == "EDEADLOCK") return EDEADLOCK;
    for (int error = 1; error < 4096; ++error) {
        const char* known = ::strerrorname_np(error);
        if (known && name == known) return error;
    }
    return std::nullopt;
}

std::string errno_name(int error) {
    const char* known = ::strerrorname_np(error);
    return known ? known : std::to_string(error);
}

std::vector<std::string> seccomp_architectures(bool kernel_runs_x32) {
    std::uint32_t native = seccomp_arch_native();
    if (native == SCMP_ARCH_X86_64 && kernel_runs_x32) return {"x86_64", "x86", "x32"};
    if (native == SCMP_ARCH_X86_64) return {"x86_64", "x86"};
    if (native == SCMP_ARCH_AARCH64) return {"aarch64", "arm"};
    return {"native"};  // other machines: their own ABI only
}

const SyscallRule* matching_rule(const SeccompPolicy& policy, const std::string& syscall,
                                 const std::uint64_t (&args)[6]) {
    if (!policy.enabled) return nullptr;
    for (const auto& rule : policy.rules) {
        if (rule.syscall != syscall) continue;
        if (std::all_of(rule.when.begin(), rule.when.end(), [&](const ArgCheck& c) { return holds(c, args); }))
            return &rule;
    }
    return nullptr;
}

std::string render_seccomp_policy(const SeccompPolicy& policy) {
    if (!policy.enabled) return "seccomp: off ([security] seccomp = false): every system call is allowed\n";
    std::ostringstream out;
    const char* mode = policy.mode == SeccompMode::Learn ? "learn (refusals let through and recorded)"
                       : policy.mode == SeccompMode::Log ? "enforce, every refusal recorded"
                                                         : "enforce";
    out << "seccomp: " << mode << "; architectures:";
    for (const auto& arch : policy.architectures) out << " " << arch;
    if (seccomp_architectures(true) != policy.architectures)
        out << " (x32: every call ENOSYS, as this kernel answers)";
    out << "; nested namespaces " << (policy.nested_namespaces ? "allowed" : "refused") << "\n";
    // One line per syscall: its group, errno and conditions.
    std::vector<std::string> order;
    std::map<std::string, std::vector<const SyscallRule*>> by_name;
    for (const auto& rule : policy.rules) {
        if (!by_name.count(rule.syscall)) order.push_back(rule.syscall);
        by_name[rule.syscall].push_back(&rule);
    }
    for (const auto& name : order) {
        const auto& rules = by_name[name];
        out << "  deny " << name << " (" << rules.front()->why << "): " << errno_name(rules.front()->error);
        if (!rules.front()->when.empty()) {
            out << " when ";
            if (rules.size() > 3) {
                out << rules.size() << " argument patterns";
            } else {
                for (std::size_t i = 0; i < rules.size(); ++i) {
                    out << (i ? " or " : "");
                    for (std::size_t j = 0; j < rules[i]->when.size(); ++j)
                        out << (j ? " and " : "") << describe(rules[i]->when[j]);
                }
            }
        }
        out << "\n";
    }
    if (!policy.allowed.empty()) {
        out << "  allowed by the profile:";
        for (const auto& name : policy.allowed) out << " " << name;
        out << "\n";
    }
    out << "  calls newer than this build's syscall table: ENOSYS\n";
    return out.str();
}

}  // namespace sb
