#include "state/inspect.hpp"

#include <ctime>

#include <nlohmann/json.hpp>

#include "state/record.hpp"

namespace sb {

using Json = nlohmann::ordered_json;

namespace {

std::string utc_time(std::int64_t seconds) {
    std::time_t t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    char text[32];
    if (!::gmtime_r(&t, &tm) || !std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm)) return std::to_string(seconds);
    return text;
}

}  // namespace

std::string inspect_document(const std::string& plan_json, const std::string& plan_text, const LiveState& live) {
    Json state;
    state["status"] = live.paused ? "paused" : "running";
    state["supervisor_pid"] = live.supervisor_pid;
    state["init_pid"] = live.init_pid;
    state["created"] = live.created;
    state["uptime_seconds"] = std::max<std::int64_t>(0, live.now - live.created);
    state["cgroup"] = live.cgroup ? Json(*live.cgroup) : Json(nullptr);
    state["memory_current"] = live.memory_current ? Json(*live.memory_current) : Json(nullptr);
    state["pids_current"] = live.pids_current ? Json(*live.pids_current) : Json(nullptr);
    state["exec_sessions"] = live.exec_sessions;
    state["attached_clients"] = live.attached_clients;
    state["log"] = live.log.empty() ? Json(nullptr) : Json(live.log);
    state["tty"] = live.tty;
    Json document;
    document["state"] = state;
    document["plan"] = Json::parse(plan_json);
    document["plan_text"] = plan_text;
    return document.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::optional<std::string> render_inspect_text(const std::string& text) {
    Json document = Json::parse(text, nullptr, false);
    if (document.is_discarded() || !document.is_object() || !document.contains("state") ||
        !document["state"].is_object() || !document.contains("plan_text") || !document["plan_text"].is_string())
        return std::nullopt;
    std::string out;
    for (const auto& [key, value] : document["state"].items()) {
        std::string shown = value.is_null() ? "-" : value.is_string() ? value.get<std::string>() : value.dump();
        if (key == "uptime_seconds" && value.is_number_integer()) shown = format_duration(value.get<std::int64_t>());
        if (key == "created" && value.is_number_integer()) shown = utc_time(value.get<std::int64_t>());
        std::string label = key + ":";
        out += label + std::string(label.size() < 18 ? 18 - label.size() : 1, ' ') + shown + "\n";
    }
    return out + "\n" + document["plan_text"].get<std::string>();
}

}  // namespace sb
