// Mount hardening (issue 8, section A): the [[mount]] keys that relax a fence (devices,
// follow_symlinks, allow_sensitive), their validation with file:line:col, and the plan's
// decisions about sensitive writable binds and mount points that would land on the host.
#include <catch2/catch.hpp>

#include "plan/plan.hpp"
#include "support.hpp"

using sb::HostFacts;
using sb::MountKind;
using sb::MountSpec;
using sb::MountStep;
using sb::Plan;
using sb::Profile;

namespace {

sb::ConfigError text_error(const std::string& text) {
    try {
        test::load_text(text);
    } catch (const sb::ConfigError& error) {
        return error;
    }
    FAIL("expected a ConfigError for:\n" << text);
    throw std::logic_error("unreachable");
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

TEST_CASE("mount key devices: binds only, a boolean, carried into the plan", "[mount][devices]") {
    Profile profile = test::load_text(R"(
[[mount]]
type = "ro-bind"
source = "/dev/null"
target = "/tmp/null"
devices = true

[[mount]]
type = "bind"
source = "/srv"
)");
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
    Plan plan = plan_text(R"(
[[mount]]
type = "ro-bind"
source = "/dev/null"
target = "/tmp/null"
devices = true

[[mount]]
type = "bind"
source = "/srv"
)");
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
