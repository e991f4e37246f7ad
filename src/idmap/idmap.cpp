#include "idmap/idmap.hpp"

#include <algorithm>
#include <sstream>

namespace sb {

static bool parse_u32(const std::string& text, std::uint32_t& out) {
    if (text.empty() || text.size() > 10 || text.find_first_not_of("0123456789") != std::string::npos)
        return false;
    unsigned long long value = std::stoull(text);
    if (value > 0xffffffffULL) return false;
    out = static_cast<std::uint32_t>(value);
    return true;
}

std::optional<SubidRange> find_subid_range(const std::string& text, const std::string& user_name,
                                           std::uint32_t user_id) {
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.empty() || line[0] == '#') continue;
        auto first = line.find(':');
        auto second = line.find(':', first == std::string::npos ? first : first + 1);
        if (first == std::string::npos || second == std::string::npos) continue;
        std::string owner = line.substr(0, first);
        SubidRange range;
        std::string count_text = line.substr(second + 1);
        while (!count_text.empty() && (count_text.back() == ' ' || count_text.back() == '\r'))
            count_text.pop_back();
        if (!parse_u32(line.substr(first + 1, second - first - 1), range.start) ||
            !parse_u32(count_text, range.count) || range.count == 0)
            continue;
        std::uint32_t owner_id = 0;
        bool matches = owner == user_name || (parse_u32(owner, owner_id) && owner_id == user_id);
        if (matches && !owner.empty()) return range;
    }
    return std::nullopt;
}

std::vector<IdMapEntry> compute_id_map(UserMode mode, std::uint32_t own,
                                       const std::optional<SubidRange>& range) {
    std::vector<IdMapEntry> map;
    if (mode == UserMode::Root) {
        map.push_back({0, own, 1});
        if (range) map.push_back({1, range->start, range->count});
        return map;
    }
    // keep-id: the range fills the ids below and above our own.
    std::uint32_t below = range ? std::min(range->count, own) : 0;
    if (below > 0) map.push_back({0, range->start, below});
    map.push_back({own, own, 1});
    if (range && range->count > below)
        map.push_back({own + 1, range->start + below, range->count - below});
    return map;
}

std::vector<IdMapEntry> parse_id_map(const std::string& text) {
    std::vector<IdMapEntry> map;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {  // line by line: a bad one cannot shift the rest
        std::istringstream fields(line);
        std::string inside, outside, count, extra;
        IdMapEntry entry;
        if ((fields >> inside >> outside >> count) && !(fields >> extra) && parse_u32(inside, entry.inside) &&
            parse_u32(outside, entry.outside) && parse_u32(count, entry.count) && entry.count > 0)
            map.push_back(entry);
    }
    return map;
}

std::vector<IdMapEntry> identity_map_within(const std::vector<IdMapEntry>& own, std::uint32_t limit) {
    std::vector<IdMapEntry> ranges = own;
    std::sort(ranges.begin(), ranges.end(), [](const IdMapEntry& a, const IdMapEntry& b) { return a.inside < b.inside; });
    std::vector<IdMapEntry> map;
    std::uint32_t left = limit;
    for (const auto& range : ranges) {
        if (left == 0) break;
        std::uint32_t count = std::min(range.count, left);
        map.push_back({range.inside, range.inside, count});
        left -= count;
    }
    return map;
}

std::uint64_t map_size(const std::vector<IdMapEntry>& map) {
    std::uint64_t size = 0;
    for (const auto& entry : map) size += entry.count;
    return size;
}

bool map_covers(const std::vector<IdMapEntry>& map, std::uint32_t first, std::uint32_t count) {
    std::uint64_t next = first, end = static_cast<std::uint64_t>(first) + count;
    while (next < end) {  // each step moves past one entry that covers `next`
        bool found = false;
        for (const auto& entry : map)
            if (next >= entry.inside && next - entry.inside < entry.count) {
                next = static_cast<std::uint64_t>(entry.inside) + entry.count;
                found = true;
            }
        if (!found) return false;
    }
    return true;
}

bool map_contains(const std::vector<IdMapEntry>& map, std::uint32_t id) {
    for (const auto& entry : map)
        if (id >= entry.inside && id - entry.inside < entry.count) return true;
    return false;
}

std::string render_id_map(const std::vector<IdMapEntry>& map) {
    std::string out;
    for (const auto& e : map)
        out += std::to_string(e.inside) + " " + std::to_string(e.outside) + " " + std::to_string(e.count) + "\n";
    return out;
}

std::string format_id_map(const std::vector<IdMapEntry>& map) {
    std::string out;
    for (const auto& e : map)
        out += (out.empty() ? "" : "; ") + std::to_string(e.inside) + " " + std::to_string(e.outside) + " " +
               std::to_string(e.count);
    return out;
}

std::vector<std::string> id_map_arguments(const std::vector<IdMapEntry>& map) {
    std::vector<std::string> args;
    for (const auto& e : map) {
        args.push_back(std::to_string(e.inside));
        args.push_back(std::to_string(e.outside));
        args.push_back(std::to_string(e.count));
    }
    return args;
}

}  // namespace sb
