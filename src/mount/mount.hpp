// Applying the filesystem plan inside the sandbox's new mount namespace (runs in I, pid 1).
#pragma once
#include <string>
#include <vector>

#include "mount/mount_plan.hpp"

namespace sb {

// Builds the new root from the plan and pivots into it; on return "/" is the sandbox's root
// (a tmpfs, read-only), the host's root is detached and the cwd is "/".
// Throws SetupError naming the step, the operation, the path and the errno.
// tmpfs and dir mounts are owned by the payload's (inside) uid/gid, as with bubblewrap.
// Each of `hidden_dirs` (the records of running sandboxes, the kept changes) that exists is
// opened once; wherever a bind's opened source (or an overlay's layer) shows it, an empty
// read-only tmpfs covers it, decided on the two opened objects, never on a path.
void setup_filesystem(const std::vector<MountStep>& mounts, unsigned owner_uid, unsigned owner_gid,
                      const std::vector<std::string>& hidden_dirs);

}  // namespace sb
