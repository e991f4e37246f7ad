// Menu entries that start an app in its sandbox (`sandbox desktop install`): the .desktop file's
// text, per the freedesktop.org Desktop Entry Specification (version 1.4: what Debian 12's
// desktop-file-validate knows). Pure.
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace sb {

struct Launcher {
    std::string name;                // the sandbox's (and the entry's) name
    std::string profile;             // the profile's absolute path
    std::vector<std::string> exec;   // the command the entry runs (sandbox desktop launch NAME PROFILE)
    std::string icon;                // an absolute path, or ""
    std::string title;               // Name=
};

// sandbox-NAME.desktop
std::string launcher_file_name(const std::string& name);

// The Exec= value for `argv`: each argument quoted where the spec reserves a character, '%'
// doubled, then escaped as a string value. Throws UsageError for an argument with a control
// character (no quoting can carry it).
std::string desktop_exec_value(const std::vector<std::string>& argv);

std::string render_launcher(const Launcher& launcher);

// What a launcher file of ours says (X-Sandbox-Name, X-Sandbox-Profile, Name); nullopt when it is
// not one of ours.
std::optional<Launcher> parse_launcher(const std::string& text);

}  // namespace sb
