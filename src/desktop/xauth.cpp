#include "desktop/xauth.hpp"

#include <cctype>

namespace sb {
namespace {

bool read_u16(const std::string& bytes, std::size_t& at, unsigned& value) {
    if (bytes.size() - at < 2) return false;
    value = static_cast<unsigned>(static_cast<unsigned char>(bytes[at])) << 8 | static_cast<unsigned char>(bytes[at + 1]);
    at += 2;
    return true;
}

bool read_field(const std::string& bytes, std::size_t& at, std::string& field) {
    unsigned length;
    if (!read_u16(bytes, at, length) || bytes.size() - at < length) return false;
    field = bytes.substr(at, length);
    at += length;
    return true;
}

void put_u16(std::string& out, std::size_t value) {
    out += static_cast<char>((value >> 8) & 0xff);
    out += static_cast<char>(value & 0xff);
}

void put_field(std::string& out, const std::string& field) {
    put_u16(out, field.size());
    out += field;
}

}  // namespace

std::optional<std::vector<XauthEntry>> parse_xauthority(const std::string& bytes) {
    std::vector<XauthEntry> entries;
    for (std::size_t at = 0; at < bytes.size();) {
        XauthEntry entry;
        if (!read_u16(bytes, at, entry.family) || !read_field(bytes, at, entry.address) ||
            !read_field(bytes, at, entry.number) || !read_field(bytes, at, entry.name) || !read_field(bytes, at, entry.data))
            return std::nullopt;
        entries.push_back(std::move(entry));
    }
    return entries;
}

std::string render_xauthority(const std::vector<XauthEntry>& entries) {
    std::string out;
    for (const auto& entry : entries) {
        put_u16(out, entry.family);
        put_field(out, entry.address);
        put_field(out, entry.number);
        put_field(out, entry.name);
        put_field(out, entry.data);
    }
    return out;
}

std::optional<XauthEntry> cookie_for_display(const std::vector<XauthEntry>& entries, const std::string& number,
                                             const std::string& hostname) {
    for (const auto& entry : entries) {
        if (entry.number != number || entry.data.empty()) continue;
        if (entry.family == kXauthFamilyWild || (entry.family == kXauthFamilyLocal && entry.address == hostname))
            return entry;
    }
    return std::nullopt;  // another host's cookie is for another host's display
}

std::optional<std::string> local_display_number(const std::string& display) {
    std::string rest;
    if (display.rfind(":", 0) == 0) rest = display.substr(1);
    else if (display.rfind("unix:", 0) == 0) rest = display.substr(5);
    else return std::nullopt;
    std::string number = rest.substr(0, rest.find('.'));
    if (number.empty() || number.size() > 9) return std::nullopt;
    for (char c : number)
        if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    return number;
}

}  // namespace sb
