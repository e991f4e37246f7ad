#include "desktop/settings.hpp"

namespace sb {

const char* to_string(AudioMode mode) {
    switch (mode) {
        case AudioMode::Pulse: return "pulse";
        case AudioMode::Pipewire: return "pipewire";
        case AudioMode::None: break;
    }
    return "none";
}

std::vector<std::string> audio_mode_names() { return {"pulse", "pipewire", "none"}; }

const char* to_string(HomeMode mode) {
    switch (mode) {
        case HomeMode::Tmpfs: return "tmpfs";
        case HomeMode::Persistent: return "persistent";
        case HomeMode::Host: return "host";
        case HomeMode::Profile: break;
    }
    return "profile";
}

std::vector<std::string> home_mode_names() { return {"tmpfs", "persistent", "host", "profile"}; }

std::optional<HomeMode> parse_home_mode(const std::string& text) {
    for (HomeMode mode : {HomeMode::Tmpfs, HomeMode::Persistent, HomeMode::Host, HomeMode::Profile})
        if (text == to_string(mode)) return mode;
    return std::nullopt;
}

std::optional<AudioMode> parse_audio_mode(const std::string& text) {
    for (AudioMode mode : {AudioMode::Pulse, AudioMode::Pipewire, AudioMode::None})
        if (text == to_string(mode)) return mode;
    return std::nullopt;
}

}  // namespace sb
