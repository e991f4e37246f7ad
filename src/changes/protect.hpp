// Protected paths: what `sandbox commit` leaves alone unless --force, because a payload that
// plants it there gets its code run outside the sandbox later (a git hook, a shell start-up file,
// an editor's task list, a CI workflow). Pure.
//
// Patterns, in the spirit of .gitignore, relative to the top of the overlay's source:
//   - a pattern without '/' names an entry at any depth (".envrc" matches "a/b/.envrc");
//   - one with '/' is anchored at the top (a leading '/' only says so: "/Makefile");
//   - '*' and '?' and [...] match within one name, "**" any number of names;
//   - "dir/**" matches dir itself and everything below it.
// A path is protected when it or one of its parents matches; a change that puts a link or a file
// somewhere, or replaces or removes a whole directory, is protected when a pattern could match
// something below it (".cargo" for "**/.cargo/config.toml", "a" for "a/b/**").
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace sb {

// The built-in list (sandbox.toml(5) lists it); [overlay] protect adds to it.
const std::vector<std::string>& default_protected_paths();

// Why `pattern` cannot be used ("is empty", "has a '..' component"), or nullopt.
std::optional<std::string> protect_pattern_problem(const std::string& pattern);

// A list of patterns, taken apart once (commit asks about every change).
class ProtectedPaths {
public:
    explicit ProtectedPaths(const std::vector<std::string>& patterns);
    // path_is_protected and replacing_path_is_protected below.
    bool covers(const std::string& path) const;
    bool covers_or_reaches_below(const std::string& path) const;

private:
    std::vector<std::vector<std::string>> patterns_;
};

// True when `path` ("a/b/c", relative, no "." or ".." components) or one of its parents matches.
bool path_is_protected(const std::vector<std::string>& patterns, const std::string& path);

// True when putting something else at `path` (a link, a file, a directory made anew) or removing
// it could change something a pattern protects: `path` is protected itself, or a pattern could
// match below it.
bool replacing_path_is_protected(const std::vector<std::string>& patterns, const std::string& path);

}  // namespace sb
