// sandbox doctor's conclusions about user namespaces, seccomp and Landlock (manage/diagnose).
#include <catch2/catch.hpp>

#include <cerrno>

#include "manage/diagnose.hpp"

using sb::IsolationFacts;

namespace {

IsolationFacts refused(int err) {
    IsolationFacts facts;
    facts.max_user_namespaces = "15000\n";
    facts.userns_probe_errno = err;
    return facts;
}

}  // namespace

TEST_CASE("doctor: user namespaces that work", "[doctor]") {
    IsolationFacts facts;
    facts.max_user_namespaces = "63936\n";
    auto d = sb::diagnose_user_namespaces(facts);
    CHECK(d.ok);
    CHECK(d.detail.find("63936") != std::string::npos);
    CHECK(d.fix.empty());
}

TEST_CASE("doctor: each restriction of user namespaces is named with its fix", "[doctor]") {
    SECTION("max_user_namespaces = 0") {
        auto facts = refused(ENOSPC);
        facts.max_user_namespaces = "0\n";
        auto d = sb::diagnose_user_namespaces(facts);
        CHECK_FALSE(d.ok);
        CHECK(d.detail.find("user.max_user_namespaces = 0") != std::string::npos);
        CHECK(d.fix.find("sysctl -w user.max_user_namespaces=") != std::string::npos);
    }
    SECTION("Debian's unprivileged_userns_clone") {
        auto facts = refused(EPERM);
        facts.unprivileged_userns_clone = "0\n";
        auto d = sb::diagnose_user_namespaces(facts);
        CHECK(d.detail.find("unprivileged_userns_clone = 0") != std::string::npos);
        CHECK(d.fix.find("kernel.unprivileged_userns_clone=1") != std::string::npos);
    }
    SECTION("Ubuntu's AppArmor restriction") {
        auto facts = refused(EACCES);
        facts.unprivileged_userns_clone = "1\n";
        facts.apparmor_restrict_userns = "1\n";
        auto d = sb::diagnose_user_namespaces(facts);
        CHECK(d.detail.find("AppArmor") != std::string::npos);
        CHECK(d.fix.find("userns,") != std::string::npos);
        CHECK(d.fix.find("apparmor_restrict_unprivileged_userns=0") != std::string::npos);
    }
    SECTION("a container or an outer seccomp filter") {
        auto facts = refused(EPERM);
        facts.apparmor_restrict_userns = "0\n";
        auto d = sb::diagnose_user_namespaces(facts);
        CHECK_FALSE(d.ok);
        CHECK(d.detail.find("Operation not permitted") != std::string::npos);
        CHECK(d.detail.find("container") != std::string::npos);
        CHECK_FALSE(d.fix.empty());
    }
    SECTION("the limit reached") {
        auto d = sb::diagnose_user_namespaces(refused(ENOSPC));
        CHECK(d.detail.find("limit is reached") != std::string::npos);
    }
}

TEST_CASE("doctor: seccomp and Landlock support", "[doctor]") {
    IsolationFacts facts;
    facts.seccomp_filters = true;
    facts.seccomp_actions = "kill_process kill_thread trap errno user_notif trace log allow";
    auto s = sb::diagnose_seccomp(facts);
    CHECK(s.ok);
    CHECK(s.detail.find("--learn work") != std::string::npos);
    facts.seccomp_actions = "kill_process errno allow";
    CHECK(sb::diagnose_seccomp(facts).detail.find("no user_notif") != std::string::npos);
    facts.seccomp_filters = false;
    CHECK_FALSE(sb::diagnose_seccomp(facts).ok);

    facts.landlock_abi = 0;
    auto none = sb::diagnose_landlock(facts);
    CHECK_FALSE(none.ok);
    CHECK(none.fix.find("CONFIG_SECURITY_LANDLOCK") != std::string::npos);
    facts.landlock_abi = 3;
    auto three = sb::diagnose_landlock(facts);
    CHECK(three.ok);
    CHECK(three.detail.find("truncate") != std::string::npos);
    CHECK(three.detail.find("not scoped") != std::string::npos);
    facts.landlock_abi = 6;
    CHECK(sb::diagnose_landlock(facts).detail.find("scoped to the sandbox") != std::string::npos);
}
