// The namespaces slice of the plan: which namespaces nested in the user namespace are new
// (mount and PID always are), and the hostname set in a new UTS namespace. Plain data.
#pragma once
#include <string>

namespace sb {

struct NamespacePlan {
    bool uts = true, ipc = true, net = true, cgroup = true;  // false: shared with the host
    std::string hostname;
};

}  // namespace sb
