// The record of a sandbox, kept in $XDG_RUNTIME_DIR/sandbox/NAME/record by its supervisor (see
// state/registry.cpp), and the rules for sandbox names. Pure.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sb {

// 1..64 of [A-Za-z0-9_.-], starting with a letter or digit (a file name, a cgroup name).
bool valid_sandbox_name(const std::string& name);

// A profile file's name without its directory and ".toml".
std::string profile_stem(const std::string& profile_path);
// PROFILE-xxxxxx: the profile file's stem (made a valid name) and 6 hex digits of `random`.
std::string generate_sandbox_name(const std::string& profile_path, std::uint32_t random);

struct StateRecord {
    std::string name;
    int pid = 0;                       // the supervisor
    std::uint64_t pid_start = 0;       // its start time (/proc/PID/stat field 22): pids get reused
    int init_pid = 0;                  // the sandbox's pid 1, as the host sees it (0 until known)
    std::string profile;               // the profile file
    std::string cgroup;                // the sandbox's cgroup directory; "" when it has none
    std::uint64_t cgroup_inode = 0;    // its inode (0 until made): a record cannot point elsewhere
    std::int64_t created = 0;          // seconds since the epoch
    std::string command;               // the payload's argv, for ps (display only)
    bool keep = false;                 // the record (and log) stays after the sandbox exits, until `rm`
    std::optional<int> exit_code;      // once it exited (kept records only)
    std::int64_t finished = 0;         // when it exited, seconds since the epoch
};

// The payload's argv as one line for display: words with spaces or quotes are quoted.
std::string display_command(const std::vector<std::string>& argv);

std::string encode_state_record(const StateRecord& record);
// nullopt when the text is not a complete, well-formed record.
std::optional<StateRecord> decode_state_record(const std::string& text);

// Field 3 (state) of /proc/PID/stat is Z (zombie) or X (dead): the process has exited.
bool process_exited(const std::string& proc_stat);
// Field 22 (starttime) of /proc/PID/stat; the command name may contain spaces and ')'.
std::optional<std::uint64_t> process_start_time(const std::string& proc_stat);

// "3d 4h", "2h 5m", "4m 10s", "12s".
std::string format_duration(std::int64_t seconds);

}  // namespace sb
