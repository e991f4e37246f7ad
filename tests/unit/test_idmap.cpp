// Id maps: /etc/subuid parsing, the maps for root and keep-id, and their renderings.
#include <catch2/catch.hpp>

#include "idmap/idmap.hpp"

using sb::IdMapEntry;
using sb::SubidRange;
using sb::UserMode;
using Map = std::vector<IdMapEntry>;

namespace {

// Catch cannot print optionals of our structs; compare as (start, count).
std::optional<std::pair<std::uint32_t, std::uint32_t>> range_of(const std::string& text,
                                                                 const std::string& name, std::uint32_t id) {
    auto range = sb::find_subid_range(text, name, id);
    if (!range) return std::nullopt;
    return std::make_pair(range->start, range->count);
}

using R = std::optional<std::pair<std::uint32_t, std::uint32_t>>;
R r(std::uint32_t start, std::uint32_t count) { return std::make_pair(start, count); }

}  // namespace

namespace Catch {
template <>
struct StringMaker<IdMapEntry> {
    static std::string convert(const IdMapEntry& e) {
        return "{" + std::to_string(e.inside) + "," + std::to_string(e.outside) + "," + std::to_string(e.count) + "}";
    }
};
}  // namespace Catch

TEST_CASE("find_subid_range: by name and by numeric uid", "[idmap]") {
    const std::string text = "root:10000:5000\nalice:100000:65536\n1001:200000:65536\n";
    CHECK(range_of(text, "alice", 1000) == r(100000, 65536));
    CHECK(range_of(text, "bob", 1001) == r(200000, 65536));
    CHECK(range_of(text, "root", 0) == r(10000, 5000));
    CHECK(range_of(text, "carol", 1002) == std::nullopt);
    CHECK(range_of("", "alice", 1000) == std::nullopt);
}

TEST_CASE("find_subid_range: comments, blank and malformed lines are skipped", "[idmap]") {
    const std::string text =
        "# alice:1:1\n"
        "\n"
        "alice\n"
        "alice:100000\n"
        "alice:x:65536\n"
        "alice:100000:\n"
        "alice:100000:-5\n"
        "alice:-1:10\n"
        "alice:4294967296:10\n"
        "alice:100000:65536:extra\n"
        ":300000:65536\n"
        "alice:400000:65536\n";
    CHECK(range_of(text, "alice", 1000) == r(400000, 65536));
    // An empty owner never matches, even an empty user name.
    CHECK(range_of(":300000:65536\n", "", 1000) == std::nullopt);
}

TEST_CASE("find_subid_range: the first match wins, name or id", "[idmap]") {
    CHECK(range_of("alice:100000:65536\nalice:300000:65536\n", "alice", 1000) == r(100000, 65536));
    CHECK(range_of("1000:500000:10\nalice:100000:65536\n", "alice", 1000) == r(500000, 10));
    CHECK(range_of("alice:100000:65536\n1000:500000:10\n", "alice", 1000) == r(100000, 65536));
}

TEST_CASE("find_subid_range: a zero count is skipped", "[idmap]") {
    CHECK(range_of("alice:100000:0\nalice:200000:1\n", "alice", 1000) == r(200000, 1));
    CHECK(range_of("alice:100000:0\n", "alice", 1000) == std::nullopt);
}

TEST_CASE("find_subid_range: CRLF line ends and no final newline", "[idmap]") {
    CHECK(range_of("bob:1:1\r\nalice:100000:65536\r\n", "alice", 1000) == r(100000, 65536));
    CHECK(range_of("alice:100000:65536", "alice", 1000) == r(100000, 65536));
    CHECK(range_of("alice:4294901760:65535\n", "alice", 1000) == r(4294901760u, 65535));
}

TEST_CASE("find_subid_range: a numeric owner matches only that id", "[idmap]") {
    CHECK(range_of("1000:100000:10\n", "alice", 100) == std::nullopt);
    CHECK(range_of("1000:100000:10\n", "1000", 5) == r(100000, 10));  // a user literally named "1000"
}

TEST_CASE("compute_id_map: root mode", "[idmap]") {
    CHECK(sb::compute_id_map(UserMode::Root, 1000, SubidRange{100000, 65536}) ==
          Map{{0, 1000, 1}, {1, 100000, 65536}});
    CHECK(sb::compute_id_map(UserMode::Root, 1000, std::nullopt) == Map{{0, 1000, 1}});
    CHECK(sb::compute_id_map(UserMode::Root, 0, std::nullopt) == Map{{0, 0, 1}});
}

TEST_CASE("compute_id_map: keep-id mode", "[idmap]") {
    SECTION("own uid inside the range count") {
        CHECK(sb::compute_id_map(UserMode::KeepId, 1000, SubidRange{100000, 65536}) ==
              Map{{0, 100000, 1000}, {1000, 1000, 1}, {1001, 101000, 64536}});
    }
    SECTION("own uid larger than the range count") {
        CHECK(sb::compute_id_map(UserMode::KeepId, 70000, SubidRange{100000, 65536}) ==
              Map{{0, 100000, 65536}, {70000, 70000, 1}});
    }
    SECTION("own uid equal to the range count") {
        CHECK(sb::compute_id_map(UserMode::KeepId, 10, SubidRange{500, 10}) == Map{{0, 500, 10}, {10, 10, 1}});
    }
    SECTION("uid 0") {
        CHECK(sb::compute_id_map(UserMode::KeepId, 0, SubidRange{100000, 65536}) ==
              Map{{0, 0, 1}, {1, 100000, 65536}});
    }
    SECTION("no range: only our own id") {
        CHECK(sb::compute_id_map(UserMode::KeepId, 1000, std::nullopt) == Map{{1000, 1000, 1}});
    }
}

TEST_CASE("compute_id_map: keep-id maps every range id exactly once", "[idmap]") {
    for (std::uint32_t own : {0u, 1u, 999u, 1000u, 65535u, 65536u, 70000u}) {
        INFO("own " << own);
        auto map = sb::compute_id_map(UserMode::KeepId, own, SubidRange{100000, 65536});
        std::uint64_t from_range = 0;
        for (const auto& e : map)
            if (e.inside != own) {
                from_range += e.count;
                CHECK(e.outside >= 100000);
                CHECK(std::uint64_t(e.outside) + e.count <= 100000 + 65536);
            }
        CHECK(from_range == 65536);
        CHECK(sb::map_contains(map, own));
    }
}

TEST_CASE("map_contains", "[idmap]") {
    Map map{{0, 100000, 1000}, {1000, 1000, 1}, {1001, 101000, 64536}};
    CHECK(sb::map_contains(map, 0));
    CHECK(sb::map_contains(map, 999));
    CHECK(sb::map_contains(map, 1000));
    CHECK(sb::map_contains(map, 1001));
    CHECK(sb::map_contains(map, 65536));
    CHECK_FALSE(sb::map_contains(map, 65537));
    CHECK_FALSE(sb::map_contains(map, 4294967295u));
    CHECK_FALSE(sb::map_contains({}, 0));
    Map single{{1000, 1000, 1}};
    CHECK(sb::map_contains(single, 1000));
    CHECK_FALSE(sb::map_contains(single, 999));
    CHECK_FALSE(sb::map_contains(single, 1001));
    CHECK_FALSE(sb::map_contains(single, 0));
    Map top{{4294967290u, 1, 5}};
    CHECK(sb::map_contains(top, 4294967294u));
    CHECK_FALSE(sb::map_contains(top, 4294967295u));
}

TEST_CASE("render_id_map and id_map_arguments", "[idmap]") {
    Map map{{0, 1000, 1}, {1, 100000, 65536}};
    CHECK(sb::render_id_map(map) == "0 1000 1\n1 100000 65536\n");
    CHECK(sb::id_map_arguments(map) == std::vector<std::string>{"0", "1000", "1", "1", "100000", "65536"});
    CHECK(sb::render_id_map({}) == "");
    CHECK(sb::id_map_arguments({}).empty());
    CHECK(sb::render_id_map({{4294967294u, 4294967294u, 1}}) == "4294967294 4294967294 1\n");
}

TEST_CASE("parse_id_map: /proc/self/uid_map lines", "[idmap]") {
    using Map = std::vector<IdMapEntry>;
    CHECK(sb::parse_id_map("         0       1001          1\n         1     100000      65536\n") ==
          Map{{0, 1001, 1}, {1, 100000, 65536}});
    CHECK(sb::parse_id_map("         0          0 4294967295\n") == Map{{0, 0, 4294967295U}});
    CHECK(sb::parse_id_map("").empty());
    CHECK(sb::parse_id_map("0 1001 0\n").empty());  // a zero count
    CHECK(sb::parse_id_map("0 x 1\n").empty());
    // A bad line is skipped whole: it does not shift the lines after it.
    CHECK(sb::parse_id_map("0 0\n1 1000 5\n7 7 7 7\n8 8 8\n") == Map{{1, 1000, 5}, {8, 8, 8}});
}

TEST_CASE("identity_map_within and map_covers", "[idmap]") {
    using Map = std::vector<IdMapEntry>;
    CHECK(sb::identity_map_within({{0, 0, 4294967295U}}, 65536) == Map{{0, 0, 65536}});
    CHECK(sb::identity_map_within({{0, 1001, 1}}, 65536) == Map{{0, 0, 1}});
    CHECK(sb::identity_map_within({{1, 100000, 65536}, {0, 1001, 1}}, 65536) == Map{{0, 0, 1}, {1, 1, 65535}});
    CHECK(sb::identity_map_within({}, 65536).empty());
    CHECK(sb::map_size(Map{{0, 0, 1}, {1, 1, 65535}}) == 65536);
    Map own{{0, 1001, 1}, {1, 100000, 65536}};
    CHECK(sb::map_covers(own, 0, 65537));
    CHECK(sb::map_covers(own, 5, 10));
    CHECK_FALSE(sb::map_covers(own, 0, 65538));
    CHECK_FALSE(sb::map_covers({{0, 1001, 1}, {2, 5, 3}}, 0, 3));  // 1 is missing
    CHECK(sb::map_covers({{0, 0, 4294967295U}}, 100000, 65536));
    CHECK(sb::map_covers(own, 7, 0));
}
