// Kept changes: the upper directories of a sandbox's overlays with upper = "kept", which stay
// after the sandbox ends until `sandbox commit` or `sandbox discard`. One directory per name:
//   DATA/changes/NAME/            0700, DATA = $XDG_DATA_HOME/sandbox or ~/.local/share/sandbox
//     changes.json                what they are changes of (ChangeSetMeta), written once
//     0/upper, 0/work             the first kept overlay's upper and work directories, ...
// The payload writes below each `upper` (through the overlay) and nowhere else here: everything
// in an upper is untrusted, everything else is ours. A running sandbox holds a shared lock on
// NAME (flock), `diff` a shared one, `commit` and `discard` an exclusive one.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sys/unique_fd.hpp"

namespace sb {

// One kept overlay: where it was shown inside, and the host directories below it.
struct KeptOverlay {
    std::string target;              // inside the sandbox
    std::string source;              // the top lower: `commit` writes here
    std::vector<std::string> lower;  // the lower directories below it, top first
    bool operator==(const KeptOverlay&) const = default;
};

struct ChangeSetMeta {
    std::string name;
    std::int64_t created = 0;  // when the first sandbox of this change set started (epoch seconds)
    // The same moment on the kernel's coarse clock, the one it stamps ctime with: a host file
    // whose ctime is at or after it changed on the host after the sandbox first saw it.
    std::int64_t base_sec = 0, base_nsec = 0;
    std::vector<std::string> protect;  // the protected paths in force (protect.hpp)
    std::vector<KeptOverlay> mounts;   // index i lives in directory "i"
};

constexpr const char* kChangesFile = "changes.json";

std::string render_change_set_meta(const ChangeSetMeta& meta);
// Throws std::runtime_error naming what is wrong.
ChangeSetMeta parse_change_set_meta(const std::string& text);

// $XDG_DATA_HOME/sandbox, else HOME/.local/share/sandbox; "" when neither is set (or relative).
std::string data_directory(const std::string& xdg_data_home, const std::string& home);
// DATA/changes
std::string changes_root(const std::string& data_dir);

}  // namespace sb
