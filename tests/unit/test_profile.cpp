// Profile loading: golden files under data/profiles (valid chain, lookup, invalid ones with their
// exact file:line:col), variables, path normalization and the TOML rendering round trip.
#include <catch2/catch.hpp>
#include "profile/toml.hpp"

#include "profile/profile.hpp"
#include "support.hpp"

using sb::MountKind;
using sb::MountSpec;
using sb::Profile;
using test::profile_path;

namespace {

const std::string kValid = profile_path("valid");
const std::string kInvalid = profile_path("invalid");

Profile load_file(const std::string& path, std::vector<std::string> search_dirs = {}) {
    return sb::load_profile(path, test::test_vars(), test::file_source(std::move(search_dirs)));
}

// Loads a file that must fail; returns the ConfigError.
sb::ConfigError load_error_from(const std::string& path, const sb::ProfileSource& source,
                                const sb::Variables& vars = test::test_vars()) {
    try {
        sb::load_profile(path, vars, source);
    } catch (const sb::ConfigError& error) {
        return error;
    }
    FAIL("expected a ConfigError loading " << path);
    throw std::logic_error("unreachable");
}

sb::ConfigError invalid_error(const std::string& name) {
    return load_error_from(kInvalid + "/" + name, test::file_source());
}

sb::ConfigError text_error(const std::string& text, const sb::Variables& vars = test::test_vars()) {
    return load_error_from("/mem/test.toml", test::memory_source({{"/mem/test.toml", text}}), vars);
}

// Asserts the exact location (in `file`) and a fragment of the message.
void expect_error(const sb::ConfigError& error, const std::string& file, int line, int column,
                  const std::string& fragment) {
    INFO("error: " << error.what());
    CHECK(error.where().file == file);
    CHECK(error.where().line == line);
    CHECK(error.where().column == column);
    CHECK_THAT(error.message(), Catch::Matchers::Contains(fragment));
}

void expect_invalid(const std::string& name, int line, int column, const std::string& fragment) {
    expect_error(invalid_error(name), kInvalid + "/" + name, line, column, fragment);
}

void expect_text_error(const std::string& text, int line, int column, const std::string& fragment) {
    expect_error(text_error(text), "/mem/test.toml", line, column, fragment);
}

const MountSpec* find_mount(const Profile& profile, const std::string& target) {
    for (const auto& mount : profile.mounts)
        if (mount.target == target) return &mount;
    return nullptr;
}

std::vector<std::string> targets(const Profile& profile) {
    std::vector<std::string> out;
    for (const auto& mount : profile.mounts) out.push_back(mount.target);
    return out;
}

using Strings = std::vector<std::string>;
using EnvMap = std::map<std::string, std::string>;

}  // namespace

// ---------------------------------------------------------------------------------------------
// Valid chain: base <- child <- grandchild

TEST_CASE("profile: the base file loads field by field", "[profile][golden]") {
    Profile p = load_file(kValid + "/base.toml");
    CHECK(p.files == Strings{kValid + "/base.toml"});
    CHECK(p.command == Strings{"/bin/sh", "-l"});
    CHECK(p.cwd == "/work");
    CHECK(p.hostname == "base");
    CHECK(p.user_mode == sb::UserMode::Root);
    CHECK(p.uid == std::optional<std::uint32_t>(0));
    CHECK(p.gid == std::optional<std::uint32_t>(0));
    CHECK(p.capabilities.empty());
    CHECK(p.ns_uts);
    CHECK(p.ns_ipc);
    CHECK(p.ns_cgroup);
    CHECK(p.network == sb::NetworkMode::None);
    CHECK(p.env_keep == Strings{"EDITOR", "XDG_*"});
    CHECK(p.env_unset == Strings{"LANGUAGE"});
    CHECK(p.env_set == EnvMap{{"PS1", "base$ "}, {"EDITOR_MODE", "vi"}});
    REQUIRE(p.mounts.size() == 3);

    CHECK(p.mounts[0].type->name == std::string("ro-bind"));
    CHECK(p.mounts[0].source == "/usr");
    CHECK(p.mounts[0].target == "/usr");  // a bind's target defaults to its source
    CHECK_FALSE(p.mounts[0].size_bytes);
    CHECK_FALSE(p.mounts[0].mode);
    CHECK(p.mounts[0].where.file == kValid + "/base.toml");
    CHECK(p.mounts[0].where.line == 24);

    CHECK(p.mounts[1].type->name == std::string("tmpfs"));
    CHECK(p.mounts[1].source.empty());
    CHECK(p.mounts[1].target == "/tmp");
    CHECK(p.mounts[1].size_bytes == std::optional<std::uint64_t>(64ULL << 20));
    CHECK(p.mounts[1].mode == std::optional<unsigned>(01777));
    CHECK(p.mounts[1].where.line == 28);

    CHECK(p.mounts[2].type->name == std::string("proc"));
    CHECK(p.mounts[2].target == "/proc");
    CHECK(p.mounts[2].where.line == 34);
}

TEST_CASE("profile: a child overrides scalars and merges lists over its parent", "[profile][golden]") {
    Profile p = load_file(kValid + "/child.toml");
    CHECK(p.files == Strings{kValid + "/base.toml", kValid + "/child.toml"});
    CHECK(p.command == Strings{"/bin/bash"});  // replaced, not appended
    CHECK(p.cwd == "/work");                   // inherited
    CHECK(p.hostname == "child");              // overridden
    CHECK(p.user_mode == sb::UserMode::Root);
    CHECK(p.uid == std::optional<std::uint32_t>(0));
    CHECK(p.capabilities == Strings{"CAP_NET_BIND_SERVICE", "CAP_CHOWN"});  // canonical names
    CHECK(p.ns_uts);
    CHECK_FALSE(p.ns_ipc);
    CHECK(p.ns_cgroup);
    CHECK(p.env_keep == Strings{"EDITOR", "XDG_*", "PAGER"});  // union, no duplicate XDG_*
    CHECK(p.env_unset == Strings{"LANGUAGE"});
    CHECK(p.env_set == EnvMap{{"PS1", "child$ "}, {"EDITOR_MODE", "vi"}, {"TOOL", "/home/tester/bin"}});

    // /tmp is replaced as a whole: the child's size, and no mode (the parent's is not merged in).
    REQUIRE(p.mounts.size() == 4);
    const MountSpec* tmp = find_mount(p, "/tmp");
    REQUIRE(tmp);
    CHECK(tmp->type->name == std::string("tmpfs"));
    CHECK(tmp->size_bytes == std::optional<std::uint64_t>(16ULL << 20));
    CHECK_FALSE(tmp->mode);
    CHECK(tmp->where.file == kValid + "/child.toml");
    CHECK(tmp->where.line == 15);
    const MountSpec* work = find_mount(p, "/work");
    REQUIRE(work);
    CHECK(work->type->name == std::string("dir"));
    CHECK(work->mode == std::optional<unsigned>(0700));
    CHECK(work->where.line == 20);
}

TEST_CASE("profile: a grandchild merges over both ancestors", "[profile][golden]") {
    Profile p = load_file(kValid + "/grandchild.toml");
    CHECK(p.files == Strings{kValid + "/base.toml", kValid + "/child.toml", kValid + "/grandchild.toml"});
    CHECK(p.command == Strings{"/bin/bash"});
    CHECK(p.cwd == "/home/tester");
    CHECK(p.hostname == "child");
    CHECK(p.user_mode == sb::UserMode::KeepId);
    CHECK(p.uid == std::optional<std::uint32_t>(1000));
    CHECK(p.gid == std::optional<std::uint32_t>(0));
    CHECK(p.capabilities.empty());  // an explicit [] clears the child's list
    CHECK(p.ns_uts);
    CHECK_FALSE(p.ns_ipc);
    CHECK(p.ns_cgroup);
    CHECK(p.network == sb::NetworkMode::Host);
    CHECK(p.env_keep == Strings{"EDITOR", "XDG_*", "PAGER"});
    // A later unset removes an earlier set; a later set removes an earlier unset.
    CHECK(p.env_unset == Strings{"EDITOR_MODE"});
    CHECK(p.env_set == EnvMap{{"PS1", "child$ "}, {"TOOL", "/home/tester/bin"}, {"LANGUAGE", "en"}});

    REQUIRE(p.mounts.size() == 5);
    const MountSpec* usr = find_mount(p, "/usr");
    REQUIRE(usr);
    CHECK(usr->type->name == std::string("bind"));  // the grandchild's writable bind replaced the ro-bind
    CHECK(usr->source == "/usr");
    CHECK(usr->where.file == kValid + "/grandchild.toml");
    CHECK(usr->where.line == 21);
    const MountSpec* bin = find_mount(p, "/bin");
    REQUIRE(bin);
    CHECK(bin->type->name == std::string("symlink"));
    CHECK(bin->source == "usr/bin");
    CHECK(find_mount(p, "/proc"));
    CHECK(find_mount(p, "/work"));
    CHECK(find_mount(p, "/tmp")->size_bytes == std::optional<std::uint64_t>(16ULL << 20));

    // Mounts that were not replaced keep their relative order: parent's first, then the child's.
    auto order = targets(p);
    auto pos = [&](const std::string& t) { return std::find(order.begin(), order.end(), t) - order.begin(); };
    CHECK(pos("/proc") < pos("/work"));
    CHECK(pos("/work") < pos("/bin"));
}

// The spec: "a later mount with the same target replaces the earlier one" (with the parent's
// list first). Read as an in-place replacement, the replaced mount keeps the parent's position.
TEST_CASE("profile: a replacing mount takes the replaced mount's place", "[profile][golden]") {
    CHECK(targets(load_file(kValid + "/child.toml")) == Strings{"/usr", "/tmp", "/proc", "/work"});
    CHECK(targets(load_file(kValid + "/grandchild.toml")) ==
          Strings{"/usr", "/tmp", "/proc", "/work", "/bin"});
}

TEST_CASE("profile: variables in strings", "[profile][golden][vars]") {
    Profile p = load_file(kValid + "/vars.toml");
    CHECK(p.command == Strings{"/bin/echo", "/home/tester", "$HOME", "a$b", kValid, "cost: $5", "end$",
                               "1000:1000"});
    CHECK(p.cwd == "/home/tester/project/sub");
    CHECK(p.hostname == "tester-box");
    CHECK(p.env_set == EnvMap{{"RUNTIME", "/run/user/1000/app"}, {"PROMPT", "$ "}});
}

// ---------------------------------------------------------------------------------------------
// Lookup by name

TEST_CASE("profile: resolve_profile by name and by path", "[profile][lookup]") {
    const std::string search = profile_path("search"), search2 = profile_path("search2"),
                      local = profile_path("local");
    auto source = test::file_source({search, search2});
    CHECK(sb::resolve_profile("common", "", source) == std::optional<std::string>(search + "/common.toml"));
    CHECK(sb::resolve_profile("common", local, source) == std::optional<std::string>(local + "/common.toml"));
    CHECK(sb::resolve_profile("only-in-search2", local, source) ==
          std::optional<std::string>(search2 + "/only-in-search2.toml"));
    CHECK(sb::resolve_profile("includer", local, source) ==
          std::optional<std::string>(local + "/includer.toml"));
    CHECK_FALSE(sb::resolve_profile("no-such-profile", local, source));
    CHECK_FALSE(sb::resolve_profile("", local, source));
    // Paths are taken as given (relative to the base dir); existence is checked on reading.
    CHECK(sb::resolve_profile("sub/x", "/base", source) == std::optional<std::string>("/base/sub/x"));
    CHECK(sb::resolve_profile("x.toml", "/base", source) == std::optional<std::string>("/base/x.toml"));
    CHECK(sb::resolve_profile("/abs/y.toml", "/base", source) == std::optional<std::string>("/abs/y.toml"));
    CHECK(sb::resolve_profile("rel/z", "", source) == std::optional<std::string>("rel/z"));
    // One file, one name: path references are made lexically normal (cycle detection relies on it).
    CHECK(sb::resolve_profile("./x.toml", "/base", source) == std::optional<std::string>("/base/x.toml"));
    CHECK(sb::resolve_profile("../y.toml", "/base/sub", source) == std::optional<std::string>("/base/y.toml"));
    CHECK(sb::resolve_profile("a//b/./c.toml", "/base", source) == std::optional<std::string>("/base/a/b/c.toml"));
    CHECK(sb::resolve_profile("common", local + "/../local/", source) ==
          std::optional<std::string>(local + "/common.toml"));
}

TEST_CASE("profile: a name in the including file's directory wins over the search dirs", "[profile][lookup]") {
    const std::string search = profile_path("search"), search2 = profile_path("search2"),
                      local = profile_path("local");
    Profile p = load_file(local + "/includer.toml", {search, search2});
    CHECK(p.files ==
          Strings{search2 + "/only-in-search2.toml", local + "/common.toml", local + "/includer.toml"});
    CHECK(p.hostname == "from-local");
    CHECK(p.cwd == "/from-search2");
    CHECK(p.command == Strings{"/bin/true"});
    // ${PROFILE_DIR} is the directory of the file that uses it, not of the one extending it.
    REQUIRE(p.mounts.size() == 1);
    CHECK(p.mounts[0].source == *sb::normalize_absolute_path(search2));
    CHECK(p.mounts[0].target == "/profile-dir");
}

TEST_CASE("profile: the first search dir wins", "[profile][lookup]") {
    const std::string search = profile_path("search"), search2 = profile_path("search2");
    auto first = sb::resolve_profile("common", "", test::file_source({search2, search}));
    CHECK(first == std::optional<std::string>(search2 + "/common.toml"));
    Profile p = load_file(*sb::resolve_profile("common", "", test::file_source({search, search2})));
    CHECK(p.hostname == "from-search");
}

TEST_CASE("profile: extends by name in memory searches the base dir then search dirs", "[profile][lookup]") {
    auto source = test::memory_source({{"/a/p.toml", "extends = [\"q\"]\n"},
                                       {"/a/q.toml", "hostname = \"a-q\"\n"},
                                       {"/s/q.toml", "hostname = \"s-q\"\n"},
                                       {"/b/p.toml", "extends = [\"q\"]\n"}},
                                      {"/s"});
    CHECK(sb::load_profile("/a/p.toml", test::test_vars(), source).hostname == "a-q");
    CHECK(sb::load_profile("/b/p.toml", test::test_vars(), source).hostname == "s-q");
}

// ---------------------------------------------------------------------------------------------
// Invalid golden files: exact file:line:col and a fragment of the message

TEST_CASE("profile error: unknown top-level key", "[profile][invalid]") {
    expect_invalid("unknown_key.toml", 2, 1, "unknown key 'colour' in the profile");
}
TEST_CASE("profile error: unknown key in [user]", "[profile][invalid]") {
    expect_invalid("unknown_user_key.toml", 3, 1, "unknown key 'shell' in [user]");
}
TEST_CASE("profile error: [namespaces] pid", "[profile][invalid]") {
    expect_invalid("namespace_pid.toml", 3, 1, "the pid namespace is always new");
}
TEST_CASE("profile error: wrong type", "[profile][invalid]") {
    expect_invalid("wrong_type.toml", 1, 12, "'hostname' must be a string, not an integer");
}
TEST_CASE("profile error: bad mount type", "[profile][invalid]") {
    expect_invalid("bad_mount_type.toml", 2, 8, "unknown mount type \"aufs\"");
}
TEST_CASE("profile error: relative target", "[profile][invalid]") {
    expect_invalid("relative_target.toml", 3, 10, "'target' must be an absolute path without '..', not \"tmp\"");
}
TEST_CASE("profile error: target /", "[profile][invalid]") {
    expect_invalid("root_target.toml", 3, 10, "'target' cannot be \"/\"");
}
TEST_CASE("profile error: .. in a path", "[profile][invalid]") {
    expect_invalid("dotdot_path.toml", 3, 10, "'source' must be an absolute path without '..', not \"/usr/../etc\"");
}
TEST_CASE("profile error: missing source on a bind", "[profile][invalid]") {
    expect_invalid("missing_bind_source.toml", 1, 1, "a bind mount needs a 'source'");
}
TEST_CASE("profile error: size on a bind", "[profile][invalid]") {
    expect_invalid("size_on_bind.toml", 4, 8, "'size' does not apply to a ro-bind mount");
}
TEST_CASE("profile error: mode not octal", "[profile][invalid]") {
    expect_invalid("mode_not_octal.toml", 4, 8, "'mode' must be an octal permission");
}
TEST_CASE("profile error: bad size suffix", "[profile][invalid]") {
    expect_invalid("bad_size_suffix.toml", 4, 8, "must be a size such as \"512M\", \"2G\", not \"64XB\"");
}
TEST_CASE("profile error: unknown variable", "[profile][invalid]") {
    expect_invalid("unknown_variable.toml", 1, 7, "unknown variable ${NOPE}");
}
TEST_CASE("profile error: unterminated ${", "[profile][invalid]") {
    expect_invalid("unterminated_variable.toml", 2, 25, "unterminated ${ in \"${HOME\"");
}
TEST_CASE("profile error: extends cycle a -> b -> a, located at the extends entry in b", "[profile][invalid]") {
    auto error = invalid_error("cycle_a.toml");
    expect_error(error, kInvalid + "/cycle_b.toml", 2, 12,
                 "extends cycle: " + kInvalid + "/cycle_a.toml -> " + kInvalid + "/cycle_b.toml -> " +
                     kInvalid + "/cycle_a.toml");
}
TEST_CASE("profile error: a file extending itself", "[profile][invalid]") {
    auto source = test::memory_source({{"/m/self.toml", "hostname = \"x\"\nextends = [\"self\"]\n"}});
    expect_error(load_error_from("/m/self.toml", source), "/m/self.toml", 2, 12, "extends cycle");
}
// Cycle detection compares file names, so "./b.toml" and "b.toml" must name the same file.
TEST_CASE("profile error: an extends cycle through ./ paths is reported as a cycle", "[profile][invalid]") {
    test::TempDir dir;
    std::string a = dir.write("a.toml", "extends = [\"./b.toml\"]\n");
    dir.write("b.toml", "hostname = \"b\"\nextends = [\"../" + dir.path().substr(dir.path().rfind('/') + 1) +
                            "/a.toml\"]\n");
    auto error = load_error_from(a, test::file_source());
    expect_error(error, dir.path() + "/b.toml", 2, 12,
                 "extends cycle: " + a + " -> " + dir.path() + "/b.toml -> " + a);
}

TEST_CASE("profile error: missing extends (name)", "[profile][invalid]") {
    expect_invalid("missing_extends.toml", 1, 12, "cannot find profile \"no-such-profile\"");
}
TEST_CASE("profile error: missing extends (path)", "[profile][invalid]") {
    expect_invalid("missing_extends_path.toml", 1, 12,
                   "cannot read profile " + kInvalid + "/no-such-file.toml: No such file or directory");
}
TEST_CASE("profile error: same target twice in one file", "[profile][invalid]") {
    expect_invalid("conflict_same_target.toml", 7, 10, "conflict: /tmp is already a mount target at line 1");
}
TEST_CASE("profile error: env name both set and unset", "[profile][invalid]") {
    expect_invalid("env_set_and_unset.toml", 3, 9, "'PAGER' is both set and unset in [env]");
}
TEST_CASE("profile error: capabilities with keep-id", "[profile][invalid]") {
    expect_invalid("capabilities_with_keep_id.toml", 3, 16, "capabilities need [user] mode = \"root\"");
}
TEST_CASE("profile error: unknown capability", "[profile][invalid]") {
    expect_invalid("unknown_capability.toml", 2, 41, "unknown capability 'CAP_FLY'");
}
TEST_CASE("profile error: TOML syntax error", "[profile][invalid]") {
    auto error = invalid_error("toml_syntax.toml");
    INFO(error.what());
    CHECK(error.where().file == kInvalid + "/toml_syntax.toml");
    CHECK(error.where().line == 2);
    CHECK(error.where().column > 0);
    CHECK_THAT(error.message(), Catch::Matchers::StartsWith("TOML syntax error: "));
}
TEST_CASE("profile error: empty command", "[profile][invalid]") {
    expect_invalid("empty_command.toml", 1, 11, "'command' must not be empty");
}
TEST_CASE("profile error: what() is FILE:LINE:COL: message", "[profile][invalid]") {
    auto error = invalid_error("empty_command.toml");
    CHECK(std::string(error.what()) == kInvalid + "/empty_command.toml:1:11: 'command' must not be empty");
}
TEST_CASE("profile error: an unreadable top-level file has no line", "[profile][invalid]") {
    auto error = invalid_error("does-not-exist.toml");
    CHECK(error.where().file == kInvalid + "/does-not-exist.toml");
    CHECK(error.where().line == 0);
    CHECK(std::string(error.what()) == kInvalid + "/does-not-exist.toml: cannot read profile " + kInvalid +
                                           "/does-not-exist.toml: No such file or directory");
}

// ---------------------------------------------------------------------------------------------
// Inline cases (in-memory files)

TEST_CASE("profile: an empty file gives the defaults", "[profile]") {
    Profile p = test::load_text("");
    CHECK(p.files == Strings{"/mem/test.toml"});
    CHECK(p.command.empty());
    CHECK(p.cwd == "/");
    CHECK(p.hostname == "sandbox");
    CHECK(p.user_mode == sb::UserMode::Root);
    CHECK_FALSE(p.uid);
    CHECK_FALSE(p.gid);
    CHECK(p.capabilities.empty());
    CHECK(p.ns_uts);
    CHECK(p.ns_ipc);
    CHECK(p.ns_cgroup);
    CHECK(p.network == sb::NetworkMode::None);
    CHECK(p.env_keep.empty());
    CHECK(p.env_unset.empty());
    CHECK(p.env_set.empty());
    CHECK(p.mounts.empty());
}

TEST_CASE("profile: sizes and modes", "[profile]") {
    auto tmpfs = [](const std::string& extra) {
        Profile p = test::load_text("[[mount]]\ntype = \"tmpfs\"\ntarget = \"/t\"\n" + extra);
        REQUIRE(p.mounts.size() == 1);
        return p.mounts[0];
    };
    CHECK(tmpfs("size = 4096\n").size_bytes == std::optional<std::uint64_t>(4096));
    CHECK(tmpfs("size = \"1024\"\n").size_bytes == std::optional<std::uint64_t>(1024));
    CHECK(tmpfs("size = \"2k\"\n").size_bytes == std::optional<std::uint64_t>(2048));
    CHECK(tmpfs("size = \"3K\"\n").size_bytes == std::optional<std::uint64_t>(3072));
    CHECK(tmpfs("size = \"5m\"\n").size_bytes == std::optional<std::uint64_t>(5ULL << 20));
    CHECK(tmpfs("size = \"3G\"\n").size_bytes == std::optional<std::uint64_t>(3ULL << 30));
    CHECK(tmpfs("mode = \"755\"\n").mode == std::optional<unsigned>(0755));
    CHECK(tmpfs("mode = \"0\"\n").mode == std::optional<unsigned>(0));
    CHECK(tmpfs("mode = \"7777\"\n").mode == std::optional<unsigned>(07777));
    CHECK(tmpfs("mode = 0o700\n").mode == std::optional<unsigned>(0700));  // a TOML octal integer

    const std::string head = "[[mount]]\ntype = \"tmpfs\"\ntarget = \"/t\"\n";
    expect_text_error(head + "size = 0\n", 4, 8, "'size' must be positive");
    expect_text_error(head + "size = -5\n", 4, 8, "'size' must be positive");
    expect_text_error(head + "size = \"M\"\n", 4, 8, "not \"M\"");
    expect_text_error(head + "size = \"1.5G\"\n", 4, 8, "not \"1.5G\"");
    expect_text_error(head + "size = \"1234567890123456\"\n", 4, 8, "not \"1234567890123456\"");
    expect_text_error(head + "size = true\n", 4, 8, "'size' must be a size such as \"64M\", not a boolean");
    expect_text_error(head + "mode = \"07777\"\n", 4, 8, "'mode' must be an octal permission");
    expect_text_error(head + "mode = \"\"\n", 4, 8, "'mode' must be an octal permission");
    expect_text_error(head + "mode = \"rwx\"\n", 4, 8, "'mode' must be an octal permission");
    expect_text_error(head + "mode = 4096\n", 4, 8, "'mode' must be octal: write \"0755\" or 0o755");
    expect_text_error(head + "mode = 755\n", 4, 8, "'mode' must be octal");  // decimal would mean 01363
    expect_text_error(head + "mode = 0o17777\n", 4, 8, "'mode' must be an octal permission");
}

TEST_CASE("profile: a tmpfs size reads as a memory limit does (one size parser)", "[profile][size]") {
    // Issue 9: "1T" was refused for a tmpfs and taken for memory.
    const std::string head = "[[mount]]\ntype = \"tmpfs\"\ntarget = \"/t\"\n";
    for (const char* text : {"1T", "512MiB", "512MB", "64k", "3G"}) {
        Profile tmpfs = test::load_text(head + "size = \"" + text + "\"\n");
        Profile memory = test::load_text(std::string("[limits]\nmemory = \"") + text + "\"\n");
        REQUIRE(tmpfs.mounts.size() == 1);
        CHECK(tmpfs.mounts[0].size_bytes == memory.limits.memory_max);
    }
    expect_text_error(head + "size = \"max\"\n", 4, 8, "'size' must be a size such as \"512M\", \"2G\", not \"max\"");
}

TEST_CASE("profile: an empty size string is a ConfigError", "[profile]") {
    // size_value: "" has no digits, but std::stoull("") is reached and throws std::invalid_argument.
    const std::string head = "[[mount]]\ntype = \"tmpfs\"\ntarget = \"/t\"\n";
    CHECK_THROWS_AS(test::load_text(head + "size = \"\"\n"), sb::ConfigError);
}

TEST_CASE("profile: a size that overflows 64 bits is a ConfigError", "[profile]") {
    // 99999999999999 GiB does not fit in 64 bits; size_value multiplies without a check.
    const std::string head = "[[mount]]\ntype = \"tmpfs\"\ntarget = \"/t\"\n";
    CHECK_THROWS_AS(test::load_text(head + "size = \"99999999999999G\"\n"), sb::ConfigError);
}

TEST_CASE("profile: a size of zero is rejected as a string too", "[profile]") {
    // size = 0 is "'size' must be positive", but "0" and "0M" are taken as 0 (the kernel default).
    const std::string head = "[[mount]]\ntype = \"tmpfs\"\ntarget = \"/t\"\n";
    CHECK_THROWS_AS(test::load_text(head + "size = \"0\"\n"), sb::ConfigError);
    CHECK_THROWS_AS(test::load_text(head + "size = \"0M\"\n"), sb::ConfigError);
}

TEST_CASE("profile: mount kinds and their keys", "[profile]") {
    Profile p = test::load_text(
        "[[mount]]\ntype = \"ro-bind-try\"\nsource = \"//opt/./x/\"\n"
        "[[mount]]\ntype = \"bind-try\"\nsource = \"/a\"\ntarget = \"/b\"\n"
        "[[mount]]\ntype = \"file\"\ntarget = \"/etc/f\"\ncontents = \"${NOT_EXPANDED} $$\"\n"
        "[[mount]]\ntype = \"symlink\"\nsource = \"${HOME}/rel\"\ntarget = \"/l\"\n"
        "[[mount]]\ntype = \"dev\"\ntarget = \"/dev\"\n");
    REQUIRE(p.mounts.size() == 5);
    CHECK(p.mounts[0].type->name == std::string("ro-bind-try"));
    CHECK(p.mounts[0].source == "/opt/x");
    CHECK(p.mounts[0].target == "/opt/x");
    CHECK(p.mounts[1].type->name == std::string("bind-try"));
    CHECK(p.mounts[1].target == "/b");
    CHECK(p.mounts[2].type->name == std::string("file"));
    CHECK(p.mounts[2].contents == "${NOT_EXPANDED} $$");  // contents are literal
    CHECK_FALSE(p.mounts[2].mode);
    CHECK(p.mounts[3].type->name == std::string("symlink"));
    CHECK(p.mounts[3].source == "/home/tester/rel");  // expanded, but not normalized as a path
    CHECK(p.mounts[4].type->name == std::string("dev"));

    expect_text_error("[[mount]]\ntarget = \"/x\"\n", 1, 1, "[[mount]] needs a 'type'");
    expect_text_error("[[mount]]\ntype = \"tmpfs\"\n", 1, 1, "a tmpfs mount needs a 'target'");
    expect_text_error("[[mount]]\ntype = \"file\"\ntarget = \"/f\"\n", 1, 1, "a file mount needs 'contents'");
    expect_text_error("[[mount]]\ntype = \"symlink\"\ntarget = \"/f\"\n", 1, 1, "a symlink mount needs a 'source'");
    expect_text_error("[[mount]]\ntype = \"symlink\"\nsource = \"\"\ntarget = \"/f\"\n", 3, 10,
                      "a symlink's 'source' must not be empty");
    expect_text_error("[[mount]]\ntype = \"tmpfs\"\nsource = \"/x\"\ntarget = \"/f\"\n", 3, 10,
                      "'source' does not apply to a tmpfs mount");
    expect_text_error("[[mount]]\ntype = \"dir\"\ntarget = \"/f\"\ncontents = \"x\"\n", 4, 12,
                      "'contents' does not apply to a dir mount");
    expect_text_error("[[mount]]\ntype = \"proc\"\ntarget = \"/proc\"\nmode = \"0755\"\n", 4, 8,
                      "'mode' does not apply to a proc mount");
    expect_text_error("[[mount]]\ntype = \"tmpfs\"\ntarget = \"/t\"\nowner = 0\n", 4, 1,
                      "unknown key 'owner' in [[mount]]");
    expect_text_error("[[mount]]\ntype = \"tmpfs\"\ntarget = \"//\"\n", 3, 10, "'target' cannot be \"/\"");
    expect_text_error("mount = 3\n", 1, 9, "'mount' must be an array of tables ([[mount]]), not an integer");
}

TEST_CASE("profile: scalar values are validated", "[profile]") {
    CHECK(test::load_text("hostname = \"" + std::string(64, 'h') + "\"\n").hostname == std::string(64, 'h'));
    expect_text_error("hostname = \"" + std::string(65, 'h') + "\"\n", 1, 12,
                      "'hostname' must be at most 64 characters, not 65");
    expect_text_error("hostname = \"\"\n", 1, 12, "'hostname' must not be empty");
    expect_text_error("hostname = \"a/b\"\n", 1, 12, "not '/' at byte 2");
    expect_text_error("cwd = \"relative\"\n", 1, 7, "'cwd' must be an absolute path");
    expect_text_error("command = \"/bin/sh\"\n", 1, 11, "'command' must be an array of strings, not a string");
    expect_text_error("command = [\"/bin/sh\", 3]\n", 1, 23, "'command' must be a string, not an integer");
    expect_text_error("extends = \"base\"\n", 1, 11, "'extends' must be an array of profile names or paths");
    expect_text_error("user = 3\n", 1, 8, "'user' must be a table, not an integer");
    expect_text_error("[user]\nmode = \"nobody\"\n", 2, 8, "[user] mode must be \"root\" or \"keep-id\"");
    expect_text_error("[user]\nuid = -1\n", 2, 7, "'uid' must be between 0 and 4294967294");
    expect_text_error("[user]\ngid = 4294967295\n", 2, 7, "'gid' must be between 0 and 4294967294");
    expect_text_error("[user]\nuid = \"0\"\n", 2, 7, "'uid' must be an integer, not a string");
    expect_text_error("[namespaces]\nuts = \"no\"\n", 2, 7, "'uts' must be a boolean (true or false), not a string");
    expect_text_error("[namespaces]\nnet = false\n", 2, 1, "the network namespace is set by [network] mode");
    expect_text_error("[namespaces]\nuser = true\n", 2, 1, "the user namespace is always new");
    expect_text_error("[namespaces]\nmount = true\n", 2, 1, "the mount namespace is always new");
    expect_text_error("[namespaces]\ntime = true\n", 2, 1, "unknown key 'time' in [namespaces]");
    expect_text_error("[network]\nmode = \"bridge\"\n", 2, 8, "[network] mode must be \"none\", \"slirp\" or \"host\"");
    expect_text_error("[network]\nports = []\n", 2, 1, "this [network] setting needs mode = \"slirp\"");
    expect_text_error("[network]\nwifi = true\n", 2, 1, "unknown key 'wifi' in [network]");

    Profile p = test::load_text("[user]\nuid = 4294967294\ncapabilities = [\"cap_net_raw\", \"Sys_Admin\"]\n");
    CHECK(p.uid == std::optional<std::uint32_t>(4294967294u));
    CHECK(p.capabilities == Strings{"CAP_NET_RAW", "CAP_SYS_ADMIN"});
}

TEST_CASE("profile: [env] names are validated", "[profile]") {
    Profile p = test::load_text("[env]\nkeep = [\"LC_*\", \"_X1\"]\nunset = [\"TZ\"]\nset = { A_1 = \"v\" }\n");
    CHECK(p.env_keep == Strings{"LC_*", "_X1"});
    CHECK(p.env_unset == Strings{"TZ"});
    CHECK(p.env_set == EnvMap{{"A_1", "v"}});

    expect_text_error("[env]\nkeep = [\"A*B\"]\n", 2, 9, "'A*B' is not a valid variable name");
    expect_text_error("[env]\nkeep = [\"1A\"]\n", 2, 9, "'1A' is not a valid variable name");
    expect_text_error("[env]\nkeep = [\"\"]\n", 2, 9, "'' is not a valid variable name");
    expect_text_error("[env]\nunset = [\"XDG_*\"]\n", 2, 10, "'XDG_*' is not a valid variable name");
    expect_text_error("[env]\nset = { A-B = \"v\" }\n", 2, 9, "'A-B' is not a valid variable name");
    expect_text_error("[env]\nset = { A = 1 }\n", 2, 13, "'A' must be a string, not an integer");
    expect_text_error("[env]\nset = [\"A=1\"]\n", 2, 7, "'set' must be a table of NAME = \"value\"");
    expect_text_error("[env]\npass = []\n", 2, 1, "unknown key 'pass' in [env]");
}

TEST_CASE("profile: a variable set to the empty string is an error", "[profile][vars]") {
    auto vars = test::test_vars();
    vars["XDG_RUNTIME_DIR"] = "";
    expect_error(text_error("cwd = \"${XDG_RUNTIME_DIR}\"\n", vars), "/mem/test.toml", 1, 7,
                 "variable ${XDG_RUNTIME_DIR} is not set in this environment");
}

TEST_CASE("profile: PROFILE_DIR of a file in the root directory", "[profile][vars]") {
    auto source = test::memory_source({{"/top.toml", "cwd = \"${PROFILE_DIR}\"\n"}});
    CHECK(sb::load_profile("/top.toml", test::test_vars(), source).cwd == "/");
}

// `sandbox run my.toml` loads the relative path "my.toml": ${PROFILE_DIR} must still be absolute.
TEST_CASE("profile: PROFILE_DIR is absolute for a relative profile path", "[profile][vars]") {
    auto source = test::memory_source({{"sub/p.toml", "cwd = \"${PROFILE_DIR}\"\n"},
                                       {"top.toml", "hostname = \"top\"\n[[mount]]\ntype = \"ro-bind\"\n"
                                                    "source = \"${PROFILE_DIR}\"\ntarget = \"/p\"\n"}});
    CHECK(sb::load_profile("sub/p.toml", test::test_vars(), source).cwd ==
          (std::filesystem::current_path() / "sub").string());
    Profile top = sb::load_profile("top.toml", test::test_vars(), source);
    REQUIRE(top.mounts.size() == 1);
    CHECK(top.mounts[0].source == *sb::normalize_absolute_path(std::filesystem::current_path().string()));
}

TEST_CASE("profile: the same target in two files is not a conflict", "[profile]") {
    auto source = test::memory_source(
        {{"/m/parent.toml", "[[mount]]\ntype = \"tmpfs\"\ntarget = \"/x\"\n"},
         {"/m/child.toml", "extends = [\"parent\"]\n[[mount]]\ntype = \"dir\"\ntarget = \"/x/\"\nmode = \"0711\"\n"}});
    Profile p = sb::load_profile("/m/child.toml", test::test_vars(), source);
    REQUIRE(p.mounts.size() == 1);
    CHECK(p.mounts[0].type->name == std::string("dir"));
    CHECK(p.mounts[0].mode == std::optional<unsigned>(0711));
}

TEST_CASE("profile: extends are applied left to right, then the file itself", "[profile]") {
    auto source = test::memory_source({{"/m/a.toml", "hostname = \"a\"\ncwd = \"/a\"\n"},
                                       {"/m/b.toml", "hostname = \"b\"\n"},
                                       {"/m/c.toml", "extends = [\"a\", \"b\"]\ncommand = [\"c\"]\n"},
                                       {"/m/d.toml", "extends = [\"b\", \"a\"]\nhostname = \"d\"\n"}});
    Profile c = sb::load_profile("/m/c.toml", test::test_vars(), source);
    CHECK(c.hostname == "b");
    CHECK(c.cwd == "/a");
    CHECK(c.files == Strings{"/m/a.toml", "/m/b.toml", "/m/c.toml"});
    Profile d = sb::load_profile("/m/d.toml", test::test_vars(), source);
    CHECK(d.hostname == "d");
    CHECK(d.files == Strings{"/m/b.toml", "/m/a.toml", "/m/d.toml"});
}

TEST_CASE("profile: a diamond (the same parent twice) is not a cycle", "[profile]") {
    auto source = test::memory_source({{"/m/root.toml", "hostname = \"root\"\n"},
                                       {"/m/l.toml", "extends = [\"root\"]\n"},
                                       {"/m/r.toml", "extends = [\"root\"]\n"},
                                       {"/m/top.toml", "extends = [\"l\", \"r\"]\n"}});
    Profile p = sb::load_profile("/m/top.toml", test::test_vars(), source);
    CHECK(p.hostname == "root");
    // root is merged once, where it first appears: r's reference to it adds nothing.
    CHECK(p.files == Strings{"/m/root.toml", "/m/l.toml", "/m/r.toml", "/m/top.toml"});
}

// ---------------------------------------------------------------------------------------------
// expand_variables, normalize_absolute_path

TEST_CASE("expand_variables", "[profile][vars]") {
    const sb::Variables vars = {{"A", "alpha"}, {"B", "$${B}"}, {"E", ""}};
    const sb::SourceLocation where{"f.toml", 3, 7};
    auto expand = [&](const std::string& text) { return sb::expand_variables(text, vars, where); };
    CHECK(expand("") == "");
    CHECK(expand("plain") == "plain");
    CHECK(expand("${A}") == "alpha");
    CHECK(expand("x${A}y${A}") == "xalphayalpha");
    CHECK(expand("$$") == "$");
    CHECK(expand("$$$$") == "$$");
    CHECK(expand("$$$") == "$$");
    CHECK(expand("$") == "$");
    CHECK(expand("a$b") == "a$b");
    CHECK(expand("$A") == "$A");
    CHECK(expand("end$") == "end$");
    CHECK(expand("$${A}") == "${A}");
    CHECK(expand("${A}}") == "alpha}");
    CHECK(expand("${B}") == "$${B}");  // values are not expanded again

    auto error = [&](const std::string& text) {
        try {
            expand(text);
        } catch (const sb::ConfigError& e) {
            return e;
        }
        FAIL("no ConfigError for " << text);
        throw std::logic_error("unreachable");
    };
    auto e1 = error("${NOPE}");
    CHECK(e1.where().file == "f.toml");
    CHECK(e1.where().line == 3);
    CHECK(e1.where().column == 7);
    CHECK(e1.message() == "unknown variable ${NOPE}");
    CHECK(error("${}").message() == "unknown variable ${}");
    CHECK(error("x${A").message() == "unterminated ${ in \"x${A\" (write $$ for a literal $)");
    CHECK(error("${").message() == "unterminated ${ in \"${\" (write $$ for a literal $)");
    CHECK(error("${E}").message() == "variable ${E} is not set in this environment");
    CHECK(error("${${A}}").message() == "unknown variable ${${A}");
}

TEST_CASE("normalize_absolute_path", "[profile][paths]") {
    using O = std::optional<std::string>;
    CHECK(sb::normalize_absolute_path("/") == O("/"));
    CHECK(sb::normalize_absolute_path("//") == O("/"));
    CHECK(sb::normalize_absolute_path("/.") == O("/"));
    CHECK(sb::normalize_absolute_path("/./.") == O("/"));
    CHECK(sb::normalize_absolute_path("//a/./b/") == O("/a/b"));
    CHECK(sb::normalize_absolute_path("/a//b///c") == O("/a/b/c"));
    CHECK(sb::normalize_absolute_path("/a/.b") == O("/a/.b"));
    CHECK(sb::normalize_absolute_path("/a/..b") == O("/a/..b"));
    CHECK(sb::normalize_absolute_path("/a/b..") == O("/a/b.."));
    CHECK(sb::normalize_absolute_path("/a/...") == O("/a/..."));
    CHECK(sb::normalize_absolute_path("/a b/c") == O("/a b/c"));
    CHECK(sb::normalize_absolute_path("") == std::nullopt);
    CHECK(sb::normalize_absolute_path("a/b") == std::nullopt);
    CHECK(sb::normalize_absolute_path("./a") == std::nullopt);
    CHECK(sb::normalize_absolute_path(" /a") == std::nullopt);
    CHECK(sb::normalize_absolute_path("/..") == std::nullopt);
    CHECK(sb::normalize_absolute_path("/a/../b") == std::nullopt);
    CHECK(sb::normalize_absolute_path("/a/b/..") == std::nullopt);
    CHECK(sb::normalize_absolute_path("/a/b/../") == std::nullopt);
}

TEST_CASE("mount kind and user mode names", "[profile]") {
    const std::pair<const char*, MountKind> types[] = {
        {"ro-bind", MountKind::RoBind}, {"bind", MountKind::Bind}, {"bind-try", MountKind::Bind},
        {"ro-bind-try", MountKind::RoBind}, {"tmpfs", MountKind::Tmpfs}, {"dir", MountKind::Dir},
        {"symlink", MountKind::Symlink}, {"file", MountKind::File}, {"proc", MountKind::Proc},
        {"dev", MountKind::Dev}, {"overlay", MountKind::Overlay}};
    REQUIRE(sb::mount_types().size() == std::size(types));
    for (const auto& [name, kind] : types) {
        INFO(name);
        REQUIRE(sb::find_mount_type(name));
        CHECK(sb::find_mount_type(name)->kind == kind);
        CHECK(std::string(sb::find_mount_type(name)->name) == name);
    }
    CHECK(std::string(sb::to_string(MountKind::RoBind)) == "ro-bind");
    CHECK(std::string(sb::to_string(MountKind::Cgroup)) == "cgroup");
    CHECK_FALSE(sb::find_mount_type("Bind"));
    CHECK_FALSE(sb::find_mount_type(""));
    CHECK_FALSE(sb::find_mount_type("cgroup"));  // the plan's own, not a profile type
    CHECK(sb::mount_type_names() == "ro-bind, bind, bind-try, ro-bind-try, tmpfs, dir, symlink, file, proc, dev or overlay");
    CHECK(sb::parse_user_mode("root") == std::optional<sb::UserMode>(sb::UserMode::Root));
    CHECK(sb::parse_user_mode("keep-id") == std::optional<sb::UserMode>(sb::UserMode::KeepId));
    CHECK_FALSE(sb::parse_user_mode("keepid"));
    CHECK(std::string(sb::to_string(sb::NetworkMode::Host)) == "host");
    CHECK(std::string(sb::to_string(sb::NetworkMode::None)) == "none");
    CHECK(sb::capability_names().size() == 41);
    CHECK(sb::capability_names()[10] == "CAP_NET_BIND_SERVICE");
    CHECK(sb::capability_names()[21] == "CAP_SYS_ADMIN");
    CHECK(sb::capability_names()[40] == "CAP_CHECKPOINT_RESTORE");
}

// ---------------------------------------------------------------------------------------------
// render_profile_toml

namespace {

// Everything but the bookkeeping (files, mount locations) that differs between two loads.
void check_same_profile(const Profile& a, const Profile& b) {
    CHECK(a.command == b.command);
    CHECK(a.cwd == b.cwd);
    CHECK(a.hostname == b.hostname);
    CHECK(a.user_mode == b.user_mode);
    CHECK(a.uid == b.uid);
    CHECK(a.gid == b.gid);
    CHECK(a.capabilities == b.capabilities);
    CHECK(a.ns_uts == b.ns_uts);
    CHECK(a.ns_ipc == b.ns_ipc);
    CHECK(a.ns_cgroup == b.ns_cgroup);
    CHECK(a.network == b.network);
    CHECK(a.env_keep == b.env_keep);
    CHECK(a.env_unset == b.env_unset);
    CHECK(a.env_set == b.env_set);
    REQUIRE(a.mounts.size() == b.mounts.size());
    for (std::size_t i = 0; i < a.mounts.size(); ++i) {
        INFO("mount " << i << " " << a.mounts[i].target);
        CHECK(a.mounts[i].type == b.mounts[i].type);
        CHECK(a.mounts[i].source == b.mounts[i].source);
        CHECK(a.mounts[i].target == b.mounts[i].target);
        CHECK(a.mounts[i].size_bytes == b.mounts[i].size_bytes);
        CHECK(a.mounts[i].mode == b.mounts[i].mode);
        CHECK(a.mounts[i].contents == b.mounts[i].contents);
    }
}

Profile round_trip(const Profile& original, const test::TempDir& dir, const std::string& name) {
    std::string text = sb::render_profile_toml(original);
    INFO("rendered:\n" << text);
    std::string file = dir.write(name, text);
    return sb::load_profile(file, test::test_vars(), test::file_source());
}

}  // namespace

TEST_CASE("render: the output parses with toml++ and holds the values", "[profile][render]") {
    Profile p = load_file(kValid + "/full.toml");
    std::string text = sb::render_profile_toml(p);
    INFO(text);
    toml::table root;
    REQUIRE_NOTHROW(root = toml::parse(text));
    CHECK(root["command"][2].value<std::string>() == std::optional<std::string>("say \"hi\""));
    CHECK(root["command"][3].value<std::string>() == std::optional<std::string>("tab\there"));
    CHECK(root["cwd"].value<std::string>() == std::optional<std::string>("/home/tester"));
    CHECK(root["hostname"].value<std::string>() == std::optional<std::string>("full"));
    CHECK(root["user"]["mode"].value<std::string>() == std::optional<std::string>("root"));
    CHECK(root["user"]["gid"].value<std::int64_t>() == std::optional<std::int64_t>(100));
    CHECK(root["namespaces"]["uts"].value<bool>() == std::optional<bool>(false));
    CHECK(root["network"]["mode"].value<std::string>() == std::optional<std::string>("host"));
    CHECK(root["env"]["set"]["QUOTE"].value<std::string>() == std::optional<std::string>("a \"b\" \\ c"));
    auto* mounts = root["mount"].as_array();
    REQUIRE(mounts);
    REQUIRE(mounts->size() == 10);
    auto motd = (*mounts)[7].as_table();
    REQUIRE(motd);
    CHECK((*motd)["target"].value<std::string>() == std::optional<std::string>("/etc/motd"));
    CHECK((*motd)["mode"].value<std::string>() == std::optional<std::string>("0600"));
    CHECK((*motd)["contents"].value<std::string>() ==
          std::optional<std::string>("Welcome to \"the sandbox\".\n\ta tab, a backslash \\ and ${NOT_EXPANDED}\n"));
    auto tmp = (*mounts)[4].as_table();
    CHECK((*tmp)["size"].value<std::int64_t>() == std::optional<std::int64_t>(2LL << 30));
    CHECK((*tmp)["mode"].value<std::string>() == std::optional<std::string>("1777"));
}

TEST_CASE("render: a profile with every kind of field round-trips through load_profile", "[profile][render]") {
    Profile original = load_file(kValid + "/full.toml");
    REQUIRE(original.mounts.size() == 10);
    REQUIRE(original.mounts[7].contents ==
            "Welcome to \"the sandbox\".\n\ta tab, a backslash \\ and ${NOT_EXPANDED}\n");
    test::TempDir dir;
    Profile again = round_trip(original, dir, "rendered.toml");
    CHECK(again.files == Strings{dir.path() + "/rendered.toml"});
    check_same_profile(original, again);
    // Rendering is stable: the second rendering equals the first but for the file list.
    auto body = [](const std::string& text) { return text.substr(text.find('\n')); };
    CHECK(body(sb::render_profile_toml(again)) == body(sb::render_profile_toml(original)));
}

TEST_CASE("render: the merged grandchild round-trips", "[profile][render]") {
    Profile original = load_file(kValid + "/grandchild.toml");
    test::TempDir dir;
    check_same_profile(original, round_trip(original, dir, "grandchild.toml"));
}

TEST_CASE("render: control characters and UTF-8 in file contents round-trip", "[profile][render]") {
    Profile original;
    original.command = {"/bin/cat"};
    MountSpec file;
    file.type = sb::find_mount_type("file");
    file.target = "/etc/odd";
    file.contents = "cr\r\nctl \x01\x1f bell\a \"q\" 'single' \\ caf\xc3\xa9 \xe2\x9c\x93\n";
    original.mounts.push_back(file);
    test::TempDir dir;
    check_same_profile(original, round_trip(original, dir, "odd.toml"));
}

TEST_CASE("render: exact text of a small profile", "[profile][render]") {
    Profile p;
    p.files = {"/p/a.toml", "/p/b.toml"};
    p.command = {"/bin/sh"};
    p.uid = 5;
    p.env_set = {{"B", "2"}, {"A", "1"}};
    MountSpec tmp;
    tmp.type = sb::find_mount_type("tmpfs");
    tmp.target = "/tmp";
    tmp.size_bytes = 1024;
    tmp.mode = 01777;
    p.mounts.push_back(tmp);
    CHECK(sb::render_profile_toml(p) ==
          "# effective profile, merged from: /p/a.toml, /p/b.toml\n"
          "command = [\"/bin/sh\"]\n"
          "cwd = \"/\"\n"
          "hostname = \"sandbox\"\n"
          "\n"
          "[user]\nmode = \"root\"\nuid = 5\ncapabilities = []\nsubordinate_ids = true\n"
          "\n"
          "[namespaces]\nuts = true\nipc = true\ncgroup = true\n"
          "\n"
          "[network]\nmode = \"none\"\n"
          "\n"
          "[env]\nkeep = []\nunset = []\nset = { A = \"1\", B = \"2\" }\n"
          "\n"
          "[limits]\nenforce = \"strict\"\nnested = false\n"
          "\n"
          "[security]\nseccomp = true\nnested_namespaces = false\nlandlock = \"best-effort\"\n\n[seccomp]\nallow = []\ndeny = []\n"
          "\n[rlimits]\n"
          "\n"
          "[[mount]]\ntype = \"tmpfs\"\ntarget = \"/tmp\"\nsize = 1024\nmode = \"1777\"\n");
}

// A value that holds a literal "${" after expansion (written "$${...}" in the profile) must be
// rendered so that loading the output gives the same value back.
TEST_CASE("render: a literal ${ in a value round-trips", "[profile][render]") {
    Profile original = test::load_text("[env]\nset = { PS1 = \"$${debian_chroot}$$ \" }\n");
    REQUIRE(original.env_set.at("PS1") == "${debian_chroot}$ ");
    test::TempDir dir;
    Profile again;
    REQUIRE_NOTHROW(again = round_trip(original, dir, "dollar.toml"));
    CHECK(again.env_set == original.env_set);
}

TEST_CASE("render: a literal $$ in a value round-trips", "[profile][render]") {
    Profile original = test::load_text("cwd = \"/cost/$$$$5\"\n[env]\nset = { P = \"a$$$$b\" }\n");
    REQUIRE(original.cwd == "/cost/$$5");
    REQUIRE(original.env_set.at("P") == "a$$b");
    test::TempDir dir;
    Profile again = round_trip(original, dir, "dollars.toml");
    CHECK(again.cwd == original.cwd);
    CHECK(again.env_set == original.env_set);
}

TEST_CASE("render: a DEL character in file contents round-trips", "[profile][render]") {
    Profile original;
    MountSpec file;
    file.type = sb::find_mount_type("file");
    file.target = "/etc/del";
    file.contents = "x\x7fy";
    original.mounts.push_back(file);
    test::TempDir dir;
    Profile again;
    REQUIRE_NOTHROW(again = round_trip(original, dir, "del.toml"));
    REQUIRE(again.mounts.size() == 1);
    CHECK(again.mounts[0].contents == "x\x7fy");
}

TEST_CASE("profile: [user] subordinate_ids is a boolean, true by default", "[profile]") {
    CHECK(test::load_text("command = [\"x\"]\n").subordinate_ids);
    CHECK_FALSE(test::load_text("[user]\nsubordinate_ids = false\n").subordinate_ids);
    expect_text_error("[user]\nsubordinate_ids = \"no\"\n", 2, 19, "'subordinate_ids' must be a boolean");
}

TEST_CASE("profile: [network] for slirp", "[profile][network]") {
    Profile p = test::load_text(
        "[network]\n"
        "mode = \"slirp\"\n"
        "allow_host_loopback = true\n"
        "ports = [\"8080:80\", \"127.0.0.1:5353:53/udp\", \"[::1]:8443:443\"]\n"
        "dns = \"127.0.0.1\"\n"
        "mtu = 1500\n"
        "subnet = \"10.9.0.0/24\"\n"
        "[network.egress]\n"
        "preset = \"public-only\"\n"
        "allow = [\"192.168.1.10:443/tcp\"]\n"
        "deny = [\"[2001:db8::]/32\"]\n");
    CHECK(p.network == sb::NetworkMode::Slirp);
    CHECK(p.slirp.allow_host_loopback);
    REQUIRE(p.slirp.ports.size() == 3);
    CHECK(sb::format_port_forward(p.slirp.ports[1]) == "127.0.0.1:5353:53/udp");
    CHECK(sb::format_server_address(*p.slirp.dns) == "127.0.0.1:53");
    CHECK(p.slirp.mtu == 1500);
    CHECK(sb::format_cidr(p.slirp.subnet4) == "10.9.0.0/24");
    CHECK(sb::format_cidr(p.slirp.subnet6) == "[fd00::]/64");  // default kept
    CHECK(p.slirp.egress_preset == "public-only");
    REQUIRE(p.slirp.egress.allow.size() == 1);
    CHECK(sb::format_egress_rule(p.slirp.egress.allow[0]) == "192.168.1.10/32:443/tcp");
    REQUIRE(p.slirp.egress.deny.size() == 1);

    CHECK(test::load_text("[network]\nmode = \"slirp\"\negress = \"public-only\"\n").slirp.egress_preset == "public-only");
}

TEST_CASE("profile: bad [network] values are located", "[profile][network]") {
    const std::string head = "[network]\nmode = \"slirp\"\n";
    expect_text_error(head + "ports = [\"8080\"]\n", 3, 10, "'ports': expected [ADDRESS:]HOSTPORT:PORT");
    expect_text_error(head + "ports = [\"8080:80\", \"127.0.0.1:8080:81\"]\n", 3, 21,
                      "conflict: host port 127.0.0.1:8080:81/tcp is already forwarded at line 3");
    expect_text_error(head + "ports = [\"8080:80/sctp\"]\n", 3, 10, "unknown protocol");
    expect_text_error(head + "dns = \"resolver\"\n", 3, 7, "'dns': \"resolver\" is not an IP address");
    expect_text_error(head + "dns = \"127.0.0.1:0\"\n", 3, 7, "'dns': bad port");
    expect_text_error(head + "egress = \"lan-only\"\n", 3, 10, "unknown egress preset \"lan-only\"");
    expect_text_error(head + "[network.egress]\nallow = [\"10.0.0.1/8\"]\n", 4, 10, "has host bits set");
    expect_text_error(head + "[network.egress]\nblock = []\n", 4, 1, "unknown key 'block' in [network.egress]");
    expect_text_error(head + "mtu = 100\n", 3, 7, "'mtu' must be between 1280 and 65520");
    expect_text_error(head + "subnet = \"10.0.0.0/30\"\n", 3, 10, "'subnet' must be an IPv4 block of /29 or larger");
    expect_text_error("[network]\nallow_host_loopback = true\n", 2, 1, "needs mode = \"slirp\" (the mode is \"none\")");
}

TEST_CASE("render: slirp network settings round-trip", "[profile][render][network]") {
    Profile original = test::load_text(
        "[network]\nmode = \"slirp\"\nallow_host_loopback = true\n"
        "ports = [\"8080:80\", \"[::1]:8443:443/udp\"]\ndns = \"127.0.0.1\"\nmtu = 9000\nsubnet6 = \"fd01::/64\"\n"
        "[network.egress]\npreset = \"public-only\"\nallow = [\"192.168.1.10:443/tcp\"]\ndeny = [\"[2001:db8::]/32:1-1024\"]\n");
    test::TempDir dir;
    Profile again = round_trip(original, dir, "slirp.toml");
    CHECK(again.network == sb::NetworkMode::Slirp);
    CHECK(again.slirp.allow_host_loopback);
    CHECK(again.slirp.ports == original.slirp.ports);
    CHECK(again.slirp.dns == original.slirp.dns);
    CHECK(again.slirp.mtu == 9000);
    CHECK(again.slirp.subnet4 == original.slirp.subnet4);
    CHECK(again.slirp.subnet6 == original.slirp.subnet6);
    CHECK(again.slirp.egress_preset == "public-only");
    CHECK(again.slirp.egress.allow == original.slirp.egress.allow);
    CHECK(again.slirp.egress.deny == original.slirp.egress.deny);
}

TEST_CASE("modes: one table spells each mode for profiles, the command line and messages", "[profile][modes]") {
    CHECK(sb::network_mode_names() == std::vector<std::string>{"none", "slirp", "host"});
    CHECK(sb::user_mode_names() == std::vector<std::string>{"root", "keep-id"});
    for (const auto& name : sb::network_mode_names()) CHECK(sb::to_string(*sb::parse_network_mode(name)) == name);
    for (const auto& name : sb::user_mode_names()) CHECK(sb::to_string(*sb::parse_user_mode(name)) == name);
    CHECK_FALSE(sb::parse_network_mode("Slirp"));
    CHECK(sb::quoted_choices({"a", "b", "c"}) == "\"a\", \"b\" or \"c\"");
    CHECK(sb::quoted_choices({"root", "keep-id"}) == "\"root\" or \"keep-id\"");
    expect_text_error("[network]\nmode = \"tap\"\n", 2, 8, "[network] mode must be \"none\", \"slirp\" or \"host\"");
}

// The [[mount]] types come from one table (sb::mount_types): walk it, so that a new row is held to
// the same rules as the others.
TEST_CASE("mount types table: a type takes exactly the keys of its row", "[profile]") {
    using namespace sb::mount_keys;
    const std::pair<const char*, std::pair<unsigned, const char*>> optional_keys[] = {
        {"size", {kSize, "\"1M\""}},          {"mode", {kMode, "\"0700\""}},
        {"contents", {kContents, "\"x\""}},   {"devices", {kDevices, "true"}},
        {"follow_symlinks", {kFollowSymlinks, "true"}}, {"allow_sensitive", {kAllowSensitive, "true"}},
    };
    for (const auto& type : sb::mount_types()) {
        std::string base = std::string("[[mount]]\ntype = \"") + type.name + "\"\ntarget = \"/t\"\n";
        if (type.source == sb::MountSource::HostPath) base += "source = \"/usr\"\n";
        if (type.source == sb::MountSource::LinkText) base += "source = \"usr\"\n";
        if (type.contents_required) base += "contents = \"x\"\n";
        INFO(base);
        CHECK_FALSE(test::config_error(base));
        for (const auto& [key, bit_and_value] : optional_keys) {
            if (type.contents_required && std::string(key) == "contents") continue;
            INFO("key " << key);
            auto error = test::config_error(base + key + " = " + bit_and_value.second + "\n");
            CHECK(bool(error) == !(type.keys & bit_and_value.first));
            if (error) CHECK(error->message() == std::string("'") + key + "' does not apply to a " + type.name + " mount");
        }
        if (type.source == sb::MountSource::None) {
            auto error = test::config_error(base + "source = \"/usr\"\n");
            REQUIRE(error);
            CHECK(error->message() == std::string("'source' does not apply to a ") + type.name + " mount");
        } else {
            std::string without = std::string("[[mount]]\ntype = \"") + type.name + "\"\ntarget = \"/t\"\n";
            auto error = test::config_error(without);
            REQUIRE(error);
            CHECK(error->message() == std::string("a ") + type.name + " mount needs a 'source'");
        }
    }
}

TEST_CASE("mount types table: every type renders and reads back as itself", "[profile]") {
    std::string text;
    int n = 0;
    for (const auto& type : sb::mount_types()) {
        text += std::string("[[mount]]\ntype = \"") + type.name + "\"\ntarget = \"/t" + std::to_string(n++) + "\"\n";
        if (type.source == sb::MountSource::HostPath) text += "source = \"/usr\"\n";
        if (type.source == sb::MountSource::LinkText) text += "source = \"usr\"\n";
        if (type.contents_required) text += "contents = \"x\"\n";
    }
    Profile once = test::load_text(text);
    Profile twice = test::load_text(sb::render_profile_toml(once));
    REQUIRE(once.mounts.size() == sb::mount_types().size());
    REQUIRE(twice.mounts.size() == once.mounts.size());
    for (std::size_t i = 0; i < once.mounts.size(); ++i) {
        CHECK(once.mounts[i].type == &sb::mount_types()[i]);
        CHECK(twice.mounts[i].type == once.mounts[i].type);
    }
}

TEST_CASE("mount types table: the writable binds, and only they, take allow_sensitive", "[profile]") {
    // The plan refuses a writable bind of a sensitive place unless allow_sensitive says so: a
    // writable bind type without the key could never be allowed, and one with it on another
    // type would mean nothing.
    for (const auto& type : sb::mount_types()) {
        INFO(type.name);
        // an overlay writes to its upper, and a kept one's changes reach its source by commit
        bool writable_bind = type.kind == sb::MountKind::Bind || type.kind == sb::MountKind::Overlay;
        CHECK(bool(type.keys & sb::mount_keys::kAllowSensitive) == writable_bind);
    }
}
