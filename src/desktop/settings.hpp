// [desktop] in a profile: what of the user's graphical session a sandboxed app may reach. Plain
// data; desktop/expand.hpp turns it into mounts and environment with the host's facts.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "sys/error.hpp"

namespace sb {

enum class AudioMode { None, Pulse, Pipewire };
// The app's home: as the profile's mounts say (Profile), an empty tmpfs, a kept directory of the
// app's own ($XDG_DATA_HOME/sandbox/apps/APP/home), or the host's home read-only.
enum class HomeMode { Profile, Tmpfs, Persistent, Host };
const char* to_string(HomeMode mode);
std::optional<HomeMode> parse_home_mode(const std::string& text);
std::vector<std::string> home_mode_names();
const char* to_string(AudioMode mode);
std::optional<AudioMode> parse_audio_mode(const std::string& text);
std::vector<std::string> audio_mode_names();

struct DesktopSettings {
    bool wayland = false;  // the compositor's socket
    bool x11 = false;      // the display's socket and a cookie for it alone
    AudioMode audio = AudioMode::None;
    bool gpu = false;      // the DRI nodes (and NVIDIA's), with the sysfs they are described in
    bool fonts = false;    // the user's fonts and fontconfig, read-only
    bool themes = false;   // icons, themes, GTK and Qt settings, read-only
    HomeMode home = HomeMode::Profile;
    SourceLocation where;  // the [desktop] table

    bool any() const { return wayland || x11 || audio != AudioMode::None || gpu || fonts || themes || home != HomeMode::Profile; }
};

}  // namespace sb
