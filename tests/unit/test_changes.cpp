// Kept changes (src/changes): the protected-path patterns (protect.cpp), the change set's
// changes.json and the data directory (store.cpp), and how `sandbox diff` shows a change: the
// unified diff, the --stat lines and the JSON (render.cpp). All pure.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "changes/change.hpp"
#include "changes/protect.hpp"
#include "changes/store.hpp"

using Catch::Matchers::Contains;
using sb::Change;
using sb::ChangeKind;
using sb::EntryType;
using sb::LineCounts;

namespace {

// ---------------------------------------------------------------------------------------------
// protect

bool protected_by(const std::vector<std::string>& patterns, const std::string& path) {
    return sb::path_is_protected(patterns, path);
}

// ---------------------------------------------------------------------------------------------
// render

Change modified_file(const std::string& path, unsigned mode = 0644) {
    Change c;
    c.path = path;
    c.kind = ChangeKind::Modified;
    c.old_type = c.new_type = EntryType::File;
    c.old_mode = c.new_mode = mode;
    c.content_changed = true;
    return c;
}

Change added(EntryType type, const std::string& path, unsigned mode) {
    Change c;
    c.path = path;
    c.kind = ChangeKind::Added;
    c.new_type = type;
    c.new_mode = mode;
    c.content_changed = true;
    return c;
}

Change deleted(EntryType type, const std::string& path, unsigned mode) {
    Change c;
    c.path = path;
    c.kind = ChangeKind::Deleted;
    c.old_type = type;
    c.old_mode = mode;
    c.content_changed = true;
    return c;
}

std::string numbered_lines(int first, int last, const std::string& prefix = "line ") {
    std::string out;
    for (int i = first; i <= last; ++i) out += prefix + std::to_string(i) + "\n";
    return out;
}

// Only the hunks: what follows the "+++ b/..." line.
std::string hunks_of(const std::string& unified) {
    auto plus = unified.find("\n+++ ");
    if (plus == std::string::npos) return "<no +++ line>";
    auto end = unified.find('\n', plus + 1);
    return unified.substr(end + 1);
}

// ---------------------------------------------------------------------------------------------
// store

sb::ChangeSetMeta sample_meta() {
    sb::ChangeSetMeta meta;
    meta.name = "web-1";
    meta.created = 1700000000;
    meta.base_sec = 1699999999;
    meta.base_nsec = 123456789;
    meta.protect = {".git/hooks/**", ".envrc", "/Makefile"};
    meta.mounts.push_back({"/work", "/home/u/src/app", {"/home/u/src/app", "/opt/base"}});
    meta.mounts.push_back({"/data", "/srv/data", {"/srv/data"}});
    return meta;
}

// A valid changes.json with `replace` substituted for `what` (which must occur once).
std::string meta_text_with(const std::string& what, const std::string& replace) {
    std::string text = R"({"version":1,"name":"n","created":5,"base":{"sec":6,"nsec":7},)"
                       R"("protect":[".envrc"],"mounts":[{"target":"/work","source":"/src","lower":["/src"]}]})";
    auto at = text.find(what);
    REQUIRE(at != std::string::npos);
    REQUIRE(text.find(what, at + 1) == std::string::npos);
    return text.replace(at, what.size(), replace);
}

}  // namespace

// =============================================================================================
// protect.hpp

TEST_CASE("changes: the default protected paths are usable patterns", "[changes]") {
    const auto& paths = sb::default_protected_paths();
    REQUIRE_FALSE(paths.empty());
    for (const auto& pattern : paths) {
        INFO(pattern);
        CHECK_FALSE(sb::protect_pattern_problem(pattern).has_value());
    }
    std::set<std::string> unique(paths.begin(), paths.end());
    CHECK(unique.size() == paths.size());
    for (const char* expected : {".git", ".gitmodules", ".bashrc", ".envrc", ".vscode/**",
                                 ".github/workflows/**", "**/.cargo/config.toml"}) {
        INFO(expected);
        CHECK(std::find(paths.begin(), paths.end(), expected) != paths.end());
    }
}

TEST_CASE("changes: the default list protects git hooks, shell start-up files and CI", "[changes]") {
    const auto& d = sb::default_protected_paths();
    CHECK(protected_by(d, ".git/hooks/pre-commit"));
    CHECK(protected_by(d, ".git/hooks"));  // "dir/**" matches dir itself
    CHECK(protected_by(d, ".git/config"));
    CHECK(protected_by(d, ".git/modules/sub/hooks/post-checkout"));
    CHECK(protected_by(d, ".bashrc"));
    CHECK(protected_by(d, "sub/dir/.envrc"));  // no '/': any depth
    CHECK(protected_by(d, ".vscode/tasks.json"));
    CHECK(protected_by(d, ".github/workflows/ci.yml"));
    CHECK(protected_by(d, ".cargo/config.toml"));

    // A repository's directory is protected whole, at any depth (a nested or new one, or its
    // commondir pointing elsewhere, runs code as well as its hooks do).
    CHECK(protected_by(d, ".git"));
    CHECK(protected_by(d, ".git/objects/ab/cdef"));
    CHECK(protected_by(d, ".git/commondir"));
    CHECK(protected_by(d, "sub/.git/config"));
    CHECK(protected_by(d, "sub/.cargo/config.toml"));  // cargo reads every parent's
    CHECK_FALSE(protected_by(d, ".github/CODEOWNERS"));
    CHECK_FALSE(protected_by(d, "src/main.c"));
    CHECK_FALSE(protected_by(d, ".bashrc.bak"));
}

TEST_CASE("changes: protect_pattern_problem", "[changes]") {
    CHECK(sb::protect_pattern_problem("") == std::optional<std::string>("is empty"));
    CHECK(sb::protect_pattern_problem("/") == std::optional<std::string>("is empty"));
    auto dotdot = sb::protect_pattern_problem("a/../b");
    REQUIRE(dotdot.has_value());
    CHECK_THAT(*dotdot, Contains("has a '..' component"));
    auto dot = sb::protect_pattern_problem("./x");
    REQUIRE(dot.has_value());
    CHECK_THAT(*dot, Contains("has a '.' component"));
    CHECK(sb::protect_pattern_problem("..").has_value());

    CHECK_FALSE(sb::protect_pattern_problem("x").has_value());
    CHECK_FALSE(sb::protect_pattern_problem("/Makefile").has_value());
    CHECK_FALSE(sb::protect_pattern_problem("a/**/b").has_value());
    CHECK_FALSE(sb::protect_pattern_problem("..x").has_value());  // a name that starts with dots is fine
    CHECK_FALSE(sb::protect_pattern_problem("*.sh").has_value());
}

TEST_CASE("changes: a pattern without '/' matches at any depth", "[changes]") {
    std::vector<std::string> p = {".envrc"};
    CHECK(protected_by(p, ".envrc"));
    CHECK(protected_by(p, "a/.envrc"));
    CHECK(protected_by(p, "a/b/c/.envrc"));
    CHECK_FALSE(protected_by(p, "a/envrc"));
    CHECK_FALSE(protected_by(p, "a/.envrc2"));
    CHECK_FALSE(protected_by(p, "x.envrc"));

    std::vector<std::string> glob = {"*.sh"};
    CHECK(protected_by(glob, "run.sh"));
    CHECK(protected_by(glob, "tools/build.sh"));
    CHECK(protected_by(glob, ".hidden.sh"));  // '*' matches a leading dot
    CHECK_FALSE(protected_by(glob, "run.shx"));
    CHECK_FALSE(protected_by(glob, "run.bash"));

    std::vector<std::string> q = {"file?.[ch]"};
    CHECK(protected_by(q, "src/file1.c"));
    CHECK(protected_by(q, "fileX.h"));
    CHECK_FALSE(protected_by(q, "file12.c"));
    CHECK_FALSE(protected_by(q, "file1.o"));
}

TEST_CASE("changes: a pattern with '/' is anchored at the top", "[changes]") {
    std::vector<std::string> p = {"/Makefile"};
    CHECK(protected_by(p, "Makefile"));
    CHECK_FALSE(protected_by(p, "sub/Makefile"));

    std::vector<std::string> q = {"ci/deploy.sh"};
    CHECK(protected_by(q, "ci/deploy.sh"));
    CHECK_FALSE(protected_by(q, "x/ci/deploy.sh"));
    CHECK_FALSE(protected_by(q, "deploy.sh"));
    CHECK_FALSE(protected_by(q, "ci"));

    std::vector<std::string> star = {"scripts/*"};
    CHECK(protected_by(star, "scripts/a"));
    CHECK(protected_by(star, "scripts/a/b"));  // a parent matches
    CHECK_FALSE(protected_by(star, "scripts"));
    CHECK_FALSE(protected_by(star, "other/scripts/a"));
}

TEST_CASE("changes: '**' matches any number of names; \"dir/**\" matches dir itself", "[changes]") {
    std::vector<std::string> any = {"**/secret"};
    CHECK(protected_by(any, "secret"));
    CHECK(protected_by(any, "a/secret"));
    CHECK(protected_by(any, "a/b/c/secret"));
    CHECK(protected_by(any, "a/secret/inner"));
    CHECK_FALSE(protected_by(any, "a/secrets"));

    std::vector<std::string> middle = {"a/**/b"};
    CHECK(protected_by(middle, "a/b"));
    CHECK(protected_by(middle, "a/x/b"));
    CHECK(protected_by(middle, "a/x/y/z/b"));
    CHECK(protected_by(middle, "a/x/b/child"));
    CHECK_FALSE(protected_by(middle, "a/x/c"));
    CHECK_FALSE(protected_by(middle, "b"));
    CHECK_FALSE(protected_by(middle, "a"));

    std::vector<std::string> dir = {"build/**"};
    CHECK(protected_by(dir, "build"));
    CHECK(protected_by(dir, "build/x"));
    CHECK(protected_by(dir, "build/x/y/z"));
    CHECK_FALSE(protected_by(dir, "builds"));
    CHECK_FALSE(protected_by(dir, "src/build"));
}

TEST_CASE("changes: a parent that matches protects what is below it", "[changes]") {
    std::vector<std::string> p = {".envrc", ".git/config"};
    CHECK(protected_by(p, ".envrc/child"));  // a directory named .envrc
    CHECK(protected_by(p, "deep/.envrc/x/y"));
    CHECK(protected_by(p, ".git/config/whatever"));
    CHECK_FALSE(protected_by(p, ".git"));  // a child's pattern does not protect the parent
    CHECK_FALSE(protected_by(p, ".git/configs"));
    CHECK_FALSE(protected_by({}, ".envrc"));
    CHECK_FALSE(protected_by(p, ""));
}

TEST_CASE("changes: replacing a directory is protected when an anchored pattern reaches below it", "[changes]") {
    const auto& d = sb::default_protected_paths();
    CHECK(sb::replacing_path_is_protected(d, ".git"));
    CHECK(sb::replacing_path_is_protected(d, ".git/hooks"));
    CHECK(sb::replacing_path_is_protected(d, ".git/hooks/pre-commit"));
    CHECK(sb::replacing_path_is_protected(d, ".github"));
    CHECK(sb::replacing_path_is_protected(d, ".cargo"));
    CHECK(sb::replacing_path_is_protected(d, ".envrc"));  // protected itself
    CHECK(sb::replacing_path_is_protected(d, "a/.envrc"));

    CHECK(sb::replacing_path_is_protected(d, "sub/.cargo"));  // a link there reaches .cargo/config.toml
    CHECK(sb::replacing_path_is_protected(d, "sub/.git"));

    CHECK_FALSE(sb::replacing_path_is_protected(d, "src"));
    CHECK_FALSE(sb::replacing_path_is_protected(d, "sub"));  // what a link there shows is checked where it is
    CHECK_FALSE(sb::replacing_path_is_protected(d, ".github/ISSUE_TEMPLATE"));

    std::vector<std::string> deep = {"a/**/b"};
    CHECK(sb::replacing_path_is_protected(deep, "a"));
    CHECK(sb::replacing_path_is_protected(deep, "a/x"));
    CHECK(sb::replacing_path_is_protected(deep, "a/x/y"));  // "**" could still reach a b below
    CHECK_FALSE(sb::replacing_path_is_protected(deep, "b"));

    std::vector<std::string> unanchored = {".envrc"};
    CHECK_FALSE(sb::replacing_path_is_protected(unanchored, "src"));
}

// =============================================================================================
// store.hpp

TEST_CASE("changes: changes.json round trip", "[changes]") {
    auto meta = sample_meta();
    std::string text = sb::render_change_set_meta(meta);
    REQUIRE_FALSE(text.empty());
    CHECK(text.back() == '\n');

    auto doc = nlohmann::json::parse(text);
    CHECK(doc["version"] == 1);
    CHECK(doc["name"] == "web-1");
    CHECK(doc["created"] == 1700000000);
    CHECK(doc["base"]["sec"] == 1699999999);
    CHECK(doc["base"]["nsec"] == 123456789);
    CHECK(doc["protect"].size() == 3);
    REQUIRE(doc["mounts"].size() == 2);
    CHECK(doc["mounts"][0]["target"] == "/work");
    CHECK(doc["mounts"][0]["source"] == "/home/u/src/app");
    CHECK(doc["mounts"][0]["lower"] == nlohmann::json::array({"/home/u/src/app", "/opt/base"}));

    auto back = sb::parse_change_set_meta(text);
    CHECK(back.name == meta.name);
    CHECK(back.created == meta.created);
    CHECK(back.base_sec == meta.base_sec);
    CHECK(back.base_nsec == meta.base_nsec);
    CHECK(back.protect == meta.protect);
    CHECK(back.mounts == meta.mounts);
    CHECK(sb::render_change_set_meta(back) == text);
}

TEST_CASE("changes: changes.json round trip of empty lists and negative numbers", "[changes]") {
    sb::ChangeSetMeta meta;
    meta.name = "x";
    meta.created = -5;
    meta.base_sec = 0;
    meta.base_nsec = -1;
    auto back = sb::parse_change_set_meta(sb::render_change_set_meta(meta));
    CHECK(back.name == "x");
    CHECK(back.created == -5);
    CHECK(back.base_sec == 0);
    CHECK(back.base_nsec == -1);
    CHECK(back.protect.empty());
    CHECK(back.mounts.empty());
}

TEST_CASE("changes: the template changes.json parses", "[changes]") {
    // The helper below must be valid as is, or the rejection cases prove nothing.
    auto meta = sb::parse_change_set_meta(meta_text_with(R"("name":"n")", R"("name":"n")"));
    CHECK(meta.name == "n");
    CHECK(meta.created == 5);
    CHECK(meta.base_sec == 6);
    CHECK(meta.base_nsec == 7);
    CHECK(meta.protect == std::vector<std::string>{".envrc"});
    REQUIRE(meta.mounts.size() == 1);
    CHECK(meta.mounts[0] == sb::KeptOverlay{"/work", "/src", {"/src"}});
}

TEST_CASE("changes: changes.json that is not JSON or not an object is rejected", "[changes]") {
    CHECK_THROWS_AS(sb::parse_change_set_meta(""), std::runtime_error);
    CHECK_THROWS_WITH(sb::parse_change_set_meta("{not json"), Contains("not a JSON object"));
    CHECK_THROWS_WITH(sb::parse_change_set_meta("[1,2]"), Contains("not a JSON object"));
    CHECK_THROWS_WITH(sb::parse_change_set_meta("1"), Contains("not a JSON object"));
}

TEST_CASE("changes: changes.json of another version is rejected", "[changes]") {
    CHECK_THROWS_WITH(sb::parse_change_set_meta(meta_text_with(R"("version":1)", R"("version":2)")),
                      Contains("unknown version"));
    CHECK_THROWS_WITH(sb::parse_change_set_meta(meta_text_with(R"("version":1)", R"("version":0)")),
                      Contains("unknown version"));
    CHECK_THROWS_WITH(sb::parse_change_set_meta(meta_text_with(R"("version":1)", R"("version":-1)")),
                      Contains("unknown version"));
    CHECK_THROWS_WITH(sb::parse_change_set_meta(meta_text_with(R"("version":1)", R"("version":"1")")),
                      Contains("\"version\" has the wrong type"));
    CHECK_THROWS_WITH(sb::parse_change_set_meta(meta_text_with(R"("version":1,)", "")), Contains("no \"version\""));
}

TEST_CASE("changes: changes.json with a version that only truncates to 1 is rejected", "[changes]") {
    // 4294967297 = 2^32 + 1: get<int>() truncates it to 1. Known bug: it is accepted.
    CHECK_THROWS_AS(sb::parse_change_set_meta(meta_text_with(R"("version":1)", R"("version":4294967297)")),
                    std::runtime_error);
}

TEST_CASE("changes: changes.json with a missing field is rejected", "[changes]") {
    CHECK_THROWS_WITH(sb::parse_change_set_meta(meta_text_with(R"("name":"n",)", "")), Contains("no \"name\""));
    CHECK_THROWS_WITH(sb::parse_change_set_meta(meta_text_with(R"("created":5,)", "")), Contains("no \"created\""));
    CHECK_THROWS_WITH(sb::parse_change_set_meta(meta_text_with(R"("base":{"sec":6,"nsec":7},)", "")),
                      Contains("no \"base\""));
    CHECK_THROWS_WITH(sb::parse_change_set_meta(meta_text_with(R"("nsec":7)", R"("nano":7)")), Contains("no \"nsec\""));
    CHECK_THROWS_WITH(sb::parse_change_set_meta(meta_text_with(R"("sec":6,)", "")), Contains("no \"sec\""));
    CHECK_THROWS_WITH(sb::parse_change_set_meta(meta_text_with(R"("protect":[".envrc"],)", "")),
                      Contains("no \"protect\""));
    CHECK_THROWS_WITH(
        sb::parse_change_set_meta(meta_text_with(
            R"(,"mounts":[{"target":"/work","source":"/src","lower":["/src"]}])", "")),
        Contains("no \"mounts\""));
    CHECK_THROWS_WITH(sb::parse_change_set_meta(meta_text_with(R"("target":"/work",)", "")), Contains("no \"target\""));
    CHECK_THROWS_WITH(sb::parse_change_set_meta(meta_text_with(R"("source":"/src",)", "")), Contains("no \"source\""));
    CHECK_THROWS_WITH(sb::parse_change_set_meta(meta_text_with(R"(,"lower":["/src"])", "")), Contains("no \"lower\""));
}

TEST_CASE("changes: changes.json with a field of the wrong type is rejected", "[changes]") {
    auto wrong = [](const std::string& what, const std::string& replace) {
        return sb::parse_change_set_meta(meta_text_with(what, replace));
    };
    CHECK_THROWS_WITH(wrong(R"("name":"n")", R"("name":3)"), Contains("\"name\" has the wrong type"));
    CHECK_THROWS_WITH(wrong(R"("created":5)", R"("created":"5")"), Contains("\"created\" has the wrong type"));
    CHECK_THROWS_WITH(wrong(R"("created":5)", R"("created":5.5)"), Contains("\"created\" has the wrong type"));
    CHECK_THROWS_WITH(wrong(R"("created":5)", R"("created":true)"), Contains("\"created\" has the wrong type"));
    CHECK_THROWS_WITH(wrong(R"("base":{"sec":6,"nsec":7})", R"("base":[6,7])"), Contains("\"base\" has the wrong type"));
    CHECK_THROWS_WITH(wrong(R"("sec":6)", R"("sec":null)"), Contains("\"sec\" has the wrong type"));
    CHECK_THROWS_WITH(wrong(R"("protect":[".envrc"])", R"("protect":".envrc")"),
                      Contains("\"protect\" has the wrong type"));
    CHECK_THROWS_WITH(wrong(R"("protect":[".envrc"])", R"("protect":[1])"),
                      Contains("a protected path is not a string"));
    CHECK_THROWS_WITH(wrong(R"("mounts":[{"target":"/work","source":"/src","lower":["/src"]}])", R"("mounts":{})"),
                      Contains("\"mounts\" has the wrong type"));
    CHECK_THROWS_WITH(wrong(R"("target":"/work")", R"("target":7)"), Contains("\"target\" has the wrong type"));
    CHECK_THROWS_WITH(wrong(R"("lower":["/src"])", R"("lower":"/src")"), Contains("\"lower\" has the wrong type"));
    CHECK_THROWS_WITH(wrong(R"("lower":["/src"])", R"("lower":[2])"), Contains("a lower directory is not a string"));
    CHECK_THROWS_WITH(
        sb::parse_change_set_meta(R"({"version":1,"name":"n","created":5,"base":{"sec":6,"nsec":7},)"
                                  R"("protect":[],"mounts":["/work"]})"),
        Contains("a mount is not an object"));
}

TEST_CASE("changes: changes.json with relative or empty paths in its mounts is rejected", "[changes]") {
    auto wrong = [](const std::string& what, const std::string& replace) {
        return sb::parse_change_set_meta(meta_text_with(what, replace));
    };
    CHECK_THROWS_WITH(wrong(R"("target":"/work")", R"("target":"work")"),
                      Contains("a mount's target is not an absolute path"));
    CHECK_THROWS_WITH(wrong(R"("target":"/work")", R"("target":"")"),
                      Contains("a mount's target is not an absolute path"));
    CHECK_THROWS_WITH(wrong(R"("source":"/src")", R"("source":"src")"),
                      Contains("a mount's source is not an absolute path"));
    CHECK_THROWS_WITH(wrong(R"("source":"/src")", R"("source":"./src")"),
                      Contains("a mount's source is not an absolute path"));
    CHECK_THROWS_WITH(wrong(R"("lower":["/src"])", R"("lower":["/src","rel/dir"])"),
                      Contains("a lower directory is not an absolute path"));
    CHECK_THROWS_WITH(wrong(R"("source":"/src")", R"("source":"/s\u0000rc")"),
                      Contains("a mount's source is not an absolute path"));
}

TEST_CASE("changes: data_directory", "[changes]") {
    CHECK(sb::data_directory("/xdg/data", "/home/u") == "/xdg/data/sandbox");  // XDG_DATA_HOME wins
    CHECK(sb::data_directory("/xdg/data", "") == "/xdg/data/sandbox");
    CHECK(sb::data_directory("", "/home/u") == "/home/u/.local/share/sandbox");
    CHECK(sb::data_directory("relative/data", "/home/u") == "/home/u/.local/share/sandbox");
    CHECK(sb::data_directory("", "/") == "/.local/share/sandbox");
    CHECK(sb::data_directory("", "") == "");
    CHECK(sb::data_directory("", "home/u") == "");
    CHECK(sb::data_directory("rel", "rel") == "");
    CHECK(sb::changes_root("/home/u/.local/share/sandbox") == "/home/u/.local/share/sandbox/changes");
}

// =============================================================================================
// change.hpp / render.cpp: the unified diff

TEST_CASE("changes: names of kinds and types", "[changes]") {
    CHECK(std::string(sb::to_string(ChangeKind::Added)) == "added");
    CHECK(std::string(sb::to_string(ChangeKind::Deleted)) == "deleted");
    CHECK(std::string(sb::to_string(ChangeKind::Modified)) == "modified");
    CHECK(std::string(sb::to_string(ChangeKind::TypeChanged)) == "type-changed");
    CHECK(std::string(sb::to_string(ChangeKind::Replaced)) == "replaced");
    CHECK(std::string(sb::to_string(EntryType::File)) == "file");
    CHECK(std::string(sb::to_string(EntryType::Directory)) == "directory");
    CHECK(std::string(sb::to_string(EntryType::Symlink)) == "symlink");
    CHECK(std::string(sb::to_string(EntryType::Other)) == "special");
    CHECK(std::string(sb::to_string(EntryType::None)) == "none");
    CHECK(sb::status_letter(ChangeKind::Added) == 'A');
    CHECK(sb::status_letter(ChangeKind::Deleted) == 'D');
    CHECK(sb::status_letter(ChangeKind::Modified) == 'M');
    CHECK(sb::status_letter(ChangeKind::TypeChanged) == 'T');
    CHECK(sb::status_letter(ChangeKind::Replaced) == 'R');
}

TEST_CASE("changes: unified diff of a modified text matches diff -u", "[changes]") {
    // diff -u old new, where new changes "beta" and appends "zeta".
    std::string old_text = "alpha\nbeta\ngamma\ndelta\nepsilon\n";
    std::string new_text = "alpha\nBETA\ngamma\ndelta\nepsilon\nzeta\n";
    LineCounts counts;
    std::string out = sb::render_unified(modified_file("src/greek.txt"), "src/greek.txt", old_text, new_text, &counts);
    CHECK(out ==
          "diff --git a/src/greek.txt b/src/greek.txt\n"
          "--- a/src/greek.txt\n"
          "+++ b/src/greek.txt\n"
          "@@ -1,5 +1,6 @@\n"
          " alpha\n"
          "-beta\n"
          "+BETA\n"
          " gamma\n"
          " delta\n"
          " epsilon\n"
          "+zeta\n");
    CHECK(counts.added == 2);
    CHECK(counts.removed == 1);
    CHECK_FALSE(counts.binary);
}

TEST_CASE("changes: unified diff with a change in the middle shows 3 lines of context", "[changes]") {
    std::string old_text = numbered_lines(1, 10);
    std::string new_text = old_text;
    new_text.replace(new_text.find("line 5\n"), 7, "line five\n");
    LineCounts counts;
    std::string out = sb::render_unified(modified_file("n"), "n", old_text, new_text, &counts);
    CHECK(hunks_of(out) ==
          "@@ -2,7 +2,7 @@\n"
          " line 2\n"
          " line 3\n"
          " line 4\n"
          "-line 5\n"
          "+line five\n"
          " line 6\n"
          " line 7\n"
          " line 8\n");
    CHECK(counts.added == 1);
    CHECK(counts.removed == 1);
}

TEST_CASE("changes: unified diff with two hunks matches diff -u", "[changes]") {
    std::string old_text = numbered_lines(1, 20);
    std::string new_text = "line 1\nline two\n" + numbered_lines(3, 17) + "line 19\nline 20\nline 21\n";
    LineCounts counts;
    std::string out = sb::render_unified(modified_file("f"), "f", old_text, new_text, &counts);
    CHECK(hunks_of(out) ==
          "@@ -1,5 +1,5 @@\n"
          " line 1\n"
          "-line 2\n"
          "+line two\n"
          " line 3\n"
          " line 4\n"
          " line 5\n"
          "@@ -15,6 +15,6 @@\n"
          " line 15\n"
          " line 16\n"
          " line 17\n"
          "-line 18\n"
          " line 19\n"
          " line 20\n"
          "+line 21\n");
    CHECK(counts.added == 2);
    CHECK(counts.removed == 2);
}

TEST_CASE("changes: unified diff of changes at the start and end of a file matches diff -u", "[changes]") {
    std::string old_text = numbered_lines(1, 8);
    // An added first line.
    CHECK(hunks_of(sb::render_unified(modified_file("f"), "f", old_text, "x\n" + old_text)) ==
          "@@ -1,3 +1,4 @@\n+x\n line 1\n line 2\n line 3\n");
    // A removed first line.
    CHECK(hunks_of(sb::render_unified(modified_file("f"), "f", old_text, numbered_lines(2, 8))) ==
          "@@ -1,4 +1,3 @@\n-line 1\n line 2\n line 3\n line 4\n");
    // A removed last line.
    CHECK(hunks_of(sb::render_unified(modified_file("f"), "f", old_text, numbered_lines(1, 7))) ==
          "@@ -5,4 +5,3 @@\n line 5\n line 6\n line 7\n-line 8\n");
}

TEST_CASE("changes: unified diff keeps exactly 3 lines of trailing context", "[changes]") {
    // Known bug: when exactly 4 unchanged lines follow the last change up to the end of the
    // file, all 4 are shown ("@@ -2,7 +2,8 @@"); diff -u and git show 3.
    std::string old_text = numbered_lines(1, 8);
    std::string new_text = numbered_lines(1, 4) + "x\n" + numbered_lines(5, 8);
    CHECK(hunks_of(sb::render_unified(modified_file("f"), "f", old_text, new_text)) ==
          "@@ -2,6 +2,7 @@\n line 2\n line 3\n line 4\n+x\n line 5\n line 6\n line 7\n");
    CHECK(hunks_of(sb::render_unified(modified_file("f"), "f", "a\nb\nc\nd\n", "x\na\nb\nc\nd\n")) ==
          "@@ -1,3 +1,4 @@\n+x\n a\n b\n c\n");
}

TEST_CASE("changes: unified diff merges hunks 5 or 6 lines apart, as diff -u does", "[changes]") {
    // Known bug: two changes with 5 or 6 unchanged lines between them come out as two hunks
    // (the second with too little leading context, or abutting the first); diff -u and git
    // print one hunk.
    std::string old_text = numbered_lines(1, 20);
    std::string gap5 = numbered_lines(1, 4) + "Xline 5\n" + numbered_lines(6, 10) + "Xline 11\n" + numbered_lines(12, 20);
    CHECK(hunks_of(sb::render_unified(modified_file("f"), "f", old_text, gap5)) ==
          "@@ -2,13 +2,13 @@\n line 2\n line 3\n line 4\n-line 5\n+Xline 5\n line 6\n line 7\n line 8\n line 9\n"
          " line 10\n-line 11\n+Xline 11\n line 12\n line 13\n line 14\n");
    std::string gap6 = numbered_lines(1, 4) + "Xline 5\n" + numbered_lines(6, 11) + "Xline 12\n" + numbered_lines(13, 20);
    CHECK(hunks_of(sb::render_unified(modified_file("f"), "f", old_text, gap6)) ==
          "@@ -2,14 +2,14 @@\n line 2\n line 3\n line 4\n-line 5\n+Xline 5\n line 6\n line 7\n line 8\n line 9\n"
          " line 10\n line 11\n-line 12\n+Xline 12\n line 13\n line 14\n line 15\n");
}

TEST_CASE("changes: unified diff of an added file", "[changes]") {
    LineCounts counts;
    std::string out = sb::render_unified(added(EntryType::File, "new.txt", 0644), "new.txt", std::string(),
                                         std::string("one\ntwo\n"), &counts);
    CHECK(out ==
          "diff --git a/new.txt b/new.txt\n"
          "new file mode 100644\n"
          "--- /dev/null\n"
          "+++ b/new.txt\n"
          "@@ -0,0 +1,2 @@\n"
          "+one\n"
          "+two\n");
    CHECK(counts.added == 2);
    CHECK(counts.removed == 0);

    std::string one = sb::render_unified(added(EntryType::File, "run.sh", 0755), "run.sh", std::nullopt,
                                         std::string("#!/bin/sh\n"));
    CHECK(one ==
          "diff --git a/run.sh b/run.sh\n"
          "new file mode 100755\n"
          "--- /dev/null\n"
          "+++ b/run.sh\n"
          "@@ -0,0 +1 @@\n"
          "+#!/bin/sh\n");

    // An empty new file: no hunk at all, as git.
    CHECK(sb::render_unified(added(EntryType::File, "empty", 0644), "empty", std::string(), std::string()) ==
          "diff --git a/empty b/empty\nnew file mode 100644\n");
}

TEST_CASE("changes: unified diff of a deleted file", "[changes]") {
    LineCounts counts;
    std::string out = sb::render_unified(deleted(EntryType::File, "old.txt", 0644), "old.txt",
                                         std::string("a\nb\n"), std::nullopt, &counts);
    CHECK(out ==
          "diff --git a/old.txt b/old.txt\n"
          "deleted file mode 100644\n"
          "--- a/old.txt\n"
          "+++ /dev/null\n"
          "@@ -1,2 +0,0 @@\n"
          "-a\n"
          "-b\n");
    CHECK(counts.added == 0);
    CHECK(counts.removed == 2);
}

TEST_CASE("changes: unified diff of directories", "[changes]") {
    CHECK(sb::render_unified(added(EntryType::Directory, "d", 0755), "d", std::nullopt, std::nullopt) ==
          "diff --git a/d b/d\nnew directory mode 040755\n");
    CHECK(sb::render_unified(deleted(EntryType::Directory, "d", 0700), "d", std::nullopt, std::nullopt) ==
          "diff --git a/d b/d\ndeleted directory mode 040700\n");
    Change replaced;
    replaced.path = "d";
    replaced.kind = ChangeKind::Replaced;
    replaced.old_type = replaced.new_type = EntryType::Directory;
    replaced.old_mode = replaced.new_mode = 0755;
    CHECK(sb::render_unified(replaced, "d", std::nullopt, std::nullopt) ==
          "diff --git a/d b/d\nreplaced directory: nothing of the old one is kept\n");
}

TEST_CASE("changes: unified diff of a mode-only change has mode lines and no hunk", "[changes]") {
    Change c = modified_file("run.sh");
    c.new_mode = 0755;
    c.content_changed = false;
    LineCounts counts{7, 7, true};
    std::string same = "#!/bin/sh\necho hi\n";
    CHECK(sb::render_unified(c, "run.sh", same, same, &counts) ==
          "diff --git a/run.sh b/run.sh\n"
          "old mode 100644\n"
          "new mode 100755\n");
    CHECK(counts.added == 0);  // reset, not left as they were
    CHECK(counts.removed == 0);
    CHECK_FALSE(counts.binary);

    // Mode and contents both changed.
    c.content_changed = true;
    CHECK(sb::render_unified(c, "run.sh", same, std::string("#!/bin/sh\necho bye\n")) ==
          "diff --git a/run.sh b/run.sh\n"
          "old mode 100644\n"
          "new mode 100755\n"
          "--- a/run.sh\n"
          "+++ b/run.sh\n"
          "@@ -1,2 +1,2 @@\n"
          " #!/bin/sh\n"
          "-echo hi\n"
          "+echo bye\n");
}

TEST_CASE("changes: unified diff of a symlink's target", "[changes]") {
    Change c;
    c.path = "current";
    c.kind = ChangeKind::Modified;
    c.old_type = c.new_type = EntryType::Symlink;
    c.old_mode = c.new_mode = 0777;
    c.content_changed = true;
    c.old_link = "releases/1";
    c.new_link = "releases/2";
    LineCounts counts;
    CHECK(sb::render_unified(c, "current", std::nullopt, std::nullopt, &counts) ==
          "diff --git a/current b/current\n"
          "--- a/current\n"
          "+++ b/current\n"
          "@@ -1 +1 @@\n"
          "-releases/1\n"
          "\\ No newline at end of file\n"
          "+releases/2\n"
          "\\ No newline at end of file\n");
    CHECK(counts.added == 1);
    CHECK(counts.removed == 1);

    Change a;
    a.path = "link";
    a.kind = ChangeKind::Added;
    a.new_type = EntryType::Symlink;
    a.new_mode = 0777;
    a.new_link = "/etc/passwd";
    CHECK(sb::render_unified(a, "link", std::nullopt, std::nullopt) ==
          "diff --git a/link b/link\n"
          "new file mode 120000\n"
          "--- /dev/null\n"
          "+++ b/link\n"
          "@@ -0,0 +1 @@\n"
          "+/etc/passwd\n"
          "\\ No newline at end of file\n");
}

TEST_CASE("changes: unified diff of a type change from file to symlink", "[changes]") {
    Change c;
    c.path = "cfg";
    c.kind = ChangeKind::TypeChanged;
    c.old_type = EntryType::File;
    c.new_type = EntryType::Symlink;
    c.old_mode = 0644;
    c.new_mode = 0777;
    c.content_changed = true;
    c.new_link = "/tmp/cfg";
    CHECK(sb::render_unified(c, "cfg", std::string("x=1\n"), std::nullopt) ==
          "diff --git a/cfg b/cfg\n"
          "old mode 100644\n"
          "new mode 120000\n"
          "--- a/cfg\n"
          "+++ b/cfg\n"
          "@@ -1 +1 @@\n"
          "-x=1\n"
          "+/tmp/cfg\n"
          "\\ No newline at end of file\n");
}

TEST_CASE("changes: unified diff of binary contents", "[changes]") {
    CHECK(sb::looks_binary(std::string("a\0b", 3)));
    CHECK_FALSE(sb::looks_binary("plain text\n"));
    CHECK_FALSE(sb::looks_binary(""));
    CHECK(sb::looks_binary(std::string(7999, 'x') + std::string(1, '\0')));       // NUL at 7999
    CHECK_FALSE(sb::looks_binary(std::string(8000, 'x') + std::string(1, '\0')));  // NUL at 8000

    LineCounts counts;
    std::string out = sb::render_unified(modified_file("img.bin"), "img.bin", std::string("text\n"),
                                         std::string("\x89PNG\0\0\0", 7), &counts);
    CHECK(out == "diff --git a/img.bin b/img.bin\nBinary files a/img.bin and b/img.bin differ\n");
    CHECK(counts.binary);
    CHECK(counts.added == 0);
    CHECK(counts.removed == 0);

    CHECK(sb::render_unified(added(EntryType::File, "blob", 0644), "blob", std::nullopt, std::string("\0", 1)) ==
          "diff --git a/blob b/blob\nnew file mode 100644\nBinary files /dev/null and b/blob differ\n");
    CHECK(sb::render_unified(deleted(EntryType::File, "blob", 0644), "blob", std::string("\0", 1), std::nullopt) ==
          "diff --git a/blob b/blob\ndeleted file mode 100644\nBinary files a/blob and /dev/null differ\n");
}

TEST_CASE("changes: unified diff of a text without a trailing newline", "[changes]") {
    LineCounts counts;
    CHECK(hunks_of(sb::render_unified(modified_file("f"), "f", std::string("a\nb"), std::string("a\nc"), &counts)) ==
          "@@ -1,2 +1,2 @@\n"
          " a\n"
          "-b\n"
          "\\ No newline at end of file\n"
          "+c\n"
          "\\ No newline at end of file\n");
    CHECK(counts.added == 1);
    CHECK(counts.removed == 1);

    // Adding the missing newline changes the last line.
    CHECK(hunks_of(sb::render_unified(modified_file("f"), "f", std::string("a\nb"), std::string("a\nb\n"))) ==
          "@@ -1,2 +1,2 @@\n"
          " a\n"
          "-b\n"
          "\\ No newline at end of file\n"
          "+b\n");

    // An unchanged last line without a newline, shown as context.
    CHECK(hunks_of(sb::render_unified(modified_file("f"), "f", std::string("x\nend"), std::string("y\nend"))) ==
          "@@ -1,2 +1,2 @@\n"
          "-x\n"
          "+y\n"
          " end\n"
          "\\ No newline at end of file\n");
}

TEST_CASE("changes: unified diff of a text too large to show", "[changes]") {
    LineCounts counts{3, 4, false};
    CHECK(sb::render_unified(modified_file("big.log"), "big.log", std::nullopt, std::string("small\n"), &counts) ==
          "diff --git a/big.log b/big.log\nFiles a/big.log and b/big.log differ (too large to show)\n");
    CHECK(counts.added == 0);
    CHECK(counts.removed == 0);
    CHECK_FALSE(counts.binary);
    CHECK(sb::render_unified(added(EntryType::File, "big", 0600), "big", std::nullopt, std::nullopt) ==
          "diff --git a/big b/big\nnew file mode 100600\nFiles /dev/null and b/big differ (too large to show)\n");
}

TEST_CASE("changes: unified diff uses the display path", "[changes]") {
    std::string out = sb::render_unified(modified_file("a.txt"), "work/a.txt", std::string("1\n"), std::string("2\n"));
    CHECK(out == "diff --git a/work/a.txt b/work/a.txt\n--- a/work/a.txt\n+++ b/work/a.txt\n@@ -1 +1 @@\n-1\n+2\n");
}

// =============================================================================================
// --stat

TEST_CASE("changes: --stat lines", "[changes]") {
    CHECK(sb::render_stat_line(modified_file("src/main.c"), "src/main.c", LineCounts{2, 2, false}, 0) ==
          " M src/main.c | 4 ++--\n");
    CHECK(sb::render_stat_line(modified_file("a"), "a", LineCounts{3, 1, false}, 5) == " M a     | 4 +++-\n");
    CHECK(sb::render_stat_line(modified_file("longer"), "longer", LineCounts{1, 0, false}, 3) ==
          " M longer | 1 +\n");  // never cut
    CHECK(sb::render_stat_line(added(EntryType::File, "n", 0644), "n", LineCounts{0, 0, false}, 0) == " A n | 0\n");
    CHECK(sb::render_stat_line(deleted(EntryType::File, "d", 0644), "d", LineCounts{0, 9, false}, 0) ==
          " D d | 9 ---------\n");

    // At most 40 of each mark.
    CHECK(sb::render_stat_line(modified_file("x"), "x", LineCounts{100, 50, false}, 0) ==
          " M x | 150 " + std::string(40, '+') + std::string(40, '-') + "\n");

    Change mode = modified_file("run.sh");
    mode.new_mode = 0755;
    mode.content_changed = false;
    CHECK(sb::render_stat_line(mode, "run.sh", LineCounts{}, 0) == " M run.sh | 0 (mode 0644 -> 0755)\n");

    Change bin = modified_file("img.png");
    bin.old_size = 10;
    bin.new_size = 2048;
    CHECK(sb::render_stat_line(bin, "img.png", LineCounts{0, 0, true}, 0) == " M img.png | Bin 10 -> 2048 bytes\n");
}

TEST_CASE("changes: --stat lines of directories and special files", "[changes]") {
    CHECK(sb::render_stat_line(added(EntryType::Directory, "d", 0755), "d", LineCounts{}, 0) == " A d | directory\n");
    CHECK(sb::render_stat_line(deleted(EntryType::Directory, "d", 0755), "d", LineCounts{}, 0) == " D d | directory\n");
    CHECK(sb::render_stat_line(added(EntryType::Other, "fifo", 0644), "fifo", LineCounts{}, 0) == " A fifo | special\n");

    Change t;
    t.kind = ChangeKind::TypeChanged;
    t.old_type = EntryType::File;
    t.new_type = EntryType::Directory;
    CHECK(sb::render_stat_line(t, "x", LineCounts{}, 0) == " T x | file -> directory\n");

    Change m;
    m.kind = ChangeKind::Modified;
    m.old_type = m.new_type = EntryType::Directory;
    m.old_mode = 0755;
    m.new_mode = 0700;
    CHECK(sb::render_stat_line(m, "d", LineCounts{}, 2) == " M d  | directory mode 0755 -> 0700\n");

    Change r;
    r.kind = ChangeKind::Replaced;
    r.old_type = r.new_type = EntryType::Directory;
    CHECK(sb::render_stat_line(r, "build", LineCounts{}, 0) == " R build | directory\n");
}

TEST_CASE("changes: --stat summary", "[changes]") {
    CHECK(sb::render_stat_summary(3, 10, 2) == " 3 changes, 10 insertions(+), 2 deletions(-)\n");
    CHECK(sb::render_stat_summary(1, 1, 1) == " 1 change, 1 insertion(+), 1 deletion(-)\n");
    CHECK(sb::render_stat_summary(0, 0, 0) == " 0 changes, 0 insertions(+), 0 deletions(-)\n");
}

// =============================================================================================
// JSON

TEST_CASE("changes: JSON of a modified file", "[changes]") {
    Change c = modified_file("src/main.c");
    c.old_size = 100;
    c.new_size = 120;
    c.new_mode = 0755;
    std::string text = sb::render_change_json(c, "/work", "/home/u/app", LineCounts{5, 2, false});
    CHECK(text.find('\n') == std::string::npos);  // one line
    auto j = nlohmann::json::parse(text);
    CHECK(j["mount"] == "/work");
    CHECK(j["source"] == "/home/u/app");
    CHECK(j["path"] == "src/main.c");
    CHECK(j["change"] == "modified");
    CHECK(j["old"] == nlohmann::json{{"type", "file"}, {"mode", "0644"}, {"size", 100}});
    CHECK(j["new"] == nlohmann::json{{"type", "file"}, {"mode", "0755"}, {"size", 120}});
    CHECK(j["content_changed"] == true);
    CHECK(j["lines_added"] == 5);
    CHECK(j["lines_removed"] == 2);
    CHECK_FALSE(j.contains("binary"));
}

TEST_CASE("changes: JSON of added, deleted, binary and symlink changes", "[changes]") {
    Change a = added(EntryType::Directory, "d", 0700);
    auto ja = nlohmann::json::parse(sb::render_change_json(a, "/w", "/s", std::nullopt));
    CHECK(ja["change"] == "added");
    CHECK(ja["old"].is_null());
    CHECK(ja["new"] == nlohmann::json{{"type", "directory"}, {"mode", "0700"}});  // no size for a directory
    CHECK_FALSE(ja.contains("lines_added"));
    CHECK_FALSE(ja.contains("lines_removed"));
    CHECK_FALSE(ja.contains("binary"));

    Change d = deleted(EntryType::File, "gone", 0600);
    d.old_size = 3;
    auto jd = nlohmann::json::parse(sb::render_change_json(d, "/w", "/s", LineCounts{0, 1, false}));
    CHECK(jd["change"] == "deleted");
    CHECK(jd["new"].is_null());
    CHECK(jd["old"] == nlohmann::json{{"type", "file"}, {"mode", "0600"}, {"size", 3}});
    CHECK(jd["lines_removed"] == 1);

    Change b = modified_file("img");
    auto jb = nlohmann::json::parse(sb::render_change_json(b, "/w", "/s", LineCounts{0, 0, true}));
    CHECK(jb["binary"] == true);
    CHECK_FALSE(jb.contains("lines_added"));
    CHECK_FALSE(jb.contains("lines_removed"));

    Change l;
    l.path = "link";
    l.kind = ChangeKind::Modified;
    l.old_type = l.new_type = EntryType::Symlink;
    l.old_mode = l.new_mode = 0777;
    l.old_link = "a";
    l.new_link = "b";
    l.content_changed = true;
    auto jl = nlohmann::json::parse(sb::render_change_json(l, "/w", "/s", std::nullopt));
    CHECK(jl["old"] == nlohmann::json{{"type", "symlink"}, {"mode", "0777"}, {"target", "a"}});
    CHECK(jl["new"] == nlohmann::json{{"type", "symlink"}, {"mode", "0777"}, {"target", "b"}});

    Change t;
    t.path = "x";
    t.kind = ChangeKind::TypeChanged;
    t.old_type = EntryType::Directory;
    t.new_type = EntryType::Other;
    t.old_mode = 0755;
    t.new_mode = 0644;
    auto jt = nlohmann::json::parse(sb::render_change_json(t, "/w", "/s", std::nullopt));
    CHECK(jt["change"] == "type-changed");
    CHECK(jt["old"]["type"] == "directory");
    CHECK(jt["new"] == nlohmann::json{{"type", "special"}, {"mode", "0644"}});
    CHECK(jt["content_changed"] == false);
}

TEST_CASE("changes: JSON of a path that is not UTF-8", "[changes]") {
    Change c = modified_file("bad\xff\xfe.txt");
    c.old_type = c.new_type = EntryType::Symlink;
    c.new_link = "to\xc3";
    std::string text;
    REQUIRE_NOTHROW(text = sb::render_change_json(c, "/w\x80", "/s", std::nullopt));
    nlohmann::json j;
    REQUIRE_NOTHROW(j = nlohmann::json::parse(text));
    // Invalid bytes become U+FFFD.
    CHECK(j["path"] == "bad\xEF\xBF\xBD\xEF\xBF\xBD.txt");
    CHECK(j["mount"] == "/w\xEF\xBF\xBD");
    CHECK(j["new"]["target"] == "to\xEF\xBF\xBD");
    CHECK(j["source"] == "/s");
}
