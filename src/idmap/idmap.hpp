// Id maps for the sandbox's user namespace. Pure: parsing /etc/subuid text and computing the
// map lines from the user mode, the caller's ids and the subordinate range.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>


namespace sb {

// root: inside uid 0 is the caller; keep-id: the caller keeps its uid inside.
enum class UserMode { Root, KeepId };

struct SubidRange {
    std::uint32_t start = 0;
    std::uint32_t count = 0;
};

// One line of /proc/PID/uid_map: inside-id outside-id count.
struct IdMapEntry {
    std::uint32_t inside = 0;
    std::uint32_t outside = 0;
    std::uint32_t count = 0;
    bool operator==(const IdMapEntry&) const = default;
};

// The first range in /etc/subuid-format text for the user, matched by name or by numeric id.
// Malformed lines are ignored, as shadow-utils does.
std::optional<SubidRange> find_subid_range(const std::string& text, const std::string& user_name,
                                           std::uint32_t user_id);

// How the maps get written.
enum class MapWriter {
    NewIdMap,   // newuidmap/newgidmap with the subordinate range (the normal rootless case)
    SingleId,   // fallback: only the caller's own id, written directly, setgroups denied
    Direct,     // invoked by root: the full map is written directly
};

struct IdMapping {
    MapWriter writer = MapWriter::SingleId;
    std::string uid_helper, gid_helper;  // paths of newuidmap/newgidmap (NewIdMap only)
    std::vector<IdMapEntry> uid_map, gid_map;
};

// Maps one id kind. `own` is the caller's uid (or gid); `range` the subordinate range, if any.
//   root:    inside 0 = own, 1..count = the range
//   keep-id: inside own = own; 0..own-1 and own+1.. from the range (as podman's keep-id)
// Without a range, only `own` is mapped (to 0 in root mode, to itself in keep-id mode).
std::vector<IdMapEntry> compute_id_map(UserMode mode, std::uint32_t own,
                                       const std::optional<SubidRange>& range);

// The lines of /proc/self/uid_map (or gid_map): which ids exist in our own user namespace.
// Malformed lines are skipped.
std::vector<IdMapEntry> parse_id_map(const std::string& text);

// For root: the first `limit` ids that exist in our own user namespace (`own`, our uid_map),
// each mapped onto itself. Outside the initial namespace, root may map only those: a map of
// 0..65535 in a namespace made by `unshare -r` (where only 0 exists) is refused.
std::vector<IdMapEntry> identity_map_within(const std::vector<IdMapEntry>& own, std::uint32_t limit);

// The number of ids a map covers.
std::uint64_t map_size(const std::vector<IdMapEntry>& map);

// True when every id of first .. first+count-1 (inside) is covered by the map.
bool map_covers(const std::vector<IdMapEntry>& map, std::uint32_t first, std::uint32_t count);

// True when `id` (inside) is covered by the map.
bool map_contains(const std::vector<IdMapEntry>& map, std::uint32_t id);

// "0 1000 1\n1 100000 65536\n": the text written to /proc/PID/uid_map.
std::string render_id_map(const std::vector<IdMapEntry>& map);

// One line for people: "0 1000 1; 1 100000 65536".
std::string format_id_map(const std::vector<IdMapEntry>& map);

// Arguments for newuidmap/newgidmap after the pid: "0 1000 1 1 100000 65536".
std::vector<std::string> id_map_arguments(const std::vector<IdMapEntry>& map);

}  // namespace sb
