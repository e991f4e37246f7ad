// Xauthority files (libXau's format): the cookie of one display, for a sandbox. Pure.
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace sb {

struct XauthEntry {
    unsigned family = 0;  // 256 FamilyLocal (address: a hostname), 65535 FamilyWild, 0 Internet, ...
    std::string address, number, name, data;
};

constexpr unsigned kXauthFamilyLocal = 256;
constexpr unsigned kXauthFamilyWild = 65535;

// The entries of an Xauthority file; nullopt when it is not one (cut short).
std::optional<std::vector<XauthEntry>> parse_xauthority(const std::string& bytes);
std::string render_xauthority(const std::vector<XauthEntry>& entries);

// The cookie of local display `number` ("0" for ":0"): an entry of this host (`hostname`) or a
// wildcard one; nullopt when there is none (another host's entry is never taken).
std::optional<XauthEntry> cookie_for_display(const std::vector<XauthEntry>& entries, const std::string& number,
                                             const std::string& hostname);

// The display number of a DISPLAY value for a local display (":0", ":1.0", "unix:2"); nullopt
// for a display over TCP ("host:0") or a malformed value.
std::optional<std::string> local_display_number(const std::string& display);

}  // namespace sb
