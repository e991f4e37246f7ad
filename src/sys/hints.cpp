#include "sys/hints.hpp"

namespace sb {

std::string hint(Cause cause, const std::string& user) {
    switch (cause) {
        case Cause::Bug: return "this is a bug in sandbox; please report it";
        case Cause::TooManyProcesses: return "too many processes: check `ulimit -u` and the pids.max of your cgroup";
        case Cause::IdHelpersMissing: return "install the uidmap package (newuidmap and newgidmap)";
        case Cause::NoSubordinateRanges:
            return "add ranges, e.g. `sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 " + user + "`";
        case Cause::BadSubordinateRanges:
            return "check your ranges in /etc/subuid and /etc/subgid (one line per user, no duplicates) and that "
                   "newuidmap/newgidmap are setuid root (package uidmap)";
    }
    return "";
}

}  // namespace sb
