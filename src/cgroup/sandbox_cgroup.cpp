#include "cgroup/sandbox_cgroup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
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
    return SetupError("cgroup", op + " " + path + ": " + std::strerror(err), std::move(hint));
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

void enable_controllers(const std::string& parent, const std::vector<std::string>& wanted) {
    auto enabled = parse_controller_list(read_cgroup_file(parent, "cgroup.subtree_control").value_or(""));
    std::string request;
    for (const auto& name : wanted)
        if (!enabled.count(name)) request += (request.empty() ? "+" : " +") + name;
    if (request.empty()) return;
    // A process may land in the parent between the move and the write (EBUSY): move again.
    for (int attempt = 0;; ++attempt) {
        move_processes_to_leaf(parent);
        int err = try_write_file(parent + "/cgroup.subtree_control", request);
        if (!err) return;
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
    facts.marked_delegated =
        xattr_is_one(facts.directory, "trusted.delegate") || xattr_is_one(facts.directory, "user.delegate");
    facts.controllers = parse_controller_list(read_cgroup_file(facts.directory, "cgroup.controllers").value_or(""));
    return facts;
}

SandboxCgroup::SandboxCgroup(const CgroupPlan& plan, const std::string& sandbox_name) {
    if (!plan.enable.empty()) enable_controllers(plan.parent, plan.enable);
    path_ = plan.parent + "/" + cgroup_leaf_name(sandbox_name);
    if (::mkdir(path_.c_str(), 0755) < 0) {
        int err = errno;
        throw cgroup_error("mkdir", path_, err,
                           err == EEXIST ? "a cgroup of that name exists but no running sandbox owns it; remove it "
                                           "(rmdir) or pick another --name"
                                         : "");
    }
    created_ = true;
    for (const auto& write : plan.writes) {
        int err = try_write_file(path_ + "/" + write.file, write.value);
        if (err)
            throw SetupError("limits", "cannot set " + write.label + " (write \"" + write.value + "\" to " + path_ + "/" +
                                           write.file + "): " + std::strerror(err),
                             err == EINVAL || err == ERANGE ? "check the value: the kernel refused it"
                                                            : "the delegated cgroup does not allow this limit");
    }
    directory_fd_ = open_fd(path_, O_PATH | O_DIRECTORY);
}

void SandboxCgroup::remove() noexcept {
    if (!created_) return;
    created_ = false;
    directory_fd_.reset();
    remove_sandbox_cgroup(path_);
}

bool remove_sandbox_cgroup(const std::string& path) noexcept {
    std::string base = path.substr(path.rfind('/') + 1);
    if (base.rfind("sandbox-", 0) != 0) return false;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT;
    if (!S_ISDIR(st.st_mode)) return false;
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
        throw SetupError("cgroup", std::string("the sandbox did not ") + (frozen ? "freeze" : "thaw") + " within 10 s",
                         "see cgroup.events in " + path);
}

}  // namespace sb
