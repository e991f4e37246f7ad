// The plan's cgroup, limits, name and state-directory protection (src/plan/plan.cpp), from
// profiles and HostFacts built here (no host state is read).
#include <catch2/catch.hpp>

#include "plan/plan.hpp"
#include "support.hpp"

using sb::CgroupFacts;
using sb::HostFacts;
using sb::kNoLimit;
using sb::MountKind;
using sb::MountSpec;
using sb::MountStep;
using sb::Overrides;
using sb::Plan;
using sb::Profile;
using Strings = std::vector<std::string>;

namespace {

constexpr std::uint64_t MiB = 1024 * 1024;
const std::string kScope = "/user.slice/user-1000.slice/user@1000.service/app.slice/run-r1.scope";
const std::string kScopeDir = "/sys/fs/cgroup" + kScope;
const std::string kStateDir = "/run/user/1000/sandbox";

CgroupFacts delegated_cgroup() {
    CgroupFacts c;
    c.have_cgroup2 = true;
    c.own_path = kScope;
    c.directory = kScopeDir;
    c.owned = true;
    c.writable = true;
    c.systemd = true;
    c.user_delegate = true;  // a scope from systemd-run --user --scope -p Delegate=yes
    c.controllers = {"cpu", "io", "memory", "pids"};
    return c;
}

HostFacts facts_with(const CgroupFacts& cgroup) {
    HostFacts facts;
    facts.uid = 1000;
    facts.gid = 1000;
    facts.user_name = "tester";
    facts.subuid = sb::SubidRange{100000, 65536};
    facts.subgid = sb::SubidRange{100000, 65536};
    facts.newuidmap = "/usr/bin/newuidmap";
    facts.newgidmap = "/usr/bin/newgidmap";
    facts.environment = {{"HOME", "/home/tester"}, {"XDG_RUNTIME_DIR", "/run/user/1000"}};
    facts.path_exists = [](const std::string&) { return true; };
    facts.cgroup = cgroup;
    facts.random = 0xabc123;
    return facts;
}

HostFacts delegated_facts() { return facts_with(delegated_cgroup()); }

HostFacts undelegated_facts() {
    CgroupFacts c = delegated_cgroup();
    c.owned = false;
    c.writable = false;
    return facts_with(c);
}

Profile base_profile() {
    Profile profile;
    profile.files = {"/p/base.toml", "/p/my-tool.toml"};
    profile.command = {"/bin/true"};
    return profile;
}

// memory + cpus + pids + cpuset, as the brief's example asks.
Profile limited_profile() {
    Profile profile = base_profile();
    profile.limits.memory_max = 256 * MiB;
    profile.limits.cpu_millis = 1500;
    profile.limits.pids = 100;
    profile.limits.cpuset_cpus = "0-1";
    return profile;
}

MountSpec bind_mount(const char* type, const std::string& source, const std::string& target) {
    MountSpec spec;
    spec.type = sb::find_mount_type(type);
    spec.source = source;
    spec.target = target;
    spec.where = {"/p/my-tool.toml", 3, 1};
    spec.allow_sensitive = true;  // these bind the runtime directory on purpose
    return spec;
}

Strings labels(const std::vector<sb::CgroupWrite>& writes) {
    Strings out;
    for (const auto& w : writes) out.push_back(w.label);
    return out;
}

const MountStep* find_step(const Plan& plan, MountKind kind, const std::string& target) {
    for (const auto& m : plan.mounts)
        if (m.kind == kind && m.target == target) return &m;
    return nullptr;
}

int count_kind(const Plan& plan, MountKind kind) {
    int n = 0;
    for (const auto& m : plan.mounts) n += m.kind == kind;
    return n;
}

std::string usage_error(const Profile& profile, const Overrides& overrides, const HostFacts& facts) {
    try {
        sb::build_plan(profile, overrides, facts);
    } catch (const sb::UsageError& error) {
        return error.what();
    }
    FAIL("expected a UsageError");
    return {};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// A usable delegated cgroup

TEST_CASE("plan cgroup: a usable delegation enforces what its controllers allow", "[plan][cgroup]") {
    Plan plan = sb::build_plan(limited_profile(), {}, delegated_facts());
    const auto& c = plan.cgroup;
    CHECK(c.use);
    CHECK(c.parent == kScopeDir);
    CHECK(c.reason.empty());
    CHECK(c.hint.empty());
    CHECK(c.enforce == sb::Enforce::Strict);
    // cpuset.cpus is not enforceable (no cpuset controller); the rest keeps cgroup_writes' order.
    CHECK(labels(c.writes) == Strings{"memory.max 256M", "cpu.max 1.5 CPUs", "pids.max 100"});
    for (const auto& w : c.writes) CHECK(w.controller != "cpuset");
    REQUIRE(c.unenforceable.size() == 1);
    CHECK(c.unenforceable[0].message() == "cannot enforce cpuset.cpus 0-1: the cpuset controller is not delegated to " +
                                            kScopeDir + " (available: cpu io memory pids)");
    CHECK_THAT(c.unenforceable[0].hint, Catch::Matchers::Contains("/etc/systemd/system/user@.service.d/delegate.conf"));
    // Every available controller, in the known order; cpuset is not available.
    CHECK(c.enable == Strings{"cpu", "io", "memory", "pids"});
}

TEST_CASE("plan cgroup: an unenforceable limit names the profile value that asked for it", "[plan][cgroup]") {
    // Issue 9: the strict refusal lacked the file:line:col every other profile error carries.
    Profile profile = limited_profile();
    profile.limits.where["cpuset"] = sb::SourceLocation{"/p.toml", 7, 10};
    Plan plan = sb::build_plan(profile, {}, delegated_facts());
    REQUIRE(plan.cgroup.unenforceable.size() == 1);
    CHECK(plan.cgroup.unenforceable[0].located() ==
          "/p.toml:7:10: cannot enforce cpuset.cpus 0-1: the cpuset controller is not delegated to " + kScopeDir +
              " (available: cpu io memory pids)");
    // From the command line there is no place to name.
    sb::Overrides overrides;
    overrides.cpus = "1";
    HostFacts facts = delegated_facts();
    facts.cgroup.controllers = {"memory", "pids"};
    Plan cli = sb::build_plan(base_profile(), overrides, facts);
    REQUIRE(cli.cgroup.unenforceable.size() == 1);
    CHECK(cli.cgroup.unenforceable[0].located().rfind("cannot enforce cpu.max 1 CPUs", 0) == 0);
}

TEST_CASE("plan cgroup: the writes carry the exact values", "[plan][cgroup]") {
    Plan plan = sb::build_plan(limited_profile(), {}, delegated_facts());
    REQUIRE(plan.cgroup.writes.size() == 3);
    CHECK(plan.cgroup.writes[0].file == "memory.max");
    CHECK(plan.cgroup.writes[0].value == "268435456");
    CHECK(plan.cgroup.writes[1].file == "cpu.max");
    CHECK(plan.cgroup.writes[1].value == "150000 100000");
    CHECK(plan.cgroup.writes[2].file == "pids.max");
    CHECK(plan.cgroup.writes[2].value == "100");
    // The plan keeps the limits it was built from.
    CHECK(plan.limits.memory_max == std::optional<std::uint64_t>(256 * MiB));
    CHECK(plan.limits.cpuset_cpus == std::optional<std::string>("0-1"));
}

TEST_CASE("plan cgroup: without systemd the hint names cgroup.subtree_control", "[plan][cgroup]") {
    HostFacts facts = delegated_facts();
    facts.cgroup.systemd = false;
    Plan plan = sb::build_plan(limited_profile(), {}, facts);
    REQUIRE(plan.cgroup.unenforceable.size() == 1);
    CHECK(plan.cgroup.unenforceable[0].hint ==
          "as root, enable it in the parent cgroup: write +cpuset to the cgroup.subtree_control of every cgroup above " +
              kScopeDir);
}

TEST_CASE("plan cgroup: cpuset is enabled, first, only when a cpuset limit is enforced", "[plan][cgroup]") {
    HostFacts facts = delegated_facts();
    facts.cgroup.controllers = {"cpuset", "cpu", "io", "memory", "pids"};
    SECTION("asked for") {
        Plan plan = sb::build_plan(limited_profile(), {}, facts);
        CHECK(plan.cgroup.enable == Strings{"cpuset", "cpu", "io", "memory", "pids"});
        CHECK(labels(plan.cgroup.writes) ==
              Strings{"cpuset.cpus 0-1", "memory.max 256M", "cpu.max 1.5 CPUs", "pids.max 100"});
        CHECK(plan.cgroup.unenforceable.empty());
    }
    SECTION("not asked for") {
        Profile profile = limited_profile();
        profile.limits.cpuset_cpus.reset();
        Plan plan = sb::build_plan(profile, {}, facts);
        CHECK(plan.cgroup.enable == Strings{"cpu", "io", "memory", "pids"});
    }
    SECTION("only cpuset_mems") {
        Profile profile = base_profile();
        profile.limits.cpuset_mems = "0";
        Plan plan = sb::build_plan(profile, {}, facts);
        CHECK(plan.cgroup.enable == Strings{"cpuset", "cpu", "io", "memory", "pids"});
    }
}

TEST_CASE("plan cgroup: only the controllers that are available are enabled", "[plan][cgroup]") {
    HostFacts facts = delegated_facts();
    facts.cgroup.controllers = {"memory", "pids", "hugetlb"};
    Plan plan = sb::build_plan(limited_profile(), {}, facts);
    CHECK(plan.cgroup.use);
    CHECK(plan.cgroup.enable == Strings{"memory", "pids"});
    CHECK(labels(plan.cgroup.writes) == Strings{"memory.max 256M", "pids.max 100"});
    REQUIRE(plan.cgroup.unenforceable.size() == 2);
    CHECK_THAT(plan.cgroup.unenforceable[0].message(), Catch::Matchers::StartsWith("cannot enforce cpuset.cpus 0-1: "));
    CHECK_THAT(plan.cgroup.unenforceable[1].message(),
               Catch::Matchers::StartsWith("cannot enforce cpu.max 1.5 CPUs: the cpu controller is not delegated"));
}

TEST_CASE("plan cgroup: a usable delegation without limits still gives the sandbox a cgroup", "[plan][cgroup]") {
    Plan plan = sb::build_plan(base_profile(), {}, delegated_facts());
    CHECK(plan.cgroup.use);
    CHECK(plan.cgroup.writes.empty());
    CHECK(plan.cgroup.unenforceable.empty());
    CHECK(plan.cgroup.enable == Strings{"cpu", "io", "memory", "pids"});
    CHECK(find_step(plan, MountKind::Cgroup, "/sys/fs/cgroup"));
}

TEST_CASE("plan cgroup: enforce best-effort is carried into the plan", "[plan][cgroup]") {
    Profile profile = limited_profile();
    profile.limits.enforce = sb::Enforce::BestEffort;
    Plan plan = sb::build_plan(profile, {}, delegated_facts());
    CHECK(plan.cgroup.enforce == sb::Enforce::BestEffort);
}

// ---------------------------------------------------------------------------------------------
// The sandbox's /sys/fs/cgroup

TEST_CASE("plan cgroup: a read-only cgroup mount at /sys/fs/cgroup", "[plan][cgroup][mounts]") {
    Plan plan = sb::build_plan(limited_profile(), {}, delegated_facts());
    CHECK(count_kind(plan, MountKind::Cgroup) == 1);
    const MountStep* view = find_step(plan, MountKind::Cgroup, "/sys/fs/cgroup");
    REQUIRE(view);
    CHECK(view->read_only);
    CHECK(view->source.empty());
}

TEST_CASE("plan cgroup: nested = true makes the cgroup mount writable", "[plan][cgroup][mounts]") {
    Profile profile = limited_profile();
    profile.limits.nested = true;
    Plan plan = sb::build_plan(profile, {}, delegated_facts());
    const MountStep* view = find_step(plan, MountKind::Cgroup, "/sys/fs/cgroup");
    REQUIRE(view);
    CHECK_FALSE(view->read_only);
}

TEST_CASE("plan cgroup: no cgroup mount when [namespaces] cgroup = false", "[plan][cgroup][mounts]") {
    Profile profile = limited_profile();
    profile.ns_cgroup = false;
    Plan plan = sb::build_plan(profile, {}, delegated_facts());
    CHECK_FALSE(plan.namespaces.cgroup);
    CHECK(plan.cgroup.use);  // the limits still apply
    CHECK(count_kind(plan, MountKind::Cgroup) == 0);
}

TEST_CASE("plan cgroup: the cgroup mount is ordered after its parents", "[plan][cgroup][mounts]") {
    Profile profile = limited_profile();
    MountSpec sys;
    sys.type = sb::find_mount_type("tmpfs");
    sys.target = "/sys/fs";
    profile.mounts.push_back(sys);
    Plan plan = sb::build_plan(profile, {}, delegated_facts());
    std::size_t tmpfs_at = plan.mounts.size(), cgroup_at = plan.mounts.size();
    for (std::size_t i = 0; i < plan.mounts.size(); ++i) {
        if (plan.mounts[i].target == "/sys/fs") tmpfs_at = i;
        if (plan.mounts[i].kind == MountKind::Cgroup) cgroup_at = i;
    }
    REQUIRE(tmpfs_at < plan.mounts.size());
    REQUIRE(cgroup_at < plan.mounts.size());
    CHECK(tmpfs_at < cgroup_at);
}

// ---------------------------------------------------------------------------------------------
// No usable delegation

TEST_CASE("plan cgroup: not usable makes every limit unenforceable and mounts no cgroup", "[plan][cgroup]") {
    Plan plan = sb::build_plan(limited_profile(), {}, undelegated_facts());
    const auto& c = plan.cgroup;
    CHECK_FALSE(c.use);
    CHECK(c.parent.empty());
    CHECK(c.writes.empty());
    CHECK(c.enable.empty());
    CHECK(c.reason == "the cgroup this runs in (" + kScope + ") is not delegated to you (owned by another user)");
    CHECK(c.hint == "run it in a delegated scope: systemd-run --user --scope -p Delegate=yes sandbox run ...");
    REQUIRE(c.unenforceable.size() == 4);
    CHECK(c.unenforceable[0].message() == "cannot enforce cpuset.cpus 0-1: " + c.reason);
    CHECK(c.unenforceable[1].message() == "cannot enforce memory.max 256M: " + c.reason);
    CHECK(c.unenforceable[2].message() == "cannot enforce cpu.max 1.5 CPUs: " + c.reason);
    CHECK(c.unenforceable[3].message() == "cannot enforce pids.max 100: " + c.reason);
    for (const auto& problem : c.unenforceable) CHECK(problem.hint == c.hint);
    CHECK(count_kind(plan, MountKind::Cgroup) == 0);
}

TEST_CASE("plan cgroup: no cgroup2 at all", "[plan][cgroup]") {
    HostFacts facts = facts_with(CgroupFacts{});
    Plan plan = sb::build_plan(base_profile(), {}, facts);
    CHECK_FALSE(plan.cgroup.use);
    CHECK(plan.cgroup.reason == "this host has no cgroup v2 hierarchy mounted");
    CHECK(plan.cgroup.unenforceable.empty());  // nothing was asked for
    CHECK(count_kind(plan, MountKind::Cgroup) == 0);
}

TEST_CASE("plan cgroup: command-line limits join the profile's", "[plan][cgroup][overrides]") {
    Overrides overrides;
    overrides.memory = "1G";
    overrides.pids = "max";
    overrides.cpus = "0.5";
    Plan plan = sb::build_plan(limited_profile(), overrides, delegated_facts());
    CHECK(labels(plan.cgroup.writes) == Strings{"memory.max 1G", "cpu.max 0.5 CPUs", "pids.max max"});
    CHECK(plan.cgroup.writes[0].value == "1073741824");
    CHECK(plan.cgroup.writes[1].value == "50000 100000");
    CHECK(plan.cgroup.writes[2].value == "max");
    CHECK(plan.limits.where.at("memory").file == "command line");
}

TEST_CASE("plan cgroup: bad command-line limits are UsageErrors", "[plan][cgroup][overrides]") {
    Overrides memory;
    memory.memory = "0";
    CHECK(usage_error(base_profile(), memory, delegated_facts()) == "--memory 0: expected a size such as 512M, 2G or \"max\"");
    Overrides cpus;
    cpus.cpus = "lots";
    CHECK(usage_error(base_profile(), cpus, delegated_facts()) ==
          "--cpus lots: expected a number of CPUs from 0.01 to 1024, such as 1.5");
    Overrides pids;
    pids.pids = "-3";
    CHECK(usage_error(base_profile(), pids, delegated_facts()) ==
          "--pids -3: expected a number from 1 to 4194304, or \"max\"");
}

// ---------------------------------------------------------------------------------------------
// io devices

TEST_CASE("plan cgroup: io devices are resolved to MAJOR:MINOR on the host", "[plan][cgroup][io]") {
    Profile profile = base_profile();
    sb::IoDeviceLimit sda;
    sda.device = "/dev/sda";
    sda.read_bps = MiB;
    sda.write_iops = 50;
    sda.where = {"/p/my-tool.toml", 7, 10};
    profile.limits.io.push_back(sda);
    HostFacts facts = delegated_facts();
    std::vector<std::string> asked;
    facts.block_device = [&](const std::string& path) -> std::optional<std::string> {
        asked.push_back(path);
        if (path == "/dev/sda") return std::string("8:0");
        return std::nullopt;
    };
    Plan plan = sb::build_plan(profile, {}, facts);
    CHECK(asked == Strings{"/dev/sda"});
    REQUIRE(plan.limits.io.size() == 1);
    CHECK(plan.limits.io[0].number == "8:0");
    REQUIRE(plan.cgroup.writes.size() == 1);
    CHECK(plan.cgroup.writes[0].file == "io.max");
    CHECK(plan.cgroup.writes[0].value == "8:0 rbps=1048576 wiops=50");
    CHECK(plan.cgroup.writes[0].label == "io.max /dev/sda rbps=1048576 wiops=50");
    CHECK(profile.limits.io[0].number.empty());  // the profile itself is untouched
}

TEST_CASE("plan cgroup: an io device that is not a block device is a ConfigError at the device",
          "[plan][cgroup][io]") {
    Profile profile = base_profile();
    sb::IoDeviceLimit dev;
    dev.device = "/dev/null";
    dev.read_iops = 5;
    dev.where = {"/p/my-tool.toml", 7, 10};
    profile.limits.io.push_back(dev);
    HostFacts facts = delegated_facts();  // block_device: nothing is a block device
    SECTION("usable delegation") {}
    SECTION("even without one") { facts = undelegated_facts(); }
    try {
        sb::build_plan(profile, {}, facts);
        FAIL("expected a ConfigError");
    } catch (const sb::ConfigError& error) {
        CHECK(error.where().file == "/p/my-tool.toml");
        CHECK(error.where().line == 7);
        CHECK(error.where().column == 10);
        CHECK(error.message() == "'device' /dev/null is not a block device on this host");
        CHECK(std::string(error.what()) == "/p/my-tool.toml:7:10: 'device' /dev/null is not a block device on this host");
    }
}

TEST_CASE("plan cgroup: io limits from a loaded profile", "[plan][cgroup][io]") {
    Profile profile = test::load_text(
        "command = [\"/bin/true\"]\n"
        "[limits]\n"
        "io_weight = 300\n"
        "[[limits.io]]\n"
        "device = \"/dev/nvme0n1\"\n"
        "write_bps = \"10M\"\n");
    HostFacts facts = delegated_facts();
    facts.block_device = [](const std::string& path) -> std::optional<std::string> {
        return path == "/dev/nvme0n1" ? std::optional<std::string>("259:0") : std::nullopt;
    };
    Plan plan = sb::build_plan(profile, {}, facts);
    CHECK(labels(plan.cgroup.writes) == Strings{"io.weight 300", "io.max /dev/nvme0n1 wbps=10485760"});
    CHECK(plan.cgroup.writes[0].value == "default 300");
    CHECK(plan.cgroup.writes[1].value == "259:0 wbps=10485760");
}

// ---------------------------------------------------------------------------------------------
// Names

TEST_CASE("plan name: --name wins over the profile's name", "[plan][name]") {
    Profile profile = base_profile();
    profile.name = "from-profile";
    Overrides overrides;
    overrides.name = "from-cli";
    CHECK(sb::build_plan(profile, overrides, delegated_facts()).name == "from-cli");
}

TEST_CASE("plan name: the profile's name", "[plan][name]") {
    Profile profile = base_profile();
    profile.name = "from-profile";
    CHECK(sb::build_plan(profile, {}, delegated_facts()).name == "from-profile");
}

TEST_CASE("plan name: generated from the top profile file's stem and facts.random", "[plan][name]") {
    CHECK(sb::build_plan(base_profile(), {}, delegated_facts()).name == "my-tool-abc123");
    Profile loaded = sb::load_profile("/mem/web app.toml", test::test_vars(),
                                      test::memory_source({{"/mem/web app.toml", "command = [\"/bin/true\"]\n"}}));
    HostFacts facts = delegated_facts();
    facts.random = 0xff00000f;
    CHECK(sb::build_plan(loaded, {}, facts).name == "webapp-00000f");
}

TEST_CASE("plan name: no profile file at all", "[plan][name]") {
    Profile profile = base_profile();
    profile.files.clear();
    CHECK(sb::build_plan(profile, {}, delegated_facts()).name == "sandbox-abc123");
}

TEST_CASE("plan name: an invalid --name is a UsageError", "[plan][name]") {
    for (const char* bad : {"", "-x", "bad/name", "a b", ".hidden"}) {
        INFO("--name \"" << bad << "\"");
        Overrides overrides;
        overrides.name = bad;
        CHECK(usage_error(base_profile(), overrides, delegated_facts()) ==
              std::string("--name ") + bad +
                  ": a name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit");
    }
}

TEST_CASE("plan name: the cgroup leaf is named after the sandbox in render_plan", "[plan][name][render]") {
    Overrides overrides;
    overrides.name = "web";
    Plan plan = sb::build_plan(limited_profile(), overrides, delegated_facts());
    std::string text = sb::render_plan(plan);
    CHECK_THAT(text, Catch::Matchers::Contains("name:       web\n"));
    CHECK_THAT(text, Catch::Matchers::Contains("cgroup:     " + kScopeDir +
                                               "/sandbox-web (controllers: cpu io memory pids)"));
    CHECK_THAT(text, Catch::Matchers::Contains("limit memory.max 256M"));
    CHECK_THAT(text, Catch::Matchers::Contains("limit cpu.max 1.5 CPUs"));
    CHECK_THAT(text, Catch::Matchers::Contains("limit pids.max 100"));
    CHECK_THAT(text, Catch::Matchers::Contains("CANNOT ENFORCE: "));
    CHECK_THAT(text, Catch::Matchers::Contains("cgroup /sys/fs/cgroup (the sandbox's own cgroup) (read-only, nosuid, nodev, noexec)"));
}

TEST_CASE("render_plan: without a cgroup it says why", "[plan][render]") {
    Profile profile = limited_profile();
    profile.limits.enforce = sb::Enforce::BestEffort;
    Plan plan = sb::build_plan(profile, {}, undelegated_facts());
    std::string text = sb::render_plan(plan);
    CHECK_THAT(text, Catch::Matchers::Contains("name:       my-tool-abc123\n"));
    CHECK_THAT(text, Catch::Matchers::Contains("cgroup:     none: the cgroup this runs in (" + kScope +
                                               ") is not delegated to you (owned by another user)"));
    CHECK_THAT(text, Catch::Matchers::Contains("skipped (best-effort): "));
    CHECK_THAT(text, !Catch::Matchers::Contains("CANNOT ENFORCE"));
}

TEST_CASE("render_plan: each unenforceable limit is named", "[plan][render]") {
    Plan plan = sb::build_plan(limited_profile(), {}, undelegated_facts());
    std::string text = sb::render_plan(plan);
    INFO(text);
    CHECK_THAT(text, Catch::Matchers::Contains("CANNOT ENFORCE: cpuset.cpus 0-1"));
    CHECK_THAT(text, Catch::Matchers::Contains("CANNOT ENFORCE: memory.max 256M"));
    CHECK_THAT(text, Catch::Matchers::Contains("CANNOT ENFORCE: cpu.max 1.5 CPUs"));
    CHECK_THAT(text, Catch::Matchers::Contains("CANNOT ENFORCE: pids.max 100"));
}

// ---------------------------------------------------------------------------------------------
// protect_state_dir

TEST_CASE("plan state dir: a writable bind of its parent gets an empty read-only cover", "[plan][state]") {
    Profile profile = base_profile();
    profile.mounts.push_back(bind_mount("bind", "/run/user/1000", "/run/user/1000"));
    HostFacts facts = delegated_facts();
    facts.state_dir = kStateDir;
    Plan plan = sb::build_plan(profile, {}, facts);
    CHECK(plan.state_dir == kStateDir);
    const MountStep* cover = find_step(plan, MountKind::Tmpfs, kStateDir);
    REQUIRE(cover);
    CHECK(cover->read_only);
    // After the writable bind it covers.
    std::size_t bind_at = 0, cover_at = 0;
    for (std::size_t i = 0; i < plan.mounts.size(); ++i) {
        if (plan.mounts[i].kind == MountKind::Bind && plan.mounts[i].target == "/run/user/1000") bind_at = i;
        if (&plan.mounts[i] == cover) cover_at = i;
    }
    CHECK(bind_at < cover_at);
}

TEST_CASE("plan state dir: the cover follows the bind to another target", "[plan][state]") {
    Profile profile = base_profile();
    profile.mounts.push_back(bind_mount("bind", "/run/user/1000", "/xdg"));
    HostFacts facts = delegated_facts();
    facts.state_dir = kStateDir;
    Plan plan = sb::build_plan(profile, {}, facts);
    const MountStep* cover = find_step(plan, MountKind::Tmpfs, "/xdg/sandbox");
    REQUIRE(cover);
    CHECK(cover->read_only);
    CHECK_FALSE(find_step(plan, MountKind::Tmpfs, kStateDir));
}

TEST_CASE("plan state dir: binds of /, of an ancestor and of the directory itself", "[plan][state]") {
    HostFacts facts = delegated_facts();
    facts.state_dir = kStateDir;
    auto cover_target = [&](const std::string& source, const std::string& target) -> std::string {
        Profile profile = base_profile();
        profile.mounts.push_back(bind_mount("bind", source, target));
        Plan plan = sb::build_plan(profile, {}, facts);
        std::string found;
        for (const auto& m : plan.mounts)
            if (m.kind == MountKind::Tmpfs && m.read_only) {
                CHECK(found.empty());  // exactly one cover
                CHECK(m.read_only);
                found = m.target;
            }
        return found;
    };
    CHECK(cover_target("/", "/host") == "/host/run/user/1000/sandbox");
    CHECK(cover_target("/run", "/run") == "/run/user/1000/sandbox");
    CHECK(cover_target("/run/user", "/u") == "/u/1000/sandbox");
    CHECK(cover_target(kStateDir, "/state") == "/state");
    CHECK(cover_target(kStateDir, kStateDir) == kStateDir);
    // Not a parent: a sibling with a common string prefix, a child, an unrelated path.
    CHECK(cover_target("/run/user/100", "/run/user/100") == "");
    CHECK(cover_target("/run/user/1000/sandbox-other", "/o") == "");
    CHECK(cover_target("/home/tester", "/home/tester") == "");
    // A child would show one sandbox's records without the directory above: refused.
    CHECK_THROWS_WITH(cover_target("/run/user/1000/sandbox/web", "/w"),
                      Catch::Matchers::Contains("lies inside the records of running sandboxes"));
}

TEST_CASE("plan state dir: bind-try counts as a writable bind", "[plan][state]") {
    Profile profile = base_profile();
    profile.mounts.push_back(bind_mount("bind-try", "/run/user/1000", "/run/user/1000"));
    HostFacts facts = delegated_facts();
    facts.state_dir = kStateDir;
    Plan plan = sb::build_plan(profile, {}, facts);
    CHECK(find_step(plan, MountKind::Tmpfs, kStateDir));
}

TEST_CASE("plan state dir: read-only binds are covered too (no flock on the records)", "[plan][state]") {
    HostFacts facts = delegated_facts();
    facts.state_dir = kStateDir;
    for (const char* kind : {"ro-bind", "ro-bind-try"}) {
        Profile profile = base_profile();
        profile.mounts.push_back(bind_mount(kind, "/run/user/1000", "/run/user/1000"));
        Plan plan = sb::build_plan(profile, {}, facts);
        const MountStep* cover = find_step(plan, MountKind::Tmpfs, kStateDir);
        REQUIRE(cover);
        CHECK(cover->read_only);
    }
}

TEST_CASE("plan state dir: a missing bind-try adds no cover", "[plan][state]") {
    Profile profile = base_profile();
    profile.mounts.push_back(bind_mount("bind-try", "/run/user/1000", "/run/user/1000"));
    HostFacts facts = delegated_facts();
    facts.state_dir = kStateDir;
    facts.path_exists = [](const std::string& path) { return path != "/run/user/1000"; };
    Plan plan = sb::build_plan(profile, {}, facts);
    CHECK(count_kind(plan, MountKind::Bind) == 0);
    CHECK_FALSE(find_step(plan, MountKind::Tmpfs, kStateDir));
}

TEST_CASE("plan state dir: no state dir, no cover", "[plan][state]") {
    Profile profile = base_profile();
    profile.mounts.push_back(bind_mount("bind", "/", "/host"));
    HostFacts facts = delegated_facts();
    facts.state_dir.clear();
    Plan plan = sb::build_plan(profile, {}, facts);
    CHECK_FALSE(find_step(plan, MountKind::Tmpfs, "/host/run/user/1000/sandbox"));
}

TEST_CASE("plan state dir: one cover per writable bind that shows it", "[plan][state]") {
    Profile profile = base_profile();
    profile.mounts.push_back(bind_mount("bind", "/run/user/1000", "/run/user/1000"));
    profile.mounts.push_back(bind_mount("bind", "/", "/host"));
    HostFacts facts = delegated_facts();
    facts.state_dir = kStateDir;
    Plan plan = sb::build_plan(profile, {}, facts);
    CHECK(find_step(plan, MountKind::Tmpfs, kStateDir));
    CHECK(find_step(plan, MountKind::Tmpfs, "/host/run/user/1000/sandbox"));
    CHECK(count_kind(plan, MountKind::RoBind) == 0);
}

TEST_CASE("plan state dir: a loaded profile binding ${XDG_RUNTIME_DIR}", "[plan][state]") {
    Profile profile = test::load_text(
        "command = [\"/bin/true\"]\n"
        "[[mount]]\n"
        "type = \"bind\"\n"
        "source = \"${XDG_RUNTIME_DIR}\"\n"
        "allow_sensitive = true\n");
    HostFacts facts = delegated_facts();
    facts.state_dir = kStateDir;
    Plan plan = sb::build_plan(profile, {}, facts);
    const MountStep* cover = find_step(plan, MountKind::Tmpfs, kStateDir);
    REQUIRE(cover);
    CHECK(cover->read_only);
    std::string text = sb::render_plan(plan);
    CHECK_THAT(text, Catch::Matchers::Contains("tmpfs " + kStateDir + " mode=500 size=4096 (read-only, nosuid, nodev, noexec)"));
}

TEST_CASE("plan state dir: a writable bind through a symlinked path is covered too", "[plan][state]") {
    // A bind with follow_symlinks of "/var/run/user/1000" on a host where /var/run -> /run shows
    // the state directory just as "/run/user/1000" does: the plan compares the paths with
    // symlinks resolved (HostFacts::resolve_path).
    test::TempDir dir;
    std::filesystem::create_directories(dir.path() + "/run/user/1000/sandbox");
    std::filesystem::create_directory_symlink(dir.path() + "/run", dir.path() + "/var-run");
    Profile profile = base_profile();
    profile.mounts.push_back(bind_mount("bind", dir.path() + "/var-run/user/1000", "/xdg"));
    profile.mounts.back().follow_symlinks = true;
    HostFacts facts = delegated_facts();
    facts.path_exists = [](const std::string& path) { return std::filesystem::exists(path); };
    facts.state_dir = dir.path() + "/run/user/1000/sandbox";
    facts.resolve_path = [](const std::string& path) { return std::filesystem::weakly_canonical(path).string(); };
    Plan plan = sb::build_plan(profile, {}, facts);
    REQUIRE(find_step(plan, MountKind::Bind, "/xdg"));
    CHECK(find_step(plan, MountKind::Tmpfs, "/xdg/sandbox"));
}

TEST_CASE("plan state dir: covered on a first run, through a symlinked runtime dir", "[plan][state]") {
    // XDG_RUNTIME_DIR is a link and its sandbox/ does not exist yet (made after planning).
    test::TempDir dir;
    std::filesystem::create_directories(dir.path() + "/real/1000");
    std::filesystem::create_directory_symlink(dir.path() + "/real", dir.path() + "/link");
    Profile profile = base_profile();
    profile.mounts.push_back(bind_mount("bind", dir.path() + "/real/1000", "/xdg"));
    HostFacts facts = delegated_facts();
    facts.path_exists = [](const std::string& path) { return std::filesystem::exists(path); };
    facts.state_dir = dir.path() + "/link/1000/sandbox";
    facts.resolve_path = [](const std::string& path) {
        std::error_code error;
        auto resolved = std::filesystem::canonical(path, error);
        return error ? path : resolved.string();
    };
    Plan plan = sb::build_plan(profile, {}, facts);
    const MountStep* cover = find_step(plan, MountKind::Tmpfs, "/xdg/sandbox");
    REQUIRE(cover);
    CHECK(cover->read_only);
}

TEST_CASE("plan: no runtime directory is mentioned only when the run needs a record", "[plan][state]") {
    // Issue 9: every run without one printed a warning into the payload's stderr stream.
    HostFacts facts = delegated_facts();
    facts.state_dir.clear();
    CHECK(sb::build_plan(base_profile(), {}, facts).warnings.empty());
    sb::Overrides named;
    named.name = "web";
    Plan plan = sb::build_plan(base_profile(), named, facts);
    REQUIRE(plan.warnings.size() == 1);
    CHECK_THAT(plan.warnings[0], Catch::Matchers::Contains("no runtime directory"));
    CHECK_THAT(plan.warnings[0], Catch::Matchers::Contains("will not see web"));
    CHECK(sb::build_plan(limited_profile(), {}, facts).warnings.size() == 1);
    facts.state_dir = "/run/user/1000/sandbox";
    CHECK(sb::build_plan(base_profile(), named, facts).warnings.empty());
}
