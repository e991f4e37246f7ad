// run --detach: the caller forks the supervisor into a session of its own and waits, on a
// socket pair, for the payload's exec (payload-executed) or the set-up's failure (setup-failed,
// then the supervisor's exit status gives the exit code: 125, or 126/127 for an exec that
// failed). The supervisor's stdio stays the caller's only until its children are started (see
// Supervisor::start_output_log), and no other fd of the caller's is kept at all; then nothing of
// the caller's is held, so `$(sandbox run -d ...)` returns.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>

#include "exitcode.hpp"
#include "init/init.hpp"
#include "ipc/channel.hpp"
#include "supervisor/supervisor.hpp"
#include "sys/child_process.hpp"
#include "sys/error.hpp"
#include "sys/syscalls.hpp"

namespace sb {
namespace {

// The failure goes to the caller while it waits; once it is gone (the payload had started),
// to our stderr, which is the sandbox's log by then.
void report_failure(int report, const SetupError& error) {
    try {
        send_message(report, to_message(SetupFailedFields{error.stage(), error.message(), error.hint(), error.error_number()}));
    } catch (const std::exception&) {
        std::cerr << "sandbox: " << to_string(error.stage()) << ": " << error.message() << "\n";
        if (!error.hint().empty()) std::cerr << "hint: " << error.hint() << "\n";
    }
}

[[noreturn]] void run_detached_supervisor(const Plan& plan, RunOptions options, int report) {
    int code = kExitSetupFailed;
    try {
        // Nothing the caller's caller handed down stays held for the sandbox's life (a pipe
        // someone waits to see closed, a lock, a make jobserver): only stdio, until it is the
        // log's (Supervisor::start_output_log), and what we were told to write to.
        close_fds_except({report, options.json_status_fd});
        check(::setsid(), "setsid");
        options.detach_report = report;
        code = run_sandbox(plan, options);
    } catch (const SetupError& error) {
        report_failure(report, error);
        code = error.exit_code();
    } catch (const std::exception& error) {
        report_failure(report, SetupError(Stage::Detach, error.what()));
    }
    ::_exit(code);
}

}  // namespace

int run_sandbox_detached(const Plan& plan, const RunOptions& options) {
    auto [ours, theirs] = seqpacket_pair();
    UniqueFd pidfd;
    pid_t pid = clone_with_pidfd(0, pidfd);
    if (pid == 0) {
        ours.reset();
        run_detached_supervisor(plan, options, theirs.get());
    }
    ChildProcess supervisor(pid, std::move(pidfd));
    theirs.reset();
    std::optional<Received> received = receive_message(ours.get());
    if (received && received->message.type == MessageType::PayloadExecuted) {
        supervisor.release();  // it runs on; its own session's, no longer our child to reap
        std::cout << plan.name << "\n";
        return 0;
    }
    int status = supervisor.wait();
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : kExitSetupFailed;
    if (received && received->message.type == MessageType::SetupFailed) {
        SetupFailedFields failure = setup_failed_fields(received->message);
        throw SetupError(failure.stage, failure.message, failure.hint, code == 0 ? kExitSetupFailed : code);
    }
    throw SetupError(Stage::Detach, "the supervisor ended (" + std::to_string(code) + ") before the sandbox started",
                     "run it without --detach to see why");
}

}  // namespace sb
