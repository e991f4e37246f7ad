// The records of sandboxes: one directory per sandbox, $XDG_RUNTIME_DIR/sandbox/NAME/, made by
// its supervisor, holding `record` (state/record.hpp), `control` (the supervisor's socket, see
// supervisor/control.hpp) and, for a detached sandbox, `log`. The directory goes when the
// sandbox ends, unless the record is kept (run --detach without --rm): then it stays, with the
// exit code and the log, until `sandbox rm`. A record whose supervisor is gone without an exit
// code is stale: the next start removes it, with its cgroup. The state directory is private
// (0700) and hidden inside sandboxes (the plan covers it with an empty tmpfs where a profile
// shows it).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "state/record.hpp"
#include "sys/unique_fd.hpp"

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

// Removes the records (and cgroups) of dead supervisors that left no exit code.
void clean_stale_records(const std::string& dir);

enum class SandboxStatus { Running, Exited, Gone };  // Gone: the supervisor died without an exit code
struct SandboxEntry {
    StateRecord record;
    SandboxStatus status = SandboxStatus::Running;
};

// The sandboxes with a record, by name; exited (and gone) ones only with `all`. Nothing is removed.
std::vector<SandboxEntry> list_sandboxes_in(const std::string& dir, bool all);
std::optional<SandboxEntry> find_sandbox(const std::string& dir, const std::string& name);
std::optional<StateRecord> find_running(const std::string& dir, const std::string& name);
// The sandbox's own directory, opened (O_PATH is not enough for sockets: a real directory fd).
// Invalid when there is none.
UniqueFd open_sandbox_directory(const std::string& dir, const std::string& name);
// Removes an exited (or gone) sandbox's directory, under the state directory's lock; false when
// the sandbox runs or has no directory.
bool remove_sandbox(const std::string& dir, const std::string& name);

// A claimed name: the sandbox's directory exists while this object does (and after, when the
// record is kept and finish() was called).
class Registration {
public:
    // Makes the state directory if needed, cleans stale records, claims record.name atomically
    // (the directory arrives with its record). Throws SetupError (exit 125) when a sandbox of
    // that name runs, or exited and is kept.
    Registration(const std::string& dir, const StateRecord& record);
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
    ~Registration();

    // Rewrites the record (atomically: a new file renamed over the old one).
    void update(const StateRecord& record);
    // The sandbox ended with `exit_code`: a kept record says so and stays.
    void finish(int exit_code);
    const StateRecord& record() const { return record_; }
    int directory() const { return directory_.get(); }  // the sandbox's own directory

private:
    std::string dir_, path_;
    StateRecord record_;
    UniqueFd directory_;
    std::uint64_t directory_inode_ = 0;
    bool finished_ = false;
};

}  // namespace sb
