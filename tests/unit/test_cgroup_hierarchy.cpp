// The cgroup v2 hierarchy as the host shows it (src/cgroup/hierarchy.cpp): /proc/self/cgroup,
// /proc/self/mountinfo, where a cgroup's directory is, whether it is delegated to us, and what to
// say when a limit cannot be enforced.
#include <catch2/catch.hpp>

#include "cgroup/hierarchy.hpp"

using sb::CgroupFacts;
using sb::CgroupWrite;
using sb::Delegation;
using Names = std::set<std::string>;
using Path = std::optional<std::string>;

namespace {

const std::string kScope = "/user.slice/user-1000.slice/user@1000.service/app.slice/run-r1.scope";
const std::string kScopeDir = "/sys/fs/cgroup" + kScope;

// A user's shell in a delegated systemd scope: everything in order.
CgroupFacts usable_facts() {
    CgroupFacts facts;
    facts.have_cgroup2 = true;
    facts.own_path = kScope;
    facts.directory = kScopeDir;
    facts.owned = true;
    facts.writable = true;
    facts.running_as_root = false;
    facts.user_delegate = true;  // systemd-run --user --scope -p Delegate=yes marks it
    facts.systemd = true;
    facts.controllers = {"cpu", "io", "memory", "pids"};
    return facts;
}

CgroupWrite write_of(const std::string& controller, const std::string& file, const std::string& value,
                     const std::string& label, const std::string& key) {
    return CgroupWrite{controller, file, value, label, key, {}};
}

std::vector<std::string> files_of(const std::vector<CgroupWrite>& writes) {
    std::vector<std::string> out;
    for (const auto& w : writes) out.push_back(w.file);
    return out;
}

// A hybrid (v1 + v2) host as Ubuntu 20.04 mounts it.
const char* const kHybridMountinfo =
    "22 27 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
    "23 27 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:13 - proc proc rw\n"
    "27 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw,errors=remount-ro\n"
    "30 22 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755,inode64\n"
    "31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 "
    "rw,nsdelegate\n"
    "32 30 0:28 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup "
    "rw,xattr,name=systemd\n"
    "36 30 0:32 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory\n"
    "37 30 0:33 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,pids\n";

// A unified (pure v2) host, with v1-looking noise before the cgroup2 line.
const char* const kUnifiedMountinfo =
    "24 1 259:2 / / rw,relatime shared:1 - btrfs /dev/nvme0n1p2 rw,ssd,space_cache=v2,subvolid=256,subvol=/root\n"
    "25 24 0:6 / /dev rw,nosuid shared:2 - devtmpfs devtmpfs rw,size=4096k,nr_inodes=1048576,mode=755\n"
    "26 24 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:6 - sysfs sysfs rw\n"
    "28 26 0:25 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n"
    "29 26 0:26 / /sys/fs/pstore rw,nosuid,nodev,noexec,relatime shared:5 - pstore pstore rw\n";

}  // namespace

// ---------------------------------------------------------------------------------------------
// Names

TEST_CASE("hierarchy: cgroup_leaf_name and the known controllers", "[cgroup][hierarchy]") {
    CHECK(sb::cgroup_leaf_name("web") == "sandbox-web");
    CHECK(sb::cgroup_leaf_name("a.b_c-1") == "sandbox-a.b_c-1");
    CHECK(sb::known_controllers() == std::vector<std::string>{"cpuset", "cpu", "io", "memory", "pids"});
    CHECK(std::string(sb::kHostProcessesLeaf) == "sandbox.host-processes");
}

TEST_CASE("hierarchy: no sandbox name can collide with the host-processes leaf", "[cgroup][hierarchy]") {
    // Every sandbox cgroup is "sandbox-NAME"; the leaf has a '.' where they have a '-'.
    CHECK(std::string(sb::kHostProcessesLeaf).rfind("sandbox-", 0) != 0);
}

TEST_CASE("delegation_candidate: our own cgroup, or the parent of our host-processes leaf", "[cgroup][hierarchy]") {
    CHECK(sb::delegation_candidate(kScope) == kScope);
    CHECK(sb::delegation_candidate(kScope + "/sandbox.host-processes") == kScope);
    CHECK(sb::delegation_candidate("/sandbox.host-processes") == "/");
    CHECK(sb::delegation_candidate("/") == "/");
    CHECK(sb::delegation_candidate("") == "");
    // Only the exact leaf name counts.
    CHECK(sb::delegation_candidate("/a/sandbox.host-processes-2") == "/a/sandbox.host-processes-2");
    CHECK(sb::delegation_candidate("/a/xsandbox.host-processes") == "/a/xsandbox.host-processes");
    CHECK(sb::delegation_candidate("/a/sandbox.host-processes/b") == "/a/sandbox.host-processes/b");
    CHECK(sb::delegation_candidate("/a/sandbox-web") == "/a/sandbox-web");
    CHECK(sb::delegation_candidate("sandbox.host-processes") == "sandbox.host-processes");
}

// ---------------------------------------------------------------------------------------------
// /proc/self/cgroup

TEST_CASE("parse_proc_cgroup: hybrid v1 + v2", "[cgroup][hierarchy][proc]") {
    const std::string text =
        "12:pids:/user.slice/user-1000.slice/session-2.scope\n"
        "11:memory:/user.slice/user-1000.slice/session-2.scope\n"
        "10:cpu,cpuacct:/user.slice\n"
        "3:cpuset:/\n"
        "1:name=systemd:/user.slice/user-1000.slice/session-2.scope\n"
        "0::/user.slice/user-1000.slice/session-2.scope\n";
    CHECK(sb::parse_proc_cgroup(text) == Path("/user.slice/user-1000.slice/session-2.scope"));
}

TEST_CASE("parse_proc_cgroup: pure v2", "[cgroup][hierarchy][proc]") {
    CHECK(sb::parse_proc_cgroup("0::" + kScope + "\n") == Path(kScope));
    CHECK(sb::parse_proc_cgroup("0::" + kScope) == Path(kScope));  // no final newline
    CHECK(sb::parse_proc_cgroup("0::/\n") == Path("/"));
    CHECK(sb::parse_proc_cgroup("0::/a b/c\n") == Path("/a b/c"));
}

TEST_CASE("parse_proc_cgroup: no unified hierarchy", "[cgroup][hierarchy][proc]") {
    CHECK_FALSE(sb::parse_proc_cgroup(""));
    CHECK_FALSE(sb::parse_proc_cgroup("\n"));
    CHECK_FALSE(sb::parse_proc_cgroup("12:pids:/\n11:memory:/user.slice\n1:name=systemd:/init.scope\n"));
    // "10::" is hierarchy 10, not 0.
    CHECK_FALSE(sb::parse_proc_cgroup("10::/x\n"));
    CHECK_FALSE(sb::parse_proc_cgroup(" 0::/x\n"));
}

// ---------------------------------------------------------------------------------------------
// /proc/self/mountinfo

TEST_CASE("find_cgroup2_mount: hybrid host with /sys/fs/cgroup/unified", "[cgroup][hierarchy][mountinfo]") {
    auto mount = sb::find_cgroup2_mount(kHybridMountinfo);
    REQUIRE(mount);
    CHECK(mount->mount_point == "/sys/fs/cgroup/unified");
    CHECK(mount->root == "/");
}

TEST_CASE("find_cgroup2_mount: unified host", "[cgroup][hierarchy][mountinfo]") {
    auto mount = sb::find_cgroup2_mount(kUnifiedMountinfo);
    REQUIRE(mount);
    CHECK(mount->mount_point == "/sys/fs/cgroup");
    CHECK(mount->root == "/");
}

TEST_CASE("find_cgroup2_mount: no cgroup2 mount", "[cgroup][hierarchy][mountinfo]") {
    CHECK_FALSE(sb::find_cgroup2_mount(""));
    CHECK_FALSE(sb::find_cgroup2_mount(
        "32 30 0:28 / /sys/fs/cgroup/systemd rw,nosuid shared:11 - cgroup cgroup rw,xattr,name=systemd\n"
        "36 30 0:32 / /sys/fs/cgroup/memory rw,nosuid shared:15 - cgroup cgroup rw,memory\n"));
    // "cgroup2" as the mount source of another file system is not a cgroup2 mount.
    CHECK_FALSE(sb::find_cgroup2_mount("40 30 0:40 / /mnt/x rw,relatime shared:20 - tmpfs cgroup2 rw\n"));
    // Nor as a mount point or an option.
    CHECK_FALSE(sb::find_cgroup2_mount("41 30 0:41 / /cgroup2 rw,relatime - tmpfs tmpfs rw,cgroup2\n"));
}

TEST_CASE("find_cgroup2_mount: optional fields before the separator", "[cgroup][hierarchy][mountinfo]") {
    SECTION("none") {
        auto mount = sb::find_cgroup2_mount("40 30 0:35 / /mnt/cg rw,relatime - cgroup2 none rw\n");
        REQUIRE(mount);
        CHECK(mount->mount_point == "/mnt/cg");
    }
    SECTION("several") {
        auto mount = sb::find_cgroup2_mount(
            "40 30 0:35 / /mnt/cg rw,relatime shared:9 master:3 propagate_from:2 unbindable - cgroup2 cgroup2 rw\n");
        REQUIRE(mount);
        CHECK(mount->mount_point == "/mnt/cg");
    }
}

TEST_CASE("find_cgroup2_mount: escaped characters in paths", "[cgroup][hierarchy][mountinfo]") {
    auto mount = sb::find_cgroup2_mount(
        "50 30 0:40 /user.slice/my\\040scope /mnt/my\\040cgroup\\011tab\\134back rw - cgroup2 cgroup2 rw\n");
    REQUIRE(mount);
    CHECK(mount->mount_point == "/mnt/my cgroup\ttab\\back");
    CHECK(mount->root == "/user.slice/my scope");
    // An escape at the very end, and a backslash that is not an escape.
    auto end = sb::find_cgroup2_mount("50 30 0:40 / /mnt/a\\040 rw - cgroup2 cgroup2 rw\n");
    REQUIRE(end);
    CHECK(end->mount_point == "/mnt/a ");
    auto plain = sb::find_cgroup2_mount("50 30 0:40 / /mnt/a\\x rw - cgroup2 cgroup2 rw\n");
    REQUIRE(plain);
    CHECK(plain->mount_point == "/mnt/a\\x");
}

TEST_CASE("find_cgroup2_mount: the first cgroup2 mount wins; a container's root is kept",
          "[cgroup][hierarchy][mountinfo]") {
    auto mount = sb::find_cgroup2_mount(
        "700 650 0:30 /system.slice/docker-abc.scope /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 "
        "cgroup rw,nsdelegate\n"
        "800 650 0:30 / /mnt/full rw - cgroup2 cgroup2 rw\n");
    REQUIRE(mount);
    CHECK(mount->mount_point == "/sys/fs/cgroup");
    CHECK(mount->root == "/system.slice/docker-abc.scope");
}

TEST_CASE("find_cgroup2_mount: malformed lines are skipped", "[cgroup][hierarchy][mountinfo]") {
    auto mount = sb::find_cgroup2_mount(
        "garbage\n"
        "1 2 3 - cgroup2\n"               // too short: no separator after field 6
        "1 2 3 4 5 6 -\n"                 // separator without a type
        "\n"
        "28 26 0:25 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
    REQUIRE(mount);
    CHECK(mount->mount_point == "/sys/fs/cgroup");
}

// ---------------------------------------------------------------------------------------------
// cgroup_directory

TEST_CASE("cgroup_directory: a mount of the whole hierarchy", "[cgroup][hierarchy][directory]") {
    sb::Cgroup2Mount mount{"/sys/fs/cgroup", "/"};
    CHECK(sb::cgroup_directory(mount, "/") == Path("/sys/fs/cgroup"));
    CHECK(sb::cgroup_directory(mount, kScope) == Path(kScopeDir));
    CHECK(sb::cgroup_directory(mount, "/init.scope") == Path("/sys/fs/cgroup/init.scope"));
    CHECK_FALSE(sb::cgroup_directory(mount, ""));
    CHECK_FALSE(sb::cgroup_directory(mount, "user.slice"));
}

TEST_CASE("cgroup_directory: a hybrid host's unified mount", "[cgroup][hierarchy][directory]") {
    sb::Cgroup2Mount mount{"/sys/fs/cgroup/unified", "/"};
    CHECK(sb::cgroup_directory(mount, "/user.slice/user-1000.slice/session-2.scope") ==
          Path("/sys/fs/cgroup/unified/user.slice/user-1000.slice/session-2.scope"));
}

TEST_CASE("cgroup_directory: a mount whose root is not the hierarchy's root", "[cgroup][hierarchy][directory]") {
    sb::Cgroup2Mount mount{"/sys/fs/cgroup", "/user.slice"};
    CHECK(sb::cgroup_directory(mount, "/user.slice") == Path("/sys/fs/cgroup"));
    CHECK(sb::cgroup_directory(mount, "/user.slice/") == Path("/sys/fs/cgroup"));
    CHECK(sb::cgroup_directory(mount, "/user.slice/user-1000.slice") == Path("/sys/fs/cgroup/user-1000.slice"));
    // Outside the mount's root: not shown.
    CHECK_FALSE(sb::cgroup_directory(mount, "/"));
    CHECK_FALSE(sb::cgroup_directory(mount, "/system.slice"));
    CHECK_FALSE(sb::cgroup_directory(mount, "/user.slicex/a"));
    CHECK_FALSE(sb::cgroup_directory(mount, "/user"));
    CHECK_FALSE(sb::cgroup_directory(mount, "user.slice/a"));
}

// ---------------------------------------------------------------------------------------------
// parse_controller_list

TEST_CASE("parse_controller_list", "[cgroup][hierarchy]") {
    CHECK(sb::parse_controller_list("cpuset cpu io memory hugetlb pids rdma misc\n") ==
          Names{"cpu", "cpuset", "hugetlb", "io", "memory", "misc", "pids", "rdma"});
    CHECK(sb::parse_controller_list("memory pids\n") == Names{"memory", "pids"});
    CHECK(sb::parse_controller_list("  memory \t pids  pids\n\n") == Names{"memory", "pids"});
    CHECK(sb::parse_controller_list("").empty());
    CHECK(sb::parse_controller_list("\n").empty());
}

// ---------------------------------------------------------------------------------------------
// decide_delegation

TEST_CASE("decide_delegation: no cgroup2 at all", "[cgroup][hierarchy][delegation]") {
    CgroupFacts facts;  // have_cgroup2 = false
    Delegation d = sb::decide_delegation(facts);
    CHECK_FALSE(d.usable);
    CHECK(d.reason == "this host has no cgroup v2 hierarchy mounted");
    CHECK(d.hint == "boot with systemd.unified_cgroup_hierarchy=1 (or mount cgroup2 at /sys/fs/cgroup)");
}

TEST_CASE("decide_delegation: our cgroup is not visible under any cgroup2 mount", "[cgroup][hierarchy][delegation]") {
    CgroupFacts facts = usable_facts();
    facts.directory.clear();
    Delegation d = sb::decide_delegation(facts);
    CHECK_FALSE(d.usable);
    CHECK(d.reason == "the cgroup this runs in (" + kScope + ") is not visible under any cgroup2 mount");
    CHECK(d.hint == "mount cgroup2 at /sys/fs/cgroup");
}

TEST_CASE("decide_delegation: root without the delegation mark is never usable", "[cgroup][hierarchy][delegation]") {
    CgroupFacts facts = usable_facts();
    facts.running_as_root = true;
    facts.own_path = "/system.slice/ssh.service";
    facts.directory = "/sys/fs/cgroup/system.slice/ssh.service";
    facts.user_delegate = true;  // anyone who owns a cgroup can set user.*: it does not count for root
    facts.trusted_delegate = false;
    SECTION("with systemd") {
        facts.systemd = true;
        Delegation d = sb::decide_delegation(facts);
        CHECK_FALSE(d.usable);
        CHECK(d.reason == "running as root in /system.slice/ssh.service, which is not marked as delegated (trusted.delegate)");
        CHECK(d.hint == "run it in a scope of its own: systemd-run --scope -p Delegate=yes sandbox run ...");
    }
    SECTION("without systemd") {
        facts.systemd = false;
        Delegation d = sb::decide_delegation(facts);
        CHECK_FALSE(d.usable);
        CHECK(d.reason == "running as root in /system.slice/ssh.service, which is not marked as delegated (trusted.delegate)");
        CHECK(d.hint == "run it in a cgroup marked delegated (the trusted.delegate xattr set to 1)");
    }
}

TEST_CASE("decide_delegation: root in a cgroup marked delegated is usable", "[cgroup][hierarchy][delegation]") {
    CgroupFacts facts = usable_facts();
    facts.running_as_root = true;
    facts.trusted_delegate = true;
    facts.owned = true;  // owned by root, who runs it
    Delegation d = sb::decide_delegation(facts);
    CHECK(d.usable);
    CHECK(d.directory == kScopeDir);
    CHECK(d.controllers == Names{"cpu", "io", "memory", "pids"});
    CHECK(d.reason.empty());
    CHECK(d.hint.empty());
}

TEST_CASE("decide_delegation: root never uses a cgroup a user owns, marked or not", "[cgroup][hierarchy][delegation]") {
    CgroupFacts facts = usable_facts();
    facts.running_as_root = true;
    facts.trusted_delegate = true;
    facts.owned = false;  // e.g. `sudo sandbox run` from a user's delegated scope
    Delegation d = sb::decide_delegation(facts);
    CHECK_FALSE(d.usable);
}

TEST_CASE("decide_delegation: on systemd, a user's own cgroup needs the delegate mark", "[cgroup][hierarchy][delegation]") {
    CgroupFacts facts = usable_facts();
    facts.user_delegate = false;
    facts.trusted_delegate = false;
    facts.ancestor_user_delegate = true;  // user@1000.service above is marked: systemd >= 251
    SECTION("an app scope of the user's (a terminal): not delegated") {
        Delegation d = sb::decide_delegation(facts);
        CHECK_FALSE(d.usable);
        CHECK(d.reason == "the cgroup this runs in (" + kScope + ") belongs to you but systemd did not delegate it (no delegate mark)");
        CHECK(d.hint == "run it in a delegated scope: systemd-run --user --scope -p Delegate=yes sandbox run ...");
    }
    SECTION("user@.service, marked by the system manager") {
        facts.trusted_delegate = true;
        CHECK(sb::decide_delegation(facts).usable);
    }
    SECTION("without systemd the ownership is the delegation") {
        facts.systemd = false;
        CHECK(sb::decide_delegation(facts).usable);
    }
    SECTION("systemd before 251 marks nothing users can read: the ownership is the delegation") {
        facts.ancestor_user_delegate = false;
        CHECK(sb::decide_delegation(facts).usable);
    }
}

TEST_CASE("decide_delegation: a user's cgroup owned by someone else", "[cgroup][hierarchy][delegation]") {
    CgroupFacts facts = usable_facts();
    facts.owned = false;
    facts.writable = false;
    SECTION("systemd: the hint is a delegated user scope") {
        facts.systemd = true;
        Delegation d = sb::decide_delegation(facts);
        CHECK_FALSE(d.usable);
        CHECK(d.reason == "the cgroup this runs in (" + kScope + ") is not delegated to you (owned by another user)");
        CHECK_THAT(d.hint, Catch::Matchers::Contains("systemd-run --user --scope -p Delegate=yes"));
        CHECK(d.hint == "run it in a delegated scope: systemd-run --user --scope -p Delegate=yes sandbox run ...");
    }
    SECTION("no systemd: the hint asks the administrator") {
        facts.systemd = false;
        Delegation d = sb::decide_delegation(facts);
        CHECK_FALSE(d.usable);
        CHECK_THAT(d.hint, !Catch::Matchers::Contains("systemd-run"));
        CHECK_THAT(d.hint, Catch::Matchers::StartsWith("ask your administrator to delegate a cgroup v2 subtree to you"));
        CHECK_THAT(d.hint, Catch::Matchers::Contains("cgroup.procs, cgroup.subtree_control and cgroup.threads"));
    }
}

TEST_CASE("decide_delegation: owned but not writable", "[cgroup][hierarchy][delegation]") {
    CgroupFacts facts = usable_facts();
    facts.writable = false;
    Delegation d = sb::decide_delegation(facts);
    CHECK_FALSE(d.usable);
    CHECK(d.reason == "the cgroup this runs in (" + kScope + ") is not delegated to you (not writable)");
    CHECK_THAT(d.hint, Catch::Matchers::Contains("systemd-run --user --scope -p Delegate=yes"));
}

TEST_CASE("decide_delegation: writable but owned by another user", "[cgroup][hierarchy][delegation]") {
    CgroupFacts facts = usable_facts();
    facts.owned = false;
    Delegation d = sb::decide_delegation(facts);
    CHECK_FALSE(d.usable);
    CHECK_THAT(d.reason, Catch::Matchers::EndsWith("(owned by another user)"));
}

TEST_CASE("decide_delegation: a user's owned, writable cgroup is usable", "[cgroup][hierarchy][delegation]") {
    Delegation d = sb::decide_delegation(usable_facts());
    CHECK(d.usable);
    CHECK(d.directory == kScopeDir);
    CHECK(d.controllers == Names{"cpu", "io", "memory", "pids"});
    CHECK(d.reason.empty());
    CHECK(d.hint.empty());
}

TEST_CASE("decide_delegation: the directory and controllers are reported even when not usable",
          "[cgroup][hierarchy][delegation]") {
    CgroupFacts facts = usable_facts();
    facts.owned = false;
    Delegation d = sb::decide_delegation(facts);
    CHECK(d.directory == kScopeDir);
    CHECK(d.controllers == Names{"cpu", "io", "memory", "pids"});
}

TEST_CASE("decide_delegation: checks come in order (no cgroup2 before visibility before ownership)",
          "[cgroup][hierarchy][delegation]") {
    CgroupFacts facts;
    facts.have_cgroup2 = false;
    facts.directory.clear();
    facts.owned = false;
    CHECK(sb::decide_delegation(facts).reason == "this host has no cgroup v2 hierarchy mounted");
    facts.have_cgroup2 = true;
    facts.own_path = "/x";
    CHECK_THAT(sb::decide_delegation(facts).reason, Catch::Matchers::Contains("is not visible"));
}

// ---------------------------------------------------------------------------------------------
// check_limits / explain_missing

TEST_CASE("check_limits: enforced and missing, split by the available controllers, in order",
          "[cgroup][hierarchy][check]") {
    std::vector<CgroupWrite> writes = {
        write_of("cpuset", "cpuset.cpus", "0-1", "cpuset.cpus 0-1", "cpuset"),
        write_of("memory", "memory.max", "134217728", "memory.max 128M", "memory"),
        write_of("cpu", "cpu.max", "150000 100000", "cpu.max 1.5 CPUs", "cpus"),
        write_of("memory", "memory.high", "1", "memory.high 1", "memory_high"),
        write_of("pids", "pids.max", "10", "pids.max 10", "pids"),
    };
    Delegation d;
    d.usable = true;
    d.directory = kScopeDir;
    d.controllers = {"memory", "pids"};
    auto check = sb::check_limits(writes, d);
    CHECK(files_of(check.enforced) == std::vector<std::string>{"memory.max", "memory.high", "pids.max"});
    CHECK(files_of(check.missing) == std::vector<std::string>{"cpuset.cpus", "cpu.max"});
}

TEST_CASE("check_limits: nothing is enforced when the delegation is not usable", "[cgroup][hierarchy][check]") {
    std::vector<CgroupWrite> writes = {
        write_of("memory", "memory.max", "1024", "memory.max 1K", "memory"),
        write_of("pids", "pids.max", "10", "pids.max 10", "pids"),
    };
    Delegation d;
    d.usable = false;
    d.controllers = {"memory", "pids"};  // present, but the cgroup is not ours
    auto check = sb::check_limits(writes, d);
    CHECK(check.enforced.empty());
    CHECK(files_of(check.missing) == std::vector<std::string>{"memory.max", "pids.max"});
}

TEST_CASE("check_limits: no writes", "[cgroup][hierarchy][check]") {
    Delegation d;
    d.usable = true;
    auto check = sb::check_limits({}, d);
    CHECK(check.enforced.empty());
    CHECK(check.missing.empty());
}

TEST_CASE("explain_missing: not usable repeats the delegation's reason and hint", "[cgroup][hierarchy][explain]") {
    CgroupFacts facts = usable_facts();
    facts.owned = false;
    Delegation d = sb::decide_delegation(facts);
    auto problem = sb::explain_missing(write_of("memory", "memory.max", "134217728", "memory.max 128M", "memory"), d,
                                       true);
    CHECK(problem.message() == "cannot enforce memory.max 128M: the cgroup this runs in (" + kScope +
                                 ") is not delegated to you (owned by another user)");
    CHECK(problem.hint == d.hint);
}

TEST_CASE("explain_missing: a controller that is not delegated, with systemd", "[cgroup][hierarchy][explain]") {
    Delegation d = sb::decide_delegation(usable_facts());
    d.controllers = {"memory", "pids"};
    auto problem = sb::explain_missing(write_of("cpu", "cpu.max", "150000 100000", "cpu.max 1.5 CPUs", "cpus"), d, true);
    CHECK(problem.message() == "cannot enforce cpu.max 1.5 CPUs: the cpu controller is not delegated to " + kScopeDir +
                                 " (available: memory pids)");
    CHECK_THAT(problem.hint, Catch::Matchers::Contains("/etc/systemd/system/user@.service.d/delegate.conf"));
    CHECK_THAT(problem.hint, Catch::Matchers::Contains("Delegate=cpu cpuset io memory pids"));
    CHECK(problem.hint == "systemd delegates only memory and pids to users by default; as root, add " +
                              sb::systemd_delegate_drop_in());
}

TEST_CASE("explain_missing: a controller that is not delegated, without systemd", "[cgroup][hierarchy][explain]") {
    Delegation d = sb::decide_delegation(usable_facts());
    auto problem =
        sb::explain_missing(write_of("cpuset", "cpuset.cpus", "0-1", "cpuset.cpus 0-1", "cpuset"), d, false);
    CHECK(problem.message() == "cannot enforce cpuset.cpus 0-1: the cpuset controller is not delegated to " +
                                 kScopeDir + " (available: cpu io memory pids)");
    CHECK(problem.hint == "as root, enable it in the parent cgroup: write +cpuset to the cgroup.subtree_control of "
                          "every cgroup above " + kScopeDir);
    CHECK_THAT(problem.hint, !Catch::Matchers::Contains("delegate.conf"));
}

TEST_CASE("explain_missing: no controllers at all reads \"none\"", "[cgroup][hierarchy][explain]") {
    Delegation d = sb::decide_delegation(usable_facts());
    d.controllers.clear();
    auto problem = sb::explain_missing(write_of("pids", "pids.max", "5", "pids.max 5", "pids"), d, true);
    CHECK(problem.message() == "cannot enforce pids.max 5: the pids controller is not delegated to " + kScopeDir +
                                 " (available: none)");
}

TEST_CASE("systemd_delegate_drop_in names the file and the directive", "[cgroup][hierarchy][explain]") {
    std::string text = sb::systemd_delegate_drop_in();
    CHECK_THAT(text, Catch::Matchers::StartsWith("/etc/systemd/system/user@.service.d/delegate.conf"));
    CHECK_THAT(text, Catch::Matchers::Contains("[Service]"));
    CHECK_THAT(text, Catch::Matchers::Contains("Delegate=cpu cpuset io memory pids"));
    CHECK_THAT(text, Catch::Matchers::Contains("systemctl daemon-reload"));
}

TEST_CASE("check_limits: a limit whose interface file the kernel lacks is not enforceable", "[cgroup][hierarchy]") {
    CgroupFacts facts = usable_facts();
    facts.has_file = [](const std::string& file) { return file != "memory.swap.max" && file != "io.weight"; };
    Delegation d = sb::decide_delegation(facts);
    REQUIRE(d.usable);
    std::vector<CgroupWrite> writes{write_of("memory", "memory.swap.max", "0", "memory.swap.max 0", "memory_swap"),
                                    write_of("memory", "memory.max", "1024", "memory.max 1K", "memory"),
                                    write_of("io", "io.weight", "default 50", "io.weight 50", "io_weight")};
    auto check = sb::check_limits(writes, d);
    CHECK(files_of(check.enforced) == std::vector<std::string>{"memory.max"});
    REQUIRE(files_of(check.missing) == std::vector<std::string>{"memory.swap.max", "io.weight"});
    auto swap = sb::explain_missing(check.missing[0], d, true);
    CHECK(swap.message() == "cannot enforce memory.swap.max 0: this kernel offers no memory.swap.max (in " + kScopeDir + ")");
    CHECK(swap.hint == "memory.swap.max needs swap accounting (boot with swapaccount=1), or drop memory_swap");
    auto weight = sb::explain_missing(check.missing[1], d, true);
    CHECK_THAT(weight.hint, Catch::Matchers::StartsWith("io.weight needs the io cost model"));
}

TEST_CASE("judge_limit: the one enforce rule", "[cgroup][limits]") {
    sb::LimitProblem problem;
    problem.limit = "memory.max 64M";
    problem.reason = "no delegated cgroup";
    problem.hint = "delegate one";
    problem.where = sb::SourceLocation{"/p.toml", 3, 10};
    sb::LimitVerdict strict = sb::judge_limit(problem, sb::Enforce::Strict);
    CHECK(strict.refuse);
    CHECK(strict.message == "/p.toml:3:10: cannot enforce memory.max 64M: no delegated cgroup");
    CHECK(strict.hint == "delegate one; or set [limits] enforce = \"best-effort\" to run without it");
    sb::LimitVerdict lenient = sb::judge_limit(problem, sb::Enforce::BestEffort);
    CHECK_FALSE(lenient.refuse);
    CHECK(lenient.message == "/p.toml:3:10: cannot enforce memory.max 64M: no delegated cgroup (best-effort: running without it)");
    CHECK(lenient.hint == "delegate one");
    problem.refused_by_kernel = true;
    problem.where = {};
    CHECK(sb::judge_limit(problem, sb::Enforce::Strict).message == "cannot set memory.max 64M: no delegated cgroup");
}
