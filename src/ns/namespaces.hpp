// Namespaces other than the user namespace, and what is set up in them.
#pragma once
#include <string>

#include "ns/namespace_plan.hpp"

namespace sb {

// The clone flags of the namespaces nested inside the user namespace (mount and PID always).
int nested_namespace_flags(const NamespacePlan& plan);

// In C: creates the nested namespaces, owned by the (already mapped) user namespace.
void setup_nested_namespaces(const NamespacePlan& plan);

// In I: hostname (only in a new UTS namespace) and the loopback interface up.
void setup_hostname(const NamespacePlan& plan);
void setup_loopback();

}  // namespace sb
