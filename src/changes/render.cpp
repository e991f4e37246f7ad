#include "changes/change.hpp"

#include <dtl/dtl.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <sstream>

namespace sb {

const char* to_string(EntryType type) {
    switch (type) {
        case EntryType::None: return "none";
        case EntryType::File: return "file";
        case EntryType::Directory: return "directory";
        case EntryType::Symlink: return "symlink";
        case EntryType::Other: return "special";
    }
    return "?";
}

const char* to_string(ChangeKind kind) {
    switch (kind) {
        case ChangeKind::Added: return "added";
        case ChangeKind::Deleted: return "deleted";
        case ChangeKind::Modified: return "modified";
        case ChangeKind::TypeChanged: return "type-changed";
        case ChangeKind::Replaced: return "replaced";
    }
    return "?";
}

char status_letter(ChangeKind kind) {
    switch (kind) {
        case ChangeKind::Added: return 'A';
        case ChangeKind::Deleted: return 'D';
        case ChangeKind::Modified: return 'M';
        case ChangeKind::TypeChanged: return 'T';
        case ChangeKind::Replaced: return 'R';
    }
    return '?';
}

std::string quote_path(const std::string& path) {
    bool plain = true;
    for (unsigned char c : path)
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') plain = false;
    if (plain) return path;
    std::string out = "\"";
    for (unsigned char c : path) {
        switch (c) {
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    char octal[8];
                    std::snprintf(octal, sizeof octal, "\\%03o", c);
                    out += octal;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out + "\"";
}

bool looks_binary(const std::string& bytes) {
    // git's test: a NUL in the first 8000 bytes.
    return bytes.find('\0') < 8000;
}

namespace {

// git's modes: 100644, 100755, 120000, 040755.
std::string git_mode(EntryType type, unsigned mode) {
    char text[16];
    unsigned kind = type == EntryType::Directory ? 040000 : type == EntryType::Symlink ? 0120000 : 0100000;
    std::snprintf(text, sizeof text, "%06o", kind | (type == EntryType::Symlink ? 0 : mode));
    return text;
}

std::string octal_mode(unsigned mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", mode);
    return text;
}

// The lines of a text, each with its newline (the last one may have none).
std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    for (std::size_t start = 0; start < text.size();) {
        std::size_t end = text.find('\n', start);
        end = end == std::string::npos ? text.size() : end + 1;
        lines.push_back(text.substr(start, end - start));
        start = end;
    }
    return lines;
}

bool has_text(EntryType type) { return type == EntryType::File || type == EntryType::Symlink; }

// The text of one side: a file's bytes or a link's target (git shows both so).
const Contents& side_text(EntryType type, const Contents& bytes, const std::string& link, Contents& holder) {
    if (type == EntryType::Symlink) {
        holder = link;
        return holder;
    }
    return bytes;
}

void append_line(std::string& out, char mark, const std::string& line) {
    out += mark;
    out += line;
    if (line.empty() || line.back() != '\n') out += "\n\\ No newline at end of file\n";
}

std::string range(long long start, long long count) {
    if (count == 0) return std::to_string(start) + ",0";
    return count == 1 ? std::to_string(start) : std::to_string(start) + "," + std::to_string(count);
}

constexpr std::size_t kContext = 3;  // lines of context around a change, as diff -u and git

// The edit script as dtl finds it, then hunks as diff -u makes them: 3 lines of context, and
// changes closer than twice that in one hunk.
void append_hunks(std::string& out, const std::string& old_text, const std::string& new_text, LineCounts& counts) {
    std::vector<std::string> a = split_lines(old_text), b = split_lines(new_text);
    dtl::Diff<std::string, std::vector<std::string>> diff(a, b);
    diff.compose();
    const auto script = diff.getSes().getSequence();
    std::vector<std::size_t> changed;
    for (std::size_t i = 0; i < script.size(); ++i)
        if (script[i].second.type != dtl::SES_COMMON) changed.push_back(i);
    for (std::size_t first = 0; first < changed.size();) {
        std::size_t last = first;
        while (last + 1 < changed.size() && changed[last + 1] - changed[last] <= 2 * kContext + 1) ++last;
        std::size_t begin = changed[first] > kContext ? changed[first] - kContext : 0;
        std::size_t end = std::min(script.size(), changed[last] + kContext + 1);
        // Line numbers where the hunk starts: the lines of each side before it, plus one.
        long long old_start = 1, new_start = 1, old_count = 0, new_count = 0;
        for (std::size_t i = 0; i < begin; ++i) {
            if (script[i].second.type != dtl::SES_ADD) ++old_start;
            if (script[i].second.type != dtl::SES_DELETE) ++new_start;
        }
        std::string body;
        // Within a run of changes, removed lines before added ones, as diff -u shows them.
        for (std::size_t i = begin; i < end;) {
            if (script[i].second.type == dtl::SES_COMMON) {
                ++old_count;
                ++new_count;
                append_line(body, ' ', script[i++].first);
                continue;
            }
            std::size_t run_end = i;
            while (run_end < end && script[run_end].second.type != dtl::SES_COMMON) ++run_end;
            for (auto wanted : {dtl::SES_DELETE, dtl::SES_ADD})
                for (std::size_t k = i; k < run_end; ++k) {
                    if (script[k].second.type != wanted) continue;
                    bool added = wanted == dtl::SES_ADD;
                    ++(added ? new_count : old_count);
                    ++(added ? counts.added : counts.removed);
                    append_line(body, added ? '+' : '-', script[k].first);
                }
            i = run_end;
        }
        out += "@@ -" + range(old_count ? old_start : old_start - 1, old_count) + " +" +
               range(new_count ? new_start : new_start - 1, new_count) + " @@\n" + body;
        first = last + 1;
    }
}

}  // namespace

std::string render_unified(const Change& change, const std::string& display, const Contents& old_bytes,
                           const Contents& new_bytes, LineCounts* counts_out) {
    LineCounts counts;
    std::string out = "diff --git " + quote_path("a/" + display) + " " + quote_path("b/" + display) + "\n";
    bool old_side = change.old_type != EntryType::None && change.kind != ChangeKind::Added;
    bool new_side = change.new_type != EntryType::None && change.kind != ChangeKind::Deleted;
    if (change.kind == ChangeKind::Added) {
        out += "new " + std::string(change.new_type == EntryType::Directory ? "directory" : "file") + " mode " +
               git_mode(change.new_type, change.new_mode) + "\n";
    } else if (change.kind == ChangeKind::Deleted) {
        out += "deleted " + std::string(change.old_type == EntryType::Directory ? "directory" : "file") + " mode " +
               git_mode(change.old_type, change.old_mode) + "\n";
    } else if (change.kind == ChangeKind::Replaced) {
        out += "replaced directory: nothing of the old one is kept\n";
    } else if (change.kind == ChangeKind::TypeChanged || change.old_mode != change.new_mode) {
        out += "old mode " + git_mode(change.old_type, change.old_mode) + "\nnew mode " +
               git_mode(change.new_type, change.new_mode) + "\n";
    }
    Contents old_holder, new_holder;
    const Contents& old_text = old_side && has_text(change.old_type)
                                   ? side_text(change.old_type, old_bytes, change.old_link, old_holder)
                                   : Contents(std::string());
    const Contents& new_text = new_side && has_text(change.new_type)
                                   ? side_text(change.new_type, new_bytes, change.new_link, new_holder)
                                   : Contents(std::string());
    bool old_shown = old_side && has_text(change.old_type), new_shown = new_side && has_text(change.new_type);
    bool text_differs = change.kind != ChangeKind::Modified || change.content_changed;
    if ((old_shown || new_shown) && text_differs) {
        std::string a = old_shown ? quote_path("a/" + display) : "/dev/null",
                    b = new_shown ? quote_path("b/" + display) : "/dev/null";
        if (!old_text || !new_text) {
            counts.too_large = true;
            out += "Files " + a + " and " + b + " differ (too large to show)\n";
        } else if (looks_binary(*old_text) || looks_binary(*new_text)) {
            counts.binary = true;
            out += "Binary files " + a + " and " + b + " differ\n";
        } else if (*old_text != *new_text) {
            out += "--- " + a + "\n+++ " + b + "\n";
            append_hunks(out, *old_text, *new_text, counts);
        }
    }
    if (counts_out) *counts_out = counts;
    return out;
}

std::string render_stat_line(const Change& change, const std::string& display, const LineCounts& counts,
                             std::size_t width) {
    std::string out = " ";
    out += status_letter(change.kind);
    const std::string shown = quote_path(display);
    out += " " + shown;
    if (shown.size() < width) out.append(width - shown.size(), ' ');
    out += " | ";
    if (counts.binary || counts.too_large) {
        out += "Bin " + std::to_string(change.old_size) + " -> " + std::to_string(change.new_size) + " bytes";
    } else if (change.old_type == EntryType::Directory || change.new_type == EntryType::Directory ||
               change.old_type == EntryType::Other || change.new_type == EntryType::Other) {
        out += change.kind == ChangeKind::TypeChanged
                   ? std::string(to_string(change.old_type)) + " -> " + to_string(change.new_type)
                   : std::string(to_string(change.kind == ChangeKind::Deleted ? change.old_type : change.new_type));
        if (change.kind == ChangeKind::Modified) out += " mode " + octal_mode(change.old_mode) + " -> " + octal_mode(change.new_mode);
    } else {
        out += std::to_string(counts.added + counts.removed);
        if (counts.added + counts.removed) out += " " + std::string(std::min<std::uint64_t>(counts.added, 40), '+') +
                                                  std::string(std::min<std::uint64_t>(counts.removed, 40), '-');
        if (change.kind == ChangeKind::Modified && change.old_mode != change.new_mode)
            out += " (mode " + octal_mode(change.old_mode) + " -> " + octal_mode(change.new_mode) + ")";
    }
    return out + "\n";
}

std::string render_stat_summary(std::size_t changes, std::uint64_t added, std::uint64_t removed) {
    return " " + std::to_string(changes) + (changes == 1 ? " change, " : " changes, ") + std::to_string(added) +
           (added == 1 ? " insertion(+), " : " insertions(+), ") + std::to_string(removed) +
           (removed == 1 ? " deletion(-)\n" : " deletions(-)\n");
}

std::string render_change_json(const Change& change, const std::string& mount_target, const std::string& source,
                               const std::optional<LineCounts>& counts) {
    using Json = nlohmann::ordered_json;
    auto side = [](EntryType type, unsigned mode, std::uint64_t size, const std::string& link) {
        if (type == EntryType::None) return Json(nullptr);
        Json out{{"type", to_string(type)}, {"mode", octal_mode(mode)}};
        if (type == EntryType::File) out["size"] = size;
        if (type == EntryType::Symlink) out["target"] = link;
        return out;
    };
    Json out;
    out["mount"] = mount_target;
    out["source"] = source;
    out["path"] = change.path;
    out["change"] = to_string(change.kind);
    out["old"] = change.kind == ChangeKind::Added ? Json(nullptr) : side(change.old_type, change.old_mode, change.old_size, change.old_link);
    out["new"] = change.kind == ChangeKind::Deleted ? Json(nullptr) : side(change.new_type, change.new_mode, change.new_size, change.new_link);
    out["content_changed"] = change.content_changed;
    if (counts && !counts->binary) {
        out["lines_added"] = counts->added;
        out["lines_removed"] = counts->removed;
    }
    if (counts && counts->binary) out["binary"] = true;
    // Names are bytes: replace what is not UTF-8 rather than fail.
    return out.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace sb
