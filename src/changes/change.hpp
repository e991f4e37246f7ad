// One change an overlay's upper makes to the directory below it, and how `sandbox diff` shows
// changes: the unified diff of text, the --stat lines, the JSON. Pure.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sb {

enum class EntryType { None, File, Directory, Symlink, Other };
enum class ChangeKind {
    Added,        // nothing was there
    Deleted,      // removed (a whole directory counts as one change)
    Modified,     // same type: contents, link target or mode differ
    TypeChanged,  // a file where a directory was, a link where a file was, ...
    Replaced,     // a directory removed and made again: nothing of the old one is kept
};

const char* to_string(EntryType type);
const char* to_string(ChangeKind kind);
// git's letters: A, D, M, T; R for a replaced directory.
char status_letter(ChangeKind kind);

struct Change {
    std::size_t mount = 0;  // which kept overlay (ChangeSetMeta::mounts)
    std::string path;       // relative to the overlay's top: "src/main.c"
    ChangeKind kind = ChangeKind::Modified;
    EntryType old_type = EntryType::None, new_type = EntryType::None;
    unsigned old_mode = 0, new_mode = 0;  // permission bits (07777)
    std::uint64_t old_size = 0, new_size = 0;
    bool content_changed = false;     // files: the bytes differ; links: the target does
    std::string old_link, new_link;   // symlinks' targets
};

// A text's side of a change: its bytes, or nullopt when too big to show.
using Contents = std::optional<std::string>;
constexpr std::uint64_t kMaxDiffBytes = 8 << 20;  // bigger files are "changed" without lines

// Lines added and removed between two texts (binary: both 0).
struct LineCounts {
    std::uint64_t added = 0, removed = 0;
    bool binary = false;
    bool too_large = false;  // a side bigger than kMaxDiffBytes: no lines counted
};
bool looks_binary(const std::string& bytes);
// A path as diff, --stat and commit print it: as it is, or when it holds control characters,
// '"' or '\\', in double quotes with C escapes (git's core.quotePath, UTF-8 kept), so that a
// name cannot forge lines of the output or move the terminal's cursor.
std::string quote_path(const std::string& path);

// git's text: "diff --git a/P b/P", mode lines, then hunks with 3 lines of context, or "Binary
// files ... differ". `old_text`/`new_text` are the files' bytes (links: their targets), unused
// for other types. `display` is the path as shown (with its mount's prefix when there are several).
std::string render_unified(const Change& change, const std::string& display, const Contents& old_text,
                           const Contents& new_text, LineCounts* counts = nullptr);

// " M src/main.c | 4 ++--": one --stat line; `width` pads the path.
std::string render_stat_line(const Change& change, const std::string& display, const LineCounts& counts,
                             std::size_t width);
// " 3 changes, 10 insertions(+), 2 deletions(-)"
std::string render_stat_summary(std::size_t changes, std::uint64_t added, std::uint64_t removed);

// {"path":..,"change":"modified","old":{"type":"file","mode":"0644","size":..},"new":{..},...}
std::string render_change_json(const Change& change, const std::string& mount_target, const std::string& source,
                               const std::optional<LineCounts>& counts);

}  // namespace sb
