#include "tensor/tensor.h"

#include <gtest/gtest.h>

#include <thread>

#include "tensor/error.h"
#include "tests/testing.h"

namespace lamppost {
namespace {

template <class T>
class TensorTest : public ::testing::Test {};

template <class T>
T sum_of(const Tensor<T>& t) {
  T total = 0;
  for (T v : t.to_vector()) total += v;
  return total;
}
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(TensorTest, Types);

TYPED_TEST(TensorTest, FactoriesFillTheirValues) {
  using T = TypeParam;
  EXPECT_EQ(Tensor<T>::zeros({2, 3}).to_vector(), std::vector<T>(6, T(0)));
  EXPECT_EQ(Tensor<T>::ones({4}).to_vector(), std::vector<T>(4, T(1)));
  EXPECT_EQ(Tensor<T>::full({2, 2}, T(7)).to_vector(), std::vector<T>(4, T(7)));
  EXPECT_EQ(Tensor<T>::arange(1, 4).to_vector(), (std::vector<T>{1, 2, 3}));
  EXPECT_EQ(Tensor<T>::arange(0, 1, T(0.25)).numel(), 4);
  EXPECT_EQ(Tensor<T>::arange(3, 0, -1).to_vector(), (std::vector<T>{3, 2, 1}));
  const auto lin = Tensor<T>::linspace(-1, 1, 5).to_vector();
  EXPECT_EQ(lin, (std::vector<T>{-1, T(-0.5), 0, T(0.5), 1}));
  EXPECT_EQ(Tensor<T>::eye(2, 3).to_vector(), (std::vector<T>{1, 0, 0, 0, 1, 0}));
  const auto s = Tensor<T>::scalar(5);
  EXPECT_EQ(s.ndim(), 0);
  EXPECT_EQ(s.numel(), 1);
  EXPECT_EQ(s.item(), T(5));
  EXPECT_EQ(Tensor<T>().numel(), 0);
}

TYPED_TEST(TensorTest, StorageIsAligned) {
  for (int64_t n : {1, 3, 17, 1000}) {
    const auto t = Tensor<TypeParam>::empty({n});
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % kStorageAlignment, 0u);
  }
}

TYPED_TEST(TensorTest, LargeBuffersAreReusedAfterRelease) {
  const int64_t n = (int64_t{4} << 20) / sizeof(TypeParam);  // 4 MiB: above the cache's minimum
  const TypeParam* first = nullptr;
  {
    auto t = Tensor<TypeParam>::empty({n});
    t.fill(TypeParam(3));
    first = t.data();
  }
  {
    const auto again = Tensor<TypeParam>::empty({n});
    EXPECT_EQ(again.data(), first);
  }
  const auto zeros = Tensor<TypeParam>::zeros({n});  // the reused, dirty buffer comes back zeroed
  EXPECT_EQ(zeros.data(), first);
  EXPECT_EQ(sum_of(zeros), TypeParam(0));
}

TYPED_TEST(TensorTest, SmallBuffersAreReusedByTheirThread) {
  const TypeParam* first = nullptr;
  {
    auto t = Tensor<TypeParam>::empty({100});
    t.fill(TypeParam(3));
    first = t.data();
  }
  EXPECT_EQ(Tensor<TypeParam>::empty({100}).data(), first);
  const auto zeros = Tensor<TypeParam>::zeros({100});
  EXPECT_EQ(zeros.data(), first);
  EXPECT_EQ(sum_of(zeros), TypeParam(0));

  // A buffer made on one thread and freed on another, and one freed while its thread exits.
  Tensor<TypeParam> made_elsewhere;
  std::thread([&] { made_elsewhere = Tensor<TypeParam>::full({100}, TypeParam(2)); }).join();
  EXPECT_EQ(sum_of(made_elsewhere), TypeParam(200));
  std::thread([moved = std::move(made_elsewhere)] {}).join();
}

TEST(ShapeTest, HoldsUpToEightExtentsLikeAVector) {
  Shape shape{2, 3};
  shape.insert(shape.begin(), 1);
  shape.push_back(4);
  EXPECT_EQ(shape, (Shape{1, 2, 3, 4}));
  shape.erase(shape.begin() + 1);
  EXPECT_EQ(shape, (Shape{1, 3, 4}));
  shape.resize(5, 7);
  EXPECT_EQ(shape, (Shape{1, 3, 4, 7, 7}));
  shape.resize(2);
  EXPECT_EQ(shape, (Shape{1, 3}));
  EXPECT_NE(shape, (Shape{1, 3, 1}));
  EXPECT_EQ(Shape(kMaxDims, 1).size(), kMaxDims);
  EXPECT_EQ(testing::error_of([] { Tensor<float>::zeros(Shape(9, 1)); }),
            "[shape] a tensor may have at most 8 dimensions, not 9");
  Shape full(kMaxDims, 1);
  EXPECT_EQ(testing::error_of([&] { full.push_back(1); }),
            "[shape] a tensor may have at most 8 dimensions, not 9");
}

TYPED_TEST(TensorTest, ElementAccessFollowsStrides) {
  using T = TypeParam;
  auto a = Tensor<T>::arange(0, 6).reshape({2, 3});
  EXPECT_EQ(a.at({1, 2}), T(5));
  a.at({0, 1}) = 42;
  EXPECT_EQ(a.to_vector()[1], T(42));
  const auto at = a.t();
  EXPECT_EQ(at.shape(), (Shape{3, 2}));
  EXPECT_EQ(at.at({1, 0}), T(42));
  EXPECT_EQ(at.to_vector(), (std::vector<T>{0, 3, 42, 4, 2, 5}));
  EXPECT_THROW(a.at({2, 0}), Error);
  EXPECT_THROW(a.at({0}), Error);
}

TYPED_TEST(TensorTest, ViewsShareStorage) {
  using T = TypeParam;
  auto a = Tensor<T>::arange(0, 24).reshape({2, 3, 4});
  auto p = a.permute({2, 0, 1});
  EXPECT_TRUE(p.shares_storage_with(a));
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  EXPECT_FALSE(p.is_contiguous());
  EXPECT_EQ(p.at({3, 1, 2}), a.at({1, 2, 3}));

  auto s = a.slice(2, 1, 4, 2);  // columns 1 and 3
  EXPECT_EQ(s.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(s.at({1, 2, 1}), T(23));
  s.at({0, 0, 0}) = -1;
  EXPECT_EQ(a.at({0, 0, 1}), T(-1));

  EXPECT_EQ(a.slice(0, -1, 100).shape(), (Shape{1, 3, 4}));
  EXPECT_EQ(a.slice(1, 2, 1).shape(), (Shape{2, 0, 4}));
  EXPECT_EQ(a.select(1, -1).shape(), (Shape{2, 4}));
  EXPECT_EQ(a.select(1, -1).at({1, 0}), T(20));
  EXPECT_EQ(a.unsqueeze(0).shape(), (Shape{1, 2, 3, 4}));
  EXPECT_EQ(a.unsqueeze(-1).shape(), (Shape{2, 3, 4, 1}));
  EXPECT_EQ(a.unsqueeze(1).squeeze(1).shape(), a.shape());
  EXPECT_THROW(a.squeeze(0), Error);
}

TYPED_TEST(TensorTest, ReshapeIsAViewWhenContiguousAndACopyOtherwise) {
  using T = TypeParam;
  const auto a = Tensor<T>::arange(0, 12);
  const auto r = a.reshape({3, -1});
  EXPECT_EQ(r.shape(), (Shape{3, 4}));
  EXPECT_TRUE(r.shares_storage_with(a));
  const auto tr = r.t().reshape({12});
  EXPECT_FALSE(tr.shares_storage_with(a));
  EXPECT_EQ(tr.to_vector()[1], T(4));
  EXPECT_THROW(a.reshape({5, -1}), Error);
  EXPECT_THROW(a.reshape({-1, -1}), Error);
  EXPECT_THROW(a.reshape({13}), Error);
  // An empty tensor whose target extents overflow int64_t when multiplied is refused, not wrapped.
  EXPECT_EQ(testing::error_of([] {
              Tensor<T>::zeros({0}).reshape({int64_t{1} << 32, int64_t{1} << 32});
            }),
            "[reshape] target shape (4294967296, 4294967296) has more elements than int64_t can "
            "count");
}

TYPED_TEST(TensorTest, BroadcastToUsesZeroStrides) {
  using T = TypeParam;
  const auto row = Tensor<T>::from_vector({1, 2, 3});
  const auto b = row.broadcast_to({2, 3});
  EXPECT_EQ(b.strides(), (Shape{0, 1}));
  EXPECT_EQ(b.to_vector(), (std::vector<T>{1, 2, 3, 1, 2, 3}));
  const auto col = Tensor<T>::from_vector({1, 2}, {2, 1});
  EXPECT_EQ(col.broadcast_to({2, 3}).to_vector(), (std::vector<T>{1, 1, 1, 2, 2, 2}));
  EXPECT_EQ(Tensor<T>::scalar(4).broadcast_to({2, 2}).to_vector(), std::vector<T>(4, T(4)));
  try {
    row.broadcast_to({3, 2});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "[broadcast_to] cannot broadcast (3,) to (3, 2)");
  }
}

TYPED_TEST(TensorTest, AssignCopiesThroughViewsAndHandlesOverlap) {
  using T = TypeParam;
  auto a = Tensor<T>::zeros({3, 3});
  a.slice(0, 1, 3).assign(Tensor<T>::from_vector({1, 2, 3}));
  EXPECT_EQ(a.to_vector(), (std::vector<T>{0, 0, 0, 1, 2, 3, 1, 2, 3}));
  a.assign(a.t());  // overlapping source: copied out first
  EXPECT_EQ(a.to_vector(), (std::vector<T>{0, 1, 1, 0, 2, 2, 0, 3, 3}));
  a.fill(T(2));
  EXPECT_EQ(a.to_vector(), std::vector<T>(9, T(2)));
  EXPECT_THROW(a.assign(Tensor<T>::zeros({2})), Error);
}

TYPED_TEST(TensorTest, ContiguousAndCastCopyLargeStridedViews) {
  using T = TypeParam;
  const int64_t n = 300;  // above the parallel threshold
  const auto a = Tensor<T>::arange(0, n * n).reshape({n, n});
  const auto c = a.t().contiguous();
  ASSERT_TRUE(c.is_contiguous());
  for (int64_t i : {0L, 7L, 299L}) {
    for (int64_t j : {0L, 13L, 299L}) EXPECT_EQ(c.at({i, j}), a.at({j, i}));
  }
  const auto d = a.t().template cast<double>();
  EXPECT_EQ(d.at({5, 9}), double(a.at({9, 5})));
  EXPECT_TRUE(a.contiguous().shares_storage_with(a));
}

TYPED_TEST(TensorTest, BadArgumentsNameTheOp) {
  using T = TypeParam;
  const auto a = Tensor<T>::zeros({2, 3});
  EXPECT_THROW(a.permute({0, 0}), Error);
  EXPECT_THROW(a.transpose(0, 2), Error);
  EXPECT_THROW(a.slice(0, 0, 1, 0), Error);
  EXPECT_THROW(a.select(0, 2), Error);
  EXPECT_THROW(Tensor<T>::zeros({-1}), Error);
  EXPECT_THROW(Tensor<T>::from_vector({1, 2, 3}, {2, 2}), Error);
  EXPECT_THROW(Tensor<T>::arange(0, 1, 0), Error);
  EXPECT_THROW(Tensor<T>::zeros({int64_t{1} << 40, int64_t{1} << 40}), Error);
  try {
    a.reshape({4});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "[reshape] cannot reshape (2, 3) (6 elements) to (4,) (4 elements)");
  }
}

TEST(ShapeTest, BroadcastShapesFollowsNumPy) {
  EXPECT_EQ(broadcast_shapes({3, 1}, {4}, "op"), (Shape{3, 4}));
  EXPECT_EQ(broadcast_shapes({}, {2, 2}, "op"), (Shape{2, 2}));
  EXPECT_EQ(broadcast_shapes({0, 1}, {1, 5}, "op"), (Shape{0, 5}));
  try {
    broadcast_shapes({3, 2}, {3}, "add");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "[add] shapes (3, 2) and (3,) cannot be broadcast together");
  }
}

}  // namespace
}  // namespace lamppost
