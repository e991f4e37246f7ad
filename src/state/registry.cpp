#include "state/registry.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "cgroup/sandbox_cgroup.hpp"
#include "sys/error.hpp"
#include "sys/syscalls.hpp"

namespace sb {
namespace {

std::optional<std::uint64_t> start_time_of(int pid) {
    auto text = read_text_file("/proc/" + std::to_string(pid) + "/stat");
    if (!text) return std::nullopt;
    return process_start_time(*text);
}

// The directory must be ours alone: a real directory (not a link), owned by us, mode 0700.
void ensure_private_directory(const std::string& dir) {
    if (::mkdir(dir.c_str(), 0700) < 0 && errno != EEXIST)
        throw SetupError("state", "mkdir " + dir + ": " + std::strerror(errno),
                         "set XDG_RUNTIME_DIR to a directory of yours (normally /run/user/$UID)");
    struct stat st;
    if (::lstat(dir.c_str(), &st) < 0) throw SetupError("state", "stat " + dir + ": " + std::strerror(errno));
    if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 077))
        throw SetupError("state", dir + " is not a private directory of yours (mode 0700)",
                         "remove it, or set XDG_RUNTIME_DIR to a directory of yours");
}

std::vector<std::string> record_names(const std::string& dir) {
    std::vector<std::string> names;
    std::unique_ptr<DIR, int (*)(DIR*)> handle(::opendir(dir.c_str()), ::closedir);
    if (!handle) return names;
    while (const dirent* entry = ::readdir(handle.get())) {
        std::string name = entry->d_name;
        if (valid_sandbox_name(name)) names.push_back(name);
    }
    return names;
}

std::optional<StateRecord> read_record(const std::string& dir, const std::string& name) {
    auto text = read_text_file(dir + "/" + name);
    if (!text) return std::nullopt;
    auto record = decode_state_record(*text);
    if (!record || record->name != name) return std::nullopt;
    return record;
}

std::string temporary_name(const std::string& dir, const std::string& name) {
    return dir + "/." + name + "." + std::to_string(::getpid()) + ".tmp";
}

}  // namespace

std::string state_directory(const std::string& xdg_runtime_dir, unsigned uid) {
    if (!xdg_runtime_dir.empty() && xdg_runtime_dir[0] == '/') return xdg_runtime_dir + "/sandbox";
    return "/tmp/sandbox-" + std::to_string(uid);
}

bool supervisor_alive(const StateRecord& record) {
    auto start = start_time_of(record.pid);
    return start && *start == record.pid_start;
}

std::uint64_t own_start_time() { return start_time_of(::getpid()).value_or(0); }

void clean_stale_records(const std::string& dir) {
    for (const auto& name : record_names(dir)) {
        std::string path = dir + "/" + name;
        auto record = read_record(dir, name);
        if (!record) {
            // A record being written has a temporary name; a malformed one is junk of ours.
            ::unlink(path.c_str());
            continue;
        }
        if (supervisor_alive(*record)) continue;
        bool removed = record->cgroup.empty() || remove_sandbox_cgroup(record->cgroup);
        if (removed) ::unlink(path.c_str());
    }
}

std::vector<StateRecord> list_running(const std::string& dir) {
    std::vector<StateRecord> out;
    for (const auto& name : record_names(dir))
        if (auto record = read_record(dir, name); record && supervisor_alive(*record)) out.push_back(*record);
    return out;
}

std::optional<StateRecord> find_running(const std::string& dir, const std::string& name) {
    if (!valid_sandbox_name(name)) return std::nullopt;
    auto record = read_record(dir, name);
    if (record && supervisor_alive(*record)) return record;
    return std::nullopt;
}

Registration::Registration(const std::string& dir, const StateRecord& record)
    : dir_(dir), path_(dir + "/" + record.name), record_(record) {
    ensure_private_directory(dir_);
    clean_stale_records(dir_);
    std::string temporary = temporary_name(dir_, record.name);
    ::unlink(temporary.c_str());
    if (int err = try_create_file(temporary, encode_state_record(record)))
        throw SetupError("state", "write " + temporary + ": " + std::strerror(err));
    // link(2) fails if the name exists: the claim and the complete record arrive together.
    int rc = ::link(temporary.c_str(), path_.c_str());
    int err = errno;
    ::unlink(temporary.c_str());
    if (rc == 0) return;
    if (err == EEXIST) {
        auto other = read_record(dir_, record.name);
        throw SetupError("state",
                         "a sandbox named " + record.name + " is already running" +
                             (other ? " (supervisor pid " + std::to_string(other->pid) + ")" : ""),
                         "choose another name with --name, or see `sandbox ps`");
    }
    throw SetupError("state", "link " + path_ + ": " + std::strerror(err));
}

void Registration::update(const StateRecord& record) {
    record_ = record;
    std::string temporary = temporary_name(dir_, record.name);
    ::unlink(temporary.c_str());
    if (try_create_file(temporary, encode_state_record(record)) == 0) {
        if (::rename(temporary.c_str(), path_.c_str()) < 0) ::unlink(temporary.c_str());
    }
}

Registration::~Registration() { ::unlink(path_.c_str()); }

}  // namespace sb
