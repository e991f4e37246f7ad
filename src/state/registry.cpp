#include "state/registry.hpp"

#include <dirent.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "cgroup/hierarchy.hpp"
#include "cgroup/sandbox_cgroup.hpp"
#include "sys/error.hpp"
#include "sys/syscalls.hpp"

namespace sb {
namespace {

// Starts hold the state directory's lock for a few milliseconds: waiting longer means trouble.
constexpr int kLockTimeoutMs = 5000;

std::optional<std::uint64_t> start_time_of(int pid) {
    auto text = read_text_file("/proc/" + std::to_string(pid) + "/stat");
    if (!text) return std::nullopt;
    return process_start_time(*text);
}

// A real directory (lstat: not a link) of uid's that nobody else may enter.
bool is_private_directory(const struct stat& st, uid_t uid) {
    return S_ISDIR(st.st_mode) && st.st_uid == uid && !(st.st_mode & 077);
}

// The directory must be ours alone: a real directory (not a link), owned by us, mode 0700.
// Returns false when it does not exist.
bool check_private_directory(const std::string& dir) {
    struct stat st;
    if (::lstat(dir.c_str(), &st) < 0) {
        if (errno == ENOENT) return false;
        throw SetupError(Stage::State, "stat " + dir + ": " + std::strerror(errno));
    }
    if (!is_private_directory(st, ::geteuid()))
        throw SetupError(Stage::State, dir + " is not a private directory of yours (mode 0700)",
                         "remove it, or set XDG_RUNTIME_DIR to a directory of yours");
    return true;
}

void ensure_private_directory(const std::string& dir) {
    if (::mkdir(dir.c_str(), 0700) < 0 && errno != EEXIST)
        throw SetupError(Stage::State, "mkdir " + dir + ": " + std::strerror(errno),
                         "set XDG_RUNTIME_DIR to a directory of yours (normally /run/user/$UID)");
    check_private_directory(dir);
}

// The entries of the state directory, read once: records (named like sandboxes) and the
// temporaries of starts that wrote one (".NAME.PID.tmp").
struct Listing {
    std::vector<std::string> records, temporaries;
};

Listing list_directory(const std::string& dir) {
    Listing listing;
    std::unique_ptr<DIR, int (*)(DIR*)> handle(::opendir(dir.c_str()), ::closedir);
    if (!handle) return listing;
    while (const dirent* entry = ::readdir(handle.get())) {
        std::string name = entry->d_name;
        if (valid_sandbox_name(name)) listing.records.push_back(name);
        else if (name.size() > 5 && name[0] == '.' && name.compare(name.size() - 4, 4, ".tmp") == 0)
            listing.temporaries.push_back(name);
    }
    return listing;
}

std::vector<std::string> record_names(const std::string& dir) { return list_directory(dir).records; }

// A record is a regular file of ours, never a link, and names itself.
std::optional<StateRecord> read_record(const std::string& dir, const std::string& name) {
    auto text = read_own_file(dir + "/" + name);
    if (!text) return std::nullopt;
    auto record = decode_state_record(*text);
    if (!record || record->name != name) return std::nullopt;
    return record;
}

std::string temporary_name(const std::string& dir, const std::string& name) {
    return dir + "/." + name + "." + std::to_string(::getpid()) + ".tmp";
}

std::uint64_t inode_of(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// Writes the record under a temporary name; returns that file's inode (0 on failure).
std::uint64_t write_temporary(const std::string& temporary, const StateRecord& record) {
    ::unlink(temporary.c_str());
    if (int err = try_create_file(temporary, encode_state_record(record))) {
        errno = err;
        return 0;
    }
    return inode_of(temporary);
}

}  // namespace

std::string state_directory(const std::string& xdg_runtime_dir, const std::string& fallback_runtime_dir) {
    if (!xdg_runtime_dir.empty() && xdg_runtime_dir[0] == '/') return xdg_runtime_dir + "/sandbox";
    if (!fallback_runtime_dir.empty()) return fallback_runtime_dir + "/sandbox";
    return "";
}

std::string private_runtime_dir(unsigned uid) {
    std::string dir = "/run/user/" + std::to_string(uid);
    struct stat st;
    if (::lstat(dir.c_str(), &st) == 0 && is_private_directory(st, uid)) return dir;
    return "";
}

bool supervisor_alive(const StateRecord& record) {
    auto start = start_time_of(record.pid);
    return start && *start == record.pid_start;
}

std::uint64_t own_start_time() { return start_time_of(::getpid()).value_or(0); }

bool record_cgroup_is_valid(const StateRecord& record) {
    const std::string& path = record.cgroup;
    if (path.empty() || path[0] != '/' || record.cgroup_inode == 0) return false;
    if (path.find("/../") != std::string::npos || path.find("/./") != std::string::npos) return false;
    if (path.substr(path.rfind('/') + 1) != cgroup_leaf_name(record.name)) return false;
    struct stat st;
    struct statfs fs;
    if (::lstat(path.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) return false;
    if (st.st_uid != ::geteuid() || st.st_ino != record.cgroup_inode) return false;
    return ::statfs(path.c_str(), &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

// ".NAME.PID.tmp" of a start that died while writing.
void clean_temporary_files(const std::string& dir, const std::vector<std::string>& temporaries) {
    for (const auto& name : temporaries) {
        std::string stem = name.substr(0, name.size() - 4);
        std::string pid = stem.substr(stem.rfind('.') + 1);
        if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos || pid.size() > 9) continue;
        struct stat st;
        if (::stat(("/proc/" + pid).c_str(), &st) < 0 && errno == ENOENT) ::unlink((dir + "/" + name).c_str());
    }
}

void clean_stale_records(const std::string& dir) {
    Listing listing = list_directory(dir);
    clean_temporary_files(dir, listing.temporaries);
    for (const auto& name : listing.records) {
        std::string path = dir + "/" + name;
        auto record = read_record(dir, name);
        if (!record) {
            // A file of ours that is no record (a record being written has a temporary name,
            // which is not a valid sandbox name) would block its name forever: the directory is
            // ours alone, so it goes. Anything else (a link, another owner's file) stays.
            if (read_own_file(path)) ::unlink(path.c_str());
            continue;
        }
        if (supervisor_alive(*record)) continue;
        // Its cgroup is removed only when the record really points at the one it made; a
        // leftover sandbox-NAME is otherwise removed when the name is used again.
        if (record_cgroup_is_valid(*record)) remove_sandbox_cgroup(record->cgroup, record->cgroup_inode, false);
        ::unlink(path.c_str());
    }
}

std::vector<StateRecord> list_running(const std::string& dir) {
    std::vector<StateRecord> out;
    if (dir.empty() || !check_private_directory(dir)) return out;
    for (const auto& name : record_names(dir))
        if (auto record = read_record(dir, name); record && supervisor_alive(*record)) out.push_back(*record);
    return out;
}

std::optional<StateRecord> find_running(const std::string& dir, const std::string& name) {
    if (dir.empty() || !valid_sandbox_name(name) || !check_private_directory(dir)) return std::nullopt;
    auto record = read_record(dir, name);
    if (record && supervisor_alive(*record)) return record;
    return std::nullopt;
}

Registration::Registration(const std::string& dir, const StateRecord& record)
    : dir_(dir), path_(dir + "/" + record.name), record_(record) {
    ensure_private_directory(dir_);
    // One start at a time cleans and claims: a stale record cannot be cleaned by one start
    // after another has claimed its name again.
    UniqueFd lock = lock_directory(dir_, kLockTimeoutMs);
    if (!lock)
        throw SetupError(Stage::State, dir_ + " stayed locked for " + std::to_string(kLockTimeoutMs / 1000) + " s",
                         "another sandbox start holds it; if none runs, a process of yours may hold a lock on it");
    clean_stale_records(dir_);
    std::string temporary = temporary_name(dir_, record.name);
    std::uint64_t inode = write_temporary(temporary, record);
    if (!inode) throw SetupError(Stage::State, "write " + temporary + ": " + std::strerror(errno));
    // link(2) fails if the name exists: the claim and the complete record arrive together.
    int rc = ::link(temporary.c_str(), path_.c_str());
    int err = errno;
    ::unlink(temporary.c_str());
    if (rc == 0) {
        record_inode_ = inode;
        return;
    }
    if (err == EEXIST) {
        auto other = read_record(dir_, record.name);
        if (!other)
            throw SetupError(Stage::State, path_ + " exists but is not a record of yours", "remove it, or choose another --name");
        throw SetupError(Stage::State,
                         "a sandbox named " + record.name + " is already running (supervisor pid " +
                             std::to_string(other->pid) + ")",
                         "choose another name with --name, or see `sandbox ps`");
    }
    throw SetupError(Stage::State, "link " + path_ + ": " + std::strerror(err));
}

void Registration::update(const StateRecord& record) {
    record_ = record;
    std::string temporary = temporary_name(dir_, record.name);
    std::uint64_t inode = write_temporary(temporary, record);
    if (!inode) return;
    if (::rename(temporary.c_str(), path_.c_str()) == 0) record_inode_ = inode;
    else ::unlink(temporary.c_str());
}

Registration::~Registration() {
    // Only our own record: never one that replaced it.
    try {
        UniqueFd lock = lock_directory(dir_, kLockTimeoutMs / 5);  // unlinking by inode is safe without it
        if (inode_of(path_) == record_inode_) ::unlink(path_.c_str());
    } catch (const std::exception&) {
    }
}

}  // namespace sb
