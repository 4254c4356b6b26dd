// Helpers shared by the test binaries.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>

#include "tensor/error.h"
#include "tensor/ops.h"

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

// ||a - b|| / ||b||, in double.
template <Real T>
double relative_difference(const Tensor<T>& a, const Tensor<T>& b) {
  return static_cast<double>(norm(a - b)) / static_cast<double>(norm(b));
}

// max |a_i - b_i| over tensors of one shape, in double.
template <Real T>
double max_abs_difference(const Tensor<T>& a, const Tensor<T>& b) {
  LAMPPOST_CHECK(a.shape() == b.shape(), "max_abs_difference", "shapes {} and {} differ",
                 to_string(a.shape()), to_string(b.shape()));
  const std::vector<T> av = a.to_vector(), bv = b.to_vector();
  double largest = 0;
  for (size_t i = 0; i < av.size(); ++i)
    largest = std::max(largest, std::abs(static_cast<double>(av[i]) - static_cast<double>(bv[i])));
  return largest;
}

}  // namespace lamppost::testing

// Expects the string to contain the text (gtest has no such check outside gmock).
#define EXPECT_CONTAINS(haystack, needle)                                        \
  do {                                                                           \
    const std::string found_in_ = (haystack);                                    \
    EXPECT_NE(found_in_.find(needle), std::string::npos) << "in: " << found_in_; \
  } while (0)
