// [desktop] in a profile: what of the user's graphical session a sandboxed app may reach. Plain
// data; desktop/expand.hpp turns it into mounts and environment with the host's facts.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "sys/error.hpp"

namespace sb {

enum class AudioMode { None, Pulse, Pipewire };
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
    SourceLocation where;  // the [desktop] table

    bool any() const { return wayland || x11 || audio != AudioMode::None || gpu || fonts || themes; }
};

}  // namespace sb
