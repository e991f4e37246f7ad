#include "plan/exec_process.hpp"

#include <algorithm>

namespace sb {
namespace {

std::string name_of(const std::string& var) { return var.substr(0, var.find('=')); }

std::string shell_of(const std::vector<std::string>& env) {
    for (const auto& var : env)
        if (var.rfind("SHELL=/", 0) == 0) return var.substr(6);
    return "/bin/sh";
}

}  // namespace

ProcessSpec exec_process(const ProcessSpec& payload, const ControlRequest& request) {
    ProcessSpec process = payload;
    for (const auto& var : request.env) {
        auto same = [&](const std::string& old) { return name_of(old) == name_of(var); };
        process.env.erase(std::remove_if(process.env.begin(), process.env.end(), same), process.env.end());
        process.env.push_back(var);
    }
    std::sort(process.env.begin(), process.env.end());
    process.argv = request.argv.empty() ? std::vector<std::string>{shell_of(process.env)} : request.argv;
    if (!request.cwd.empty()) process.cwd = request.cwd;
    process.terminal_fds = request.terminal_fds & 7u;
    return process;
}

}  // namespace sb
