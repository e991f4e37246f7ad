#include "state/record.hpp"

#include <cctype>
#include <cstdio>
#include <map>
#include <sstream>

namespace sb {
namespace {

bool name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

std::optional<long long> integer_of(const std::string& text) {
    if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    return std::stoll(text);
}

// Values are one line each: backslash and newline are escaped.
std::string escape(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::optional<std::string> unescape(const std::string& value) {
    std::string out;
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] != '\\') {
            out += value[i];
            continue;
        }
        if (++i == value.size()) return std::nullopt;
        if (value[i] == 'n') out += '\n';
        else if (value[i] == '\\') out += '\\';
        else return std::nullopt;
    }
    return out;
}

}  // namespace

bool valid_sandbox_name(const std::string& name) {
    if (name.empty() || name.size() > 64 || !std::isalnum(static_cast<unsigned char>(name[0]))) return false;
    for (char c : name)
        if (!name_char(c)) return false;
    return true;
}

std::string profile_stem(const std::string& profile_path) {
    std::string stem = profile_path.substr(profile_path.rfind('/') + 1);
    if (stem.size() > 5 && stem.compare(stem.size() - 5, 5, ".toml") == 0) stem.resize(stem.size() - 5);
    return stem;
}

std::string generate_sandbox_name(const std::string& profile_path, std::uint32_t random) {
    std::string stem = profile_stem(profile_path);
    std::string clean;
    for (char c : stem)
        if (name_char(c)) clean += c;
    while (!clean.empty() && !std::isalnum(static_cast<unsigned char>(clean[0]))) clean.erase(0, 1);
    if (clean.size() > 48) clean.resize(48);
    if (clean.empty()) clean = "sandbox";
    char suffix[8];
    std::snprintf(suffix, sizeof suffix, "%06x", random & 0xffffffu);
    return clean + "-" + suffix;
}

std::string encode_state_record(const StateRecord& r) {
    std::ostringstream out;
    out << "name=" << r.name << "\npid=" << r.pid << "\npid_start=" << r.pid_start << "\ninit_pid=" << r.init_pid
        << "\nprofile=" << escape(r.profile) << "\ncgroup=" << escape(r.cgroup) << "\ncgroup_inode=" << r.cgroup_inode << "\ncreated=" << r.created << "\ncommand=" << escape(r.command)
        << "\nkeep=" << (r.keep ? 1 : 0) << "\nexit_code=" << (r.exit_code ? std::to_string(*r.exit_code) : "")
        << "\nfinished=" << r.finished << "\n";
    return out.str();
}

std::optional<StateRecord> decode_state_record(const std::string& text) {
    std::map<std::string, std::string> fields;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        auto eq = line.find('=');
        if (eq == std::string::npos) return std::nullopt;
        fields[line.substr(0, eq)] = line.substr(eq + 1);
    }
    // Fields later versions added, for records an older version wrote.
    fields.emplace("cgroup_inode", "0");
    fields.emplace("command", "");
    fields.emplace("keep", "0");
    fields.emplace("exit_code", "");
    fields.emplace("finished", "0");
    for (const char* key : {"name", "pid", "pid_start", "init_pid", "profile", "cgroup", "cgroup_inode", "created"})
        if (!fields.count(key)) return std::nullopt;
    StateRecord r;
    r.name = fields["name"];
    auto pid = integer_of(fields["pid"]), start = integer_of(fields["pid_start"]),
         init = integer_of(fields["init_pid"]), created = integer_of(fields["created"]),
         inode = integer_of(fields["cgroup_inode"]);
    if (!valid_sandbox_name(r.name) || !pid || !start || !init || !created || !inode || *pid <= 0 || *pid > 0x3fffffff ||
        *init > 0x3fffffff)
        return std::nullopt;
    r.pid = static_cast<int>(*pid);
    r.pid_start = static_cast<std::uint64_t>(*start);
    r.init_pid = static_cast<int>(*init);
    auto profile = unescape(fields["profile"]), cgroup = unescape(fields["cgroup"]);
    if (!profile || !cgroup) return std::nullopt;
    r.profile = *profile;
    r.cgroup = *cgroup;
    if (!r.cgroup.empty() && r.cgroup[0] != '/') return std::nullopt;
    r.created = *created;
    r.cgroup_inode = static_cast<std::uint64_t>(*inode);
    auto command = unescape(fields["command"]);
    auto finished = integer_of(fields["finished"]);
    if (!command || !finished || (fields["keep"] != "0" && fields["keep"] != "1")) return std::nullopt;
    r.command = *command;
    r.keep = fields["keep"] == "1";
    r.finished = *finished;
    if (!fields["exit_code"].empty()) {
        auto code = integer_of(fields["exit_code"]);
        if (!code || *code > 255) return std::nullopt;
        r.exit_code = static_cast<int>(*code);
    }
    return r;
}

std::string display_command(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& word : argv) {
        if (!out.empty()) out += ' ';
        bool plain = !word.empty() && word.find_first_of(" \t\n'\"\\$`") == std::string::npos;
        if (plain) {
            out += word;
            continue;
        }
        out += '\'';
        for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
        out += '\'';
    }
    return out;
}

bool process_exited(const std::string& proc_stat) {
    auto close = proc_stat.rfind(')');
    if (close == std::string::npos || close + 2 >= proc_stat.size()) return false;
    char state = proc_stat[close + 2];
    return state == 'Z' || state == 'X';
}

std::optional<std::uint64_t> process_start_time(const std::string& proc_stat) {
    auto close = proc_stat.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream in(proc_stat.substr(close + 1));
    std::string field;
    // After "pid (comm)", the state is field 3; starttime is field 22.
    for (int index = 3; index <= 22; ++index)
        if (!(in >> field)) return std::nullopt;
    auto value = integer_of(field);
    if (!value) return std::nullopt;
    return static_cast<std::uint64_t>(*value);
}

std::string format_duration(std::int64_t seconds) {
    if (seconds < 0) seconds = 0;
    auto two = [](std::int64_t a, const char* ua, std::int64_t b, const char* ub) {
        std::string out = std::to_string(a) + ua;
        if (b) out += " " + std::to_string(b) + ub;
        return out;
    };
    if (seconds >= 86400) return two(seconds / 86400, "d", seconds % 86400 / 3600, "h");
    if (seconds >= 3600) return two(seconds / 3600, "h", seconds % 3600 / 60, "m");
    if (seconds >= 60) return two(seconds / 60, "m", seconds % 60, "s");
    return std::to_string(seconds) + "s";
}

}  // namespace sb
