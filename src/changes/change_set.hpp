// A sandbox's kept changes on disk (see changes/store.hpp for the layout): made ready for a run,
// opened for diff, commit and discard, listed, removed. Every object is opened without
// following symlinks below the changes root, and locked (flock) on the opened directory.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "changes/store.hpp"
#include "idmap/idmap.hpp"
#include "sys/unique_fd.hpp"

namespace sb {

struct ChangesPlan;

class ChangeSet {
public:
    enum class Lock { Shared, Exclusive };

    // For a starting sandbox: makes DATA/changes/NAME (0700) with changes.json and one upper
    // and work directory per kept overlay, or takes the existing one when it is of the same
    // overlays. Holds a shared lock until destroyed. Throws SetupError (stage mount) when the
    // change set is in use (commit, discard) or of other overlays.
    static ChangeSet prepare_for_run(const ChangesPlan& plan);
    // An existing change set; nullopt when there is none of that name. Throws SysError when it
    // cannot be locked at once (Exclusive: a sandbox of it runs, or another commit does).
    // Without `read_meta` (discard) changes.json is not read, so a damaged one can be thrown away.
    static std::optional<ChangeSet> existing(const std::string& changes_root, const std::string& name, Lock lock,
                                             bool read_meta = true);

    const ChangeSetMeta& meta() const { return meta_; }
    int fd() const { return dir_.get(); }
    bool created() const { return created_; }
    // The upper directory of kept overlay `index` (O_RDONLY | O_DIRECTORY).
    UniqueFd open_upper(std::size_t index) const;
    // The host directories of kept overlay `index`, the source first, each opened without
    // following symlinks; invalid when missing. Throws SysError on other errors.
    std::vector<UniqueFd> open_host_layers(std::size_t index) const;
    // True when any upper holds an entry.
    bool has_changes() const;
    // True when everything in the change set (uppers and work directories), and everything on
    // the host that a commit of it could replace, remove or read, is owned by the caller's uid
    // and gid as seen where it runs; false when anything is not, or cannot be seen.
    bool owned_by_caller_only() const;
    // Removes the whole change set from disk (it must be locked exclusively, or be ours in a
    // run that is over). Files the sandbox made as other ids need the sandbox's ids: see
    // run_with_sandbox_ids.
    void remove();

private:
    UniqueFd dir_;  // DATA/changes/NAME, locked
    std::string root_, name_;
    ChangeSetMeta meta_;
    bool created_ = false;
};

// Makes DATA/changes (and what is missing above it) 0700, so that a bind showing where it
// will be can hide it from the start. Throws SysError.
void make_changes_root(const std::string& changes_root);

// The names of the change sets under `changes_root`, sorted.
std::vector<std::string> list_change_sets(const std::string& changes_root);

// Removes `name` in `dir` and, for a directory, everything below it, without following any
// symlink. A directory of ours without search permission is opened up first.
void remove_tree_at(int dir, const std::string& name, const std::string& what);

// Runs `body` in a child process inside a new user namespace with `ids` (uid 0 = the caller,
// then the subordinate range), so it can read and remove what a sandbox made as any of its ids,
// and returns its exit code. Errors in the child are reported by it (report_error).
int run_with_sandbox_ids(const IdMapping& ids, const std::function<int()>& body);

// Like run_with_sandbox_ids for work on `set`, but with only the user's own id mapped (`own`,
// written directly: no setuid newuidmap/newgidmap to exec, a few milliseconds) when nothing in
// the change set is of another of the sandbox's ids, as is usual; else with `every`.
int run_with_ids_for(const ChangeSet& set, const IdMapping& own, const IdMapping& every, const std::function<int()>& body);

}  // namespace sb
