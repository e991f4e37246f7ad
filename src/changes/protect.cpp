#include "changes/protect.hpp"

#include <fnmatch.h>

namespace sb {
namespace {

using Names = std::vector<std::string>;

Names components(const std::string& path) {
    Names out;
    for (std::size_t start = 0; start <= path.size();) {
        std::size_t slash = path.find('/', start);
        if (slash == std::string::npos) slash = path.size();
        if (slash > start) out.push_back(path.substr(start, slash - start));
        start = slash + 1;
    }
    return out;
}

bool anchored(const std::string& pattern) { return pattern.find('/') != std::string::npos; }

// The pattern's names; an unanchored one gets a leading "**" (any depth).
Names pattern_components(const std::string& pattern) {
    Names parts = components(pattern);
    if (!anchored(pattern)) parts.insert(parts.begin(), "**");
    return parts;
}

bool name_matches(const std::string& pattern, const std::string& name) {
    // Unlike a shell glob, "*" matches names that start with a dot too (".git/**").
    return ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

// Whether pattern[p..] matches path[q..end) exactly; a trailing "**" also matches nothing.
bool match_from(const Names& pattern, std::size_t p, const Names& path, std::size_t q, std::size_t end) {
    if (p == pattern.size()) return q == end;
    if (pattern[p] == "**") {
        for (std::size_t skip = q; skip <= end; ++skip)
            if (match_from(pattern, p + 1, path, skip, end)) return true;
        return false;
    }
    return q < end && name_matches(pattern[p], path[q]) && match_from(pattern, p + 1, path, q + 1, end);
}

// Whether path[q..] could be the beginning of something pattern[p..] matches. A leading "**"
// must still meet a name of the path: what lies wholly below it is matched where it really is
// (a link "x -> cfg" puts nothing at x/.cargo that cfg/.cargo does not hold, and that is checked
// on its own); any other "**" could match anything below.
bool could_prefix(const Names& pattern, std::size_t p, const Names& path, std::size_t q) {
    if (q == path.size()) return true;
    if (p == pattern.size()) return false;
    if (pattern[p] == "**") {
        if (p != 0) return true;
        for (std::size_t start = q; start < path.size(); ++start)
            if (could_prefix(pattern, p + 1, path, start) && p + 1 < pattern.size() &&
                name_matches(pattern[p + 1], path[start]))
                return true;
        return false;
    }
    return name_matches(pattern[p], path[q]) && could_prefix(pattern, p + 1, path, q + 1);
}

}  // namespace

const std::vector<std::string>& default_protected_paths() {
    static const std::vector<std::string> paths = {
        // git runs what a repository's directory says (hooks, config: fsmonitor, filters, aliases;
        // commondir and worktrees point elsewhere), at any depth and when made anew: all of it
        ".git", ".gitmodules",
        // shells and direnv run these on start or on cd
        ".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile", ".zshrc", ".zshenv", ".zprofile",
        ".zlogin", ".envrc",
        // editors run tasks, launch configurations and per-project scripts
        ".vscode/**", ".idea/**", ".devcontainer/**", ".exrc", ".nvimrc", ".nvim.lua", ".lvimrc",
        // build and CI tools read these for commands to run
        ".github/workflows/**", ".gitlab-ci.yml", ".pre-commit-config.yaml", ".npmrc", ".yarnrc", ".yarnrc.yml",
        "**/.cargo/config", "**/.cargo/config.toml"};
    return paths;
}

std::optional<std::string> protect_pattern_problem(const std::string& pattern) {
    if (pattern.empty() || pattern == "/") return "is empty";
    for (const auto& name : components(pattern))
        if (name == "." || name == "..") return "has a '" + name + "' component: patterns are relative to the top of the overlay";
    return std::nullopt;
}

ProtectedPaths::ProtectedPaths(const std::vector<std::string>& patterns) {
    for (const auto& pattern : patterns) patterns_.push_back(pattern_components(pattern));
}

bool ProtectedPaths::covers(const std::string& path) const {
    Names names = components(path);
    for (const auto& parts : patterns_)
        // "dir/**" also matches dir: the trailing "**" may match nothing. A parent that
        // matches protects what is below it, so try every prefix of the path.
        for (std::size_t length = 1; length <= names.size(); ++length)
            if (match_from(parts, 0, names, 0, length)) return true;
    return false;
}

bool ProtectedPaths::covers_or_reaches_below(const std::string& path) const {
    if (covers(path)) return true;
    Names names = components(path);
    for (const auto& parts : patterns_)
        if (could_prefix(parts, 0, names, 0)) return true;
    return false;
}

bool path_is_protected(const std::vector<std::string>& patterns, const std::string& path) {
    return ProtectedPaths(patterns).covers(path);
}

bool replacing_path_is_protected(const std::vector<std::string>& patterns, const std::string& path) {
    return ProtectedPaths(patterns).covers_or_reaches_below(path);
}

}  // namespace sb
