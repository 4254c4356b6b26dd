// The compiler builds these constants correctly with the project's flags. GCC 12.2 with
// -march=native on an AVX-512 machine and its SLP vectorizer on turns each of the first two into
// a broadcast of its first element ({1, 1, 1, 1}); the root CMakeLists.txt turns SLP off.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace {

template <class T>
std::vector<double> as_doubles(const std::vector<T>& v) {
  return {v.begin(), v.end()};
}

TEST(Toolchain, VectorConstantsKeepEveryElement) {
  const std::vector<double> expected = {1, 1, 1, 0};
  EXPECT_EQ(as_doubles(std::vector<double>{1, 1, 1, 0}), expected);
  EXPECT_EQ(as_doubles(std::vector<int64_t>{1, 1, 1, 0}), expected);
  EXPECT_EQ(as_doubles(std::vector<float>{1, 1, 1, 0}), expected);
  EXPECT_EQ(as_doubles(std::vector<int32_t>{1, 1, 1, 0}), expected);
  EXPECT_EQ(as_doubles(std::vector<double>{2, 2, 2, 2, 2, 2, 2, 5}),
            (std::vector<double>{2, 2, 2, 2, 2, 2, 2, 5}));
}

}  // namespace
