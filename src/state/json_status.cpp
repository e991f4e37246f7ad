#include "state/json_status.hpp"

#include <nlohmann/json.hpp>

namespace sb {

std::string json_status_started(pid_t child_pid, const PayloadStartedFields& namespaces) {
    nlohmann::ordered_json line;
    line["child-pid"] = child_pid;
    for (std::size_t i = 0; i < PayloadStartedFields::kCount; ++i)
        if (namespaces.namespaces[i] != 0)
            line[std::string(PayloadStartedFields::kNames[i]) + "-namespace"] = namespaces.namespaces[i];
    return line.dump() + "\n";
}

std::string json_status_exited(int exit_code) {
    nlohmann::ordered_json line;
    line["exit-code"] = exit_code;
    return line.dump() + "\n";
}

}  // namespace sb
