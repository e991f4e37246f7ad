// Writing the id maps of the child's user namespace, from the supervisor (after clone).
#pragma once
#include <sys/types.h>

#include "idmap/idmap.hpp"

namespace sb {

// Throws SetupError(Stage::IdMap, ...) with the helper's own message when it fails.
void write_id_maps_from_parent(pid_t child, const IdMapping& ids);

}  // namespace sb
