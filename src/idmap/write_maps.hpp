// Writing the id maps of the child's user namespace, from the supervisor (after clone).
#pragma once
#include <sys/types.h>

#include <memory>

#include "idmap/idmap.hpp"

namespace sb {

// The id maps being written: with newuidmap/newgidmap, the two helpers run (each a setuid exec
// of a millisecond or more) until finish() waits for them, so the caller can start other work
// meanwhile; the other writers are done on start. Destroyed unfinished, it kills the helpers.
class IdMapWriter {
public:
    IdMapWriter(pid_t child, const IdMapping& ids);
    ~IdMapWriter();
    IdMapWriter(const IdMapWriter&) = delete;
    IdMapWriter& operator=(const IdMapWriter&) = delete;
    // Throws SetupError(Stage::IdMap, ...) with the helper's own message when one failed.
    void finish();

private:
    struct Helpers;
    std::unique_ptr<Helpers> helpers_;  // none when the maps were written directly
};

}  // namespace sb
