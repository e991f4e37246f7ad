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

std::optional<AudioMode> parse_audio_mode(const std::string& text) {
    for (AudioMode mode : {AudioMode::Pulse, AudioMode::Pipewire, AudioMode::None})
        if (text == to_string(mode)) return mode;
    return std::nullopt;
}

}  // namespace sb
