// --json-status-fd, as bubblewrap's: one JSON object per line on a descriptor of the caller's,
// for programs that drive the tool. Pure: the lines only.
#pragma once
#include <string>
#include <sys/types.h>

#include "ipc/message.hpp"

namespace sb {

// When the payload is about to start: the sandbox's pid 1 as the host sees it ("child-pid", as
// bubblewrap names its first process inside) and the inode number of each of its namespaces
// ("net-namespace", ...; those not known are left out).
std::string json_status_started(pid_t child_pid, const PayloadStartedFields& namespaces);

// At the end: the exit code the command returns (the payload's, 128+N for signal N, 125 when
// the sandbox could not be set up, 124 on timeout).
std::string json_status_exited(int exit_code);

}  // namespace sb
