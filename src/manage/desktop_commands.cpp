#include "manage/desktop_commands.hpp"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <iostream>

#include "desktop/expand.hpp"
#include "desktop/launcher.hpp"
#include "exitcode.hpp"
#include "manage/control_client.hpp"
#include "state/registry.hpp"
#include "plan/plan.hpp"
#include "profile/profile.hpp"
#include "state/record.hpp"
#include "sys/error.hpp"
#include "sys/syscalls.hpp"

namespace sb {
namespace {

std::string data_home(const HostFacts& facts) {
    std::string dir = facts.env("XDG_DATA_HOME");
    if (!dir.empty() && dir.front() == '/') return dir;
    if (facts.env("HOME").empty()) throw UsageError("neither XDG_DATA_HOME nor HOME is set: no place for menu entries");
    return facts.env("HOME") + "/.local/share";
}

std::string applications_dir(const HostFacts& facts) { return data_home(facts) + "/applications"; }
std::string icons_dir(const HostFacts& facts) { return data_home(facts) + "/icons"; }

std::string self_path() {
    char path[4096];
    ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0) throw SysError("readlink", "/proc/self/exe", errno);
    return std::string(path, static_cast<std::size_t>(n));
}

// Writes `text` as `name` in `dir` (made 0700 when missing) by a rename over it.
void replace_file(const std::string& dir, const std::string& name, const std::string& text) {
    make_private_dirs(dir);
    UniqueFd at = open_fd(dir, O_RDONLY | O_DIRECTORY);
    std::string temporary = "." + name + ".new";
    ::unlinkat(at.get(), temporary.c_str(), 0);
    if (int error = try_create_file_at(at.get(), temporary, text)) throw SysError("write", dir + "/" + temporary, error);
    check(::renameat(at.get(), temporary.c_str(), at.get(), name.c_str()), "rename", dir + "/" + name);
}

std::string extension_of(const std::string& path) {
    std::size_t dot = path.rfind('.');
    return dot == std::string::npos || path.find('/', dot) != std::string::npos ? "" : path.substr(dot + 1);
}

}  // namespace

int install_launcher(const HostFacts& facts, const std::string& profile_path, const Profile& profile, const std::string& given,
                     const std::string& icon) {
    std::string name = given.empty() ? app_name(profile) : given;
    if (!valid_sandbox_name(name))
        throw UsageError("desktop install: \"" + name + "\" cannot be a sandbox's name\nhint: --name NAME (letters, digits, '.', '_', '-')");
    char resolved[PATH_MAX];
    std::string profile_file = ::realpath(profile_path.c_str(), resolved) ? resolved : profile_path;
    Launcher launcher;
    launcher.name = launcher.title = name;
    launcher.profile = profile_file;
    launcher.exec = {self_path(), "desktop", "launch", name, profile_file};
    if (!icon.empty()) {
        std::string extension = extension_of(icon);
        if (extension != "png" && extension != "svg" && extension != "xpm")
            throw UsageError("desktop install --icon " + icon + ": an icon is a .png, .svg or .xpm file");
        // Never through a link (one planted in a sandbox's home could point at a key), and only
        // what looks like an icon of that kind.
        char resolved[PATH_MAX];
        if (icon.front() != '/' || !::realpath(icon.c_str(), resolved) || icon != resolved)
            throw UsageError("desktop install --icon " + icon + ": give the icon's absolute path, with no symlink on the way");
        ProfileFileText bytes = read_profile_file(icon);  // a regular file, at most 1 MiB
        if (!bytes.text || bytes.text->size() > kMaxProfileFileBytes)
            throw UsageError("desktop install --icon " + icon + ": " + (bytes.text ? "larger than 1 MiB" : bytes.reason()));
        const std::string& head = *bytes.text;
        bool looks = extension == "png"   ? head.rfind("\x89PNG\r\n\x1a\n", 0) == 0
                     : extension == "xpm" ? head.rfind("/* XPM */", 0) == 0
                                          : head.find("<svg") != std::string::npos && head.find('\0') == std::string::npos;
        if (!looks) throw UsageError("desktop install --icon " + icon + ": not a " + extension + " image");
        std::string file = "sandbox-" + name + "." + extension;
        replace_file(icons_dir(facts), file, *bytes.text);
        launcher.icon = icons_dir(facts) + "/" + file;
    }
    replace_file(applications_dir(facts), launcher_file_name(name), render_launcher(launcher));
    std::cout << "sandbox: installed " << applications_dir(facts) << "/" << launcher_file_name(name) << ": " << name
              << " in its sandbox (" << profile_file << ")\n";
    return 0;
}

std::vector<std::string> launch_command(const Profile& profile, const std::vector<std::string>& args) {
    std::vector<std::string> command = profile.command;
    command.insert(command.end(), args.begin(), args.end());
    return command;
}

std::optional<int> launch_in_running(const HostFacts& facts, const std::string& name, const std::string& profile_path,
                                     const std::vector<std::string>& command) {
    auto running = facts.state_dir.empty() ? std::nullopt : find_running(facts.state_dir, name);
    if (!running) return std::nullopt;
    if (facts.resolve_path(running->profile) != facts.resolve_path(profile_path))
        throw UsageError("desktop launch: sandbox " + name + " runs, but of " + running->profile + ", not of " + profile_path +
                         "\nhint: stop it (`sandbox stop " + name + "`), or give this entry another name");
    return exec_in_sandbox(facts, name, ExecOptions{command, {}, "", false});
}

int list_launchers(const HostFacts& facts) {
    std::string dir = applications_dir(facts);
    UniqueFd at = try_open_at(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY);
    std::vector<Launcher> found;
    if (at) {
        for (const auto& file : directory_entries(at.get(), dir)) {
            if (file.rfind("sandbox-", 0) != 0 || extension_of(file) != "desktop") continue;
            ProfileFileText text = read_profile_file(dir + "/" + file);
            if (auto launcher = text.text ? parse_launcher(*text.text) : std::nullopt) found.push_back(*launcher);
        }
    }
    std::sort(found.begin(), found.end(), [](const Launcher& a, const Launcher& b) { return a.name < b.name; });
    std::cout << "NAME                    PROFILE\n";
    for (const auto& launcher : found) {
        std::string name = launcher.name;
        name.resize(std::max<std::size_t>(name.size(), 23), ' ');
        std::cout << name << " " << launcher.profile << "\n";
    }
    return 0;
}

int remove_launchers(const HostFacts& facts, const std::vector<std::string>& names) {
    int code = 0;
    for (const auto& name : names) {
        if (!valid_sandbox_name(name)) throw UsageError("desktop remove: \"" + name + "\" is not a sandbox's name");
        std::string path = applications_dir(facts) + "/" + launcher_file_name(name);
        ProfileFileText text = read_profile_file(path);
        if (!text.text || !parse_launcher(*text.text)) {
            std::cerr << "sandbox: no menu entry of ours named " << name << " (" << path << ")\n";
            code = kExitSetupFailed;
            continue;
        }
        check(::unlink(path.c_str()), "unlink", path);
        for (const char* extension : {"png", "svg", "xpm"}) {
            std::string icon = icons_dir(facts) + "/sandbox-" + name + "." + extension;
            if (::unlink(icon.c_str()) != 0 && errno != ENOENT) throw SysError("unlink", icon, errno);
        }
        std::cout << "sandbox: removed the menu entry " << name << "\n";
    }
    return code;
}

}  // namespace sb
