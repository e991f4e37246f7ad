// A classic-BPF program written with named jump targets. Jumps are relative and forward only,
// and a conditional jump reaches at most 255 instructions ahead (jt/jf are 8 bits): the writer
// works the offsets out at the end and throws when one does not fit, so a layout that grew too
// large is an error at compile time, never a program that jumps somewhere else.
#pragma once
#include <linux/filter.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sb {

class BpfWriter {
public:
    using Label = std::size_t;

    // A new target, placed later with place().
    Label label();
    // The next instruction written is `target`.
    void place(Label target);
    // Instruction `index` is `target` (for a target inside code appended later).
    void place_at(Label target, std::size_t index);

    // A = the 32-bit word of seccomp_data at `offset`.
    void load(std::uint32_t offset);
    void ret(std::uint32_t action);
    // Unconditional (BPF_JA: a 32-bit offset, any distance ahead).
    void jump(Label target);
    // if (A <op> k) goto yes; else goto no. op: BPF_JEQ, BPF_JGT, BPF_JGE or BPF_JSET (A & k).
    void jump_if(std::uint16_t op, std::uint32_t k, Label yes, Label no);

    // Instructions copied as they are: their jumps are relative, so they keep their meaning.
    void append(const std::vector<sock_filter>& code);

    std::size_t size() const { return code_.size(); }
    // Whether every conditional jump reaches its target in 8 bits.
    bool in_reach() const;
    // The program with every offset filled in. Throws SetupError for a target never placed, one
    // behind its jump, or a conditional jump farther than 255 instructions.
    std::vector<sock_filter> finish() const;

private:
    enum class Field { True, False, Always };
    struct Fixup {
        std::size_t at;
        Label target;
        Field field;
    };
    std::size_t skip_of(const Fixup& fixup) const;  // from the instruction after the jump

    std::vector<sock_filter> code_;
    std::vector<std::size_t> places_;  // per label: its instruction index, or kUnplaced
    std::vector<Fixup> fixups_;
};

}  // namespace sb
