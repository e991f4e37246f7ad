// The programs of the built-in policies, generated at build time (src/seccomp/generate.cpp).
#pragma once
#include <linux/filter.h>

#include <cstddef>
#include <utility>

namespace sb {

// Which built-in policy: the choices a profile can make without [seccomp] tables, and the host fact.
struct PrebuiltKey {
    bool nested_namespaces = false;
    bool notify = false;  // refusals go to a listener (log and learn modes)
    bool x32 = true;      // the kernel runs x32 calls (see seccomp_architectures)
};

std::pair<const sock_filter*, std::size_t> prebuilt_seccomp(PrebuiltKey key);

}  // namespace sb
