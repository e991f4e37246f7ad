#include "profile/limits.hpp"

#include <cmath>

namespace sb {
namespace {

// pids.max cannot exceed the kernel's PID_MAX_LIMIT; iops are capped alike, for one rule.
constexpr long long kMaxCount = 4194304;

std::uint64_t size_of(const FileParser& p, const char* key, const toml::node& node, bool allow_zero) {
    return p.size_value(node, key, allow_zero, true);
}

std::uint32_t weight_of(const FileParser& p, const char* key, const toml::node& node) {
    const auto* integer = node.as_integer();
    if (!integer) p.wrong_type(key, node, "an integer from 1 to 10000");
    if (integer->get() < 1 || integer->get() > 10000)
        throw ConfigError(p.at(node), std::string("'") + key + "' must be from 1 to 10000 (100 is the default share)");
    return static_cast<std::uint32_t>(integer->get());
}

std::uint32_t cpus_of(const FileParser& p, const toml::node& node) {
    std::optional<std::uint32_t> millis;
    if (const auto* integer = node.as_integer()) {
        if (integer->get() >= 1 && integer->get() <= 1024) millis = static_cast<std::uint32_t>(integer->get() * 1000);
    } else if (const auto* real = node.as_floating_point()) {
        double value = real->get();
        // At most three decimals, as in the string form: 0.0149 is not silently 0.015.
        bool in_range = std::isfinite(value) && value >= 0.01 && value <= 1024;
        double thousandths = value * 1000;
        if (in_range && std::fabs(thousandths - static_cast<double>(round_non_negative(thousandths))) < 1e-6)
            millis = static_cast<std::uint32_t>(round_non_negative(thousandths));
    } else if (const auto* text = node.as_string()) {
        millis = parse_cpus(text->get());
    } else {
        p.wrong_type("cpus", node, "a number of CPUs such as 1.5");
    }
    if (!millis)
        throw ConfigError(p.at(node), "'cpus' must be a number of CPUs from 0.01 to 1024 with at most three decimals, such as 1.5");
    return *millis;
}

std::uint64_t count_of(const FileParser& p, const char* key, const toml::node& node) {
    if (const auto* text = node.as_string(); text && text->get() == "max") return kNoLimit;
    const auto* integer = node.as_integer();
    if (!integer) p.wrong_type(key, node, "a positive integer or \"max\"");
    if (integer->get() < 1 || integer->get() > kMaxCount)
        throw ConfigError(p.at(node), std::string("'") + key + "' must be from 1 to " + std::to_string(kMaxCount) + ", or \"max\"");
    return static_cast<std::uint64_t>(integer->get());
}

std::string cpu_list_of(const FileParser& p, const char* key, const toml::node& node) {
    std::string text = p.string_value(key, node);
    if (!valid_cpu_list(text))
        throw ConfigError(p.at(node), std::string("'") + key + "' must be a list such as \"0-3,6\", not \"" + text + "\"");
    return text;
}

IoDeviceLimit parse_io_device(const FileParser& p, const toml::node& node) {
    const auto* table = node.as_table();
    if (!table) p.wrong_type("io", node, "an array of tables ([[limits.io]])");
    p.only_keys(*table, {"device", "read_bps", "write_bps", "read_iops", "write_iops"}, "[[limits.io]]");
    IoDeviceLimit device;
    device.where = p.at(node);
    const auto* path = table->get("device");
    if (!path) throw ConfigError(p.at(node), "[[limits.io]] needs a 'device' (a block device such as \"/dev/sda\")");
    device.device = p.path_value("device", *path);
    device.where = p.at(*path);
    if (const auto* v = table->get("read_bps")) device.read_bps = size_of(p, "read_bps", *v, false);
    if (const auto* v = table->get("write_bps")) device.write_bps = size_of(p, "write_bps", *v, false);
    if (const auto* v = table->get("read_iops")) device.read_iops = count_of(p, "read_iops", *v);
    if (const auto* v = table->get("write_iops")) device.write_iops = count_of(p, "write_iops", *v);
    if (!device.read_bps && !device.write_bps && !device.read_iops && !device.write_iops)
        throw ConfigError(p.at(node), "[[limits.io]] for " + device.device +
                                          " sets no limit (read_bps, write_bps, read_iops or write_iops)");
    return device;
}

void parse_io(const FileParser& p, const toml::node& node, Limits& limits) {
    const auto* array = node.as_array();
    if (!array) p.wrong_type("io", node, "an array of tables ([[limits.io]])");
    for (const auto& item : *array) {
        IoDeviceLimit device = parse_io_device(p, item);
        for (const auto& other : limits.io)
            if (other.device == device.device)
                throw ConfigError(device.where, "conflict: " + device.device + " already has limits at line " +
                                                    std::to_string(other.where.line));
        limits.io.push_back(device);
    }
    limits.where["io"] = p.at(node);
}

}  // namespace

LimitsLayer parse_limits(const FileParser& p, const toml::table& table) {
    p.only_keys(table, {"memory", "memory_high", "memory_swap", "cpus", "cpu_weight", "pids", "io_weight", "io",
                        "cpuset", "cpuset_mems", "enforce", "nested"},
                "[limits]");
    LimitsLayer layer;
    Limits& l = layer.values;
    for (auto&& [key, node] : table) l.where[std::string(key.str())] = p.at(node);
    if (const auto* v = table.get("memory")) l.memory_max = size_of(p, "memory", *v, false);
    if (const auto* v = table.get("memory_high")) l.memory_high = size_of(p, "memory_high", *v, false);
    if (const auto* v = table.get("memory_swap")) l.memory_swap = size_of(p, "memory_swap", *v, true);
    if (const auto* v = table.get("cpus")) l.cpu_millis = cpus_of(p, *v);
    if (const auto* v = table.get("cpu_weight")) l.cpu_weight = weight_of(p, "cpu_weight", *v);
    if (const auto* v = table.get("pids")) l.pids = count_of(p, "pids", *v);
    if (const auto* v = table.get("io_weight")) l.io_weight = weight_of(p, "io_weight", *v);
    if (const auto* v = table.get("io")) parse_io(p, *v, l);
    if (const auto* v = table.get("cpuset")) l.cpuset_cpus = cpu_list_of(p, "cpuset", *v);
    if (const auto* v = table.get("cpuset_mems")) l.cpuset_mems = cpu_list_of(p, "cpuset_mems", *v);
    if (const auto* v = table.get("enforce")) {
        std::string mode = p.string_value("enforce", *v);
        if (mode != "strict" && mode != "best-effort")
            throw ConfigError(p.at(*v), "'enforce' must be \"strict\" or \"best-effort\", not \"" + mode + "\"");
        layer.enforce = mode == "strict" ? Enforce::Strict : Enforce::BestEffort;
    }
    if (const auto* v = table.get("nested")) layer.nested = p.bool_value("nested", *v);
    return layer;
}

void merge_limits(Limits& into, const LimitsLayer& layer) {
    const Limits& from = layer.values;
    auto take = [](auto& to, const auto& value) {
        if (value) to = value;
    };
    take(into.memory_max, from.memory_max);
    take(into.memory_high, from.memory_high);
    take(into.memory_swap, from.memory_swap);
    take(into.cpu_millis, from.cpu_millis);
    take(into.cpu_weight, from.cpu_weight);
    take(into.pids, from.pids);
    take(into.io_weight, from.io_weight);
    take(into.cpuset_cpus, from.cpuset_cpus);
    take(into.cpuset_mems, from.cpuset_mems);
    for (const auto& device : from.io) {
        auto same = std::find_if(into.io.begin(), into.io.end(),
                                 [&](const IoDeviceLimit& d) { return d.device == device.device; });
        if (same != into.io.end()) *same = device;
        else into.io.push_back(device);
    }
    if (layer.enforce) into.enforce = *layer.enforce;
    if (layer.nested) into.nested = *layer.nested;
    for (const auto& [key, where] : from.where) into.where[key] = where;
}

}  // namespace sb
