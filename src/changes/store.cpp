#include "changes/store.hpp"

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace sb {

using ordered_json = nlohmann::ordered_json;

std::string render_change_set_meta(const ChangeSetMeta& meta) {
    ordered_json doc;
    doc["version"] = 1;
    doc["name"] = meta.name;
    doc["created"] = meta.created;
    doc["base"] = {{"sec", meta.base_sec}, {"nsec", meta.base_nsec}};
    doc["protect"] = meta.protect;
    ordered_json mounts = ordered_json::array();
    for (const auto& mount : meta.mounts)
        mounts.push_back({{"target", mount.target}, {"source", mount.source}, {"lower", mount.lower}});
    doc["mounts"] = mounts;
    return doc.dump(2) + "\n";
}

namespace {

const ordered_json& field(const ordered_json& object, const char* key, ordered_json::value_t type) {
    auto found = object.find(key);
    if (found == object.end()) throw std::runtime_error(std::string("no \"") + key + "\"");
    bool ok = found->type() == type ||
              (type == ordered_json::value_t::number_integer && found->is_number_unsigned());
    if (!ok) throw std::runtime_error(std::string("\"") + key + "\" has the wrong type");
    return *found;
}

std::string absolute_path(const ordered_json& value, const char* what) {
    if (!value.is_string()) throw std::runtime_error(std::string(what) + " is not a string");
    std::string path = value.get<std::string>();
    if (path.empty() || path[0] != '/' || path.find('\0') != std::string::npos)
        throw std::runtime_error(std::string(what) + " is not an absolute path");
    return path;
}

}  // namespace

ChangeSetMeta parse_change_set_meta(const std::string& text) {
    ordered_json doc = ordered_json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) throw std::runtime_error("not a JSON object");
    using T = ordered_json::value_t;
    const auto& version = field(doc, "version", T::number_integer);
    if (!version.is_number_integer() || version.get<std::int64_t>() != 1 || (version.is_number_unsigned() && version.get<std::uint64_t>() != 1))
        throw std::runtime_error("unknown version");
    ChangeSetMeta meta;
    meta.name = field(doc, "name", T::string).get<std::string>();
    meta.created = field(doc, "created", T::number_integer).get<std::int64_t>();
    const auto& base = field(doc, "base", T::object);
    meta.base_sec = field(base, "sec", T::number_integer).get<std::int64_t>();
    meta.base_nsec = field(base, "nsec", T::number_integer).get<std::int64_t>();
    for (const auto& pattern : field(doc, "protect", T::array)) {
        if (!pattern.is_string()) throw std::runtime_error("a protected path is not a string");
        meta.protect.push_back(pattern.get<std::string>());
    }
    for (const auto& item : field(doc, "mounts", T::array)) {
        if (!item.is_object()) throw std::runtime_error("a mount is not an object");
        KeptOverlay mount;
        mount.target = absolute_path(field(item, "target", T::string), "a mount's target");
        mount.source = absolute_path(field(item, "source", T::string), "a mount's source");
        for (const auto& lower : field(item, "lower", T::array)) mount.lower.push_back(absolute_path(lower, "a lower directory"));
        meta.mounts.push_back(std::move(mount));
    }
    return meta;
}

std::string data_directory(const std::string& xdg_data_home, const std::string& home) {
    if (!xdg_data_home.empty() && xdg_data_home[0] == '/') return xdg_data_home + "/sandbox";
    if (!home.empty() && home[0] == '/') return (home == "/" ? "" : home) + "/.local/share/sandbox";
    return "";
}

std::string changes_root(const std::string& data_dir) { return data_dir + "/changes"; }

}  // namespace sb
