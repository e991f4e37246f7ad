// FileParser: reading one profile file's values strictly, with file:line:col errors. Internal
// to the profile module (load.cpp, network.cpp).
#pragma once
#include "profile/toml.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "cgroup/limits.hpp"
#include "profile/profile.hpp"

namespace sb {

class FileParser {
public:
    FileParser(std::string path, Variables vars) : path_(std::move(path)), vars_(std::move(vars)) {}

    SourceLocation at(const toml::source_region& region) const {
        return {path_, static_cast<int>(region.begin.line), static_cast<int>(region.begin.column)};
    }
    SourceLocation at(const toml::node& node) const { return at(node.source()); }

    static const char* type_name(const toml::node& node) {
        switch (node.type()) {
            case toml::node_type::string: return "a string";
            case toml::node_type::integer: return "an integer";
            case toml::node_type::floating_point: return "a float";
            case toml::node_type::boolean: return "a boolean";
            case toml::node_type::array: return "an array";
            case toml::node_type::table: return "a table";
            default: return "a date or time";
        }
    }

    [[noreturn]] void wrong_type(const std::string& key, const toml::node& node,
                                 const char* expected) const {
        throw ConfigError(at(node), "'" + key + "' must be " + expected + ", not " + type_name(node));
    }

    // Rejects keys that are not in `allowed`, at the key's own position.
    void only_keys(const toml::table& table, std::initializer_list<const char*> allowed,
                   const std::string& where_name) const {
        only_keys(table, std::vector<const char*>(allowed), where_name);
    }
    void only_keys(const toml::table& table, const std::vector<const char*>& allowed,
                   const std::string& where_name) const {
        for (auto&& entry : table) {
            const auto& key = entry.first;  // not a structured binding: clang 14 (the fuzzer) cannot capture one
            bool known = std::any_of(allowed.begin(), allowed.end(),
                                     [&](const char* name) { return key.str() == name; });
            if (!known) {
                std::string names;
                for (const char* name : allowed) names += std::string(names.empty() ? "" : ", ") + name;
                throw ConfigError(at(key.source()), "unknown key '" + std::string(key.str()) + "' in " +
                                                        where_name + " (expected one of: " + names + ")");
            }
        }
    }

    std::string string_value(const std::string& key, const toml::node& node) const {
        const auto* value = node.as_string();
        if (!value) wrong_type(key, node, "a string");
        // A "\u0000" would cut a path or a name short where it meets the kernel's C strings.
        if (value->get().find('\0') != std::string::npos)
            throw ConfigError(at(node), "'" + key + "' must not contain a NUL character (\\u0000)");
        return expand_variables(value->get(), vars_, at(node));
    }

    std::string path_value(const std::string& key, const toml::node& node) const {
        std::string raw = string_value(key, node);
        auto normalized = normalize_absolute_path(raw);
        if (!normalized)
            throw ConfigError(at(node), "'" + key + "' must be an absolute path without '..', not \"" +
                                            raw + "\"");
        return *normalized;
    }

    std::vector<std::string> string_list(const std::string& key, const toml::node& node) const {
        const auto* array = node.as_array();
        if (!array) wrong_type(key, node, "an array of strings");
        std::vector<std::string> out;
        for (const auto& item : *array) out.push_back(string_value(key, item));
        return out;
    }

    bool bool_value(const std::string& key, const toml::node& node) const {
        const auto* value = node.as_boolean();
        if (!value) wrong_type(key, node, "a boolean (true or false)");
        return value->get();
    }

    std::uint32_t id_value(const std::string& key, const toml::node& node) const {
        const auto* value = node.as_integer();
        if (!value) wrong_type(key, node, "an integer");
        if (value->get() < 0 || value->get() > 0xfffffffeLL)
            throw ConfigError(at(node), "'" + key + "' must be between 0 and 4294967294");
        return static_cast<std::uint32_t>(value->get());
    }

    unsigned mode_value(const toml::node& node) const {
        long long mode = -1;
        if (const auto* integer = node.as_integer()) {
            // A decimal 755 would silently mean 01363: only TOML's octal form is a mode.
            if (!(integer->flags() & toml::value_flags::format_as_octal))
                throw ConfigError(at(node), "'mode' must be octal: write \"0755\" or 0o755");
            mode = integer->get();
        } else if (const auto* text = node.as_string()) {
            const std::string& digits = text->get();
            if (!digits.empty() && digits.size() <= 4 &&
                digits.find_first_not_of("01234567") == std::string::npos)
                mode = std::stoll(digits, nullptr, 8);
        } else {
            wrong_type("mode", node, "an octal string such as \"0755\"");
        }
        if (mode < 0 || mode > 07777)
            throw ConfigError(at(node), "'mode' must be an octal permission such as \"0755\"");
        return static_cast<unsigned>(mode);
    }

    // The one reading of a size in a profile (tmpfs size, [limits], [rlimits]): an integer of
    // bytes, or a string parse_size takes ("64M", "1T", "512MiB"; "max" where allow_max).
    std::uint64_t size_value(const toml::node& node, const char* key = "size", bool allow_zero = false,
                             bool allow_max = false) const {
        const std::string name = std::string("'") + key + "'";
        const char* positive = allow_zero ? " must be 0 or more" : " must be positive";
        if (const auto* integer = node.as_integer()) {
            if (integer->get() < 0 || (integer->get() == 0 && !allow_zero)) throw ConfigError(at(node), name + positive);
            return static_cast<std::uint64_t>(integer->get());
        }
        const auto* text = node.as_string();
        if (!text) wrong_type(key, node, allow_max ? "a size such as \"512M\", or \"max\"" : "a size such as \"64M\"");
        auto value = parse_size(text->get(), allow_max);
        if (!value)
            throw ConfigError(at(node), name + " must be a size such as \"512M\", \"2G\"" + (allow_max ? " or \"max\"" : "") +
                                            ", not \"" + text->get() + "\"");
        if (*value == 0 && !allow_zero) throw ConfigError(at(node), name + positive);
        return *value;
    }

    const std::string& path() const { return path_; }
    const Variables& vars() const { return vars_; }

private:
    std::string path_;
    Variables vars_;
};

}  // namespace sb
