#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "data/fashion_mnist.h"
#include "data/idx.h"
#include "tensor/error.h"
#include "tests/testing.h"

namespace lamppost {
namespace {

using testing::error_of;

namespace fs = std::filesystem;

// A fresh folder per test, removed afterwards.
class DataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           fmt::format("lamppost_data_{}_{}_{}", ::getpid(), info->test_suite_name(), info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
};

// The values' bytes, big-endian, as IDX stores them.
template <class V>
std::string big_endian(const std::vector<V>& values) {
  std::string out;
  for (V v : values) {
    const auto bits = std::bit_cast<std::conditional_t<
        sizeof(V) == 1, uint8_t,
        std::conditional_t<sizeof(V) == 2, uint16_t,
                           std::conditional_t<sizeof(V) == 4, uint32_t, uint64_t>>>>(v);
    for (int k = static_cast<int>(sizeof(V)) - 1; k >= 0; --k) {
      out += static_cast<char>((uint64_t{bits} >> (8 * k)) & 0xff);
    }
  }
  return out;
}

// An IDX file: magic 00 00 <type> <ndim>, the extents, then data as given.
std::string idx_file(int type, const std::vector<uint32_t>& extents, const std::string& data) {
  std::string out{'\0', '\0', static_cast<char>(type), static_cast<char>(extents.size())};
  return out + big_endian(extents) + data;
}

void write_plain(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

void write_gzip(const fs::path& path, const std::string& bytes) {
  const std::unique_ptr<gzFile_s, int (*)(gzFile)> out(gzopen(path.c_str(), "wb"), gzclose);
  ASSERT_NE(out, nullptr);
  if (!bytes.empty()) {
    ASSERT_EQ(gzwrite(out.get(), bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
  }
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Writes bytes plain and gzip-compressed, each under a name with and one without ".gz": the
// content decides how a file is read, not its name.
std::vector<fs::path> write_all_ways(const fs::path& dir, const std::string& name,
                                     const std::string& bytes) {
  std::vector<fs::path> paths = {dir / (name + "_plain"), dir / (name + "_plain.gz"),
                                 dir / (name + "_gzip"), dir / (name + "_gzip.gz")};
  write_plain(paths[0], bytes);
  write_plain(paths[1], bytes);
  write_gzip(paths[2], bytes);
  write_gzip(paths[3], bytes);
  return paths;
}

TEST_F(DataTest, ReadsEveryIdxTypePlainAndGzip) {
  struct Case {
    int type;
    std::vector<uint32_t> extents;
    std::string data;
    std::vector<double> values;
  };
  const std::vector<Case> cases = {
      {0x08, {2, 3}, big_endian<uint8_t>({0, 1, 127, 128, 254, 255}), {0, 1, 127, 128, 254, 255}},
      {0x09, {4}, big_endian<int8_t>({-128, -1, 0, 127}), {-128, -1, 0, 127}},
      {0x0B, {2, 2}, big_endian<int16_t>({-32768, -2, 258, 32767}), {-32768, -2, 258, 32767}},
      {0x0C,
       {3},
       big_endian<int32_t>({std::numeric_limits<int32_t>::min(), -70000, 2147483647}),
       {-2147483648.0, -70000, 2147483647}},
      {0x0D, {1, 2}, big_endian<float>({-1.5f, 3.25e-3f}), {-1.5, double(3.25e-3f)}},
      {0x0E, {1, 1, 2}, big_endian<double>({0.1, -1e300}), {0.1, -1e300}},
  };
  for (const Case& c : cases) {
    const Shape shape(c.extents.begin(), c.extents.end());
    for (const fs::path& path :
         write_all_ways(dir_, fmt::format("type{}", c.type), idx_file(c.type, c.extents, c.data))) {
      const IdxArray array = read_idx_array(path);
      EXPECT_EQ(static_cast<int>(array.type), c.type) << path;
      EXPECT_EQ(array.shape, shape) << path;
      EXPECT_EQ(std::string(array.bytes.begin(), array.bytes.end()), c.data) << path;

      const Tensor<double> d = read_idx<double>(path);
      EXPECT_EQ(d.shape(), shape) << path;
      EXPECT_EQ(d.to_vector(), c.values) << path;
      // float rounds to nearest: 2147483647 becomes 2^31, 0.1 and -1e300 as a cast gives them.
      std::vector<float> as_float;
      for (double v : c.values) as_float.push_back(static_cast<float>(v));
      EXPECT_EQ(read_idx<float>(path).to_vector(), as_float) << path;
    }
  }
  EXPECT_EQ(to_string(IdxType::int16), "int16");
  EXPECT_EQ(item_size(IdxType::float64), 8u);
  EXPECT_TRUE(is_integer(IdxType::int32));
  EXPECT_FALSE(is_integer(IdxType::float32));
}

TEST_F(DataTest, ReadsIntegerLabelsExactly) {
  for (const fs::path& path :
       write_all_ways(dir_, "u8", idx_file(0x08, {5}, big_endian<uint8_t>({9, 0, 255, 3, 1})))) {
    EXPECT_EQ(read_idx_labels(path), (std::vector<int64_t>{9, 0, 255, 3, 1})) << path;
  }
  const std::vector<int32_t> wide = {std::numeric_limits<int32_t>::min(), -1, 16777217};
  for (const fs::path& path : write_all_ways(dir_, "i32", idx_file(0x0C, {3}, big_endian(wide)))) {
    EXPECT_EQ(read_idx_labels(path), (std::vector<int64_t>{wide.begin(), wide.end()})) << path;
  }
  const fs::path floats = dir_ / "floats";
  write_plain(floats, idx_file(0x0D, {1}, big_endian<float>({1})));
  EXPECT_EQ(
      error_of([&] { read_idx_labels(floats); }),
      "[read_idx] '" + floats.string() + "': labels must be integers, the file holds float32");
  const fs::path matrix = dir_ / "matrix";
  write_plain(matrix, idx_file(0x08, {2, 3}, std::string(6, '\1')));
  EXPECT_EQ(
      error_of([&] { read_idx_labels(matrix); }),
      "[read_idx] '" + matrix.string() + "': labels must be 1-d, the file holds shape (2, 3)");
}

TEST_F(DataTest, ReadsEmptyArraysAndDataLongerThanOneChunk) {
  for (const fs::path& path : write_all_ways(dir_, "empty", idx_file(0x08, {0, 28}, ""))) {
    const Tensor<float> t = read_idx<float>(path);
    EXPECT_EQ(t.shape(), (Shape{0, 28})) << path;
    EXPECT_EQ(t.numel(), 0) << path;
  }
  // 3 MB: the gzip reader's buffer grows over several 1 MiB chunks.
  std::string data(3 * 1000 * 1000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i % 251);
  for (const fs::path& path : write_all_ways(dir_, "big", idx_file(0x08, {3, 1000, 1000}, data))) {
    const IdxArray array = read_idx_array(path);
    EXPECT_EQ(array.shape, (Shape{3, 1000, 1000})) << path;
    EXPECT_TRUE(
        std::equal(array.bytes.begin(), array.bytes.end(), data.begin(), data.end(),
                   [](unsigned char a, char b) { return a == static_cast<unsigned char>(b); }))
        << path;
  }
}

TEST_F(DataTest, RefusesCorruptFilesNamingFileAndReason) {
  const std::string six = big_endian<uint8_t>({1, 2, 3, 4, 5, 6});
  const std::string neither = ": neither IDX (00 00 <type> <ndim>) nor gzip (1f 8b)";
  struct Case {
    std::string bytes;
    std::string plain_reason;  // for the file written plain
    std::string gzip_reason;   // for the same bytes gzip-compressed
  };
  const std::vector<Case> cases = {
      {"", "the file is empty", "the decompressed file is empty"},
      {"hello world\n", "bad magic 68 65 6c 6c" + neither, "bad magic 68 65 6c 6c" + neither},
      {std::string("\0", 1), "bad magic 00" + neither, "bad magic 00" + neither},
      {idx_file(0x08, {2, 3}, six).replace(1, 1, "\x01"), "bad magic 00 01 08 02" + neither,
       "bad magic 00 01 08 02" + neither},
      {std::string("\0\0\x08", 3), "truncated header: needs 4 bytes, the file holds 3",
       "truncated header: needs 4 bytes, the decompressed file holds 3"},
      {idx_file(0x0A, {2, 3}, six),
       "unknown type code 0x0a (IDX has 0x08 uint8, 0x09 int8, 0x0b int16, 0x0c int32, 0x0d "
       "float32, 0x0e float64)",
       "unknown type code 0x0a (IDX has 0x08 uint8, 0x09 int8, 0x0b int16, 0x0c int32, 0x0d "
       "float32, 0x0e float64)"},
      {idx_file(0x08, {}, six), "0 dimensions: lamppost reads 1 to 8",
       "0 dimensions: lamppost reads 1 to 8"},
      {idx_file(0x08, {1, 1, 1, 1, 1, 1, 1, 1, 6}, six), "9 dimensions: lamppost reads 1 to 8",
       "9 dimensions: lamppost reads 1 to 8"},
      {idx_file(0x08, {2, 3}, "").replace(3, 1, "\x03"),
       "truncated header: needs 16 bytes, the file holds 12",
       "truncated header: needs 16 bytes, the decompressed file holds 12"},
      {idx_file(0x0E, {4294967295u, 4294967295u, 3}, six),
       "shape (4294967295, 4294967295, 3) of float64 has too many elements",
       "shape (4294967295, 4294967295, 3) of float64 has too many elements"},
      {idx_file(0x08, {2, 3}, six.substr(0, 5)),
       "truncated: shape (2, 3) of uint8 needs 6 data bytes, the file holds 5",
       "truncated: shape (2, 3) of uint8 needs 6 data bytes, the decompressed file holds 5"},
      // 256 TiB claimed by a few bytes: refused from the file's size (plain), or once the data
      // run out, after a 1 MiB buffer (gzip); never allocated.
      {idx_file(0x08, {65536, 65536, 65536}, six),
       "truncated: shape (65536, 65536, 65536) of uint8 needs 281474976710656 data bytes, the "
       "file holds 6",
       "truncated: shape (65536, 65536, 65536) of uint8 needs 281474976710656 data bytes, the "
       "decompressed file holds 6"},
      {idx_file(0x0C, {2}, six),
       "truncated: shape (2,) of int32 needs 8 data bytes, the file holds 6",
       "truncated: shape (2,) of int32 needs 8 data bytes, the decompressed file holds 6"},
      {idx_file(0x08, {2, 3}, six + "x"),
       "trailing bytes after the data: shape (2, 3) of uint8 needs 6 data bytes, the file holds 7",
       "trailing bytes after the data: shape (2, 3) of uint8 needs 6 data bytes, the "
       "decompressed file holds more"},
  };
  int index = 0;
  for (const Case& c : cases) {
    const fs::path plain = dir_ / fmt::format("corrupt_{}", index);
    const fs::path gzip = dir_ / fmt::format("corrupt_{}.gz", index++);
    write_plain(plain, c.bytes);
    write_gzip(gzip, c.bytes);
    for (const auto& [path, reason] : {std::pair{plain, c.plain_reason}, {gzip, c.gzip_reason}}) {
      const std::string expected = "[read_idx] '" + path.string() + "': " + reason;
      EXPECT_EQ(error_of([&] { read_idx_array(path); }), expected);
      EXPECT_EQ(error_of([&] { read_idx<float>(path); }), expected);
      EXPECT_EQ(error_of([&] { read_idx_labels(path); }), expected);
    }
  }

  const fs::path missing = dir_ / "missing.gz";
  EXPECT_EQ(error_of([&] { read_idx_array(missing); }),
            "[read_idx] '" + missing.string() + "': cannot open it: No such file or directory");
  EXPECT_EQ(error_of([&] { read_idx_array(dir_); }),
            "[read_idx] '" + dir_.string() + "': is not a regular file");
}

TEST_F(DataTest, RefusesCorruptGzipStreams) {
  const fs::path good = dir_ / "good.gz";
  std::string data(1000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 % 256);
  write_gzip(good, idx_file(0x08, {10, 100}, data));
  ASSERT_EQ(read_idx<double>(good).numel(), 1000);
  const std::string compressed = read_bytes(good);
  ASSERT_GT(compressed.size(), 30u);

  // zlib decides how many bytes it hands out before it notices, so the count is not pinned.
  const auto expect_corrupt = [&](const std::string& name, const std::string& bytes,
                                  const std::string& reason) {
    const fs::path path = dir_ / name;
    write_plain(path, bytes);
    const std::string message = error_of([&] { read_idx_array(path); });
    const std::string prefix = "[read_idx] '" + path.string() + "': corrupt gzip data after ";
    EXPECT_EQ(message.substr(0, prefix.size()), prefix) << message;
    EXPECT_TRUE(message.ends_with(" decompressed bytes: " + reason)) << message;
  };
  expect_corrupt("cut.gz", compressed.substr(0, compressed.size() / 2), "unexpected end of file");
  expect_corrupt("no_trailer.gz", compressed.substr(0, compressed.size() - 8),
                 "unexpected end of file");
  std::string bad_crc = compressed;
  bad_crc[bad_crc.size() - 8] = static_cast<char>(bad_crc[bad_crc.size() - 8] ^ 0x55);
  expect_corrupt("bad_crc.gz", bad_crc, "incorrect data check");
  expect_corrupt("garbage.gz", "\x1f\x8b garbage that is not deflate",
                 "unknown compression method");
}

// ---------------------------------------------------------------------------------------------
// Fashion-MNIST, from the installed Debian package dataset-fashion-mnist.

const fs::path kFashion{kFashionMnistDirectory};

// The raw training set, inflated once for the whole binary (0.3 s).
const Dataset<float>& raw_train() {
  static const Dataset<float> train = load_fashion_mnist<float>({.scaling = PixelScaling::raw});
  return train;
}

std::vector<int64_t> class_counts(const std::vector<int64_t>& labels, int64_t k) {
  std::vector<int64_t> counts(static_cast<size_t>(k), 0);
  for (int64_t label : labels) ++counts.at(static_cast<size_t>(label));
  return counts;
}

TEST(FashionMnist, TrainingSetIsTheKnownOne) {
  const Dataset<float>& train = raw_train();
  ASSERT_EQ(train.x.shape(), (Shape{60000, 784}));
  ASSERT_EQ(train.labels.size(), 60000u);
  EXPECT_EQ(class_counts(train.labels, 10), std::vector<int64_t>(10, 6000));
  EXPECT_EQ(train.classes, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(train.y.numel(), 0);
  // Independently: python3 -c "import gzip; d = gzip.open('/usr/share/datasets/fashion-mnist/
  // train-labels-idx1-ubyte.gz').read()[8:]; print(list(d[:10]))"
  EXPECT_EQ(std::vector<int64_t>(train.labels.begin(), train.labels.begin() + 10),
            (std::vector<int64_t>{9, 0, 0, 3, 0, 2, 7, 2, 5, 5}));
  // Independently: python3 -c "import gzip; d = gzip.open('/usr/share/datasets/fashion-mnist/
  // train-images-idx3-ubyte.gz').read()[16:]; print(sum(d[:784]))"
  double first = 0;
  for (int64_t j = 0; j < 784; ++j) first += train.x.data()[j];
  EXPECT_EQ(first, 76247);
  const auto [lo, hi] = std::minmax_element(train.x.data(), train.x.data() + train.x.numel());
  EXPECT_EQ(*lo, 0.0f);
  EXPECT_EQ(*hi, 255.0f);
}

TEST(FashionMnist, TestSetScaledToTheUnitInterval) {
  const Dataset<double> test = load_fashion_mnist<double>({.split = Split::test});
  ASSERT_EQ(test.x.shape(), (Shape{10000, 784}));
  EXPECT_EQ(class_counts(test.labels, 10), std::vector<int64_t>(10, 1000));
  const auto [lo, hi] = std::minmax_element(test.x.data(), test.x.data() + test.x.numel());
  EXPECT_EQ(*lo, 0.0);
  EXPECT_EQ(*hi, 1.0);
  // Independently: python3 -c "import gzip; d = gzip.open('/usr/share/datasets/fashion-mnist/
  // t10k-images-idx3-ubyte.gz').read()[16:]; print(sum(d[:784]), sum(d))"
  double first = 0, all = 0;
  for (int64_t i = 0; i < test.x.numel(); ++i) (i < 784 ? first : all) += test.x.data()[i] * 255;
  EXPECT_NEAR(first, 33456, 1e-9);
  EXPECT_NEAR(first + all, 573469082, 1e-3);

  const Dataset<double> square =
      load_fashion_mnist<double>({.split = Split::test, .n = 5, .flatten = false});
  ASSERT_EQ(square.x.shape(), (Shape{5, 28, 28}));
  EXPECT_EQ(square.x.to_vector(), test.x.slice(0, 0, 5).to_vector());
}

TEST(FashionMnist, Standardizes) {
  const auto moments = [](const double* x, int64_t count, int64_t stride) {
    double sum = 0, squares = 0;
    for (int64_t i = 0; i < count; ++i) sum += x[i * stride];
    const double mean = sum / static_cast<double>(count);
    for (int64_t i = 0; i < count; ++i) squares += (x[i * stride] - mean) * (x[i * stride] - mean);
    return std::pair{mean, std::sqrt(squares / static_cast<double>(count))};
  };
  const Dataset<double> overall =
      load_fashion_mnist<double>({.split = Split::test, .scaling = PixelScaling::standardize});
  const auto [mean, deviation] = moments(overall.x.data(), overall.x.numel(), 1);
  EXPECT_NEAR(mean, 0, 1e-9);
  EXPECT_NEAR(deviation, 1, 1e-9);

  const Dataset<double> per_pixel = load_fashion_mnist<double>(
      {.split = Split::test, .n = 500, .scaling = PixelScaling::standardize_per_pixel});
  int constant_pixels = 0;
  for (int64_t j = 0; j < 784; ++j) {
    const auto [m, s] = moments(per_pixel.x.data() + j, 500, 784);
    EXPECT_NEAR(m, 0, 1e-9) << j;
    if (s == 0) {
      ++constant_pixels;  // a pixel equal in all 500 images is mapped to 0
    } else {
      EXPECT_NEAR(s, 1, 1e-9) << j;
    }
  }
  EXPECT_LT(constant_pixels, 784);
}

TEST(FashionMnist, SelectsClassesAndEncodesTargets) {
  const Dataset<float> all = load_fashion_mnist<float>({.split = Split::test});
  // The first 50 sneakers (7) and ankle boots (9) in file order, as -1 and +1.
  const Dataset<float> pair = load_fashion_mnist<float>(
      {.split = Split::test, .classes = {7, 9}, .n = 50, .targets = Targets::plus_minus_one});
  ASSERT_EQ(pair.x.shape(), (Shape{50, 784}));
  ASSERT_EQ(pair.y.shape(), (Shape{50, 1}));
  EXPECT_EQ(pair.classes, (std::vector<int64_t>{7, 9}));
  int64_t row = 0;
  for (int64_t i = 0; row < 50; ++i) {
    const int64_t label = all.labels[static_cast<size_t>(i)];
    if (label != 7 && label != 9) continue;
    EXPECT_EQ(pair.labels[static_cast<size_t>(row)], label == 7 ? 0 : 1);
    EXPECT_EQ(pair.y.data()[row], label == 7 ? -1.0f : 1.0f);
    EXPECT_EQ(pair.x.slice(0, row, row + 1).to_vector(), all.x.slice(0, i, i + 1).to_vector());
    ++row;
  }

  // One-hot columns follow the order of classes; balanced gives 10 of each.
  const Dataset<float> three = load_fashion_mnist<float>({.split = Split::test,
                                                          .classes = {3, 1, 4},
                                                          .n = 30,
                                                          .shuffle = true,
                                                          .seed = 11,
                                                          .balanced = true,
                                                          .targets = Targets::one_hot});
  ASSERT_EQ(three.y.shape(), (Shape{30, 3}));
  EXPECT_EQ(class_counts(three.labels, 3), (std::vector<int64_t>{10, 10, 10}));
  for (int64_t i = 0; i < 30; ++i) {
    for (int64_t c = 0; c < 3; ++c) {
      EXPECT_EQ(three.y.at({i, c}), c == three.labels[static_cast<size_t>(i)] ? 1.0f : 0.0f);
    }
  }
  // Balanced without shuffling: the first 10 of each class in file order.
  const Dataset<float> first = load_fashion_mnist<float>(
      {.split = Split::test, .classes = {3, 1, 4}, .n = 30, .balanced = true});
  EXPECT_EQ(class_counts(first.labels, 3), (std::vector<int64_t>{10, 10, 10}));
}

TEST(FashionMnist, ShufflingIsReproducible) {
  const FashionMnistOptions options{.split = Split::test, .n = 200, .shuffle = true, .seed = 7};
  const Dataset<float> a = load_fashion_mnist<float>(options);
  const Dataset<float> b = load_fashion_mnist<float>(options);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.x.to_vector(), b.x.to_vector());
  FashionMnistOptions other = options;
  other.seed = 8;
  EXPECT_NE(load_fashion_mnist<float>(other).x.to_vector(), a.x.to_vector());
  other.shuffle = false;
  EXPECT_NE(load_fashion_mnist<float>(other).x.to_vector(), a.x.to_vector());
}

TEST(FashionMnist, RefusesImpossibleRequests) {
  const auto refusal = [](const FashionMnistOptions& options) {
    return error_of([&] { load_fashion_mnist<float>(options); });
  };
  EXPECT_EQ(refusal({.classes = {3, 10}}), "[fashion_mnist] class 10 is outside 0..9");
  EXPECT_EQ(refusal({.classes = {3, 3}}), "[fashion_mnist] class 3 is listed twice");
  EXPECT_EQ(refusal({.n = -2}), "[fashion_mnist] n must be -1 (all) or a count, got -2");
  EXPECT_EQ(refusal({.classes = {0, 1, 2}, .n = 10, .balanced = true}),
            "[fashion_mnist] a balanced subset of 10 examples cannot be split evenly among 3 "
            "classes");
  EXPECT_EQ(refusal({.classes = {0, 1, 2}, .targets = Targets::plus_minus_one}),
            "[fashion_mnist] +-1 targets need exactly two classes, got 3");
  EXPECT_EQ(refusal({.split = Split::test, .classes = {0}, .n = 1001}),
            "[fashion_mnist] asked for 1001 examples, the test split holds 1000 of the kept "
            "classes");
  EXPECT_EQ(refusal({.split = Split::test, .classes = {0, 1}, .n = 2002, .balanced = true}),
            "[fashion_mnist] a balanced subset of 2002 needs 1001 examples of class 0, the test "
            "split holds 1000");
}

TEST_F(DataTest, FashionMnistNamesTheDebianPackageWhenMissing) {
  for (const Split split : {Split::train, Split::test}) {
    const std::string file =
        split == Split::train ? "train-images-idx3-ubyte.gz" : "t10k-images-idx3-ubyte.gz";
    EXPECT_EQ(error_of([&] { load_fashion_mnist<float>({.split = split, .directory = dir_}); }),
              "[fashion_mnist] '" + (dir_ / file).string() +
                  "' not found: install the Debian package dataset-fashion-mnist (apt-get "
                  "install dataset-fashion-mnist)");
  }
}

TEST_F(DataTest, FashionMnistReadsAndChecksAFixtureFolder) {
  const fs::path images = dir_ / "t10k-images-idx3-ubyte.gz";
  const fs::path labels = dir_ / "t10k-labels-idx1-ubyte.gz";
  std::string pixels(3 * 784, '\0');
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<char>(i % 256);
  write_gzip(images, idx_file(0x08, {3, 28, 28}, pixels));
  write_gzip(labels, idx_file(0x08, {3}, big_endian<uint8_t>({4, 0, 4})));
  const Dataset<double> data = load_fashion_mnist<double>(
      {.split = Split::test, .directory = dir_, .scaling = PixelScaling::raw});
  EXPECT_EQ(data.labels, (std::vector<int64_t>{4, 0, 4}));
  ASSERT_EQ(data.x.shape(), (Shape{3, 784}));
  EXPECT_EQ(data.x.at({2, 5}), double((2 * 784 + 5) % 256));

  const FashionMnistOptions options{.split = Split::test, .directory = dir_};
  const auto refusal = [&] { return error_of([&] { load_fashion_mnist<float>(options); }); };
  write_gzip(labels, idx_file(0x08, {2}, big_endian<uint8_t>({4, 0})));
  EXPECT_EQ(refusal(), "[fashion_mnist] '" + images.string() + "' holds 3 images but '" +
                           labels.string() + "' holds 2 labels");
  write_gzip(labels, idx_file(0x08, {3}, big_endian<uint8_t>({4, 10, 4})));
  EXPECT_EQ(refusal(),
            "[fashion_mnist] '" + labels.string() + "': label 10 of example 1 is outside 0..9");
  write_gzip(images, idx_file(0x08, {3, 28, 27}, pixels.substr(0, 3 * 28 * 27)));
  EXPECT_EQ(refusal(), "[fashion_mnist] '" + images.string() +
                           "' holds uint8 of shape (3, 28, 27), not uint8 images of shape (n, 28, "
                           "28)");
  // Errors of the IDX reader pass through.
  write_plain(images, "not idx");
  EXPECT_EQ(refusal().substr(0, 12), "[read_idx] '");
}

}  // namespace
}  // namespace lamppost
