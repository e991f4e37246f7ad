#include "cgroup/stats.hpp"

#include <cstdio>
#include <sstream>

#include "cgroup/limits.hpp"

namespace sb {
namespace {

std::optional<std::uint64_t> key(const std::map<std::string, std::uint64_t>& values, const char* name) {
    auto found = values.find(name);
    if (found == values.end()) return std::nullopt;
    return found->second;
}

// io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N" per device; summed.
void add_io_stat(const std::string& text, CgroupStats& stats) {
    std::uint64_t rbytes = 0, wbytes = 0, rios = 0, wios = 0;
    std::istringstream in(text);
    std::string token;
    while (in >> token) {
        auto eq = token.find('=');
        if (eq == std::string::npos) continue;
        auto value = parse_single_value(token.substr(eq + 1));
        if (!value) continue;
        std::string name = token.substr(0, eq);
        if (name == "rbytes") rbytes += *value;
        else if (name == "wbytes") wbytes += *value;
        else if (name == "rios") rios += *value;
        else if (name == "wios") wios += *value;
    }
    stats.io_read_bytes = rbytes;
    stats.io_write_bytes = wbytes;
    stats.io_read_ops = rios;
    stats.io_write_ops = wios;
}

std::string seconds_text(std::uint64_t usec) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.3f s", static_cast<double>(usec) / 1e6);
    return buffer;
}

std::string size_text(std::uint64_t bytes) {
    if (bytes == kNoLimit) return "max";
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double value = static_cast<double>(bytes);
    int unit = 0;
    while (value >= 1024 && unit < 4) {
        value /= 1024;
        ++unit;
    }
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
    return buffer;
}

std::string or_dash(const std::optional<std::uint64_t>& value, std::string (*format)(std::uint64_t)) {
    return value ? format(*value) : "-";
}

std::string plain(std::uint64_t value) { return value == kNoLimit ? "max" : std::to_string(value); }

}  // namespace

std::map<std::string, std::uint64_t> parse_keyed_values(const std::string& text) {
    std::map<std::string, std::uint64_t> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string name, value;
        if (!(fields >> name >> value)) continue;
        if (auto number = parse_single_value(value)) out[name] = *number;
    }
    return out;
}

std::optional<std::uint64_t> parse_single_value(const std::string& text) {
    std::string trimmed = text;
    while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == ' ')) trimmed.pop_back();
    if (trimmed == "max") return kNoLimit;
    if (trimmed.empty() || trimmed.size() > 20 || trimmed.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    try {
        return std::stoull(trimmed);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

CgroupStats collect_stats(const std::function<std::optional<std::string>(const std::string&)>& read) {
    CgroupStats s;
    auto single = [&](const char* file) -> std::optional<std::uint64_t> {
        auto text = read(file);
        return text ? parse_single_value(*text) : std::nullopt;
    };
    if (auto text = read("cpu.stat")) {
        auto values = parse_keyed_values(*text);
        s.cpu_usec = key(values, "usage_usec");
        s.cpu_user_usec = key(values, "user_usec");
        s.cpu_system_usec = key(values, "system_usec");
        s.cpu_throttled_usec = key(values, "throttled_usec");
        s.cpu_nr_throttled = key(values, "nr_throttled");
    }
    s.memory_current = single("memory.current");
    s.memory_peak = single("memory.peak");
    s.memory_max = single("memory.max");
    s.memory_swap_current = single("memory.swap.current");
    if (auto text = read("memory.events")) {
        auto values = parse_keyed_values(*text);
        s.oom_events = key(values, "oom");
        s.oom_kills = key(values, "oom_kill");
    }
    s.pids_current = single("pids.current");
    s.pids_max = single("pids.max");
    if (auto text = read("pids.events")) s.pids_limit_hits = key(parse_keyed_values(*text), "max");
    if (auto text = read("io.stat")) add_io_stat(*text, s);
    if (auto text = read("cgroup.events")) {
        auto values = parse_keyed_values(*text);
        s.frozen = key(values, "frozen").value_or(0) != 0;
        s.populated = key(values, "populated").value_or(0) != 0;
    }
    return s;
}

std::string render_stats_text(const std::string& name, const CgroupStats& s) {
    std::ostringstream out;
    out << "name:            " << name << (s.frozen ? " (paused)" : "") << "\n";
    out << "cpu time:        " << or_dash(s.cpu_usec, seconds_text);
    if (s.cpu_user_usec && s.cpu_system_usec)
        out << " (user " << seconds_text(*s.cpu_user_usec) << ", system " << seconds_text(*s.cpu_system_usec) << ")";
    out << "\n";
    if (s.cpu_throttled_usec)
        out << "cpu throttled:   " << seconds_text(*s.cpu_throttled_usec) << " in "
            << s.cpu_nr_throttled.value_or(0) << " periods\n";
    out << "memory:          " << or_dash(s.memory_current, size_text) << " (peak " << or_dash(s.memory_peak, size_text)
        << ", max " << or_dash(s.memory_max, size_text) << ")\n";
    out << "oom kills:       " << or_dash(s.oom_kills, plain) << "\n";
    out << "pids:            " << or_dash(s.pids_current, plain) << " (max " << or_dash(s.pids_max, plain)
        << ", forks refused at the limit " << or_dash(s.pids_limit_hits, plain) << ")\n";
    out << "io:              read " << or_dash(s.io_read_bytes, size_text) << ", written "
        << or_dash(s.io_write_bytes, size_text) << "\n";
    return out.str();
}

std::string render_stats_json(const std::string& name, const CgroupStats& s) {
    std::ostringstream out;
    bool first = true;
    auto field = [&](const char* key, const std::optional<std::uint64_t>& value) {
        out << (first ? "" : ",") << "\"" << key << "\":";
        first = false;
        if (!value) out << "null";
        else if (*value == kNoLimit) out << "\"max\"";
        else out << *value;
    };
    out << "{\"name\":" << json_string(name) << ",\"paused\":" << (s.frozen ? "true" : "false") << ",";
    field("cpu_usec", s.cpu_usec);
    field("cpu_user_usec", s.cpu_user_usec);
    field("cpu_system_usec", s.cpu_system_usec);
    field("cpu_throttled_usec", s.cpu_throttled_usec);
    field("memory_current", s.memory_current);
    field("memory_peak", s.memory_peak);
    field("memory_max", s.memory_max);
    field("oom_events", s.oom_events);
    field("oom_kills", s.oom_kills);
    field("pids_current", s.pids_current);
    field("pids_max", s.pids_max);
    field("pids_limit_hits", s.pids_limit_hits);
    field("io_read_bytes", s.io_read_bytes);
    field("io_write_bytes", s.io_write_bytes);
    field("io_read_ops", s.io_read_ops);
    field("io_write_ops", s.io_write_ops);
    out << "}\n";
    return out.str();
}

std::string json_string(const std::string& text) {
    std::string out = "\"";
    for (unsigned char c : text) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            case '\r': out += "\\r"; break;
            default:
                if (c < 0x20) {
                    char buffer[8];
                    std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
                    out += buffer;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out + "\"";
}

}  // namespace sb
