// The kernel side of cgroups: reading the facts about the cgroup we run in, preparing the
// delegated cgroup (moving its processes out, enabling controllers), and the sandbox's own
// cgroup, which its owner kills and removes.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cgroup/hierarchy.hpp"
#include "cgroup/hierarchy.hpp"
#include "sys/unique_fd.hpp"

namespace sb {

// Reads /proc/self/cgroup, /proc/self/mountinfo and the candidate cgroup's directory.
CgroupFacts read_cgroup_facts();

// A cgroup interface file's contents; nullopt when it cannot be read.
std::optional<std::string> read_cgroup_file(const std::string& directory, const std::string& file);

class SandboxCgroup {
public:
    // Prepares plan.parent, makes parent/sandbox-NAME and its child payload/, writes the limits.
    // Throws SetupError (and leaves nothing behind); with enforce = best-effort a limit the
    // kernel refuses is skipped and described in `warnings`. A leftover sandbox-NAME of a
    // supervisor that died is replaced; one in use (its lock held) is an error.
    SandboxCgroup(const CgroupPlan& plan, const std::string& sandbox_name, std::vector<std::string>& warnings);
    SandboxCgroup(const SandboxCgroup&) = delete;
    SandboxCgroup& operator=(const SandboxCgroup&) = delete;
    ~SandboxCgroup() { remove(); }

    int fd() const { return payload_fd_.get(); }  // the payload cgroup, for clone3(CLONE_INTO_CGROUP)
    const std::string& path() const { return path_; }
    std::uint64_t inode() const { return inode_; }
    // A file for stats (see read_sandbox_stat).
    std::optional<std::string> read(const std::string& file) const;
    // Kills whatever is left inside (cgroup.kill) and removes the directory.
    void remove() noexcept;

private:
    void build(const CgroupPlan& plan, std::vector<std::string>& warnings);

    std::string path_, payload_;
    UniqueFd payload_fd_;
    UniqueFd lock_;  // flock on sandbox-NAME, held while the sandbox lives
    std::uint64_t inode_ = 0;
    bool created_ = false;
};

// Kills what is left in a sandbox's cgroup and removes it, but only a directory named like ours
// (the tool removes only what it created), with inode `inode` (0: any), and, unless `lock_held`,
// only when no live supervisor holds its lock. Returns false if it stayed.
bool remove_sandbox_cgroup(const std::string& path, std::uint64_t inode, bool lock_held) noexcept;

// A file describing a sandbox, from the right one of its two cgroups: the limits and
// memory.events of sandbox-NAME, which enforces them (memory.events counts what happened below
// too); pids.events of payload, where the refused forks are counted (locally, on Linux 6.1).
std::optional<std::string> read_sandbox_stat(const std::string& sandbox_cgroup, const std::string& file);

// Freezes (true) or thaws a sandbox's cgroup and waits until the kernel says it is done.
void set_frozen(const std::string& path, bool frozen);

}  // namespace sb
