// Mount hardening (issue 8, section A): the [[mount]] keys that relax a fence (devices,
// follow_symlinks, allow_sensitive), their validation with file:line:col, and the plan's
// decisions about sensitive writable binds and mount points that would land on the host.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "mount/resolve.hpp"
#include "plan/plan.hpp"
#include "sys/error.hpp"
#include "support.hpp"

using sb::HostFacts;
using sb::MountKind;
using sb::MountSpec;
using sb::MountStep;
using sb::Plan;
using sb::Profile;

namespace {

sb::ConfigError text_error(const std::string& text) {
    auto error = test::config_error(text);
    if (!error) FAIL("expected a ConfigError for:\n" << text);
    return *error;
}

const MountStep* find_step(const Plan& plan, MountKind kind, const std::string& target) {
    for (const auto& step : plan.mounts)
        if (step.kind == kind && step.target == target) return &step;
    return nullptr;
}

HostFacts plain_facts() {
    HostFacts facts;
    facts.uid = 1000;
    facts.gid = 1000;
    facts.user_name = "tester";
    facts.environment = {{"HOME", "/home/tester"}, {"XDG_RUNTIME_DIR", "/run/user/1000"},
                         {"PWD", "/home/tester/project"}};
    return facts;
}

Plan plan_text(const std::string& text, const HostFacts& facts = plain_facts()) {
    Profile profile = test::load_text("command = [\"/bin/true\"]\n" + text);
    return sb::build_plan(profile, {}, facts);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// A.9: binds are nodev unless marked as devices

// A device bind marked `devices = true`, and a plain bind.
const char* const kDevicesAndPlainBind = R"(
[[mount]]
type = "ro-bind"
source = "/dev/null"
target = "/tmp/null"
devices = true

[[mount]]
type = "bind"
source = "/srv"
)";

TEST_CASE("mount key devices: binds only, a boolean, carried into the plan", "[mount][devices]") {
    Profile profile = test::load_text(kDevicesAndPlainBind);
    REQUIRE(profile.mounts.size() == 2);
    CHECK(profile.mounts[0].devices);
    CHECK_FALSE(profile.mounts[1].devices);

    auto error = text_error("[[mount]]\ntype = \"tmpfs\"\ntarget = \"/x\"\ndevices = true\n");
    CHECK(error.where().line == 4);
    CHECK(error.where().column == 11);
    CHECK_THAT(error.message(), Catch::Contains("'devices' does not apply to a tmpfs mount"));
    auto wrong = text_error("[[mount]]\ntype = \"bind\"\nsource = \"/srv\"\ndevices = \"yes\"\n");
    CHECK(wrong.where().line == 4);
    CHECK_THAT(wrong.message(), Catch::Contains("boolean"));
}

TEST_CASE("plan: binds say nodev in --dry-run unless marked as devices", "[mount][devices]") {
    Plan plan = plan_text(kDevicesAndPlainBind);
    const MountStep* devices = find_step(plan, MountKind::RoBind, "/tmp/null");
    const MountStep* plain = find_step(plan, MountKind::Bind, "/srv");
    REQUIRE(devices);
    REQUIRE(plain);
    CHECK(devices->devices);
    CHECK_FALSE(plain->devices);
    std::string text = sb::render_plan(plan);
    CHECK_THAT(text, Catch::Contains("bind /srv -> /srv (nosuid, nodev)"));
    CHECK_THAT(text, Catch::Contains("/dev/null -> /tmp/null (read-only, recursive, nosuid, device nodes work)"));
}

TEST_CASE("render_profile_toml keeps devices = true", "[mount][devices]") {
    Profile profile = test::load_text("[[mount]]\ntype = \"bind\"\nsource = \"/srv\"\ndevices = true\n");
    std::string text = sb::render_profile_toml(profile);
    CHECK_THAT(text, Catch::Contains("devices = true"));
    Profile again = test::load_text(text);
    REQUIRE(again.mounts.size() == 1);
    CHECK(again.mounts[0].devices);
}

// ---------------------------------------------------------------------------------------------
// A.3: bind sources are not reached through symlinks unless the mount says so

namespace {

HostFacts facts_with_links() {
    HostFacts facts = plain_facts();
    facts.resolve_path = [](const std::string& path) -> std::string {
        if (path == "/home/tester/project/.cache") return "/home/tester";  // swapped for a link
        if (path.rfind("/lib64", 0) == 0) return "/usr" + path;
        return path;
    };
    return facts;
}

}  // namespace

TEST_CASE("plan: a bind source reached through a symlink is a profile error at the source", "[mount][symlinks]") {
    Profile profile = test::load_text(
        "command = [\"/bin/true\"]\n[[mount]]\ntype = \"bind\"\nsource = \"${PWD}/.cache\"\n");
    try {
        sb::build_plan(profile, {}, facts_with_links());
        FAIL("expected a ConfigError");
    } catch (const sb::ConfigError& error) {
        CHECK(error.where().file == "/mem/test.toml");
        CHECK(error.where().line == 4);
        CHECK(error.where().column == 10);
        CHECK_THAT(error.message(), Catch::Contains("bind source /home/tester/project/.cache is reached through a symlink"));
        CHECK_THAT(error.message(), Catch::Contains("resolves to /home/tester"));
        CHECK_THAT(error.message(), Catch::Contains("follow_symlinks = true"));
    }
    // An intermediate link counts as much as the last one; the try kinds are no exception.
    Profile lib = test::load_text("command = [\"/bin/true\"]\n[[mount]]\ntype = \"ro-bind-try\"\nsource = \"/lib64/x\"\n");
    CHECK_THROWS_AS(sb::build_plan(lib, {}, facts_with_links()), sb::ConfigError);
}

TEST_CASE("plan: follow_symlinks = true binds through links and --dry-run says where", "[mount][symlinks]") {
    Profile profile = test::load_text(
        "command = [\"/bin/true\"]\n[[mount]]\ntype = \"ro-bind\"\nsource = \"/lib64\"\nfollow_symlinks = true\n");
    CHECK(profile.mounts[0].follow_symlinks);
    Plan plan = sb::build_plan(profile, {}, facts_with_links());
    const MountStep* step = find_step(plan, MountKind::RoBind, "/lib64");
    REQUIRE(step);
    CHECK(step->follow_symlinks);
    CHECK(step->resolved_source == "/usr/lib64");
    CHECK_THAT(sb::render_plan(plan), Catch::Contains("ro-bind /lib64 -> /lib64 (source follows symlinks: now /usr/lib64)"));
    CHECK_THAT(sb::render_profile_toml(profile), Catch::Contains("follow_symlinks = true"));
    CHECK(sb::render_bind_sources(plan) == "\n# bind sources, as they resolve now:\n#   /lib64 -> /usr/lib64 (follow_symlinks)\n");
}

TEST_CASE("mount key follow_symlinks: binds only, a boolean", "[mount][symlinks]") {
    auto error = text_error("[[mount]]\ntype = \"symlink\"\nsource = \"usr/lib\"\ntarget = \"/lib\"\nfollow_symlinks = true\n");
    CHECK(error.where().line == 5);
    CHECK(error.where().column == 19);
    CHECK_THAT(error.message(), Catch::Contains("'follow_symlinks' does not apply to a symlink mount"));
    auto wrong = text_error("[[mount]]\ntype = \"bind\"\nsource = \"/srv\"\nfollow_symlinks = 1\n");
    CHECK(wrong.where().line == 4);
    CHECK_THAT(wrong.message(), Catch::Contains("boolean"));
}

TEST_CASE("the shipped profiles bind no source through a symlink on a merged-/usr host", "[mount][symlinks]") {
    // /bin, /lib, /lib64 and /sbin are links on Debian: the shipped profiles make them links
    // inside too, so every bind source they name is a real directory.
    for (const char* name : {"default.toml", "shell.toml", "readonly-cwd.toml"}) {
        Profile profile = sb::load_profile(test::data_dir() + "/../../../profiles/" + name, test::test_vars(),
                                           test::file_source());
        HostFacts facts = facts_with_links();
        facts.environment["PWD"] = "/home/tester/project";
        CHECK_NOTHROW(sb::build_plan(profile, {}, facts));
    }
}

// ---------------------------------------------------------------------------------------------
// A.8: no mount point is created in a host directory

namespace {

HostFacts facts_with_home(std::set<std::string> existing) {
    HostFacts facts = plain_facts();
    facts.path_exists = [existing](const std::string& path) { return existing.count(path) > 0; };
    return facts;
}

const char* const kHomeBind = R"(
[[mount]]
type = "bind"
source = "/home/tester"
target = "/home/u"
allow_sensitive = true
)";

}  // namespace

const MountStep* find_mirror(const Plan& plan, const std::string& target) {
    for (const auto& step : plan.mounts)
        if (step.mirror && step.target == target) return &step;
    return nullptr;
}

std::size_t index_of(const Plan& plan, const MountStep* step) { return static_cast<std::size_t>(step - plan.mounts.data()); }

TEST_CASE("plan: a missing target inside a writable bind is made in a mirror of its directory", "[mount][mountpoints]") {
    Profile profile = test::load_text(std::string("command = [\"/bin/true\"]\n") + kHomeBind +
                                      "[[mount]]\ntype = \"file\"\ntarget = \"/home/u/.bashrc\"\ncontents = \"\"\n");
    Plan plan = sb::build_plan(profile, {}, facts_with_home({"/home/tester"}));
    const MountStep* bind = find_step(plan, MountKind::Bind, "/home/u");
    const MountStep* mirror = find_mirror(plan, "/home/u");
    const MountStep* file = find_step(plan, MountKind::File, "/home/u/.bashrc");
    REQUIRE(bind);
    REQUIRE(mirror);
    for (const auto& step : plan.mounts) {  // the mirror and the plan's own steps included
        INFO(step.target);
        REQUIRE(step.flags);
        CHECK(*step.flags == sb::mount_flags(step));
    }
    REQUIRE(file);
    CHECK(mirror->kind == MountKind::Tmpfs);
    CHECK(mirror->read_only);
    CHECK(mirror->source == "/home/tester");
    CHECK(mirror->reserved == std::vector<std::string>{"/home/u/.bashrc"});
    // After the bind it covers, before what it makes room for.
    CHECK(index_of(plan, bind) < index_of(plan, mirror));
    CHECK(index_of(plan, mirror) < index_of(plan, file));
    CHECK(file->inside_bind.empty());
    CHECK(file->in_mirror == "/home/u");
    CHECK_THAT(sb::render_plan(plan), Catch::Contains("file /home/u/.bashrc (0 bytes, mode=644) (read-only, nosuid, nodev) (its mount point is made in the "
                                                      "mirror at /home/u, not on the host)"));
    CHECK_THAT(sb::render_plan(plan), Catch::Contains("tmpfs /home/u (read-only, nosuid, nodev) (mirror of /home/tester: each entry bound in place, so "
                                                      "that these are made without creating anything on the host: /home/u/.bashrc; "
                                                      "no name can be made, removed or renamed directly in /home/u)"));
    // The bind is writable: the run says what the mirror costs, and the fix.
    REQUIRE(plan.warnings.size() == 1);
    CHECK_THAT(plan.warnings[0], Catch::Contains("its entries are those of the start, and none can be made, removed or "
                                                 "renamed directly in /home/u"));
    CHECK_THAT(plan.warnings[0], Catch::Contains("hint: create what is missing in /home/tester on the host"));
    // Once the host has it, nothing is mirrored and nothing is said.
    Plan existing = sb::build_plan(profile, {}, facts_with_home({"/home/tester", "/home/tester/.bashrc"}));
    CHECK_FALSE(find_mirror(existing, "/home/u"));
    CHECK(existing.warnings.empty());
}

TEST_CASE("plan: the nearest existing directory is mirrored, once for all its missing targets", "[mount][mountpoints]") {
    std::string text = std::string("command = [\"/bin/true\"]\n") + kHomeBind +
                       "[[mount]]\ntype = \"tmpfs\"\ntarget = \"/home/u/.config/autostart\"\n"
                       "[[mount]]\ntype = \"file\"\ntarget = \"/home/u/.profile\"\ncontents = \"\"\n"
                       "[[mount]]\ntype = \"dir\"\ntarget = \"/home/u/src/new\"\n"
                       "[[mount]]\ntype = \"symlink\"\nsource = \"x\"\ntarget = \"/home/u/src/link\"\n";
    Profile profile = test::load_text(text);
    // .config is missing too: the home directory itself is mirrored, and .config made in it.
    Plan plan = sb::build_plan(profile, {}, facts_with_home({"/home/tester", "/home/tester/src"}));
    const MountStep* home = find_mirror(plan, "/home/u");
    const MountStep* src = find_mirror(plan, "/home/u/src");
    REQUIRE(home);
    REQUIRE(src);
    CHECK(home->reserved == std::vector<std::string>{"/home/u/.profile", "/home/u/.config/autostart"});
    CHECK(src->reserved == std::vector<std::string>{"/home/u/src/new", "/home/u/src/link"});
    CHECK(src->source == "/home/tester/src");
    CHECK(index_of(plan, home) < index_of(plan, src));
    CHECK(index_of(plan, src) < index_of(plan, find_step(plan, MountKind::Dir, "/home/u/src/new")));
    CHECK(plan.warnings.size() == 2);
    // With .config on the host, .config is mirrored instead of the home directory.
    Plan config = sb::build_plan(profile, {}, facts_with_home({"/home/tester", "/home/tester/src", "/home/tester/.config"}));
    REQUIRE(find_mirror(config, "/home/u/.config"));
    CHECK(find_mirror(config, "/home/u/.config")->reserved == std::vector<std::string>{"/home/u/.config/autostart"});
    CHECK(find_mirror(config, "/home/u")->reserved == std::vector<std::string>{"/home/u/.profile"});
}

TEST_CASE("plan: the innermost mount above a target decides where it is made", "[mount][mountpoints]") {
    std::string text = std::string("command = [\"/bin/true\"]\n") + kHomeBind +
                       "[[mount]]\ntype = \"tmpfs\"\ntarget = \"/home/u/.config\"\n"
                       "[[mount]]\ntype = \"tmpfs\"\ntarget = \"/home/u/.config/autostart\"\n"
                       "[[mount]]\ntype = \"file\"\ntarget = \"/home/u/.profile\"\ncontents = \"\"\n"
                       "[[mount]]\ntype = \"dir\"\ntarget = \"/scratch/a\"\n";
    Profile profile = test::load_text(text);
    // .config and .profile exist on the host; autostart is made inside the sandbox's own tmpfs.
    Plan plan = sb::build_plan(profile, {}, facts_with_home({"/home/tester", "/home/tester/.config", "/home/tester/.profile"}));
    const MountStep* config = find_step(plan, MountKind::Tmpfs, "/home/u/.config");
    const MountStep* autostart = find_step(plan, MountKind::Tmpfs, "/home/u/.config/autostart");
    const MountStep* scratch = find_step(plan, MountKind::Dir, "/scratch/a");
    REQUIRE(config);
    REQUIRE(autostart);
    REQUIRE(scratch);
    CHECK(config->inside_bind == "/home/tester");
    CHECK(autostart->inside_bind.empty());
    CHECK(scratch->inside_bind.empty());
    for (const auto& step : plan.mounts) CHECK_FALSE(step.mirror);
    // Every step the plan made, its own ones included, has its flags decided.
    for (const auto& step : plan.mounts) {
        INFO(step.target);
        REQUIRE(step.flags);
        CHECK(*step.flags == sb::mount_flags(step));
    }
    CHECK_THAT(sb::render_plan(plan), Catch::Contains("tmpfs /home/u/.config mode=755 (nosuid, nodev) (its mount point exists in the bind of "
                                                      "/home/tester: nothing is created on the host)"));
}

TEST_CASE("plan: read-only binds, a bind of / and follow_symlinks sources are mirrored too", "[mount][mountpoints]") {
    auto mirrored = [](const std::string& mounts, std::set<std::string> existing) -> std::string {
        Profile profile = test::load_text("command = [\"/bin/true\"]\n" + mounts);
        Plan plan = sb::build_plan(profile, {}, facts_with_home(std::move(existing)));
        std::string found;
        for (const auto& step : plan.mounts)
            if (step.mirror) found += (found.empty() ? "" : " ") + step.target + "=" + step.source;
        return found;
    };
    std::string etc = "[[mount]]\ntype = \"ro-bind\"\nsource = \"/etc\"\n[[mount]]\ntype = \"file\"\ntarget = \"/etc/x\"\ncontents = \"\"\n";
    CHECK(mirrored(etc, {"/etc"}) == "/etc=/etc");
    CHECK(mirrored(etc, {"/etc", "/etc/x"}).empty());
    std::string root = "[[mount]]\ntype = \"bind\"\nsource = \"/\"\ntarget = \"/host\"\nallow_sensitive = true\n"
                       "[[mount]]\ntype = \"tmpfs\"\ntarget = \"/host/new/deeper\"\n";
    CHECK(mirrored(root, {"/"}) == "/host=/");
    CHECK(mirrored(root, {"/", "/new"}) == "/host/new=/new");
    CHECK(mirrored("[[mount]]\ntype = \"bind\"\nsource = \"/srv\"\n[[mount]]\ntype = \"dir\"\ntarget = \"/srv/d\"\n", {"/srv"}) == "/srv=/srv");
    // A sibling with a common prefix is not inside.
    CHECK(mirrored("[[mount]]\ntype = \"bind\"\nsource = \"/srv\"\n[[mount]]\ntype = \"tmpfs\"\ntarget = \"/srvx\"\n", {"/srv"}).empty());
    // A read-only bind gets no warning: nothing could be made there anyway.
    Profile profile = test::load_text("command = [\"/bin/true\"]\n" + etc);
    CHECK(sb::build_plan(profile, {}, facts_with_home({"/etc"})).warnings.empty());
}

TEST_CASE("OwnMounts: creation only on the mounts set-up made", "[mount][mountpoints]") {
    sb::UniqueFd proc(::open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC));
    sb::UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(proc);
    REQUIRE(root);
    sb::OwnMounts own;
    CHECK_FALSE(own.holds(root.get()));
    own.add(proc.get(), "/proc");
    CHECK(own.holds(proc.get()));
    CHECK_FALSE(own.holds(root.get()));
    CHECK_NOTHROW(own.check_may_create(proc.get(), "x", "/proc/x"));
    try {
        own.check_may_create(root.get(), ".bashrc", "/home/u/.bashrc");
        FAIL("expected a SetupError");
    } catch (const sb::SetupError& error) {
        CHECK_THAT(error.message(), Catch::Contains("target /home/u/.bashrc: '.bashrc' is missing in a directory of the host, "
                                                    "and the sandbox creates nothing there"));
        CHECK_THAT(error.hint(), Catch::Contains("try again"));
    }
}

// ---------------------------------------------------------------------------------------------
// A.6: no writable bind of /, /tmp, home, the runtime directory, ... unless the profile says so

namespace {

// Loads a profile with one writable bind of `source` and plans it; "" or the ConfigError's text.
std::string sensitive_error(const std::string& source, const std::string& extra = "", HostFacts facts = plain_facts()) {
    Profile profile = test::load_text("command = [\"/bin/true\"]\n[[mount]]\ntype = \"bind\"\nsource = \"" + source +
                                      "\"\ntarget = \"/w\"\n" + extra);
    try {
        sb::build_plan(profile, {}, facts);
    } catch (const sb::ConfigError& error) {
        return error.message();
    }
    return "";
}

}  // namespace

TEST_CASE("plan: writable binds of sensitive directories are refused with the reason and the override", "[mount][sensitive]") {
    for (const char* path : {"/", "/proc", "/sys", "/dev", "/run", "/tmp", "/var/tmp", "/run/user/1000", "/run/user",
                             "/home/tester", "/home"}) {
        INFO(path);
        std::string message = sensitive_error(path);
        CHECK_THAT(message, Catch::Contains(std::string("refusing a writable bind of ") + path + " ("));
        CHECK_THAT(message, Catch::Contains("set allow_sensitive = true on this mount"));
        CHECK(sensitive_error(path, "allow_sensitive = true\n").empty());
    }
    CHECK_THAT(sensitive_error("/home/tester"), Catch::Contains("(your home directory)"));
    CHECK_THAT(sensitive_error("/tmp"), Catch::Contains("(the temporary directory every program shares)"));
    // Ordinary directories, and read-only views of sensitive ones, are fine.
    CHECK(sensitive_error("/home/tester/project").empty());
    CHECK(sensitive_error("/tmp/work").empty());
    CHECK(sensitive_error("/run/user/1000/x").empty());
    CHECK(sensitive_error("/homework").empty());
    Profile ro = test::load_text("command = [\"/bin/true\"]\n[[mount]]\ntype = \"ro-bind\"\nsource = \"/home/tester\"\n");
    CHECK_NOTHROW(sb::build_plan(ro, {}, plain_facts()));
}

TEST_CASE("plan: without XDG_RUNTIME_DIR the state directory's parent is the runtime directory", "[mount][sensitive]") {
    HostFacts facts = plain_facts();
    facts.environment.erase("XDG_RUNTIME_DIR");
    facts.state_dir = "/run/user/1000/sandbox";
    CHECK_THAT(sensitive_error("/run/user/1000", "", facts), Catch::Contains("(your runtime directory"));
    facts.state_dir.clear();
    CHECK(sensitive_error("/run/user/1000", "", facts).empty());
}

TEST_CASE("plan: the sensitive check goes by where the source really is", "[mount][sensitive]") {
    // HOME given through a link (/home -> /data/home): a bind of the real path is still home.
    HostFacts facts = plain_facts();
    facts.environment["HOME"] = "/home/tester";
    facts.resolve_path = [](const std::string& path) -> std::string {
        if (path.rfind("/home/tester", 0) == 0) return "/data" + path;
        if (path == "/lnk") return "/data/home/tester";
        return path;
    };
    CHECK_THAT(sensitive_error("/data/home/tester", "", facts), Catch::Contains("(your home directory)"));
    // A followed link to home is refused as home.
    CHECK_THAT(sensitive_error("/lnk", "follow_symlinks = true\n", facts), Catch::Contains("writable bind of /data/home/tester"));
}

TEST_CASE("mount key allow_sensitive: writable binds only", "[mount][sensitive]") {
    auto error = text_error("[[mount]]\ntype = \"ro-bind\"\nsource = \"/srv\"\nallow_sensitive = true\n");
    CHECK(error.where().line == 4);
    CHECK_THAT(error.message(), Catch::Contains("'allow_sensitive' does not apply to a ro-bind mount"));
    CHECK_THAT(sb::render_profile_toml(test::load_text("[[mount]]\ntype = \"bind\"\nsource = \"/tmp\"\nallow_sensitive = true\n")),
               Catch::Contains("allow_sensitive = true"));
}

TEST_CASE("mount_flags: nosuid everywhere, nodev unless a bind asks for devices, noexec on proc, cgroup and read-only tmpfs",
          "[mount][plan]") {
    using sb::MountFlags;
    using sb::MountKind;
    auto flags = [](MountKind kind, bool read_only = false, bool devices = false, bool mirror = false) {
        sb::MountStep step;
        step.kind = kind;
        step.read_only = read_only;
        step.devices = devices;
        step.mirror = mirror;
        return sb::mount_flags(step);
    };
    CHECK(flags(MountKind::Bind) == MountFlags{true, true, false});
    CHECK(flags(MountKind::RoBind, true) == MountFlags{true, true, false});
    CHECK(flags(MountKind::Bind, false, true) == MountFlags{true, false, false});
    CHECK(flags(MountKind::RoBind, true, true) == MountFlags{true, false, false});
    CHECK(flags(MountKind::Tmpfs) == MountFlags{true, true, false});
    CHECK(flags(MountKind::Tmpfs, true) == MountFlags{true, true, true});
    CHECK(flags(MountKind::Tmpfs, true, false, true) == MountFlags{true, true, false});  // a mirror
    CHECK(flags(MountKind::Proc) == MountFlags{true, true, true});
    CHECK(flags(MountKind::Cgroup) == MountFlags{true, true, true});
    CHECK(flags(MountKind::Dev) == MountFlags{true, true, false});
    CHECK(flags(MountKind::File, true) == MountFlags{true, true, false});
    // Only a bind may ask for devices: the request means nothing elsewhere.
    CHECK(flags(MountKind::Tmpfs, false, true) == MountFlags{true, true, false});
    CHECK(flags(MountKind::Proc, false, true) == MountFlags{true, true, true});
}

// ---------------------------------------------------------------------------------------------
// Bind propagation (issue 9, section 1): "private" unless a writable bind asks for "slave"

TEST_CASE("mount key propagation: binds only, \"private\" or \"slave\", private by default", "[mount][propagation]") {
    Profile profile = test::load_text(
        "command = [\"/bin/true\"]\n[[mount]]\ntype = \"bind\"\nsource = \"/media\"\npropagation = \"slave\"\n"
        "[[mount]]\ntype = \"bind-try\"\nsource = \"/mnt\"\npropagation = \"slave\"\n"
        "[[mount]]\ntype = \"ro-bind\"\nsource = \"/usr\"\npropagation = \"private\"\n");
    REQUIRE(profile.mounts.size() == 3);
    CHECK(profile.mounts[0].propagation == sb::Propagation::Slave);
    CHECK(profile.mounts[1].propagation == sb::Propagation::Slave);
    CHECK(profile.mounts[2].propagation == sb::Propagation::Private);
    std::string rendered = sb::render_profile_toml(profile);
    CHECK_THAT(rendered, Catch::Contains("source = \"/media\"\ntarget = \"/media\"\npropagation = \"slave\""));
    CHECK_THAT(rendered, !Catch::Contains("propagation = \"private\""));

    auto on_tmpfs = text_error("[[mount]]\ntype = \"tmpfs\"\ntarget = \"/t\"\npropagation = \"slave\"\n");
    CHECK(on_tmpfs.where().line == 4);
    CHECK_THAT(on_tmpfs.message(), Catch::Contains("'propagation' does not apply to a tmpfs mount"));
    auto shared = text_error("[[mount]]\ntype = \"bind\"\nsource = \"/srv\"\npropagation = \"shared\"\n");
    CHECK(shared.where().line == 4);
    CHECK(shared.where().column == 15);
    CHECK_THAT(shared.message(), Catch::Contains("unknown propagation \"shared\" (expected \"private\" or \"slave\")"));
    CHECK_THAT(shared.message(), Catch::Contains("ever reaches the host"));
    auto rslave = text_error("[[mount]]\ntype = \"bind\"\nsource = \"/srv\"\npropagation = \"rslave\"\n");
    CHECK_THAT(rslave.message(), Catch::Contains("binds are always recursive, so say \"slave\""));
    auto wrong = text_error("[[mount]]\ntype = \"bind\"\nsource = \"/srv\"\npropagation = true\n");
    CHECK_THAT(wrong.message(), Catch::Contains("string"));
}

TEST_CASE("mount key propagation: a read-only bind cannot be a slave", "[mount][propagation]") {
    // A mount the host makes later arrives writable; Landlock leaves chmod, utimes and xattrs
    // (and, before ABI 3, truncation) to the mount's flags, so nothing could keep it read-only.
    auto ro = text_error("[[mount]]\ntype = \"ro-bind\"\nsource = \"/mnt\"\npropagation = \"slave\"\n");
    CHECK(ro.where().line == 4);
    CHECK_THAT(ro.message(), Catch::Contains("propagation = \"slave\" needs a writable bind, not ro-bind: a mount "
                                             "the host makes there later arrives with the host's own flags"));
    CHECK_THAT(ro.message(), Catch::Contains("hint: use type = \"bind\""));
    auto ro_try = text_error("[[mount]]\ntype = \"ro-bind-try\"\nsource = \"/mnt\"\npropagation = \"slave\"\n");
    CHECK_THAT(ro_try.message(), Catch::Contains("hint: use type = \"bind-try\""));
}

TEST_CASE("plan: a slave bind carries its propagation and --dry-run shows it", "[mount][propagation]") {
    Plan plan = plan_text("[[mount]]\ntype = \"bind\"\nsource = \"/media\"\npropagation = \"slave\"\n");
    const MountStep* media = find_step(plan, MountKind::Bind, "/media");
    REQUIRE(media);
    CHECK(media->propagation == sb::Propagation::Slave);
    CHECK(plan.landlock.mode == sb::LandlockMode::BestEffort);  // nothing of Landlock changes
    CHECK_THAT(sb::render_plan(plan), Catch::Contains("slave: shows what the host mounts below its source later"));
}

TEST_CASE("plan: nothing may be mounted or made inside a slave bind", "[mount][propagation]") {
    // A mount the host makes later above such a step would cover it: a tmpfs hiding ~/.ssh in a
    // slave bind of the home directory, undone by a home mounted over it at the next login.
    const std::string slave = "[[mount]]\ntype = \"bind\"\nsource = \"/srv\"\npropagation = \"slave\"\n";
    for (const char* inner : {"[[mount]]\ntype = \"tmpfs\"\ntarget = \"/srv/secret\"\n",
                              "[[mount]]\ntype = \"file\"\ntarget = \"/srv/a/b\"\ncontents = \"x\"\n",
                              "[[mount]]\ntype = \"ro-bind\"\nsource = \"/usr\"\ntarget = \"/srv/usr\"\n"}) {
        try {
            plan_text(slave + inner);
            FAIL("planned inside a slave bind:\n" << inner);
        } catch (const sb::ConfigError& error) {
            std::string text = slave + inner;  // the error is at the inner step's target
            std::string before = text.substr(0, text.find("target = \"/srv/"));
            CHECK(error.where().line == 2 + std::count(before.begin(), before.end(), '\n'));
            CHECK_THAT(error.message(), Catch::Contains("lies inside the bind at /srv, whose propagation is "
                                                        "\"slave\": a mount the host makes there later would cover it"));
        }
    }
    // Beside it, above it, or inside a private bind: fine. A slave bind may lie inside another bind.
    CHECK_NOTHROW(plan_text(slave + "[[mount]]\ntype = \"tmpfs\"\ntarget = \"/srvx\"\n"));
    CHECK_NOTHROW(plan_text("[[mount]]\ntype = \"bind\"\nsource = \"/srv\"\n[[mount]]\ntype = \"bind\"\nsource = "
                            "\"/media\"\ntarget = \"/srv/media\"\npropagation = \"slave\"\n"));
    // A step the plan adds counts too: refused at the slave bind (here slirp's /etc/resolv.conf).
    try {
        plan_text("[network]\nmode = \"slirp\"\n[[mount]]\ntype = \"bind\"\nsource = \"/etc\"\npropagation = \"slave\"\n");
        FAIL("slirp's resolv.conf was planned inside a slave bind of /etc");
    } catch (const sb::ConfigError& error) {
        CHECK(error.where().line == 6);
        CHECK_THAT(error.message(), Catch::Contains("/etc/resolv.conf (which the sandbox adds) lies inside the bind at /etc"));
        CHECK_THAT(error.message(), Catch::Contains("hint: leave that bind's propagation \"private\""));
    }
}

TEST_CASE("plan: a slave bind that shows the state directory is refused", "[mount][propagation]") {
    // The host mounts the runtime directory again at the next login: it would arrive over the
    // cover that hides the records of running sandboxes.
    HostFacts facts = plain_facts();
    facts.state_dir = "/run/user/1000/sandbox";
    for (const char* source : {"/run/user", "/run/user/1000", "/run/user/1000/sandbox"}) {
        try {
            plan_text("[[mount]]\ntype = \"bind\"\nsource = \"" + std::string(source) +
                          "\"\nallow_sensitive = true\npropagation = \"slave\"\n",
                      facts);
            FAIL("a slave bind of " << source << " was planned");
        } catch (const sb::ConfigError& error) {
            CHECK(error.where().line == 4);
            CHECK_THAT(error.message(), Catch::Contains("would show the records of running sandboxes "
                                                        "(/run/user/1000/sandbox) once the host mounts it again"));
        }
    }
    CHECK_NOTHROW(plan_text("[[mount]]\ntype = \"bind\"\nsource = \"/run/user/1000/x\"\npropagation = \"slave\"\n", facts));
    CHECK_NOTHROW(plan_text("[[mount]]\ntype = \"bind\"\nsource = \"/run/user/1000\"\nallow_sensitive = true\n", facts));
}
