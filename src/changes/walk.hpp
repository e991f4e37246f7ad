// Finding the changes in a kept upper: a walk of the upper (untrusted: whatever the sandbox
// made) against the host directories below it (as they are now), in name order, parents before
// children. Nothing is followed: every entry is opened below its parent's fd with O_NOFOLLOW,
// and what is decided is decided on that opened object.
#pragma once
#include <sys/stat.h>

#include <functional>
#include <string>
#include <vector>

#include "changes/change.hpp"
#include "sys/unique_fd.hpp"

namespace sb {

// What a visitor gets besides the change: the objects it is about, open.
struct ChangeEntry {
    int upper_parent = -1;  // the upper directory holding the entry
    int host_parent = -1;   // the host directory holding it (the top lower's), -1 when missing there
    std::string name;       // the entry's name in both
    int new_fd = -1;        // the upper's entry (files: O_RDONLY; directories: O_RDONLY | O_DIRECTORY)
    const struct stat* new_stat = nullptr;  // new_fd's, when it is open
    dev_t host_dev = 0;     // host_parent's device
    int old_fd = -1;        // the lower entry, when it is a file and the visitor reads it (O_RDONLY)
};

struct WalkCallbacks {
    // Each change, in walk order. Entries below a directory that is added, replaced or becomes
    // a directory are changes (added) of their own and follow it.
    std::function<void(const Change&, const ChangeEntry&)> change;
    // After the entries of an upper directory were visited (post-order), with the directory's
    // own change if it had one: commit prunes here.
    std::function<void(const std::string& path, const Change* change, const ChangeEntry&)> leave_directory;
    // Whether `change` reads the old file (diff does; commit does not, and is spared an open
    // per file).
    bool reads_old_files = true;
};

// Walks the upper `upper` of kept overlay `mount` against its host directories `lowers` (top
// first; the top one may be invalid when it is gone). `only` (relative paths) limits the walk to
// those paths, what is below them, and the directories on the way.
void walk_changes(std::size_t mount, int upper, const std::vector<int>& lowers, const std::vector<std::string>& only,
                  const WalkCallbacks& callbacks);

// Whether the upper's directory `fd` is opaque (overlayfs's user.overlay.opaque = "y"): it
// replaces the host's directory of that name rather than merging with it.
bool is_opaque_dir(int fd);

// Reads a whole regular file from an open fd, at most kMaxDiffBytes (nullopt: bigger).
Contents read_contents(int fd, const std::string& what);

}  // namespace sb
