// What the processes of the sandbox share (error reports, the session keyring), and N.
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
        failure = {setup->stage(), setup->message(), setup->hint(), setup->error_number()};
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

}  // namespace

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

void run_network_namespace_maker(int user_namespace, int sync, int maps_written) {
    try {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        // With every capability in the sandbox's user namespace for a moment, we hold nothing of
        // S's (and of its caller's) but what we need.
        close_fds_except({user_namespace, sync, maps_written});
        join_user_namespace(user_namespace);
        // S writes a byte once the maps are written; end of file: they were not, and S says why.
        char go = 0;
        ssize_t n;
        while ((n = ::read(maps_written, &go, 1)) < 0 && errno == EINTR) {
        }
        if (n != 1) ::_exit(kExitSetupFailed);
        UniqueFd net = create_network_namespace();
        send_message(sync, Message{MessageType::NetworkNamespace, 0, 0, {}}, {net.get()});
        ::_exit(0);
    } catch (const std::exception& error) {
        fail_child(sync, error);  // to I, which passes it on
    }
}

}  // namespace sb
