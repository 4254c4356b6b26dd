// Helpers shared by the test binaries.
#pragma once

#include <string>

#include "tensor/error.h"

namespace lamppost::testing {

// The message of the lamppost::Error that f throws; "" when it throws none.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace lamppost::testing
