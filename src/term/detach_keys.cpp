#include "term/detach_keys.hpp"

namespace sb {

DetachKeys::Result DetachKeys::feed(std::string_view typed) {
    Result result;
    for (char c : typed) {
        if (held_) {
            held_ = false;
            if (c == kSecond) {
                result.detach = true;
                return result;
            }
            result.pass += kFirst;
        }
        if (c == kFirst) held_ = true;
        else result.pass += c;
    }
    return result;
}

}  // namespace sb
