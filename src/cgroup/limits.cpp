#include "cgroup/limits.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string_view>

namespace sb {
namespace {

constexpr std::uint64_t kCpuPeriodUs = 100000;  // cpu.max's period; the kernel's default
constexpr std::uint64_t kMaxCount = 4194304;     // PID_MAX_LIMIT; iops are capped alike

std::string number(std::uint64_t value) { return value == kNoLimit ? "max" : std::to_string(value); }

void add(std::vector<CgroupWrite>& out, const char* controller, const char* file, std::string value,
         std::string shown, const char* key) {
    out.push_back({controller, file, value, std::string(file) + " " + shown, key, {}});
}

// What the row's file gets, and how people see the value.
void add_kind(std::vector<CgroupWrite>& out, const LimitKind& kind, const Limits& limits) {
    if (kind.value == LimitValue::CpuList) {
        if (const auto& text = limits.*kind.text) add(out, kind.controller, kind.file, *text, *text, kind.key);
        return;
    }
    const auto& number_value = limits.*kind.number;
    if (!number_value) return;
    std::uint64_t v = *number_value;
    std::string value = kind.file_prefix + number(v), shown = number(v);
    switch (kind.value) {
        case LimitValue::Size:
        case LimitValue::SizeOrZero: shown = format_size(v); break;
        case LimitValue::Cpus:
            value = std::to_string(v * kCpuPeriodUs / 1000) + " " + std::to_string(kCpuPeriodUs);
            shown = format_cpus(static_cast<std::uint32_t>(v)) + " CPUs";
            break;
        case LimitValue::Count:
        case LimitValue::Weight:
        case LimitValue::CpuList: break;
    }
    add(out, kind.controller, kind.file, value, shown, kind.key);
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

const std::vector<LimitKind>& limit_kinds() {
    using V = LimitValue;
    static const std::vector<LimitKind> kinds = {
        {"memory", V::Size, "memory", "memory.max", &Limits::memory_max},
        {"memory_high", V::Size, "memory", "memory.high", &Limits::memory_high},
        {"memory_swap", V::SizeOrZero, "memory", "memory.swap.max", &Limits::memory_swap, nullptr, "",
         "swap accounting (boot with swapaccount=1)"},
        {"cpus", V::Cpus, "cpu", "cpu.max", &Limits::cpu_millis},
        {"cpu_weight", V::Weight, "cpu", "cpu.weight", &Limits::cpu_weight},
        {"pids", V::Count, "pids", "pids.max", &Limits::pids},
        {"io_weight", V::Weight, "io", "io.weight", &Limits::io_weight, nullptr, "default ",
         "the io cost model (CONFIG_BLK_CGROUP_IOCOST)"},
        {"cpuset", V::CpuList, "cpuset", "cpuset.cpus", nullptr, &Limits::cpuset_cpus},
        {"cpuset_mems", V::CpuList, "cpuset", "cpuset.mems", nullptr, &Limits::cpuset_mems},
    };
    return kinds;
}

const LimitKind* find_limit_kind(const std::string& key) {
    for (const auto& kind : limit_kinds())
        if (key == kind.key) return &kind;
    return nullptr;
}

std::optional<std::uint64_t> parse_limit_text(LimitValue value, const std::string& text) {
    bool digits = !text.empty() && text.size() <= 9 && text.find_first_not_of("0123456789") == std::string::npos;
    switch (value) {
        case LimitValue::Size:
        case LimitValue::SizeOrZero: {
            auto size = parse_size(text, true);
            if (size && *size == 0 && value == LimitValue::Size) return std::nullopt;
            return size;
        }
        case LimitValue::Count:
            if (text == "max") return kNoLimit;
            if (digits && std::stoull(text) >= 1 && std::stoull(text) <= kMaxCount) return std::stoull(text);
            return std::nullopt;
        case LimitValue::Weight:
            if (digits && std::stoull(text) >= 1 && std::stoull(text) <= 10000) return std::stoull(text);
            return std::nullopt;
        case LimitValue::Cpus: return parse_cpus(text);
        case LimitValue::CpuList: break;
    }
    return std::nullopt;
}

const char* limit_value_expected(LimitValue value) {
    switch (value) {
        case LimitValue::Size: return "a size such as 512M, 2G or \"max\"";
        case LimitValue::SizeOrZero: return "a size such as 512M, 2G, 0 or \"max\"";
        case LimitValue::Count: return "a number from 1 to 4194304, or \"max\"";
        case LimitValue::Weight: return "a weight from 1 to 10000 (100 is the default share)";
        case LimitValue::Cpus: return "a number of CPUs from 0.01 to 1024, such as 1.5";
        case LimitValue::CpuList: return "a list of CPUs such as 0-3,6";
    }
    return "";
}

bool Limits::any() const {
    for (const auto& kind : limit_kinds())
        if (kind.number ? (this->*kind.number).has_value() : (this->*kind.text).has_value()) return true;
    return !io.empty();
}

std::vector<CgroupWrite> cgroup_writes(const Limits& limits) {
    std::vector<CgroupWrite> out;
    // cpuset first: the kernel wants cpuset.cpus before anything runs in the cgroup.
    for (const auto& kind : limit_kinds())
        if (std::string_view(kind.controller) == "cpuset") add_kind(out, kind, limits);
    for (const auto& kind : limit_kinds())
        if (std::string_view(kind.controller) != "cpuset") add_kind(out, kind, limits);
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
    auto apply = [&](const char* key, const std::optional<std::string>& text) {
        if (!text) return;
        const LimitKind* kind = find_limit_kind(key);
        auto value = parse_limit_text(kind->value, *text);
        if (!value) throw UsageError(std::string("--") + key + " " + *text + ": expected " + limit_value_expected(kind->value));
        limits.*kind->number = value;
        limits.where[key] = SourceLocation{"command line", 0, 0};
    };
    apply("memory", memory);
    apply("cpus", cpus);
    apply("pids", pids);
}

}  // namespace sb
