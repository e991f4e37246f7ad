// [desktop] made into what everything else is: mounts and environment variables, from the
// host's facts (its sockets, cookies, devices, settings). Pure: the facts' functions are the
// only look at the host. Missing pieces are warnings (the app may fall back, as under flatpak),
// never a half-made mount.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "desktop/settings.hpp"
#include "profile/profile.hpp"

namespace sb {

struct HostFacts;

struct DesktopExpansion {
    std::vector<MountSpec> mounts;              // added to the profile's (which win on the same target)
    std::map<std::string, std::string> env;     // set unless the profile sets them
    std::vector<std::string> lines;             // what each item gives, for --dry-run and check
    std::vector<std::string> warnings;          // what was asked for and is not there
    std::string app_home;                       // home = "persistent": the directory to make before the start
};

struct DesktopContext {
    std::string app;       // the app's name: its persistent home is apps/APP/home in the data directory
    NetworkMode network = NetworkMode::None;
    bool abstract_sockets_scoped = false;  // Landlock (ABI 6) keeps the payload off abstract sockets
};

DesktopExpansion expand_desktop(const DesktopSettings& desktop, const HostFacts& facts, const DesktopContext& context);

// The app a profile is: its `name`, else its file's stem (never a --name given to one run).
std::string app_name(const Profile& profile);

// Where apps keep their persistent homes (hidden from every sandbox): DATA/apps.
std::string app_homes_root(const std::string& data_dir);

// The runtime directory inside: the host's $XDG_RUNTIME_DIR path, or /run/user/UID.
std::string sandbox_runtime_dir(const HostFacts& facts);

}  // namespace sb
