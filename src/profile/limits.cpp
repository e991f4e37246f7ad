#include "profile/limits.hpp"

#include <cmath>

namespace sb {
namespace {

// The values of one rule: TOML integers as the command line's digits, so the range is checked once
// (parse_limit_text).
std::uint64_t integer_of(const FileParser& p, const char* key, const toml::node& node, LimitValue value,
                         const char* expected) {
    const auto* integer = node.as_integer();
    if (!integer) p.wrong_type(key, node, expected);
    auto parsed = integer->get() < 0 ? std::nullopt : parse_limit_text(value, std::to_string(integer->get()));
    if (!parsed) throw ConfigError(p.at(node), std::string("'") + key + "' must be " + limit_value_expected(value));
    return *parsed;
}

std::uint64_t size_of(const FileParser& p, const char* key, const toml::node& node, bool allow_zero) {
    return p.size_value(node, key, allow_zero, true);
}

std::uint64_t weight_of(const FileParser& p, const char* key, const toml::node& node) {
    return integer_of(p, key, node, LimitValue::Weight, "an integer from 1 to 10000");
}

std::uint64_t cpus_of(const FileParser& p, const char* key, const toml::node& node) {
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
        p.wrong_type(key, node, "a number of CPUs such as 1.5");
    }
    if (!millis)
        throw ConfigError(p.at(node), std::string("'") + key +
                                          "' must be a number of CPUs from 0.01 to 1024 with at most three decimals, such as 1.5");
    return *millis;
}

std::uint64_t count_of(const FileParser& p, const char* key, const toml::node& node) {
    if (const auto* text = node.as_string(); text && text->get() == "max") return kNoLimit;
    return integer_of(p, key, node, LimitValue::Count, "a positive integer or \"max\"");
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

void parse_kind(const FileParser& p, const LimitKind& kind, const toml::node& node, Limits& limits) {
    if (kind.value == LimitValue::CpuList) {
        limits.*kind.text = cpu_list_of(p, kind.key, node);
        return;
    }
    auto& field = limits.*kind.number;
    switch (kind.value) {
        case LimitValue::Size: field = size_of(p, kind.key, node, false); break;
        case LimitValue::SizeOrZero: field = size_of(p, kind.key, node, true); break;
        case LimitValue::Count: field = count_of(p, kind.key, node); break;
        case LimitValue::Weight: field = weight_of(p, kind.key, node); break;
        case LimitValue::Cpus: field = cpus_of(p, kind.key, node); break;
        case LimitValue::CpuList: break;
    }
}

}  // namespace

LimitsLayer parse_limits(const FileParser& p, const toml::table& table) {
    std::vector<const char*> keys;
    for (const auto& kind : limit_kinds()) keys.push_back(kind.key);
    keys.insert(keys.end(), {"io", "enforce", "nested"});
    p.only_keys(table, keys, "[limits]");
    LimitsLayer layer;
    Limits& l = layer.values;
    for (auto&& [key, node] : table) l.where[std::string(key.str())] = p.at(node);
    for (const auto& kind : limit_kinds())
        if (const auto* v = table.get(kind.key)) parse_kind(p, kind, *v, l);
    if (const auto* v = table.get("io")) parse_io(p, *v, l);
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
    for (const auto& kind : limit_kinds()) {
        if (kind.number) take(into.*kind.number, from.*kind.number);
        else take(into.*kind.text, from.*kind.text);
    }
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
