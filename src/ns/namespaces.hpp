// Namespaces other than the user namespace, and what is set up in them.
#pragma once
#include <string>

#include "ns/namespace_plan.hpp"
#include "sys/unique_fd.hpp"

namespace sb {

// The clone flags of the namespaces S creates with I, pid 1, beside its user namespace (mount
// and PID always). Not the network namespace: see create_network_namespace.
int nested_namespace_flags(const NamespacePlan& plan);

// In N, a short-lived child of S, started while the id maps are being written: joins the
// sandbox's user namespace (`user_namespace`, an fd S opened). Needs no maps.
void join_user_namespace(int user_namespace);

// In N, once the maps are written: makes a new network namespace in the user namespace N
// joined, with lo up, returned as an fd for I to join. The kernel takes about half a
// millisecond to make one, so N makes it while I builds the filesystem (which needs none). Only
// after the maps: the kernel gives the namespace's sysfs entries (/sys/class/net/lo) and
// /proc/net to the user namespace's root only if root is mapped by then. N stays outside the
// sandbox's PID namespace, so the payload is still pid 2.
UniqueFd create_network_namespace();

// In I: joins the network namespace N made (before anything that needs it, and before the payload).
void join_network_namespace(int fd);

// In I: the hostname (only in a new UTS namespace).
void setup_hostname(const NamespacePlan& plan);

}  // namespace sb
