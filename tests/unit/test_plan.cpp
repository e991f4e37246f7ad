// The Plan: id map writer choice, payload ids, mounts, environment and the --dry-run rendering,
// from profiles and HostFacts built here (no host state is read).
#include <catch2/catch.hpp>

#include <set>

#include "plan/plan.hpp"
#include "support.hpp"

using sb::HostFacts;
using sb::MapWriter;
using sb::MountKind;
using sb::MountSpec;
using sb::MountStep;
using sb::Overrides;
using sb::Plan;
using sb::Profile;
using Map = std::vector<sb::IdMapEntry>;
using Strings = std::vector<std::string>;

namespace Catch {
template <>
struct StringMaker<sb::IdMapEntry> {
    static std::string convert(const sb::IdMapEntry& e) {
        return "{" + std::to_string(e.inside) + "," + std::to_string(e.outside) + "," + std::to_string(e.count) + "}";
    }
};
}  // namespace Catch

namespace {

HostFacts rootless_facts() {
    HostFacts facts;
    facts.uid = 1000;
    facts.gid = 1001;
    facts.user_name = "tester";
    facts.is_root = false;
    facts.subuid = sb::SubidRange{100000, 65536};
    facts.subgid = sb::SubidRange{200000, 65536};
    facts.newuidmap = "/usr/bin/newuidmap";
    facts.newgidmap = "/usr/bin/newgidmap";
    facts.environment = {{"HOME", "/home/tester"},
                         {"TERM", "xterm-256color"},
                         {"LANG", "en_US.UTF-8"},
                         {"LC_ALL", "C.UTF-8"},
                         {"FOO", "bar"},
                         {"PATH", "/host/bin"},
                         {"EDITOR", "vim"},
                         {"XDG_RUNTIME_DIR", "/run/user/1000"},
                         {"XDG_CONFIG_HOME", "/home/tester/.config"},
                         {"XDGNOT", "no"},
                         {"PWD", "/home/tester/src"}};
    facts.path_exists = [](const std::string&) { return true; };
    return facts;
}

Profile profile_with_command() {
    Profile profile;
    profile.files = {"/p/test.toml"};
    profile.command = {"/bin/sh", "-c", "true"};
    return profile;
}

MountSpec mount(const char* type, const std::string& source, const std::string& target, int line = 1) {
    MountSpec spec;
    spec.type = sb::find_mount_type(type);
    spec.source = source;
    spec.target = target;
    spec.where = {"/p/test.toml", line, 1};
    return spec;
}

MountStep step(const std::string& target, MountKind kind = MountKind::Dir) {
    MountStep s;
    s.kind = kind;
    s.target = target;
    return s;
}

Strings step_targets(const std::vector<MountStep>& steps) {
    Strings out;
    for (const auto& s : steps) out.push_back(s.target);
    return out;
}

bool has(const Strings& list, const std::string& item) {
    return std::find(list.begin(), list.end(), item) != list.end();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Id maps

TEST_CASE("plan: newuidmap and a range give a NewIdMap plan", "[plan][ids]") {
    Plan plan = sb::build_plan(profile_with_command(), {}, rootless_facts());
    CHECK(plan.ids.writer == MapWriter::NewIdMap);
    CHECK(plan.ids.uid_helper == "/usr/bin/newuidmap");
    CHECK(plan.ids.gid_helper == "/usr/bin/newgidmap");
    CHECK(plan.ids.uid_map == Map{{0, 1000, 1}, {1, 100000, 65536}});
    CHECK(plan.ids.gid_map == Map{{0, 1001, 1}, {1, 200000, 65536}});
    CHECK(plan.id_map_warning.empty());
}

TEST_CASE("plan: single-id fallback without newuidmap", "[plan][ids]") {
    HostFacts facts = rootless_facts();
    SECTION("newuidmap missing") { facts.newuidmap.clear(); }
    SECTION("newgidmap missing") { facts.newgidmap.clear(); }
    Plan plan = sb::build_plan(profile_with_command(), {}, facts);
    CHECK(plan.ids.writer == MapWriter::SingleId);
    CHECK_FALSE(plan.process.set_groups);  // setgroups is denied with a single-id map
    CHECK(sb::build_plan(profile_with_command(), {}, rootless_facts()).process.set_groups);
    CHECK(plan.ids.uid_helper.empty());
    CHECK(plan.ids.gid_helper.empty());
    CHECK(plan.ids.uid_map == Map{{0, 1000, 1}});
    CHECK(plan.ids.gid_map == Map{{0, 1001, 1}});
    CHECK_THAT(plan.id_map_warning, Catch::Matchers::StartsWith("using a single-id map because "
                                                                "newuidmap/newgidmap are not installed"));
    CHECK_THAT(plan.id_map_warning, Catch::Matchers::Contains("install the uidmap package"));
    CHECK_THAT(plan.id_map_warning,
               Catch::Matchers::Contains("sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 tester"));
}

TEST_CASE("plan: single-id fallback without a subordinate range", "[plan][ids]") {
    HostFacts facts = rootless_facts();
    SECTION("no subuid range") { facts.subuid.reset(); }
    SECTION("no subgid range") { facts.subgid.reset(); }
    Plan plan = sb::build_plan(profile_with_command(), {}, facts);
    CHECK(plan.ids.writer == MapWriter::SingleId);
    CHECK(plan.ids.uid_map == Map{{0, 1000, 1}});
    CHECK(plan.ids.gid_map == Map{{0, 1001, 1}});
    CHECK_THAT(plan.id_map_warning,
               Catch::Matchers::Contains("user tester has no range in /etc/subuid and /etc/subgid"));
    CHECK_THAT(plan.id_map_warning, Catch::Matchers::Contains("usermod --add-subuids"));
    CHECK_THAT(plan.id_map_warning, Catch::Matchers::Contains("setgroups is disabled"));
}

TEST_CASE("plan: single-id keep-id maps only our own ids onto themselves", "[plan][ids]") {
    HostFacts facts = rootless_facts();
    facts.subuid.reset();
    Profile profile = profile_with_command();
    profile.user_mode = sb::UserMode::KeepId;
    Plan plan = sb::build_plan(profile, {}, facts);
    CHECK(plan.ids.writer == MapWriter::SingleId);
    CHECK(plan.ids.uid_map == Map{{1000, 1000, 1}});
    CHECK(plan.ids.gid_map == Map{{1001, 1001, 1}});
    CHECK(plan.process.uid == 1000);
    CHECK(plan.process.gid == 1001);
}

TEST_CASE("plan: root writes the maps directly", "[plan][ids]") {
    HostFacts facts = rootless_facts();
    facts.is_root = true;
    facts.uid = 0;
    facts.gid = 0;
    facts.newuidmap.clear();
    SECTION("without ranges: the first 64Ki ids onto themselves") {
        facts.subuid.reset();
        facts.subgid.reset();
        Plan plan = sb::build_plan(profile_with_command(), {}, facts);
        CHECK(plan.ids.writer == MapWriter::Direct);
        CHECK(plan.ids.uid_map == Map{{0, 0, 65536}});
        CHECK(plan.ids.gid_map == Map{{0, 0, 65536}});
        CHECK(plan.id_map_warning.empty());
        CHECK(plan.process.uid == 0);
    }
    SECTION("with ranges") {
        Plan plan = sb::build_plan(profile_with_command(), {}, facts);
        CHECK(plan.ids.writer == MapWriter::Direct);
        CHECK(plan.ids.uid_map == Map{{0, 0, 1}, {1, 100000, 65536}});
        CHECK(plan.ids.gid_map == Map{{0, 0, 1}, {1, 200000, 65536}});
        CHECK(plan.ids.uid_helper.empty());
        CHECK(plan.id_map_warning.empty());
        CHECK(plan.process.set_groups);
    }
    // Regression: root of `unshare -r` (or of a rootless container) has only the ids its
    // namespace maps; a map of 0..65535 there was refused (EPERM) and no sandbox could start.
    SECTION("in a user namespace that maps only root: only root, with a warning") {
        facts.own_uid_map = {{0, 1001, 1}};
        facts.own_gid_map = {{0, 1001, 1}};
        facts.setgroups_allowed = false;
        facts.subuid.reset();
        facts.subgid.reset();
        Plan plan = sb::build_plan(profile_with_command(), {}, facts);
        CHECK(plan.ids.writer == MapWriter::Direct);
        CHECK(plan.ids.uid_map == Map{{0, 0, 1}});
        CHECK(plan.ids.gid_map == Map{{0, 0, 1}});
        CHECK_THAT(plan.id_map_warning, Catch::Contains("only 1 uid(s) exist in the user namespace this runs in (0 1001 1)"));
        CHECK_FALSE(plan.process.set_groups);  // that namespace denies setgroups
    }
    SECTION("in a rootless container's namespace: its ids, and its ranges only where they exist") {
        facts.own_uid_map = {{0, 1001, 1}, {1, 100000, 65536}};
        facts.own_gid_map = {{0, 1001, 1}, {1, 100000, 65536}};
        Plan plan = sb::build_plan(profile_with_command(), {}, facts);  // ranges at 100000 and 200000: not here
        CHECK(plan.ids.uid_map == Map{{0, 0, 1}, {1, 1, 65535}});
        CHECK(plan.ids.gid_map == Map{{0, 0, 1}, {1, 1, 65535}});
        CHECK(plan.id_map_warning.empty());
        CHECK(plan.process.set_groups);
        facts.subuid = sb::SubidRange{1000, 5000};
        facts.subgid = sb::SubidRange{1000, 5000};
        plan = sb::build_plan(profile_with_command(), {}, facts);
        CHECK(plan.ids.uid_map == Map{{0, 0, 1}, {1, 1000, 5000}});
        CHECK(plan.id_map_warning.empty());  // a range of root's own is what root asked for
    }
    SECTION("only the gids are scarce: the warning names them and their map") {
        facts.subuid.reset();
        facts.subgid.reset();
        facts.own_gid_map = {{0, 1001, 1}};
        Plan plan = sb::build_plan(profile_with_command(), {}, facts);
        CHECK(plan.ids.uid_map == Map{{0, 0, 65536}});
        CHECK(plan.ids.gid_map == Map{{0, 0, 1}});
        CHECK_THAT(plan.id_map_warning, Catch::Contains("only 1 gid(s) exist in the user namespace this runs in (0 1001 1)"));
    }
    // Regression: a range of root's that holds id 0 mapped 0 twice, which the kernel refuses.
    SECTION("a range of root's holding id 0 is not used") {
        facts.subuid = sb::SubidRange{0, 33446};
        facts.subgid = sb::SubidRange{0, 33446};
        Plan plan = sb::build_plan(profile_with_command(), {}, facts);
        CHECK(plan.ids.uid_map == Map{{0, 0, 65536}});
        CHECK(plan.ids.gid_map == Map{{0, 0, 65536}});
    }
}

TEST_CASE("plan: payload uid and gid defaults per mode", "[plan][ids]") {
    HostFacts facts = rootless_facts();
    Profile profile = profile_with_command();
    SECTION("root") {
        Plan plan = sb::build_plan(profile, {}, facts);
        CHECK(plan.process.uid == 0);
        CHECK(plan.process.gid == 0);
    }
    SECTION("keep-id from the profile") {
        profile.user_mode = sb::UserMode::KeepId;
        Plan plan = sb::build_plan(profile, {}, facts);
        CHECK(plan.process.uid == 1000);
        CHECK(plan.process.gid == 1001);
        CHECK(plan.ids.uid_map == Map{{0, 100000, 1000}, {1000, 1000, 1}, {1001, 101000, 64536}});
        CHECK(plan.ids.gid_map == Map{{0, 200000, 1001}, {1001, 1001, 1}, {1002, 201001, 64535}});
    }
    SECTION("keep-id from --user-mode") {
        Overrides overrides;
        overrides.user_mode = sb::UserMode::KeepId;
        Plan plan = sb::build_plan(profile, overrides, facts);
        CHECK(plan.process.uid == 1000);
        CHECK(plan.process.gid == 1001);
    }
    SECTION("root from --user-mode over a keep-id profile") {
        profile.user_mode = sb::UserMode::KeepId;
        Overrides overrides;
        overrides.user_mode = sb::UserMode::Root;
        Plan plan = sb::build_plan(profile, overrides, facts);
        CHECK(plan.process.uid == 0);
        CHECK(plan.ids.uid_map == Map{{0, 1000, 1}, {1, 100000, 65536}});
    }
    SECTION("explicit ids inside the range") {
        profile.uid = 33;
        profile.gid = 65536;
        Plan plan = sb::build_plan(profile, {}, facts);
        CHECK(plan.process.uid == 33);
        CHECK(plan.process.gid == 65536);
    }
}

TEST_CASE("plan: an unmapped [user] uid or gid is a UsageError without a location", "[plan][ids]") {
    HostFacts facts = rootless_facts();
    Profile profile = profile_with_command();
    SECTION("uid past the range") {
        profile.uid = 65537;
        CHECK_THROWS_MATCHES(sb::build_plan(profile, {}, facts), sb::UsageError,
                             Catch::Matchers::Message("[user] uid 65537 is not mapped inside the sandbox (map: "
                                                      "0 1000 1; 1 100000 65536)"));
    }
    SECTION("uid without a range") {
        facts.subuid.reset();
        profile.uid = 5;
        CHECK_THROWS_AS(sb::build_plan(profile, {}, facts), sb::UsageError);
    }
    SECTION("gid") {
        profile.gid = 70000;
        CHECK_THROWS_MATCHES(sb::build_plan(profile, {}, facts), sb::UsageError,
                             Catch::Matchers::Message("[user] gid 70000 is not mapped inside the sandbox (map: "
                                                      "0 1001 1; 1 200000 65536)"));
    }
}

// ---------------------------------------------------------------------------------------------
// Mounts

TEST_CASE("plan: missing bind sources", "[plan][mounts]") {
    HostFacts facts = rootless_facts();
    std::set<std::string> existing = {"/usr", "/etc"};
    facts.path_exists = [existing](const std::string& path) { return existing.count(path) > 0; };
    Profile profile = profile_with_command();

    SECTION("a bind-try with a missing source is dropped, an existing one kept as a bind") {
        profile.mounts = {mount("bind-try", "/opt/missing", "/opt/missing"),
                          mount("ro-bind-try", "/srv/missing", "/srv"),
                          mount("bind-try", "/etc", "/etc"),
                          mount("ro-bind-try", "/usr", "/usr")};
        Plan plan = sb::build_plan(profile, {}, facts);
        REQUIRE(plan.mounts.size() == 2);
        CHECK(plan.mounts[0].kind == MountKind::Bind);
        CHECK(plan.mounts[0].target == "/etc");
        CHECK_FALSE(plan.mounts[0].read_only);
        CHECK(plan.mounts[1].kind == MountKind::RoBind);
        CHECK(plan.mounts[1].target == "/usr");
        CHECK(plan.mounts[1].read_only);
    }
    SECTION("a bind with a missing source is a ConfigError at the mount") {
        profile.mounts = {mount("ro-bind", "/usr", "/usr", 3),
                          mount("bind", "/data/missing", "/data", 7)};
        try {
            sb::build_plan(profile, {}, facts);
            FAIL("no ConfigError");
        } catch (const sb::ConfigError& error) {
            CHECK(error.where().file == "/p/test.toml");
            CHECK(error.where().line == 7);
            CHECK(error.where().column == 1);
            CHECK(error.message() ==
                  "bind source /data/missing does not exist (use type \"bind-try\" to skip a missing path)");
        }
    }
    SECTION("a ro-bind with a missing source suggests ro-bind-try") {
        profile.mounts = {mount("ro-bind", "/nix", "/nix", 4)};
        CHECK_THROWS_MATCHES(sb::build_plan(profile, {}, facts), sb::ConfigError,
                             Catch::Matchers::Message("/p/test.toml:4:1: bind source /nix does not exist "
                                                      "(use type \"ro-bind-try\" to skip a missing path)"));
    }
    SECTION("non-bind kinds never ask whether the source exists") {
        profile.mounts = {mount("symlink", "nowhere", "/link")};
        Plan plan = sb::build_plan(profile, {}, facts);
        REQUIRE(plan.mounts.size() == 1);
        CHECK(plan.mounts[0].source == "nowhere");
    }
}

TEST_CASE("plan: mount steps carry defaults", "[plan][mounts]") {
    Profile profile = profile_with_command();
    MountSpec tmp = mount("tmpfs", "", "/tmp");
    MountSpec sized = mount("tmpfs", "", "/run");
    sized.size_bytes = 1 << 20;
    sized.mode = 0700;
    MountSpec file = mount("file", "", "/motd");  // all at depth 1: the order is kept
    file.contents = "hi\n";
    MountSpec dir = mount("dir", "", "/d");
    profile.mounts = {tmp, sized, file, dir, mount("bind", "/a", "/b")};
    Plan plan = sb::build_plan(profile, {}, rootless_facts());
    REQUIRE(plan.mounts.size() == 5);
    const auto& m = plan.mounts;
    CHECK(m[0].target == "/tmp");
    CHECK(m[0].size_bytes == 0);
    CHECK(m[0].mode == 0755);
    CHECK_FALSE(m[0].read_only);
    CHECK(m[1].size_bytes == (1u << 20));
    CHECK(m[1].mode == 0700);
    CHECK(m[2].mode == 0644);
    CHECK(m[2].read_only);
    CHECK(m[2].contents == "hi\n");
    CHECK(m[3].mode == 0755);
    CHECK(m[4].kind == MountKind::Bind);
    CHECK(m[4].source == "/a");
    CHECK(m[4].target == "/b");
    CHECK_FALSE(m[4].read_only);
}

TEST_CASE("order_mounts: parents before children, equal depth keeps profile order", "[plan][mounts]") {
    std::vector<MountStep> steps = {step("/home/u/.cache"), step("/usr"),    step("/home/u"),
                                    step("/tmp"),           step("/a/b/c/d"), step("/home"),
                                    step("/a/b"),           step("/etc"),    step("/dev/shm")};
    sb::order_mounts(steps);
    CHECK(step_targets(steps) == Strings{"/usr", "/tmp", "/home", "/etc", "/home/u", "/a/b", "/dev/shm",
                                         "/home/u/.cache", "/a/b/c/d"});
    // Stable: kinds travel with their targets and equal keys keep their order.
    std::vector<MountStep> same = {step("/x", MountKind::Tmpfs), step("/y", MountKind::Proc),
                                   step("/w", MountKind::Dev)};
    sb::order_mounts(same);
    CHECK(step_targets(same) == Strings{"/x", "/y", "/w"});
    CHECK(same[1].kind == MountKind::Proc);
    std::vector<MountStep> none;
    sb::order_mounts(none);
    CHECK(none.empty());
}

TEST_CASE("plan: the plan's mounts are ordered by depth", "[plan][mounts]") {
    Profile profile = profile_with_command();
    profile.mounts = {mount("dir", "", "/home/tester/work"), mount("tmpfs", "", "/home"),
                      mount("dir", "", "/home/tester"), mount("proc", "", "/proc")};
    Plan plan = sb::build_plan(profile, {}, rootless_facts());
    CHECK(step_targets(plan.mounts) == Strings{"/home", "/proc", "/home/tester", "/home/tester/work"});
}

// ---------------------------------------------------------------------------------------------
// Environment

TEST_CASE("plan: the default environment", "[plan][env]") {
    Plan plan = sb::build_plan(profile_with_command(), {}, rootless_facts());
    CHECK(plan.process.env == Strings{"HOME=/home/tester", "LANG=en_US.UTF-8", "LC_ALL=C.UTF-8", "LOGNAME=root",
                              "PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
                              "TERM=xterm-256color", "USER=root"});
}

TEST_CASE("plan: env.keep with a prefix glob, env.set, env.unset", "[plan][env]") {
    Profile profile = profile_with_command();
    profile.user_mode = sb::UserMode::KeepId;
    profile.env_keep = {"XDG_*", "EDITOR", "MISSING"};
    profile.env_set = {{"PS1", "sandbox$ "}, {"EDITOR", "nano"}};
    profile.env_unset = {"LC_ALL"};
    Plan plan = sb::build_plan(profile, {}, rootless_facts());
    CHECK(plan.process.env == Strings{"EDITOR=nano", "HOME=/home/tester", "LANG=en_US.UTF-8", "LOGNAME=tester",
                              "PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
                              "PS1=sandbox$ ", "TERM=xterm-256color", "USER=tester",
                              "XDG_CONFIG_HOME=/home/tester/.config", "XDG_RUNTIME_DIR=/run/user/1000"});
    CHECK_FALSE(has(plan.process.env, "FOO=bar"));
    CHECK_FALSE(has(plan.process.env, "XDGNOT=no"));
}

TEST_CASE("plan: --env overrides and a bad --env", "[plan][env]") {
    Profile profile = profile_with_command();
    profile.env_set = {{"A", "profile"}};
    profile.env_unset = {"TERM"};
    Overrides overrides;
    overrides.env = {"A=cli", "TERM=dumb", "EMPTY=", "EQ=a=b", "PATH=/x"};
    Plan plan = sb::build_plan(profile, overrides, rootless_facts());
    CHECK(plan.process.env == Strings{"A=cli", "EMPTY=", "EQ=a=b", "HOME=/home/tester", "LANG=en_US.UTF-8",
                              "LC_ALL=C.UTF-8", "LOGNAME=root", "PATH=/x", "TERM=dumb", "USER=root"});

    for (std::string bad : {"FOO", "=value", ""}) {
        INFO("--env " << bad);
        Overrides o;
        o.env = {bad};
        CHECK_THROWS_MATCHES(sb::build_plan(profile, o, rootless_facts()), sb::UsageError,
                             Catch::Matchers::Message("--env needs NAME=VALUE, not \"" + bad + "\""));
    }
}

TEST_CASE("plan: HOME defaults to / when the host has none", "[plan][env]") {
    HostFacts facts = rootless_facts();
    facts.environment.erase("HOME");
    auto env = sb::build_environment(profile_with_command(), {}, facts, 1000);
    CHECK(has(env, "HOME=/"));
    CHECK(has(env, "USER=tester"));
    CHECK(has(env, "LOGNAME=tester"));
}

// ---------------------------------------------------------------------------------------------
// Everything else

TEST_CASE("plan: overrides, namespaces, capabilities", "[plan]") {
    Profile profile = profile_with_command();
    profile.hostname = "box";
    profile.cwd = "/work";
    profile.ns_uts = false;
    profile.ns_cgroup = false;
    profile.network = sb::NetworkMode::Host;
    profile.capabilities = {"CAP_NET_BIND_SERVICE", "CAP_SYS_PTRACE"};
    Plan plan = sb::build_plan(profile, {}, rootless_facts());
    CHECK(plan.namespaces.hostname == "box");
    CHECK(plan.process.cwd == "/work");
    CHECK(plan.process.argv == Strings{"/bin/sh", "-c", "true"});
    CHECK_FALSE(plan.namespaces.uts);
    CHECK(plan.namespaces.ipc);
    CHECK_FALSE(plan.namespaces.net);
    CHECK_FALSE(plan.namespaces.cgroup);
    CHECK(plan.process.capabilities == std::vector<int>{10, 19});
    CHECK(plan.profile_files == Strings{"/p/test.toml"});

    Overrides overrides;
    overrides.hostname = "cli";
    overrides.cwd = "//tmp/./x/";
    overrides.command = {"/bin/echo", "hi"};
    Plan over = sb::build_plan(profile, overrides, rootless_facts());
    CHECK(over.namespaces.hostname == "cli");
    CHECK(over.process.cwd == "/tmp/x");
    CHECK(over.process.argv == Strings{"/bin/echo", "hi"});

    Overrides bad_cwd;
    bad_cwd.cwd = "relative";
    CHECK_THROWS_MATCHES(sb::build_plan(profile, bad_cwd, rootless_facts()), sb::UsageError,
                         Catch::Matchers::Message("--cwd must be an absolute path, not \"relative\""));
    Overrides bad_host;
    bad_host.hostname = "";
    CHECK_THROWS_AS(sb::build_plan(profile, bad_host, rootless_facts()), sb::UsageError);
    bad_host.hostname = std::string(65, 'x');
    CHECK_THROWS_AS(sb::build_plan(profile, bad_host, rootless_facts()), sb::UsageError);
    Overrides keep_id;
    keep_id.user_mode = sb::UserMode::KeepId;
    CHECK_THROWS_MATCHES(sb::build_plan(profile, keep_id, rootless_facts()), sb::UsageError,
                         Catch::Matchers::Message("--user-mode keep-id cannot keep the profile's capabilities"));
}

TEST_CASE("plan: no command anywhere is a UsageError", "[plan]") {
    Profile profile = profile_with_command();
    profile.command.clear();
    CHECK_THROWS_MATCHES(sb::build_plan(profile, {}, rootless_facts()), sb::UsageError,
                         Catch::Matchers::Message("no command: the profile has no 'command' and none was given after --"));
    Overrides overrides;
    overrides.command = {"/bin/true"};
    CHECK(sb::build_plan(profile, overrides, rootless_facts()).process.argv == Strings{"/bin/true"});
}

TEST_CASE("plan: profile_variables from the host facts", "[plan]") {
    sb::Variables vars = sb::profile_variables(rootless_facts());
    CHECK(vars == sb::Variables{{"HOME", "/home/tester"},
                                {"USER", "tester"},
                                {"UID", "1000"},
                                {"GID", "1001"},
                                {"XDG_RUNTIME_DIR", "/run/user/1000"},
                                {"PWD", "/home/tester/src"}});
    HostFacts bare = rootless_facts();
    bare.environment.clear();
    CHECK(sb::profile_variables(bare).at("HOME") == "");
}

TEST_CASE("plan: a loaded golden profile plans end to end", "[plan]") {
    Profile profile = sb::load_profile(test::profile_path("valid/base.toml"), test::test_vars(), test::file_source());
    Plan plan = sb::build_plan(profile, {}, rootless_facts());
    CHECK(step_targets(plan.mounts) == Strings{"/usr", "/tmp", "/proc"});
    CHECK(plan.mounts[0].read_only);
    CHECK(plan.mounts[1].size_bytes == (64u << 20));
    CHECK(plan.mounts[1].mode == 01777);
    CHECK(plan.process.cwd == "/work");
    CHECK(plan.namespaces.hostname == "base");
    // [env] unset LANGUAGE; EDITOR and XDG_* kept; PS1 and EDITOR_MODE set.
    CHECK(has(plan.process.env, "EDITOR=vim"));
    CHECK(has(plan.process.env, "EDITOR_MODE=vi"));
    CHECK(has(plan.process.env, "PS1=base$ "));
    CHECK(has(plan.process.env, "XDG_RUNTIME_DIR=/run/user/1000"));
}

TEST_CASE("render_plan mentions every mount target and the maps", "[plan][render]") {
    Profile profile = profile_with_command();
    MountSpec file = mount("file", "", "/etc/motd");
    file.contents = "12345";
    MountSpec tmp = mount("tmpfs", "", "/tmp");
    tmp.size_bytes = 4096;
    tmp.mode = 01777;
    profile.mounts = {mount("ro-bind", "/usr", "/usr"), mount("bind", "/srv", "/data"),
                      tmp,
                      mount("symlink", "usr/bin", "/bin"),
                      file,
                      mount("dir", "", "/home/tester"),
                      mount("proc", "", "/proc"),
                      mount("dev", "", "/dev")};
    profile.capabilities = {"CAP_NET_RAW"};
    Plan plan = sb::build_plan(profile, {}, rootless_facts());
    std::string text = sb::render_plan(plan);
    INFO(text);
    using Catch::Matchers::Contains;
    CHECK_THAT(text, Contains("profile:    /p/test.toml\n"));
    CHECK_THAT(text, Contains("uid_map:    0 1000 1; 1 100000 65536   (newuidmap/newgidmap)\n"));
    CHECK_THAT(text, Contains("gid_map:    0 1001 1; 1 200000 65536\n"));
    CHECK_THAT(text, Contains("payload:    uid 0, gid 0, capabilities CAP_NET_RAW, no_new_privs\n"));
    CHECK_THAT(text, Contains("namespaces: user mount pid uts ipc net cgroup\n"));
    CHECK_THAT(text, Contains("network:    none (loopback only)\n"));
    CHECK_THAT(text, Contains("hostname:   sandbox\n"));
    CHECK_THAT(text, Contains("  ro-bind /usr -> /usr (read-only, recursive, nosuid, nodev)\n"));
    CHECK_THAT(text, Contains("  bind /srv -> /data (nosuid, nodev)\n"));
    CHECK_THAT(text, Contains("  tmpfs /tmp mode=1777 size=4096 (nosuid, nodev)\n"));
    CHECK_THAT(text, Contains("  symlink /bin -> usr/bin\n"));
    CHECK_THAT(text, Contains("  file /etc/motd (5 bytes, mode=644) (read-only, nosuid, nodev)\n"));
    CHECK_THAT(text, Contains("  dir /home/tester mode=755\n"));
    CHECK_THAT(text, Contains("  proc /proc (nosuid, nodev, noexec)\n"));
    CHECK_THAT(text, Contains("  dev /dev (nosuid, nodev)\n"));
    CHECK_THAT(text, Contains("cwd:        /\n"));
    CHECK_THAT(text, Contains("  TERM=xterm-256color\n"));
    CHECK_THAT(text, Contains("argv:       /bin/sh -c true\n"));
    for (const auto& m : plan.mounts) CHECK_THAT(text, Contains(" " + m.target));
}

TEST_CASE("render_plan: single-id and shared namespaces", "[plan][render]") {
    HostFacts facts = rootless_facts();
    facts.newuidmap.clear();
    Profile profile = profile_with_command();
    profile.ns_ipc = false;
    profile.network = sb::NetworkMode::Host;
    std::string text = sb::render_plan(sb::build_plan(profile, {}, facts));
    INFO(text);
    using Catch::Matchers::Contains;
    CHECK_THAT(text, Contains("uid_map:    0 1000 1   (single-id fallback, setgroups denied)\n"));
    CHECK_THAT(text, Contains("capabilities none, no_new_privs"));
    CHECK_THAT(text, Contains("namespaces: user mount pid uts cgroup\n"));
    CHECK_THAT(text, Contains("shared:     ipc net(host) \n"));
    CHECK_THAT(text, Contains("network:    host\n"));
}

TEST_CASE("plan: the process spec holds no_new_privs, the pty's fds and the filter", "[plan][process]") {
    HostFacts facts = rootless_facts();
    facts.terminal_fds = 0b101;  // stdin and stderr are the caller's terminal, stdout a pipe
    facts.kernel_runs_x32 = false;
    Profile profile = profile_with_command();
    auto plan = sb::build_plan(profile, {}, facts);
    CHECK(plan.process.no_new_privs);
    CHECK(plan.process.terminal_fds == 0b101);
    CHECK(plan.process.seccomp == sb::build_seccomp_policy(profile.seccomp, sb::SeccompMode::Enforce, false));
    CHECK(sb::filter_loaded_before_fork(plan.process.seccomp));
    std::string text = sb::render_plan(plan);
    INFO(text);
    CHECK_THAT(text, Catch::Matchers::Contains("capabilities none, no_new_privs, fds 0,2 on a pty of its own\n"));
    facts.terminal_fds = 0;
    CHECK(sb::build_plan(profile, {}, facts).process.terminal_fds == 0);
}

TEST_CASE("plan: an unmapped [user] uid from a profile is a ConfigError at the uid", "[plan][ids]") {
    HostFacts facts = rootless_facts();
    Profile profile = profile_with_command();
    profile.uid = 70000;
    profile.uid_where = {"/p/test.toml", 9, 7};
    CHECK_THROWS_MATCHES(sb::build_plan(profile, {}, facts), sb::ConfigError,
                         Catch::Matchers::Message("/p/test.toml:9:7: [user] uid 70000 is not mapped inside the "
                                                  "sandbox (map: 0 1000 1; 1 100000 65536)"));
}

TEST_CASE("plan: [user] subordinate_ids = false maps only the caller's ids, without a warning", "[plan][ids]") {
    HostFacts facts = rootless_facts();
    Profile profile = profile_with_command();
    profile.subordinate_ids = false;
    SECTION("root mode") {
        Plan plan = sb::build_plan(profile, {}, facts);
        CHECK(plan.ids.writer == sb::MapWriter::SingleId);
        CHECK(plan.ids.uid_map == std::vector<sb::IdMapEntry>{{0, facts.uid, 1}});
        CHECK(plan.ids.gid_map == std::vector<sb::IdMapEntry>{{0, facts.gid, 1}});
        CHECK(plan.id_map_warning.empty());
    }
    SECTION("keep-id") {
        profile.user_mode = sb::UserMode::KeepId;
        Plan plan = sb::build_plan(profile, {}, facts);
        CHECK(plan.ids.uid_map == std::vector<sb::IdMapEntry>{{facts.uid, facts.uid, 1}});
        CHECK(plan.process.uid == facts.uid);
    }
    SECTION("a uid that only the range would map is refused") {
        profile.uid = 5;
        CHECK_THROWS_AS(sb::build_plan(profile, {}, facts), sb::UsageError);
    }
}

TEST_CASE("plan: --network and --publish override the profile", "[plan][network]") {
    HostFacts facts = rootless_facts();
    Profile profile = profile_with_command();
    Overrides overrides;
    overrides.network = sb::NetworkMode::Slirp;
    overrides.publish = {"8080:80", "127.0.0.1:5353:53/udp"};
    Plan plan = sb::build_plan(profile, overrides, facts);
    CHECK(plan.network == sb::NetworkMode::Slirp);
    CHECK(plan.namespaces.net);
    REQUIRE(plan.slirp.ports.size() == 2);
    CHECK(sb::format_port_forward(plan.slirp.ports[1]) == "127.0.0.1:5353:53/udp");
    REQUIRE_FALSE(plan.mounts.empty());
    CHECK(plan.mounts.back().target == "/etc/resolv.conf");
    CHECK(plan.mounts.back().contents == "nameserver 10.0.2.3\nnameserver fd00::3\n");

    overrides.publish = {"80"};
    CHECK_THROWS_AS(sb::build_plan(profile, overrides, facts), sb::UsageError);
    overrides.network = sb::NetworkMode::None;
    overrides.publish = {"8080:80"};
    CHECK_THROWS_AS(sb::build_plan(profile, overrides, facts), sb::UsageError);
    overrides.network = sb::NetworkMode::Host;
    overrides.publish.clear();
    CHECK_FALSE(sb::build_plan(profile, overrides, facts).namespaces.net);
}

TEST_CASE("plan: an egress preset's rules are resolved in the plan, and --dry-run lists them", "[plan][network]") {
    // Issue 9: the preset was expanded inside the network executor, out of --dry-run's sight.
    Profile profile = test::load_text("command = [\"/bin/true\"]\n[network]\nmode = \"slirp\"\n"
                                      "[network.egress]\npreset = \"public-only\"\ndeny = [\"203.0.113.7:25/tcp\"]\n");
    Plan plan = sb::build_plan(profile, {}, rootless_facts());
    sb::EgressPolicy preset = sb::public_only_policy();
    REQUIRE(plan.slirp.egress.deny.size() == 1);  // the profile's own, for host loopback
    REQUIRE(plan.slirp.outside.deny.size() == 1 + preset.deny.size());
    CHECK(sb::format_egress_rule(plan.slirp.outside.deny[0]) == sb::format_egress_rule(plan.slirp.egress.deny[0]));
    CHECK(sb::format_egress_rule(plan.slirp.outside.deny[1]) == sb::format_egress_rule(preset.deny[0]));
    std::string text = sb::render_plan(plan);
    CHECK_THAT(text, Catch::Contains("egress deny " + sb::format_egress_rule(plan.slirp.egress.deny[0]) + "\n"));
    CHECK_THAT(text, Catch::Contains("egress deny 10.0.0.0/8 (preset public-only)"));
    // Without a preset, what leaves is checked against the profile's rules alone.
    Profile plain = test::load_text("command = [\"/bin/true\"]\n[network]\nmode = \"slirp\"\n");
    CHECK(sb::build_plan(plain, {}, rootless_facts()).slirp.outside.deny.empty());
}
