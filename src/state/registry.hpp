// The records of running sandboxes: one file per sandbox, $XDG_RUNTIME_DIR/sandbox/NAME, made
// by its supervisor and removed when it ends. A record whose supervisor is gone is stale: the
// next start removes it, with its cgroup. The directory is private (0700) and never writable
// from inside a sandbox (the plan covers it with a read-only bind where a profile shows it).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "state/record.hpp"

namespace sb {

// $XDG_RUNTIME_DIR/sandbox, else FALLBACK/sandbox (/run/user/UID, see private_runtime_dir),
// else "": no records (never a shared directory such as /tmp, where anyone, a sandbox with a
// writable /tmp among them, could plant records first).
std::string state_directory(const std::string& xdg_runtime_dir, const std::string& fallback_runtime_dir);
// /run/user/UID when it exists, belongs to uid and is private; "" otherwise.
std::string private_runtime_dir(unsigned uid);

// The record's cgroup is the one its supervisor made: named sandbox-NAME, ours, the same inode,
// on a cgroup2 filesystem. Nothing else is ever frozen, killed or removed for a record.
bool record_cgroup_is_valid(const StateRecord& record);

// True while the record's supervisor runs (same pid and start time).
bool supervisor_alive(const StateRecord& record);
// Our own start time, for the record.
std::uint64_t own_start_time();

// Removes the records (and cgroups) of dead supervisors.
void clean_stale_records(const std::string& dir);

// The running sandboxes, by name. Stale records are skipped, not removed.
std::vector<StateRecord> list_running(const std::string& dir);
std::optional<StateRecord> find_running(const std::string& dir, const std::string& name);

// A claimed name: the record exists while this object does.
class Registration {
public:
    // Makes the directory if needed, cleans stale records, claims record.name atomically.
    // Throws SetupError (exit 125) when a running sandbox has the name.
    Registration(const std::string& dir, const StateRecord& record);
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
    ~Registration();

    // Rewrites the record (atomically: a new file renamed over the old one).
    void update(const StateRecord& record);
    const StateRecord& record() const { return record_; }

private:
    std::string dir_, path_;
    StateRecord record_;
    std::uint64_t record_inode_ = 0;
};

}  // namespace sb
