// newuidmap/newgidmap are the distro's setuid helpers; they check /etc/subuid themselves. We
// run them with an empty environment and collect their stderr for the error message.
#include "idmap/write_maps.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sys/error.hpp"
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

void run_map_helper(const std::string& helper, pid_t child, const std::vector<IdMapEntry>& map) {
    std::vector<std::string> args{helper, std::to_string(child)};
    for (auto& arg : id_map_arguments(map)) args.push_back(arg);
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    UniqueFd write_end;
    UniqueFd read_end = make_pipe_end_pair(write_end);
    pid_t pid = ::fork();
    check(pid, "fork", helper);
    if (pid == 0) {
        ::dup2(write_end.get(), STDERR_FILENO);
        char* empty_env[] = {nullptr};
        ::execve(helper.c_str(), argv.data(), empty_env);
        std::fprintf(stderr, "cannot execute %s: %s", helper.c_str(), std::strerror(errno));
        ::_exit(127);
    }
    write_end.reset();
    std::string output = read_all(read_end.get());
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::string command = helper;
        for (std::size_t i = 1; i < args.size(); ++i) command += " " + args[i];
        throw SetupError("id map", command + " failed" + (output.empty() ? "" : ": " + output),
                         "check your ranges in /etc/subuid and /etc/subgid (one line per user, no "
                         "duplicates) and that " + helper + " is setuid root (package uidmap)");
    }
}

void write_proc_file(pid_t child, const char* name, const std::string& text) {
    std::string path = "/proc/" + std::to_string(child) + "/" + name;
    try {
        UniqueFd fd = open_fd(path, O_WRONLY);
        write_all(fd.get(), text, path.c_str());
    } catch (const SysError& error) {
        throw SetupError("id map", error.what(), "the kernel refused the map; is another tool holding it?");
    }
}

}  // namespace

void write_id_maps_from_parent(pid_t child, const IdMapping& ids) {
    switch (ids.writer) {
        case MapWriter::NewIdMap:
            run_map_helper(ids.uid_helper, child, ids.uid_map);
            run_map_helper(ids.gid_helper, child, ids.gid_map);
            return;
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

}  // namespace sb
