// newuidmap/newgidmap are the distro's setuid helpers; they check /etc/subuid themselves. We
// run them with an empty environment and collect their stderr for the error message.
#include "idmap/write_maps.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>

#include "sys/child_process.hpp"
#include "sys/error.hpp"
#include "sys/hints.hpp"
#include "sys/syscalls.hpp"

namespace sb {
namespace {

std::string read_all(int fd) {
    std::string out;
    char buffer[512];
    ssize_t n;
    while ((n = ::read(fd, buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0) out.append(buffer, static_cast<std::size_t>(n));
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

// A started newuidmap/newgidmap; both run at once (each is a setuid exec costing ~1 ms).
struct MapHelper {
    std::string command;
    UniqueFd output;
    ChildProcess process;  // killed and reaped if we leave early (the other helper failed to start)
};

MapHelper start_map_helper(const std::string& helper, pid_t child, const std::vector<IdMapEntry>& map) {
    std::vector<std::string> args{helper, std::to_string(child)};
    for (auto& arg : id_map_arguments(map)) args.push_back(arg);
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    MapHelper started;
    for (const auto& arg : args) started.command += (started.command.empty() ? "" : " ") + arg;
    UniqueFd write_end;
    started.output = make_pipe_end_pair(write_end);
    // A plain fork, not posix_spawn: vfork would hold us until the helper's exec is done, so
    // the second helper would start only after the first one's (slow, setuid) exec.
    char* empty_env[] = {nullptr};
    const std::string install = " (" + hint(Cause::IdHelpersMissing) + ")";  // made before the fork
    pid_t pid = ::fork();
    if (pid < 0) throw SysError("fork", helper, errno, errno == EAGAIN ? hint(Cause::TooManyProcesses) : "");
    if (pid == 0) {
        ::dup2(write_end.get(), STDERR_FILENO);
        ::execve(helper.c_str(), argv.data(), empty_env);
        std::fprintf(stderr, "cannot execute %s: %s%s", helper.c_str(), std::strerror(errno),
                     errno == ENOENT ? install.c_str() : "");
        ::_exit(127);
    }
    started.process = ChildProcess(pid);
    return started;
}

void finish_map_helper(MapHelper& helper) {
    std::string output = read_all(helper.output.get());
    int status = helper.process.wait();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw SetupError(Stage::IdMap, helper.command + " failed" + (output.empty() ? "" : ": " + output),
                         hint(Cause::BadSubordinateRanges));
}

void write_proc_file(pid_t child, const char* name, const std::string& text) {
    std::string path = "/proc/" + std::to_string(child) + "/" + name;
    try {
        UniqueFd fd = open_fd(path, O_WRONLY);
        write_all(fd.get(), text, path.c_str());
    } catch (const SysError& error) {
        throw SetupError(Stage::IdMap, error.what(), "the kernel refused the map; is another tool holding it?");
    }
}

}  // namespace

struct IdMapWriter::Helpers {
    MapHelper uid, gid;
};

IdMapWriter::IdMapWriter(pid_t child, const IdMapping& ids) {
    switch (ids.writer) {
        case MapWriter::NewIdMap: {
            MapHelper uid = start_map_helper(ids.uid_helper, child, ids.uid_map);
            MapHelper gid = start_map_helper(ids.gid_helper, child, ids.gid_map);
            helpers_ = std::make_unique<Helpers>(Helpers{std::move(uid), std::move(gid)});
            return;
        }
        case MapWriter::SingleId:
            // Without CAP_SETGID in the parent namespace, a gid map needs setgroups denied.
            write_proc_file(child, "setgroups", "deny");
            [[fallthrough]];
        case MapWriter::Direct:
            write_proc_file(child, "uid_map", render_id_map(ids.uid_map));
            write_proc_file(child, "gid_map", render_id_map(ids.gid_map));
            return;
    }
}

IdMapWriter::~IdMapWriter() = default;  // MapHelper's ChildProcess kills and reaps

void IdMapWriter::finish() {
    if (!helpers_) return;
    // Wait for both before reporting either: one helper's failure says nothing of the other.
    std::exception_ptr failure;
    for (MapHelper* helper : {&helpers_->uid, &helpers_->gid}) {
        try {
            finish_map_helper(*helper);
        } catch (...) {
            if (!failure) failure = std::current_exception();
        }
    }
    helpers_.reset();
    if (failure) std::rethrow_exception(failure);
}

}  // namespace sb
