// `sandbox desktop install|list|remove`: menu entries in $XDG_DATA_HOME/applications that start
// an app in its sandbox (desktop/launcher.hpp makes their text).
#pragma once
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
int remove_launchers(const HostFacts& facts, const std::vector<std::string>& names);

}  // namespace sb
