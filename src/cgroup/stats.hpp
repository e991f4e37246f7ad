// What a sandbox's cgroup says about it: parsing the interface files and rendering them for
// `sandbox stats` (text or JSON) and `sandbox ps`. Pure: the files are read by the caller.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace sb {

struct CgroupStats {
    std::optional<std::uint64_t> cpu_usec, cpu_user_usec, cpu_system_usec, cpu_throttled_usec, cpu_nr_throttled;
    std::optional<std::uint64_t> memory_current, memory_peak, memory_max, memory_swap_current;
    std::optional<std::uint64_t> oom_events, oom_kills;
    std::optional<std::uint64_t> pids_current, pids_max, pids_limit_hits;
    std::optional<std::uint64_t> io_read_bytes, io_write_bytes, io_read_ops, io_write_ops;
    bool frozen = false;
    bool populated = false;
};

// "key value" lines (cpu.stat, memory.events, pids.events, cgroup.events).
std::map<std::string, std::uint64_t> parse_keyed_values(const std::string& text);
// A single number, or "max" (-> UINT64_MAX).
std::optional<std::uint64_t> parse_single_value(const std::string& text);

// Reads each interface file through `read` (nullopt when it does not exist: controller off).
CgroupStats collect_stats(const std::function<std::optional<std::string>(const std::string&)>& read);

std::string render_stats_text(const std::string& name, const CgroupStats& stats);
std::string render_stats_json(const std::string& name, const CgroupStats& stats);

// JSON string literal, escaped.
std::string json_string(const std::string& text);

}  // namespace sb
