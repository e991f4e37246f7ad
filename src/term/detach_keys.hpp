// The detach key sequence of `sandbox attach` (Ctrl-P Ctrl-Q, as podman and docker): found in
// what the user types, across reads; the keys before it pass through, the sequence itself does
// not. A lone Ctrl-P is held until the next key shows whether it starts the sequence. Pure.
#pragma once
#include <string>
#include <string_view>

namespace sb {

class DetachKeys {
public:
    struct Result {
        std::string pass;     // to send to the payload
        bool detach = false;  // the sequence was typed: leave (what follows it is dropped)
    };
    Result feed(std::string_view typed);

private:
    static constexpr char kFirst = 0x10;   // Ctrl-P
    static constexpr char kSecond = 0x11;  // Ctrl-Q
    bool held_ = false;  // a Ctrl-P ended the last read
};

}  // namespace sb
