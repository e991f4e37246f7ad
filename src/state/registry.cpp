#include "state/registry.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
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

// The start time of a live process (a zombie is not: a detached supervisor killed with SIGKILL
// may wait a while for whoever adopted it to reap it).
std::optional<std::uint64_t> start_time_of(int pid) {
    auto text = read_text_file("/proc/" + std::to_string(pid) + "/stat");
    if (!text || process_exited(*text)) return std::nullopt;
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

// The entries of the state directory, read once: sandboxes (named like sandboxes) and the
// temporaries of starts that were claiming a name (".NAME.PID.tmp").
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

constexpr const char* kRecordFile = "record";

// A record is a regular file of ours, never a link, in a directory of ours, and names itself.
std::optional<StateRecord> read_record(const std::string& dir, const std::string& name) {
    UniqueFd directory = open_sandbox_directory(dir, name);
    if (!directory) return std::nullopt;
    auto text = read_own_file_at(directory.get(), kRecordFile);
    if (!text) return std::nullopt;
    auto record = decode_state_record(*text);
    if (!record || record->name != name) return std::nullopt;
    return record;
}

std::string temporary_name(const std::string& name) { return "." + name + "." + std::to_string(::getpid()) + ".tmp"; }

std::uint64_t inode_at(int dirfd, const std::string& name) {
    struct stat st;
    return ::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 ? st.st_ino : 0;
}

// Removes the directory `name` below `parent` with what it holds (files and a socket; nothing
// below is a directory), when it is a directory of ours and, with `inode` non-zero, that one.
// Returns false when it is not.
bool remove_directory(int parent, const std::string& name, std::uint64_t inode) {
    UniqueFd directory = try_open_at(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!directory) return false;
    struct stat st;
    if (::fstat(directory.get(), &st) < 0 || st.st_uid != ::geteuid() || (inode && st.st_ino != inode)) return false;
    UniqueFd listing = open_at(directory.get(), ".", O_RDONLY | O_DIRECTORY);
    std::unique_ptr<DIR, int (*)(DIR*)> handle(::fdopendir(listing.get()), ::closedir);
    if (!handle) return false;
    listing.release();
    while (const dirent* entry = ::readdir(handle.get())) {
        std::string entry_name = entry->d_name;
        if (entry_name == "." || entry_name == "..") continue;
        ::unlinkat(directory.get(), entry_name.c_str(), 0);
    }
    return ::unlinkat(parent, name.c_str(), AT_REMOVEDIR) == 0;
}

// The state directory, opened after checking it is ours alone (invalid when it does not exist).
UniqueFd open_state_directory(const std::string& dir) {
    if (dir.empty() || !check_private_directory(dir)) return UniqueFd();
    return try_open_at(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
}

// The exit code is written before the supervisor answers its waiters and ends: a record that
// has one is exited, whether the supervisor is still winding down or not.
SandboxStatus status_of(const StateRecord& record) {
    if (record.exit_code) return SandboxStatus::Exited;
    return supervisor_alive(record) ? SandboxStatus::Running : SandboxStatus::Gone;
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

// ".NAME.PID.tmp" of a start that died while claiming a name.
void clean_temporary_files(int state, const std::vector<std::string>& temporaries) {
    for (const auto& name : temporaries) {
        std::string stem = name.substr(0, name.size() - 4);
        std::string pid = stem.substr(stem.rfind('.') + 1);
        if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos || pid.size() > 9) continue;
        struct stat st;
        if (::stat(("/proc/" + pid).c_str(), &st) == 0 || errno != ENOENT) continue;
        if (!remove_directory(state, name, 0)) ::unlinkat(state, name.c_str(), 0);
    }
}

void clean_stale_records(const std::string& dir) {
    UniqueFd state = open_state_directory(dir);
    if (!state) return;
    Listing listing = list_directory(dir);
    clean_temporary_files(state.get(), listing.temporaries);
    for (const auto& name : listing.records) {
        auto record = read_record(dir, name);
        if (!record) {
            // Something of ours that is no sandbox's directory (a record of an older version was a
            // file; a directory being claimed has a temporary name) would block its name forever:
            // the state directory is ours alone, so it goes. Anything else (a link, another
            // owner's file) stays.
            if (!remove_directory(state.get(), name, 0) && read_own_file_at(state.get(), name))
                ::unlinkat(state.get(), name.c_str(), 0);
            continue;
        }
        if (status_of(*record) != SandboxStatus::Gone) continue;
        // Its cgroup is removed only when the record really points at the one it made; a
        // leftover sandbox-NAME is otherwise removed when the name is used again.
        if (record_cgroup_is_valid(*record)) remove_sandbox_cgroup(record->cgroup, record->cgroup_inode, false);
        remove_directory(state.get(), name, 0);
    }
}

std::vector<SandboxEntry> list_sandboxes_in(const std::string& dir, bool all) {
    std::vector<SandboxEntry> out;
    if (dir.empty() || !check_private_directory(dir)) return out;
    for (const auto& name : record_names(dir)) {
        auto record = read_record(dir, name);
        if (!record) continue;
        SandboxStatus status = status_of(*record);
        if (all || status == SandboxStatus::Running) out.push_back(SandboxEntry{*record, status});
    }
    return out;
}

std::optional<SandboxEntry> find_sandbox(const std::string& dir, const std::string& name) {
    if (dir.empty() || !valid_sandbox_name(name) || !check_private_directory(dir)) return std::nullopt;
    auto record = read_record(dir, name);
    if (!record) return std::nullopt;
    return SandboxEntry{*record, status_of(*record)};
}

std::optional<StateRecord> find_running(const std::string& dir, const std::string& name) {
    auto entry = find_sandbox(dir, name);
    if (entry && entry->status == SandboxStatus::Running) return entry->record;
    return std::nullopt;
}

UniqueFd open_sandbox_directory(const std::string& dir, const std::string& name) {
    if (dir.empty() || !valid_sandbox_name(name)) return UniqueFd();
    UniqueFd directory = try_open_at(AT_FDCWD, dir + "/" + name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    struct stat st;
    if (!directory || ::fstat(directory.get(), &st) < 0 || !is_private_directory(st, ::geteuid())) return UniqueFd();
    return directory;
}

bool remove_sandbox(const std::string& dir, const std::string& name) {
    UniqueFd state = open_state_directory(dir);
    if (!state) return false;
    UniqueFd lock = lock_directory(dir, kLockTimeoutMs);
    if (!lock) throw SetupError(Stage::State, dir + " stayed locked for " + std::to_string(kLockTimeoutMs / 1000) + " s");
    auto entry = find_sandbox(dir, name);
    if (!entry || entry->status == SandboxStatus::Running) return false;
    if (entry->status == SandboxStatus::Gone && record_cgroup_is_valid(entry->record))
        remove_sandbox_cgroup(entry->record.cgroup, entry->record.cgroup_inode, false);
    return remove_directory(state.get(), name, 0);
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
    UniqueFd state = open_state_directory(dir_);
    if (!state) throw SetupError(Stage::State, "open " + dir_ + ": " + std::strerror(errno));
    // The directory is made under a temporary name with its record, then renamed into place:
    // the claim and the complete record arrive together, and renameat2 refuses an existing name.
    std::string temporary = temporary_name(record.name);
    remove_directory(state.get(), temporary, 0);
    if (::mkdirat(state.get(), temporary.c_str(), 0700) < 0)
        throw SetupError(Stage::State, "mkdir " + dir_ + "/" + temporary + ": " + std::strerror(errno));
    UniqueFd directory = try_open_at(state.get(), temporary, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    int err = directory ? try_create_file_at(directory.get(), kRecordFile, encode_state_record(record)) : errno;
    if (err == 0 && ::renameat2(state.get(), temporary.c_str(), state.get(), record.name.c_str(), RENAME_NOREPLACE) < 0)
        err = errno;
    if (err == 0) {
        directory_ = std::move(directory);
        directory_inode_ = inode_at(state.get(), record.name);
        return;
    }
    remove_directory(state.get(), temporary, 0);
    if (err == EEXIST) {
        auto other = find_sandbox(dir_, record.name);
        if (!other)
            throw SetupError(Stage::State, path_ + " exists but is not a sandbox's record of yours",
                             "remove it, or choose another --name");
        if (other->status == SandboxStatus::Exited)
            throw SetupError(Stage::State, "an exited sandbox named " + record.name + " is kept (exit code " +
                                               std::to_string(*other->record.exit_code) + ")",
                             "remove it with `sandbox rm " + record.name + "`, or choose another --name");
        throw SetupError(Stage::State,
                         "a sandbox named " + record.name + " is already running (supervisor pid " +
                             std::to_string(other->record.pid) + ")",
                         "choose another name with --name, or see `sandbox ps`");
    }
    throw SetupError(Stage::State, "claim " + path_ + ": " + std::strerror(err));
}

void Registration::update(const StateRecord& record) {
    record_ = record;
    std::string temporary = "record." + std::to_string(::getpid()) + ".tmp";
    ::unlinkat(directory_.get(), temporary.c_str(), 0);
    if (try_create_file_at(directory_.get(), temporary, encode_state_record(record)) != 0) return;
    if (::renameat(directory_.get(), temporary.c_str(), directory_.get(), kRecordFile) < 0)
        ::unlinkat(directory_.get(), temporary.c_str(), 0);
}

void Registration::finish(int exit_code) {
    if (!record_.keep) return;
    StateRecord record = record_;
    record.exit_code = exit_code;
    record.finished = ::time(nullptr);
    update(record);
    finished_ = true;
}

Registration::~Registration() {
    if (finished_) return;  // kept, with its exit code, until `sandbox rm`
    // Only our own directory: never one that replaced it.
    try {
        UniqueFd lock = lock_directory(dir_, kLockTimeoutMs / 5);  // removing by inode is safe without it
        UniqueFd state = open_state_directory(dir_);
        if (state) remove_directory(state.get(), record_.name, directory_inode_);
    } catch (const std::exception&) {
    }
}

}  // namespace sb
