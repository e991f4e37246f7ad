#include "cgroup/sandbox_cgroup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>
#include <vector>

#include "cgroup/stats.hpp"
#include "sys/error.hpp"
#include "sys/syscalls.hpp"

namespace sb {
namespace {

void sleep_ms(int ms) {
    timespec ts{0, ms * 1000000L};
    ::nanosleep(&ts, nullptr);
}

bool xattr_is_one(const std::string& path, const char* name) {
    char value[4] = {};
    ssize_t n = ::getxattr(path.c_str(), name, value, sizeof value - 1);
    return n == 1 && value[0] == '1';
}

bool can_write(const std::string& path) { return ::access(path.c_str(), W_OK) == 0; }


// Waits (up to `ms`) for a key of cgroup.events to reach `value`.
bool wait_for_event(const std::string& path, const char* key, std::uint64_t value, int ms) {
    for (int waited = 0;; waited += 2) {
        auto text = read_cgroup_file(path, "cgroup.events");
        if (!text) return false;
        auto values = parse_keyed_values(*text);
        if (values.count(key) && values[key] == value) return true;
        if (waited >= ms) return false;
        sleep_ms(2);
    }
}

// Removes the cgroups a nested sandbox made below `path`, deepest first (they are empty once
// the subtree is killed), then `path` itself.
bool remove_cgroup_tree(const std::string& path, int depth) {
    if (depth > 32) return false;
    std::vector<std::string> children;
    {
        std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path.c_str()), ::closedir);
        if (!dir) return errno == ENOENT;
        while (const dirent* entry = ::readdir(dir.get()))
            if (entry->d_type == DT_DIR && std::strcmp(entry->d_name, ".") && std::strcmp(entry->d_name, ".."))
                children.push_back(path + "/" + entry->d_name);
    }
    for (const auto& child : children) remove_cgroup_tree(child, depth + 1);
    for (int attempt = 0; attempt < 200; ++attempt) {
        if (::rmdir(path.c_str()) == 0 || errno == ENOENT) return true;
        if (errno != EBUSY) return false;
        sleep_ms(5);  // the last tasks are still being released
    }
    return false;
}

SetupError cgroup_error(const std::string& op, const std::string& path, int err, std::string hint = {}) {
    return SetupError(Stage::Cgroup, op + " " + path + ": " + std::strerror(err), std::move(hint));
}

// The no-internal-processes rule: controllers can be enabled for children only while the
// cgroup itself holds no process. Everything in it (the caller's shell, us) moves to a leaf.
void move_processes_to_leaf(const std::string& parent) {
    auto procs = read_cgroup_file(parent, "cgroup.procs");
    if (!procs || procs->empty()) return;
    std::string leaf = parent + "/" + kHostProcessesLeaf;
    if (::mkdir(leaf.c_str(), 0755) < 0 && errno != EEXIST) throw cgroup_error("mkdir", leaf, errno);
    std::size_t start = 0;
    while (start < procs->size()) {
        std::size_t end = procs->find('\n', start);
        if (end == std::string::npos) end = procs->size();
        std::string pid = procs->substr(start, end - start);
        start = end + 1;
        if (pid.empty()) continue;
        int err = try_write_file(leaf + "/cgroup.procs", pid);
        if (err && err != ESRCH)
            throw cgroup_error("move process " + pid + " to", leaf, err,
                               "every process of the delegated cgroup must be movable by you");
    }
}

// Enables `wanted` for the children of `parent`. Only the `required` ones (those a limit needs)
// must succeed: the others serve stats, and a run must not fail for them.
void enable_controllers(const std::string& parent, const std::vector<std::string>& wanted,
                        const std::set<std::string>& required) {
    auto enabled = parse_controller_list(read_cgroup_file(parent, "cgroup.subtree_control").value_or(""));
    auto request_for = [&](bool only_required) {
        std::string request;
        for (const auto& name : wanted)
            if (!enabled.count(name) && (!only_required || required.count(name)))
                request += (request.empty() ? "+" : " +") + name;
        return request;
    };
    std::string request = request_for(false);
    // A process may land in the parent between the move and the write (EBUSY): move again.
    for (int attempt = 0; !request.empty(); ++attempt) {
        move_processes_to_leaf(parent);
        int err = try_write_file(parent + "/cgroup.subtree_control", request);
        if (!err) return;
        if (err != EBUSY && request != request_for(true)) {
            request = request_for(true);
            continue;
        }
        if (err != EBUSY || attempt == 20)
            throw cgroup_error("enable controllers (" + request + ") in", parent, err,
                               err == EBUSY ? "processes keep appearing in the delegated cgroup" : "");
    }
}

}  // namespace

std::optional<std::string> read_cgroup_file(const std::string& directory, const std::string& file) {
    return read_text_file(directory + "/" + file);
}

CgroupFacts read_cgroup_facts() {
    CgroupFacts facts;
    facts.running_as_root = ::geteuid() == 0;
    struct stat st;
    facts.systemd = ::lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
    auto own = parse_proc_cgroup(read_text_file("/proc/self/cgroup").value_or(""));
    auto mount = find_cgroup2_mount(read_text_file("/proc/self/mountinfo").value_or(""));
    facts.have_cgroup2 = own && mount;
    if (!facts.have_cgroup2) return facts;
    facts.own_path = delegation_candidate(*own);
    auto directory = cgroup_directory(*mount, facts.own_path);
    if (!directory) return facts;
    facts.directory = *directory;
    if (::stat(facts.directory.c_str(), &st) != 0) return facts;
    facts.owned = st.st_uid == ::geteuid();
    facts.writable = can_write(facts.directory) && can_write(facts.directory + "/cgroup.procs") &&
                     can_write(facts.directory + "/cgroup.subtree_control");
    facts.trusted_delegate = xattr_is_one(facts.directory, "trusted.delegate");
    facts.user_delegate = xattr_is_one(facts.directory, "user.delegate");
    if (facts.systemd && !facts.user_delegate) {
        // Does this systemd mark delegated cgroups where users can see it? Look above us (the
        // user's user@UID.service is delegated by the system manager).
        for (std::string above = facts.directory; above.size() > mount->mount_point.size();) {
            above.resize(above.rfind('/'));
            if (xattr_is_one(above, "user.delegate")) {
                facts.ancestor_user_delegate = true;
                break;
            }
        }
    }
    facts.controllers = parse_controller_list(read_cgroup_file(facts.directory, "cgroup.controllers").value_or(""));
    facts.has_file = [directory = facts.directory](const std::string& file) {
        return ::access((directory + "/" + file).c_str(), F_OK) == 0;
    };
    return facts;
}

namespace {

// A sandbox may build cgroups of its own below its payload cgroup (nested = true); these bounds,
// set where it cannot change them, keep the teardown short.
constexpr const char* kMaxDepth = "8";
constexpr const char* kMaxDescendants = "256";

std::string write_failure_hint(int err, const CgroupWrite& write) {
    if (err == ENOENT && write.file == "memory.swap.max")
        return "swap accounting is off in this kernel (boot with swapaccount=1), or remove memory_swap";
    if (err == ENOENT && write.file == "io.weight") return "the io.weight interface needs the BFQ or iocost scheduler";
    if (err == ENODEV) return "io limits apply to whole disks (e.g. /dev/sda), not partitions";
    if (err == EINVAL || err == ERANGE)
        return write.controller == "cpuset" ? "the CPUs (or memory nodes) must exist and be allowed to your cgroup"
                                            : "check the value: the kernel refused it";
    return "the delegated cgroup does not allow this limit";
}

}  // namespace

SandboxCgroup::SandboxCgroup(const CgroupPlan& plan, const std::string& sandbox_name,
                             std::vector<std::string>& warnings) {
    enable_controllers(plan.parent, plan.enable, controllers_needed(plan.writes));
    path_ = plan.parent + "/" + cgroup_leaf_name(sandbox_name);
    int rc = ::mkdir(path_.c_str(), 0755);
    if (rc < 0 && errno == EEXIST) {
        // Every supervisor holds a lock on its sandbox-NAME for its whole life: a free lock
        // means a supervisor that died left this one behind (kill what is left, start afresh);
        // a held one, a sandbox of that name running from another runtime directory.
        if (!remove_sandbox_cgroup(path_, 0, false))
            throw SetupError(Stage::Cgroup, "a sandbox named " + sandbox_name + " is already running (its cgroup " + path_ +
                                           " is in use)",
                             "choose another name with --name");
        rc = ::mkdir(path_.c_str(), 0755);
    }
    if (rc < 0) throw cgroup_error("mkdir", path_, errno);
    created_ = true;
    try {
        lock_ = lock_directory(path_, 0);
        struct stat st;
        if (!lock_ || ::fstat(lock_.get(), &st) < 0) throw cgroup_error("lock", path_, errno);
        inode_ = st.st_ino;
        build(plan, warnings);
    } catch (...) {
        remove();  // bad input leaves nothing behind
        throw;
    }
}

// The limits go on sandbox-NAME, the processes into its child sandbox-NAME/payload, whose cgroup
// namespace root is all the sandbox sees: the files that enforce the limits are above that root,
// out of reach even where cgroup2 is mounted without nsdelegate (there the namespace root's own
// files are writable by the sandbox's root, who owns them). The payload cgroup gets the same
// values, so that programs inside read their limits in /sys/fs/cgroup (as JVMs and Go do).
void SandboxCgroup::build(const CgroupPlan& plan, std::vector<std::string>& warnings) {
    try_write_file(path_ + "/cgroup.max.depth", kMaxDepth);
    try_write_file(path_ + "/cgroup.max.descendants", kMaxDescendants);
    std::vector<CgroupWrite> applied;
    for (const auto& write : plan.writes) {
        int err = try_write_file(path_ + "/" + write.file, write.value);
        if (!err) {
            applied.push_back(write);
            continue;
        }
        LimitProblem problem;
        problem.refused_by_kernel = true;
        problem.limit = write.label + " (write \"" + write.value + "\" to " + path_ + "/" + write.file + ")";
        problem.reason = std::strerror(err);
        problem.hint = write_failure_hint(err, write);
        problem.where = write.where;
        LimitVerdict verdict = judge_limit(problem, plan.enforce);
        if (verdict.refuse) throw SetupError(Stage::Limits, verdict.message, verdict.hint);
        warnings.push_back(verdict.message);
    }
    std::vector<std::string> controllers;
    for (const auto& name : plan.enable)
        if (name != "cpuset" || std::any_of(applied.begin(), applied.end(), [](const CgroupWrite& w) { return w.controller == "cpuset"; }))
            controllers.push_back(name);
    enable_controllers(path_, controllers, controllers_needed(applied));
    payload_ = path_ + "/payload";
    if (::mkdir(payload_.c_str(), 0755) < 0) throw cgroup_error("mkdir", payload_, errno);
    for (const auto& write : applied) try_write_file(payload_ + "/" + write.file, write.value);
    payload_fd_ = open_fd(payload_, O_PATH | O_DIRECTORY);
}

void SandboxCgroup::remove() noexcept {
    if (!created_) return;
    created_ = false;
    payload_fd_.reset();
    // Only the directory we made (its inode), under the lock we hold.
    if (!remove_sandbox_cgroup(path_, inode_, true))
        std::fprintf(stderr, "sandbox: warning: could not remove the cgroup %s (it is removed at the next start)\n",
                     path_.c_str());
    lock_.reset();
}

bool remove_sandbox_cgroup(const std::string& path, std::uint64_t inode, bool lock_held) noexcept {
    std::string base = path.substr(path.rfind('/') + 1);
    if (base.rfind("sandbox-", 0) != 0) return false;
    UniqueFd directory;
    try {
        directory = open_fd(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    } catch (const SysError& error) {
        return error.error_number() == ENOENT;
    }
    struct stat st;
    if (::fstat(directory.get(), &st) < 0 || (inode && st.st_ino != inode)) return false;
    // A live supervisor holds the lock of its cgroup: never touch a cgroup in use.
    if (!lock_held && ::flock(directory.get(), LOCK_EX | LOCK_NB) < 0) return false;
    // cgroup.kill (5.14+) ends the whole subtree; without it, the pid namespace is already gone
    // with pid 1, so the cgroup is usually empty anyway.
    try_write_file(path + "/cgroup.freeze", "0");
    try_write_file(path + "/cgroup.kill", "1");
    wait_for_event(path, "populated", 0, 2000);
    return remove_cgroup_tree(path, 0);
}

void set_frozen(const std::string& path, bool frozen) {
    int err = try_write_file(path + "/cgroup.freeze", frozen ? "1" : "0");
    if (err) throw cgroup_error(std::string(frozen ? "freeze" : "thaw") + " (cgroup.freeze)", path, err);
    if (!wait_for_event(path, "frozen", frozen ? 1 : 0, 10000))
        throw SetupError(Stage::Cgroup, std::string("the sandbox did not ") + (frozen ? "freeze" : "thaw") + " within 10 s",
                         "see cgroup.events in " + path);
}

std::optional<std::string> read_sandbox_stat(const std::string& sandbox_cgroup, const std::string& file) {
    return read_cgroup_file(file == "pids.events" ? sandbox_cgroup + "/payload" : sandbox_cgroup, file);
}

std::optional<std::string> SandboxCgroup::read(const std::string& file) const { return read_sandbox_stat(path_, file); }

}  // namespace sb
