// The processes inside the sandbox. Each function runs in a freshly cloned/forked process and
// never returns: errors are sent to the supervisor over the sync socket, then the process exits.
#pragma once
#include <cerrno>

#include <string>
#include <vector>

#include "ipc/message.hpp"
#include "landlock/plan.hpp"
#include "mount/mount_plan.hpp"
#include "net/slirp_settings.hpp"
#include "ns/namespace_plan.hpp"
#include "plan/process_spec.hpp"
#include "seccomp/compile.hpp"
#include "sys/error.hpp"
#include "sys/unique_fd.hpp"

namespace sb {

// What the processes inside get: their slices of the plan, never the whole Plan (an exec into a
// running sandbox or an OCI front-end fills the same slices from elsewhere).
struct SandboxChild {
    const NamespacePlan& namespaces;
    const std::vector<MountStep>& mounts;
    const std::vector<std::string>& hidden_dirs;  // hidden wherever a bind shows them (Plan::hidden_dirs)
    const SlirpSettings* slirp;     // the guest's interface with network mode slirp, else none
    const ProcessSpec& process;     // the payload
    const LandlockPlan& landlock;
    const SeccompProgram& seccomp;  // process.seccomp, compiled by the supervisor before the clone
    int sync;                       // our end of the sync socket (CLOEXEC)
    bool report_namespaces;         // --json-status-fd: send the namespaces' ids in payload-started
    bool joins_running;             // `sandbox exec`: the process loads the filter itself (no pid 1 to inherit it from)
    bool share_network = false;     // send S the network namespace joined (sandbox-network), for `sandbox exec`
    bool report_exec = false;       // run --detach: say when the payload's exec went through (payload-executed)
};

// A pty of the sandbox's own (the caller's terminal never goes inside).
struct SandboxTerminal {
    UniqueFd master, peer;
};
// Opens it from the sandbox's /dev/pts when the profile has a `dev` mount (unless
// `private_instance`), else from a devpts instance of its own that is never attached anywhere;
// in I, or in a process that joined the sandbox's namespaces.
SandboxTerminal open_sandbox_terminal(bool private_instance = false);

// In I: a child's report of its failure (a SetupFailed message), to pass on as ours.
SetupError reported_failure(const Message& message);

// In I: waits for S to say the maps are written. N, which starts meanwhile, may report its
// failure first: that is thrown (as reported_failure) once the maps are written, since S is
// still waiting for its id-map helpers before. Anything else (S is gone) ends us quietly.
void wait_for_maps(int sync);

// N: a child of S, started while the maps are written: joins the sandbox's user namespace
// (`user_namespace`, which S opened), waits for a byte on `maps_written`, then makes the network
// namespace and sends it to I over S's end of the sync socket, or its failure, which I passes on.
[[noreturn]] void run_network_namespace_maker(int user_namespace, int sync, int maps_written);

// In I: a session keyring of the sandbox's own.
void join_fresh_session_keyring();

// I: pid 1, cloned by S with the user, mount, PID and the other namespaces but the network's.
// Waits for the maps, builds the filesystem, joins the network namespace, sets the hostname,
// forks the payload, then reaps every zombie and forwards signals until the payload exits.
[[noreturn]] void run_init(const SandboxChild& child);

// W: drops privileges and execs the payload's argv. `terminal` is the pty peer or -1; it
// replaces the fds in child.process.terminal_fds.
[[noreturn]] void run_payload(const SandboxChild& child, int terminal);

// Loads the compiled filter into the calling process (pid 1 before the payload's fork, or the
// payload as its last step before exec). In log and learn modes its listener goes to the
// supervisor before any call it hears of can be made; our copy closes when we return.
void load_filter(const SandboxChild& child);

// Runs `step`, turning a SysError into a SetupError of `stage` (with a hint for the usual causes).
template <typename Step>
auto in_stage(Stage stage, Step step) -> decltype(step());

// In a child: sends the error and exits 125.
[[noreturn]] void fail_child(int sync, const std::exception& error) noexcept;

std::string hint_for_errno(int err);

template <typename Step>
auto in_stage(Stage stage, Step step) -> decltype(step()) {
    try {
        return step();
    } catch (const SysError& error) {
        throw SetupError(stage, error.what(), error.hint().empty() ? hint_for_errno(error.error_number()) : error.hint())
            .caused_by(error.error_number());
    }
}

}  // namespace sb
