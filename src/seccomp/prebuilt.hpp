// The programs of the built-in policies, generated at build time (src/seccomp/generate.cpp).
#pragma once
#include <linux/filter.h>

#include <cstddef>
#include <utility>

namespace sb {

std::pair<const sock_filter*, std::size_t> prebuilt_seccomp(bool nested_namespaces, bool notify);

}  // namespace sb
