// `sandbox desktop install|list|remove`: menu entries in $XDG_DATA_HOME/applications that start
// an app in its sandbox (desktop/launcher.hpp makes their text).
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace sb {

struct HostFacts;
struct Profile;

// `profile_path` is the profile's file (absolute), `profile` what it says; `name` and `icon` as
// given (may be empty).
int install_launcher(const HostFacts& facts, const std::string& profile_path, const Profile& profile, const std::string& name,
                     const std::string& icon);
int list_launchers(const HostFacts& facts);

// desktop launch: the profile's command with the launcher's ARGs.
std::vector<std::string> launch_command(const Profile& profile, const std::vector<std::string>& args);
// Runs `command` in sandbox `name` when it runs already (exec), as single-instance apps expect,
// and returns its exit code; nullopt when it does not run (then the caller starts it). A
// sandbox of that name from another profile is refused: its policy (and payload) must not get
// this app.
std::optional<int> launch_in_running(const HostFacts& facts, const std::string& name, const std::string& profile_path,
                                     const std::vector<std::string>& command);
int remove_launchers(const HostFacts& facts, const std::vector<std::string>& names);

}  // namespace sb
