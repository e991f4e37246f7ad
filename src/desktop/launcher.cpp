#include "desktop/launcher.hpp"

#include <sstream>

#include "sys/error.hpp"

namespace sb {
namespace {

// The Desktop Entry string escapes: \s \n \t \r \\ (a value holds no control character here).
std::string escape_string(const std::string& text) {
    std::string out;
    for (char c : text) out += c == '\\' ? std::string("\\\\") : std::string(1, c);
    return out;
}

std::string unescape_string(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\' || i + 1 == text.size()) {
            out += text[i];
            continue;
        }
        char next = text[++i];
        out += next == 's' ? ' ' : next == 'n' ? '\n' : next == 't' ? '\t' : next == 'r' ? '\r' : next;
    }
    return out;
}

void refuse_control(const std::string& text, const char* what) {
    for (unsigned char c : text)
        if (c < 0x20 || c == 0x7f)
            throw UsageError(std::string(what) + " holds a control character, which a menu entry cannot carry");
}

}  // namespace

std::string launcher_file_name(const std::string& name) { return "sandbox-" + name + ".desktop"; }

std::string desktop_exec_value(const std::vector<std::string>& argv) {
    static const std::string reserved = " \t\n\"'\\><~|&;$*?#()`";
    std::string line;
    for (const auto& arg : argv) {
        refuse_control(arg, "a word of the command");
        std::string word;
        bool quote = arg.empty() || arg.find_first_of(reserved) != std::string::npos;
        for (char c : arg) {
            if (c == '%') word += "%%";
            else if (quote && (c == '"' || c == '`' || c == '$' || c == '\\')) word += std::string("\\") + c;
            else word += c;
        }
        line += (line.empty() ? "" : " ") + (quote ? "\"" + word + "\"" : word);
    }
    return escape_string(line);
}

std::string render_launcher(const Launcher& launcher) {
    refuse_control(launcher.title, "the title");
    refuse_control(launcher.profile, "the profile's path");
    refuse_control(launcher.icon, "the icon's path");
    std::ostringstream out;
    out << "[Desktop Entry]\n"
        << "Type=Application\n"
        << "Version=1.4\n"
        << "Name=" << escape_string(launcher.title) << "\n"
        << "Comment=" << escape_string(launcher.title + " in a sandbox (" + launcher.profile + ")") << "\n"
        << "Exec=" << desktop_exec_value(launcher.exec) << "\n";
    if (!launcher.icon.empty()) out << "Icon=" << escape_string(launcher.icon) << "\n";
    out << "Terminal=false\n"
        << "Categories=Utility;\n"
        << "X-Sandbox-Name=" << escape_string(launcher.name) << "\n"
        << "X-Sandbox-Profile=" << escape_string(launcher.profile) << "\n";
    return out.str();
}

std::optional<Launcher> parse_launcher(const std::string& text) {
    Launcher launcher;
    std::istringstream in(text);
    std::string line;
    bool in_entry = false;
    while (std::getline(in, line)) {
        if (!line.empty() && line.front() == '[') {
            in_entry = line == "[Desktop Entry]";
            continue;
        }
        if (!in_entry) continue;
        auto eq = line.find('=');
        if (eq == std::string::npos) continue;
        std::string key = line.substr(0, eq), value = unescape_string(line.substr(eq + 1));
        if (key == "X-Sandbox-Name") launcher.name = value;
        else if (key == "X-Sandbox-Profile") launcher.profile = value;
        else if (key == "Name") launcher.title = value;
        else if (key == "Icon") launcher.icon = value;
    }
    if (launcher.name.empty()) return std::nullopt;
    return launcher;
}

}  // namespace sb
