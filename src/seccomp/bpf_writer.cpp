#include "seccomp/bpf_writer.hpp"

#include <algorithm>
#include <limits>
#include <string>

#include "sys/error.hpp"
#include "sys/hints.hpp"

namespace sb {
namespace {

constexpr std::size_t kUnplaced = std::numeric_limits<std::size_t>::max();
constexpr std::size_t kMaxConditionalSkip = 255;

[[noreturn]] void bad_layout(const std::string& what) {
    throw SetupError(Stage::Seccomp, "the filter's layout does not work: " + what, hint(Cause::Bug));
}

}  // namespace

BpfWriter::Label BpfWriter::label() {
    places_.push_back(kUnplaced);
    return places_.size() - 1;
}

void BpfWriter::place(Label target) {
    if (places_.at(target) != kUnplaced) bad_layout("a jump target placed twice");
    places_[target] = code_.size();
}

void BpfWriter::place_at(Label target, std::size_t index) {
    if (places_.at(target) != kUnplaced) bad_layout("a jump target placed twice");
    places_[target] = index;
}

void BpfWriter::append(const std::vector<sock_filter>& code) { code_.insert(code_.end(), code.begin(), code.end()); }

void BpfWriter::load(std::uint32_t offset) { code_.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offset)); }

void BpfWriter::ret(std::uint32_t action) { code_.push_back(BPF_STMT(BPF_RET | BPF_K, action)); }

void BpfWriter::jump(Label target) {
    fixups_.push_back({code_.size(), target, Field::Always});
    code_.push_back(BPF_STMT(BPF_JMP | BPF_JA, 0));
}

void BpfWriter::jump_if(std::uint16_t op, std::uint32_t k, Label yes, Label no) {
    fixups_.push_back({code_.size(), yes, Field::True});
    fixups_.push_back({code_.size(), no, Field::False});
    code_.push_back(BPF_JUMP(static_cast<std::uint16_t>(BPF_JMP | op | BPF_K), k, 0, 0));
}

std::size_t BpfWriter::skip_of(const Fixup& fixup) const {
    std::size_t target = places_.at(fixup.target);
    if (target == kUnplaced || target >= code_.size()) bad_layout("a jump to a target never placed");
    if (target <= fixup.at) bad_layout("a jump backwards at instruction " + std::to_string(fixup.at));
    return target - fixup.at - 1;
}

bool BpfWriter::in_reach() const {
    return std::all_of(fixups_.begin(), fixups_.end(), [&](const Fixup& fixup) {
        return fixup.field == Field::Always || skip_of(fixup) <= kMaxConditionalSkip;
    });
}

std::vector<sock_filter> BpfWriter::finish() const {
    std::vector<sock_filter> code = code_;
    for (const auto& fixup : fixups_) {
        std::size_t skip = skip_of(fixup);
        sock_filter& insn = code[fixup.at];
        if (fixup.field == Field::Always) {
            insn.k = static_cast<std::uint32_t>(skip);
        } else if (skip > kMaxConditionalSkip) {
            bad_layout("a conditional jump of " + std::to_string(skip) + " instructions at instruction " +
                       std::to_string(fixup.at) + " (at most 255)");
        } else {
            (fixup.field == Field::True ? insn.jt : insn.jf) = static_cast<std::uint8_t>(skip);
        }
    }
    return code;
}

}  // namespace sb
