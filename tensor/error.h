// User-facing errors: every message starts with the op's name in brackets, MLX style,
// e.g. "[matmul] shapes (3, 4) and (5, 6) do not match".
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace lamppost {

// The one error type for bad user input. It is an std::invalid_argument, so callers that only
// know the standard library can still catch it.
class Error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

template <class... Args>
[[noreturn]] void fail(std::string_view op, fmt::format_string<Args...> message, Args&&... args) {
  throw Error(fmt::format("[{}] {}", op, fmt::format(message, std::forward<Args>(args)...)));
}

}  // namespace lamppost

// Throws lamppost::Error("[op] message") unless cond holds. A macro, not a function, so that
// the message's arguments (often to_string of shapes) are evaluated only when the check fails:
// checks sit on hot paths and must cost a comparison, not a string.
#define LAMPPOST_CHECK(cond, op, ...)    \
  do {                                   \
    if (!(cond)) [[unlikely]]            \
      ::lamppost::fail(op, __VA_ARGS__); \
  } while (0)
