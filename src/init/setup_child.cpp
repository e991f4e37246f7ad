#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/keyctl.h>

#include <cerrno>

#include "exitcode.hpp"
#include "init/init.hpp"
#include "ipc/channel.hpp"
#include "ns/namespaces.hpp"
#include "sys/error.hpp"
#include "sys/hints.hpp"
#include "sys/syscalls.hpp"

namespace sb {

std::string hint_for_errno(int err) {
    switch (err) {
        case EAGAIN: return hint(Cause::TooManyProcesses);
        case ENOSPC: return "a namespace or resource limit is exhausted: see /proc/sys/user/max_*";
        case ENOMEM: return "the kernel is out of memory";
        default: return "";
    }
}

void fail_child(int sync, const std::exception& error) noexcept {
    SetupFailedFields failure;
    if (const auto* setup = dynamic_cast<const SetupError*>(&error)) {
        failure = {setup->stage(), setup->message(), setup->hint(), 0};
    } else if (const auto* sys = dynamic_cast<const SysError*>(&error)) {
        failure = {Stage::Setup, sys->what(), sys->hint(), sys->error_number()};
    } else {
        failure = {Stage::Setup, error.what(), "", 0};
    }
    send_message_noexcept(sync, to_message(failure));
    ::_exit(kExitSetupFailed);
}

namespace {

bool key_syscalls_refused(int err) { return err == ENOSYS || err == EPERM; }

// A fresh anonymous session keyring, as runc and crun give each container: the caller's holds
// its Kerberos tickets, fscrypt and cifs keys; shared, the payload could read them, plant keys
// that outlive the sandbox, and two sandboxes would share one. I and the payload inherit it.
// Where key syscalls are refused outright (an outer seccomp filter, a kernel without keys) they
// are refused to the payload too, which then cannot reach any keyring: that is checked by
// naming our session keyring, not assumed.
void join_fresh_session_keyring() {
    if (::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, nullptr) >= 0) return;
    int err = errno;
    if (key_syscalls_refused(err) && ::syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0) < 0 &&
        key_syscalls_refused(errno))
        return;
    throw SysError("keyctl", "join a new session keyring", err);
}

}  // namespace

void run_setup_child(const SandboxChild& child) {
    try {
        // If the supervisor dies, so do we (and the namespaces with us).
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        // Nothing of the caller's beyond stdio may reach pid 1 (runc CVE-2024-21626): fds
        // without CLOEXEC survive a clone, so close them here.
        close_fds_except(child.sync);
        // A session of our own: our caller's terminal is nobody's controlling terminal in here
        // (no TIOCSTI into it), and its signals go to the supervisor only, which forwards them.
        check(::setsid(), "setsid");
        auto go = receive_message(child.sync);
        if (!go || go->message.type != MessageType::MapsWritten) ::_exit(kExitSetupFailed);
        in_stage(Stage::Keyring, join_fresh_session_keyring);
        setup_nested_namespaces(child.namespaces);
        UniqueFd init_pidfd;
        // CLONE_PARENT: I becomes the supervisor's child, so it can wait for it and I's
        // parent-death signal follows the supervisor, not this short-lived process.
        pid_t init = in_stage(Stage::Namespaces, [&] { return clone_with_pidfd(CLONE_PARENT, init_pidfd); });
        if (init == 0) run_init(child);
        send_message(child.sync, to_message(InitStartedFields{init}), {init_pidfd.get()});
        ::_exit(0);
    } catch (const std::exception& error) {
        fail_child(child.sync, error);
    }
}

}  // namespace sb
