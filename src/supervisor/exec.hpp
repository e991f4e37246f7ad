// `sandbox exec` on the supervisor's side: a helper process H, forked for each request, joins
// every namespace of the sandbox (user first), opens a pty of the sandbox's own when
// the caller has a terminal, and starts the command X with clone3 into the sandbox's PID
// namespace and cgroup. X then takes the same steps as the payload (run_payload: ids, groups,
// capabilities, no_new_privs, cwd, rlimits, Landlock, seccomp, exec). H answers the caller on
// its connection (started, with the pty's master; then the exit code or the error) and exits.
// X lives in the sandbox's PID namespace, so it dies with the sandbox; H dies with us
// (PR_SET_PDEATHSIG).
#pragma once
#include <vector>

#include "ipc/control.hpp"
#include "landlock/plan.hpp"
#include "ns/namespace_plan.hpp"
#include "plan/process_spec.hpp"
#include "seccomp/compile.hpp"
#include "sys/child_process.hpp"
#include "sys/unique_fd.hpp"

namespace sb {

// A namespace of the sandbox, opened by the supervisor: pid 1's own (from /proc/PID/ns while pid
// 1 was still dumpable; pidfd-based setns needs ptrace access to a process that is not), and
// the network namespace pid 1 sent (sandbox-network).
struct NamespaceFd {
    UniqueFd fd;
    int type;  // CLONE_NEWUSER, CLONE_NEWNS, ...
};

struct ExecTarget {
    const std::vector<NamespaceFd>& namespaces;  // the user namespace first
    const NamespacePlan& plan;
    int cgroup_fd;                  // the payload's cgroup, or -1
    const ProcessSpec& payload;
    const LandlockPlan& landlock;
    const SeccompProgram& seccomp;
    const std::string& state_dir;
};

// Opens pid 1's namespaces (all but the network's) for later execs. `pid` must be our unreaped
// child and still dumpable.
std::vector<NamespaceFd> open_sandbox_namespaces(pid_t pid, const NamespacePlan& plan);

// Why an exec cannot be served at all (before any process is started), or "".
std::string exec_refusal(const ExecTarget& target);

// Forks H for the request; the connection and the caller's stdio are H's from then on (ours are
// closed). Throws SysError, having given away nothing, when H cannot be started.
ChildProcess start_exec(const ExecTarget& target, UniqueFd& connection, const ControlRequest& request,
                        std::vector<UniqueFd>& stdio);

}  // namespace sb
