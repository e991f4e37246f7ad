#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>

#include "exitcode.hpp"
#include "init/init.hpp"
#include "ipc/channel.hpp"
#include "ns/namespaces.hpp"
#include "sys/error.hpp"
#include "sys/syscalls.hpp"

namespace sb {

void fail_child(int sync, const std::exception& error) noexcept {
    if (const auto* setup = dynamic_cast<const SetupError*>(&error))
        send_message_noexcept(sync, setup_failed(setup->stage(), setup->message(), 0, setup->hint()));
    else if (const auto* sys = dynamic_cast<const SysError*>(&error))
        send_message_noexcept(sync, setup_failed("setup", sys->what(), sys->error_number(), sys->hint()));
    else
        send_message_noexcept(sync, setup_failed("setup", error.what(), 0, ""));
    ::_exit(kExitSetupFailed);
}

void run_setup_child(const SandboxChild& child) {
    try {
        // If the supervisor dies, so do we (and the namespaces with us).
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        auto go = receive_message(child.sync);
        if (!go || go->message.type != MessageType::MapsWritten) ::_exit(kExitSetupFailed);
        setup_nested_namespaces(child.plan);
        UniqueFd init_pidfd;
        // CLONE_PARENT: I becomes the supervisor's child, so it can wait for it and I's
        // parent-death signal follows the supervisor, not this short-lived process.
        pid_t init = clone_with_pidfd(CLONE_PARENT, init_pidfd);
        if (init == 0) run_init(child);
        send_message(child.sync, Message{MessageType::InitStarted, init, 0, {}}, init_pidfd.get());
        ::_exit(0);
    } catch (const std::exception& error) {
        fail_child(child.sync, error);
    }
}

}  // namespace sb
