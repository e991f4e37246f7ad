// `sandbox inspect`: the running sandbox's plan as its supervisor applied it, and its live state.
// The supervisor builds the document; the client prints it as JSON or as text. Pure.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace sb {

struct LiveState {
    int supervisor_pid = 0;
    int init_pid = 0;               // pid 1, as the host sees it
    std::int64_t created = 0;       // seconds since the epoch
    std::int64_t now = 0;
    bool paused = false;
    std::optional<std::string> cgroup;  // the sandbox's cgroup, when it has one
    std::optional<std::uint64_t> memory_current, pids_current;
    std::size_t exec_sessions = 0;  // `sandbox exec` commands being served
    std::size_t attached_clients = 0;
    std::string log;                // the log's path ("" for a sandbox in the foreground)
    bool tty = false;               // run --detach --tty
};

// {"state": {...}, "plan": PLAN_JSON, "plan_text": PLAN_TEXT}
std::string inspect_document(const std::string& plan_json, const std::string& plan_text, const LiveState& live);
// The live state as "key: value" lines, then the plan as --dry-run prints it; nullopt when the
// document is not one inspect_document makes.
std::optional<std::string> render_inspect_text(const std::string& document);

}  // namespace sb
