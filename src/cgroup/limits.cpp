#include "cgroup/limits.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace sb {
namespace {

constexpr std::uint64_t kCpuPeriodUs = 100000;  // cpu.max's period; the kernel's default

std::string number(std::uint64_t value) { return value == kNoLimit ? "max" : std::to_string(value); }

void add(std::vector<CgroupWrite>& out, const char* controller, const char* file, std::string value,
         std::string shown, const char* key) {
    out.push_back({controller, file, value, std::string(file) + " " + shown, key, {}});
}

std::string io_max_value(const IoDeviceLimit& device) {
    std::string value = device.number;
    auto field = [&](const char* name, const std::optional<std::uint64_t>& limit) {
        if (limit) value += std::string(" ") + name + "=" + number(*limit);
    };
    field("rbps", device.read_bps);
    field("wbps", device.write_bps);
    field("riops", device.read_iops);
    field("wiops", device.write_iops);
    return value;
}

}  // namespace

const char* to_string(Enforce enforce) { return enforce == Enforce::Strict ? "strict" : "best-effort"; }

bool Limits::any() const {
    return memory_max || memory_high || memory_swap || cpu_millis || cpu_weight || pids || io_weight ||
           !io.empty() || cpuset_cpus || cpuset_mems;
}

std::vector<CgroupWrite> cgroup_writes(const Limits& limits) {
    std::vector<CgroupWrite> out;
    if (limits.cpuset_cpus) add(out, "cpuset", "cpuset.cpus", *limits.cpuset_cpus, *limits.cpuset_cpus, "cpuset");
    if (limits.cpuset_mems) add(out, "cpuset", "cpuset.mems", *limits.cpuset_mems, *limits.cpuset_mems, "cpuset_mems");
    if (limits.memory_max)
        add(out, "memory", "memory.max", number(*limits.memory_max), format_size(*limits.memory_max), "memory");
    if (limits.memory_high)
        add(out, "memory", "memory.high", number(*limits.memory_high), format_size(*limits.memory_high), "memory_high");
    if (limits.memory_swap)
        add(out, "memory", "memory.swap.max", number(*limits.memory_swap), format_size(*limits.memory_swap), "memory_swap");
    if (limits.cpu_millis) {
        std::uint64_t quota = *limits.cpu_millis * kCpuPeriodUs / 1000;
        add(out, "cpu", "cpu.max", std::to_string(quota) + " " + std::to_string(kCpuPeriodUs),
            format_cpus(*limits.cpu_millis) + " CPUs", "cpus");
    }
    if (limits.cpu_weight)
        add(out, "cpu", "cpu.weight", std::to_string(*limits.cpu_weight), std::to_string(*limits.cpu_weight), "cpu_weight");
    if (limits.pids) add(out, "pids", "pids.max", number(*limits.pids), number(*limits.pids), "pids");
    if (limits.io_weight)
        add(out, "io", "io.weight", "default " + std::to_string(*limits.io_weight), std::to_string(*limits.io_weight), "io_weight");
    for (const auto& device : limits.io) {
        std::string value = io_max_value(device);
        add(out, "io", "io.max", value, device.device + " " + value.substr(value.find(' ') + 1), "io");
    }
    return out;
}

std::set<std::string> controllers_needed(const std::vector<CgroupWrite>& writes) {
    std::set<std::string> out;
    for (const auto& write : writes) out.insert(write.controller);
    return out;
}

std::optional<std::uint64_t> parse_size(const std::string& text, bool allow_max) {
    if (allow_max && text == "max") return kNoLimit;
    std::size_t digits = text.find_first_not_of("0123456789");
    if (digits == std::string::npos) digits = text.size();
    if (digits == 0 || digits > 15) return std::nullopt;
    std::string suffix = text.substr(digits);
    if (suffix.size() == 2 && (suffix[1] == 'B' || suffix[1] == 'b')) suffix.pop_back();  // "512MB"
    if (suffix.size() == 3 && suffix.compare(1, 2, "iB") == 0) suffix.resize(1);      // "512MiB"
    int shift = suffix.empty() ? 0 : -1;
    if (suffix.size() == 1) {
        switch (std::toupper(static_cast<unsigned char>(suffix[0]))) {
            case 'K': shift = 10; break;
            case 'M': shift = 20; break;
            case 'G': shift = 30; break;
            case 'T': shift = 40; break;
            default: break;
        }
    }
    if (shift < 0) return std::nullopt;
    std::uint64_t value = std::stoull(text.substr(0, digits));
    if (value > (kNoLimit >> shift) >> 1) return std::nullopt;
    return value << shift;
}

std::string format_size(std::uint64_t bytes) {
    if (bytes == kNoLimit) return "max";
    const char* units[] = {"", "K", "M", "G", "T"};
    int unit = 0;
    while (unit < 4 && bytes != 0 && bytes % 1024 == 0) {
        bytes /= 1024;
        ++unit;
    }
    return std::to_string(bytes) + units[unit];
}

std::optional<std::uint32_t> parse_cpus(const std::string& text) {
    if (text.empty() || text.find_first_not_of("0123456789.") != std::string::npos) return std::nullopt;
    auto dot = text.find('.');
    if (dot != std::string::npos && (text.find('.', dot + 1) != std::string::npos || dot + 1 == text.size()))
        return std::nullopt;
    std::string whole = text.substr(0, dot);
    std::string fraction = dot == std::string::npos ? "" : text.substr(dot + 1);
    if (whole.size() > 5 || fraction.size() > 3) return std::nullopt;
    while (fraction.size() < 3) fraction += '0';
    std::uint32_t millis = static_cast<std::uint32_t>((whole.empty() ? 0 : std::stoul(whole)) * 1000 + std::stoul(fraction));
    if (millis < 10 || millis > 1024 * 1000) return std::nullopt;
    return millis;
}

std::string format_cpus(std::uint32_t millis) {
    std::string out = std::to_string(millis / 1000);
    std::uint32_t rest = millis % 1000;
    if (rest) {
        std::string fraction = std::to_string(rest);
        fraction.insert(0, 3 - fraction.size(), '0');
        while (fraction.back() == '0') fraction.pop_back();
        out += "." + fraction;
    }
    return out;
}

bool valid_cpu_list(const std::string& text) {
    if (text.empty()) return false;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find(',', start);
        if (end == std::string::npos) end = text.size();
        std::string item = text.substr(start, end - start);
        std::size_t dash = item.find('-');
        auto is_number = [](const std::string& s) {
            return !s.empty() && s.size() <= 5 && s.find_first_not_of("0123456789") == std::string::npos;
        };
        if (dash == std::string::npos) {
            if (!is_number(item)) return false;
        } else {
            std::string low = item.substr(0, dash), high = item.substr(dash + 1);
            if (!is_number(low) || !is_number(high) || std::stoul(low) > std::stoul(high)) return false;
        }
        start = end + 1;
    }
    return true;
}

void apply_limit_overrides(Limits& limits, const std::optional<std::string>& memory,
                           const std::optional<std::string>& cpus, const std::optional<std::string>& pids) {
    SourceLocation command_line{"command line", 0, 0};
    if (memory) {
        auto value = parse_size(*memory, true);
        if (!value || *value == 0)
            throw UsageError("--memory " + *memory + ": expected a size such as 512M, 2G or max");
        limits.memory_max = value;
        limits.where["memory"] = command_line;
    }
    if (cpus) {
        auto value = parse_cpus(*cpus);
        if (!value) throw UsageError("--cpus " + *cpus + ": expected a number of CPUs from 0.01 to 1024, such as 1.5");
        limits.cpu_millis = value;
        limits.where["cpus"] = command_line;
    }
    if (pids) {
        bool digits = !pids->empty() && pids->size() <= 9 && pids->find_first_not_of("0123456789") == std::string::npos;
        if (*pids == "max") limits.pids = kNoLimit;
        else if (digits && std::stoul(*pids) > 0 && std::stoul(*pids) <= 4194304) limits.pids = std::stoul(*pids);
        else throw UsageError("--pids " + *pids + ": expected a number of processes from 1 to 4194304, or max");
        limits.where["pids"] = command_line;
    }
}

}  // namespace sb
