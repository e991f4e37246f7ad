// What a process started in a running sandbox (`sandbox exec`, `sandbox enter`) runs as: the
// payload's process slice (ids, groups, capabilities, no_new_privs, rlimits, seccomp policy,
// environment) with the caller's command, variables, working directory and terminal. Pure.
#pragma once
#include "ipc/control.hpp"
#include "plan/process_spec.hpp"

namespace sb {

// The command and its terminal come from the request; everything that fences it in comes from
// the payload's spec and nothing in the request can loosen it. An empty argv is the shell:
// $SHELL of the sandbox's environment when absolute, else /bin/sh. Variables of the request
// replace the payload's of the same name.
ProcessSpec exec_process(const ProcessSpec& payload, const ControlRequest& request);

}  // namespace sb
