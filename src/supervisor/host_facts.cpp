// Host facts: everything the plan needs to know about the machine and the caller, read once.
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "cgroup/sandbox_cgroup.hpp"
#include "changes/store.hpp"
#include "state/registry.hpp"


#include "landlock/apply.hpp"
#include "seccomp/apply.hpp"
#include "supervisor/supervisor.hpp"
#include "term/terminal.hpp"
#include "sys/syscalls.hpp"

extern char** environ;

namespace sb {
namespace {

std::string read_text(const char* path) { return read_text_file(path).value_or(""); }

std::string find_helper(const char* name) {
    for (const char* dir : {"/usr/bin/", "/usr/sbin/", "/bin/", "/sbin/"}) {
        std::string path = std::string(dir) + name;
        if (::access(path.c_str(), X_OK) == 0) return path;
    }
    return {};
}

// Root in a user namespace of someone else's (`unshare -r`, a rootless container) has only the
// ids that namespace maps, and may be denied setgroups there.
void read_own_namespace(HostFacts& facts) {
    std::vector<IdMapEntry> uids = parse_id_map(read_text("/proc/self/uid_map"));
    std::vector<IdMapEntry> gids = parse_id_map(read_text("/proc/self/gid_map"));
    if (!uids.empty()) facts.own_uid_map = uids;
    if (!gids.empty()) facts.own_gid_map = gids;
    facts.setgroups_allowed = read_text("/proc/self/setgroups").rfind("deny", 0) != 0;
}

}  // namespace

// The path with the symlinks of its existing part resolved (a data directory is made later).
static std::string resolve_existing_prefix(const std::string& path) {
    std::string head = path, tail;
    while (!head.empty() && head != "/") {
        char resolved[PATH_MAX];
        if (::realpath(head.c_str(), resolved)) return std::string(resolved) + tail;
        std::size_t slash = head.rfind('/');
        tail = head.substr(slash) + tail;
        head = head.substr(0, slash);
    }
    return path;
}

HostFacts prepare_host_facts() {
    HostFacts facts;
    facts.uid = ::getuid();
    facts.gid = ::getgid();
    facts.is_root = ::geteuid() == 0;
    if (facts.is_root) read_own_namespace(facts);
    facts.landlock_abi = landlock_abi();
    facts.kernel_runs_x32 = kernel_runs_x32();
    facts.terminal_fds = terminal_fd_mask();
    for (const auto& kind : rlimit_kinds()) {
        rlimit limit{};
        if (::getrlimit(kind.resource, &limit) == 0) facts.rlimits[kind.resource] = {limit.rlim_cur, limit.rlim_max};
    }
    for (char** var = environ; var && *var; ++var) {
        std::string entry(*var);
        auto eq = entry.find('=');
        if (eq != std::string::npos) facts.environment[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    const passwd* entry = ::getpwuid(facts.uid);
    facts.user_name = entry ? entry->pw_name : std::to_string(facts.uid);
    if (facts.environment["HOME"].empty() && entry) facts.environment["HOME"] = entry->pw_dir;
    char cwd[4096];
    if (::getcwd(cwd, sizeof cwd)) facts.environment["PWD"] = cwd;
    facts.subuid = find_subid_range(read_text("/etc/subuid"), facts.user_name, facts.uid);
    facts.subgid = find_subid_range(read_text("/etc/subgid"), facts.user_name, facts.uid);
    facts.newuidmap = find_helper("newuidmap");
    facts.newgidmap = find_helper("newgidmap");
    facts.path_exists = [](const std::string& path) {
        struct stat st;
        return ::stat(path.c_str(), &st) == 0;
    };
    facts.block_device = [](const std::string& path) -> std::optional<std::string> {
        struct stat st;
        if (::stat(path.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) return std::nullopt;
        return std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev));
    };
    facts.list_dir = [](const std::string& path) {
        UniqueFd dir = try_open_at(AT_FDCWD, path, O_RDONLY | O_DIRECTORY);
        std::vector<std::string> names;
        if (!dir) return names;
        try {
            names = directory_entries(dir.get(), path);
        } catch (const SysError&) {
            return std::vector<std::string>();
        }
        std::sort(names.begin(), names.end());
        return names;
    };
    facts.is_socket = [](const std::string& path) {
        struct stat st;
        return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
    };
    facts.read_file = [](const std::string& path) -> std::optional<std::string> {
        ProfileFileText text = read_profile_file(path);  // regular files only, at most 1 MiB
        return text.text && text.text->size() <= kMaxProfileFileBytes ? text.text : std::nullopt;
    };
    if (utsname names{}; ::uname(&names) == 0) facts.hostname = names.nodename;
    facts.resolve_path = [](const std::string& path) {
        char resolved[PATH_MAX];
        return ::realpath(path.c_str(), resolved) ? std::string(resolved) : path;
    };
    facts.cgroup = read_cgroup_facts();
    facts.state_dir = state_directory(facts.env("XDG_RUNTIME_DIR"),
                                      facts.env("XDG_RUNTIME_DIR").empty() ? private_runtime_dir(facts.uid) : "");
    // Resolved: the plan compares it with bind sources, which it resolves too.
    std::string data_dir = data_directory(facts.env("XDG_DATA_HOME"), facts.env("HOME"));
    if (!data_dir.empty()) facts.data_dir = resolve_existing_prefix(data_dir);
    facts.now = ::time(nullptr);
    if (::getrandom(&facts.random, sizeof facts.random, GRND_NONBLOCK) != sizeof facts.random)
        facts.random = static_cast<std::uint32_t>(::getpid()) * 2654435761u;
    return facts;
}

}  // namespace sb
