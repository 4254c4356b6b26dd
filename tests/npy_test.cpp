#include "tensor/npy.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>

#include "tensor/error.h"
#include "tensor/random.h"
#include "tests/testing.h"

namespace lamppost {
namespace {

using testing::error_of;

namespace fs = std::filesystem;

// The fixtures written by NumPy (tests/data/make_npy_fixtures.py) sit beside this file.
const fs::path kData = fs::path(__FILE__).parent_path() / "data";

// A fresh folder per test, removed afterwards.
class NpyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name =
        fmt::format("lamppost_npy_{}_{}_{}", ::getpid(), info->test_suite_name(), info->name());
    std::replace(name.begin(), name.end(), '/', '_');  // typed suites have '/' in their names
    dir_ = fs::temp_directory_path() / name;
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path dir_;
};

template <class T>
class NpyTypedTest : public NpyTest {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(NpyTypedTest, Types);

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// The elements' bit patterns, so NaNs and signed zeros compare exactly.
template <class T>
auto bits(const Tensor<T>& t) {
  using U = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
  std::vector<U> out;
  for (T v : t.to_vector()) out.push_back(std::bit_cast<U>(v));
  return out;
}

TYPED_TEST(NpyTypedTest, RoundTripsAreBitExact) {
  using T = TypeParam;
  Rng rng(2024);
  auto values = rng.normal<T>({2, 3, 4});
  values.at({0, 0, 0}) = std::numeric_limits<T>::quiet_NaN();
  values.at({0, 0, 1}) = -T(0);
  values.at({0, 0, 2}) = std::numeric_limits<T>::infinity();
  values.at({0, 0, 3}) = std::numeric_limits<T>::denorm_min();
  const auto matrix = rng.uniform<T>({5, 7});
  const std::vector<std::pair<std::string, Tensor<T>>> cases = {
      {"scalar", Tensor<T>::scalar(T(-1.25))},
      {"vector", rng.normal<T>({17})},
      {"3d", values},
      {"empty", Tensor<T>::zeros({0})},
      {"empty_3d", Tensor<T>::zeros({2, 0, 3})},
      {"transposed", matrix.t()},
      {"permuted_slice", values.permute({2, 0, 1}).slice(0, 1, 4, 2)},
      {"broadcast", Tensor<T>::from_vector({1, 2, 3}).broadcast_to({4, 3})},
  };
  for (const auto& [name, tensor] : cases) {
    const fs::path path = this->dir_ / (name + ".npy");
    save_npy(path, tensor);
    const Tensor<T> loaded = load_npy<T>(path);
    EXPECT_EQ(loaded.shape(), tensor.shape()) << name;
    EXPECT_EQ(bits(loaded), bits(tensor)) << name;
  }
  // The transposed view went out in C order of the view: row i of matrix.t() is column i.
  const auto t = load_npy<T>(this->dir_ / "transposed.npy");
  EXPECT_EQ(t.at({6, 4}), matrix.at({4, 6}));
}

TYPED_TEST(NpyTypedTest, WritesTheHeaderNumPyWrites) {
  using T = TypeParam;
  const fs::path path = this->dir_ / "a.npy";
  save_npy(path, Tensor<T>::arange(0, 6).reshape({2, 3}));
  const std::string bytes = read_bytes(path);
  const std::string dict =
      fmt::format("{{'descr': '<f{}', 'fortran_order': False, 'shape': (2, 3), }}", sizeof(T));
  // Magic, version 1.0, little-endian header length; the data start 64-byte aligned.
  ASSERT_EQ(bytes.size(), 128 + 6 * sizeof(T));
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_EQ(static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8, 118);
  EXPECT_EQ(bytes.substr(10, 118), dict + std::string(118 - dict.size() - 1, ' ') + "\n");
  T third;
  std::memcpy(&third, bytes.data() + 128 + 2 * sizeof(T), sizeof(T));
  EXPECT_EQ(third, T(2));

  // 0-d and 1-d shapes are spelled as Python tuples.
  save_npy(path, Tensor<T>::scalar(1));
  EXPECT_NE(read_bytes(path).find("'shape': (), }"), std::string::npos);
  save_npy(path, Tensor<T>::zeros({3}));
  EXPECT_NE(read_bytes(path).find("'shape': (3,), }"), std::string::npos);
}

TEST_F(NpyTest, LoadsFilesWrittenByNumPy) {
  const auto a = load_npy<double>(kData / "f8_2x4.npy");
  ASSERT_EQ(a.shape(), (Shape{2, 4}));
  EXPECT_EQ(a.at({0, 0}), 1.5);
  EXPECT_EQ(a.at({0, 1}), -2.25);
  EXPECT_EQ(a.at({0, 2}), 1e-300);
  EXPECT_TRUE(std::isnan(a.at({0, 3})));
  EXPECT_EQ(a.at({1, 0}), std::numeric_limits<double>::infinity());
  EXPECT_EQ(a.at({1, 1}), 0.0);
  EXPECT_TRUE(std::signbit(a.at({1, 1})));
  EXPECT_EQ(a.at({1, 2}), std::numeric_limits<double>::denorm_min());
  EXPECT_EQ(a.at({1, 3}), 0.1);

  const auto b = load_npy<float>(kData / "f4_2x3x4.npy");
  ASSERT_EQ(b.shape(), (Shape{2, 3, 4}));
  for (int64_t i = 0; i < 2; ++i) {
    for (int64_t j = 0; j < 3; ++j) {
      for (int64_t k = 0; k < 4; ++k) {
        EXPECT_EQ(b.at({i, j, k}), float(12 * i + 4 * j + k) / 8 - 1);
      }
    }
  }

  const auto s = load_npy<float>(kData / "f4_scalar.npy");
  EXPECT_EQ(s.ndim(), 0);
  EXPECT_EQ(s.item(), 3.25f);

  const auto e = load_npy<double>(kData / "f8_empty_0x3.npy");
  EXPECT_EQ(e.shape(), (Shape{0, 3}));
  EXPECT_EQ(e.numel(), 0);

  EXPECT_EQ(load_npy<double>(kData / "f8_v2.npy").to_vector(),
            (std::vector<double>{0, 0.25, 0.5, 0.75, 1}));
  EXPECT_EQ(load_npy<float>(kData / "f4_v3.npy").to_vector(), (std::vector<float>{1, -2, 3}));
}

TEST_F(NpyTest, ConvertsBetweenFloatAndDouble) {
  const auto a = load_npy<float>(kData / "f8_2x4.npy");
  EXPECT_EQ(a.at({0, 1}), -2.25f);
  EXPECT_EQ(a.at({0, 2}), 0.0f);  // 1e-300 underflows float
  EXPECT_TRUE(std::isnan(a.at({0, 3})));
  EXPECT_EQ(a.at({1, 0}), std::numeric_limits<float>::infinity());
  EXPECT_EQ(a.at({1, 3}), 0.1f);  // rounded to nearest

  const auto b = load_npy<double>(kData / "f4_2x3x4.npy");
  EXPECT_EQ(b.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(b.at({1, 2, 3}), 23.0 / 8 - 1);

  // More elements than the conversion's chunk, so the chunk loop turns over.
  Rng rng(5);
  const auto big = rng.normal<double>({20001});
  save_npy(dir_ / "big.npy", big);
  EXPECT_EQ(load_npy<float>(dir_ / "big.npy").to_vector(), big.cast<float>().to_vector());
}

TEST_F(NpyTest, RefusesNumPyFilesOfOtherLayouts) {
  auto refusal = [](const std::string& name) {
    return error_of([&] { load_npy<double>(kData / name); });
  };
  const std::string prefix = "[load_npy] '" + (kData / "").string();
  EXPECT_EQ(refusal("f8_fortran.npy"), prefix +
                                           "f8_fortran.npy': fortran_order True is not "
                                           "supported; save a C-order array");
  EXPECT_EQ(refusal("i8.npy"),
            prefix + "i8.npy': dtype '<i8' is not supported; lamppost reads '<f4' and '<f8'");
  EXPECT_EQ(refusal("f8_big_endian.npy"), prefix +
                                              "f8_big_endian.npy': dtype '>f8' is not "
                                              "supported; lamppost reads '<f4' and '<f8'");
}

// An NPY file with the given version and header dict, padded as NumPy pads it, then data.
std::string npy_file(int major, const std::string& dict, const std::string& data) {
  const size_t fixed = major == 1 ? 10 : 12;
  const size_t total = (fixed + dict.size() + 1 + 63) / 64 * 64;
  const size_t length = total - fixed;
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(major);
  out += '\0';
  for (size_t b = 0; b < fixed - 8; ++b) out += static_cast<char>((length >> (8 * b)) & 0xff);
  out += dict + std::string(length - dict.size() - 1, ' ') + "\n";
  return out + data;
}

std::string dict(const std::string& descr, const std::string& fortran, const std::string& shape) {
  return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
}

TEST_F(NpyTest, RefusesCorruptFilesNamingFileAndReason) {
  const std::string eight_doubles(64, '\0');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "bad magic string: not an NPY file"},
      {"hello world, this is text", "bad magic string: not an NPY file"},
      {std::string("\x93NUMPZ\x01\x00", 8), "bad magic string: not an NPY file"},
      {std::string("\x93NUMPY\x01", 7), "the file ends inside the preamble"},
      {std::string("\x93NUMPY\x02\x00\x10\x00", 10), "the file ends inside the preamble"},
      {npy_file(1, dict("<f8", "False", "(8,)"), eight_doubles).replace(6, 1, "\x04"),
       "unsupported NPY version 4.0 (lamppost reads 1.0, 2.0 and 3.0)"},
      {npy_file(1, dict("<f8", "False", "(8,)"), eight_doubles).replace(7, 1, "\x01"),
       "unsupported NPY version 1.1 (lamppost reads 1.0, 2.0 and 3.0)"},
      {npy_file(1, dict("<f8", "False", "(8,)"), "").substr(0, 50),
       "the header is truncated: it claims 118 bytes but 40 follow"},
      {npy_file(1, "{'descr': '<f8' 'fortran_order': False, 'shape': (8,), }", eight_doubles),
       "the header does not parse: expected '}' at offset 16 of \"{'descr': '<f8' "
       "'fortran_order': False, 'shape': (8,), }"},
      {npy_file(1, "not a dict\x01", eight_doubles),
       "the header does not parse: expected '{' at offset 0 of \"not a dict\\x01"},
      {npy_file(1, dict("<f8", "False", "(8)"), eight_doubles),
       "the header does not parse: expected ',' (a 1-tuple needs its comma)"},
      {npy_file(1, dict("<f8", "Maybe", "(8,)"), eight_doubles),
       "the header does not parse: expected True or False"},
      {npy_file(1, dict("<f8", "False", "(8,)") + "x", eight_doubles),
       "the header does not parse: expected nothing"},
      {npy_file(1, "{'descr': '<f8', 'shape': (8,), }", eight_doubles),
       "the header lacks 'fortran_order'"},
      {npy_file(1, "{'descr': '<f8', 'descr': '<f8', 'shape': (8,), }", eight_doubles),
       "unexpected or repeated key 'descr' in the header"},
      {npy_file(1, dict("<i8", "False", "(8,)"), eight_doubles),
       "dtype '<i8' is not supported; lamppost reads '<f4' and '<f8'"},
      {npy_file(1, dict(">f8", "False", "(8,)"), eight_doubles),
       "dtype '>f8' is not supported; lamppost reads '<f4' and '<f8'"},
      {npy_file(1, "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (8,), }",
                eight_doubles),
       "structured dtypes are not supported (descr is a list)"},
      {npy_file(1, dict("<f8", "True", "(2, 4)"), eight_doubles),
       "fortran_order True is not supported; save a C-order array"},
      {npy_file(1, dict("<f8", "False", "(1, 1, 1, 1, 1, 1, 1, 1, 8)"), eight_doubles),
       "the shape has more than 8 dimensions"},
      {npy_file(1, dict("<f8", "False", "(-1, 8)"), eight_doubles),
       "negative dimension -1 in the shape"},
      {npy_file(1, dict("<f8", "False", "(99999999999999999999,)"), eight_doubles),
       "dimension 99999999999999999999 overflows int64"},
      {npy_file(1, dict("<f8", "False", "(4294967296, 4294967296)"), eight_doubles),
       "shape (4294967296, 4294967296) has too many elements"},
      // Refused from the file's size alone: 8 TiB are never allocated.
      {npy_file(1, dict("<f8", "False", "(1099511627776,)"), ""),
       "the data are truncated: shape (1099511627776,) of '<f8' needs 8796093022208 data bytes, "
       "the file holds 0"},
      {npy_file(2, dict("<f8", "False", "(9,)"), eight_doubles),
       "the data are truncated: shape (9,) of '<f8' needs 72 data bytes, the file holds 64"},
      {npy_file(3, dict("<f4", "False", "(4, 4)"), eight_doubles + "x"),
       "trailing bytes after the data: shape (4, 4) of '<f4' needs 64 data bytes, the file holds "
       "65"},
  };
  int index = 0;
  for (const auto& [bytes, reason] : cases) {
    const fs::path path = dir_ / fmt::format("corrupt_{}.npy", index++);
    write_bytes(path, bytes);
    const std::string expected = "[load_npy] '" + path.string() + "': " + reason;
    for (const std::string& message :
         {error_of([&] { load_npy<double>(path); }), error_of([&] { load_npy<float>(path); })}) {
      EXPECT_EQ(message.substr(0, expected.size()), expected);
    }
  }
  // The same headers are accepted when nothing is wrong.
  write_bytes(dir_ / "fine.npy", npy_file(3, dict("<f8", "False", "(2, 4)"), eight_doubles));
  EXPECT_EQ(load_npy<double>(dir_ / "fine.npy").shape(), (Shape{2, 4}));
  write_bytes(
      dir_ / "fine2.npy",
      npy_file(1, "{\"shape\":(1,2,),\n\"fortran_order\":False,\"descr\":\"<f4\"}", "12345678"));
  EXPECT_EQ(load_npy<double>(dir_ / "fine2.npy").shape(), (Shape{1, 2}));

  EXPECT_EQ(error_of([&] { load_npy<float>(dir_ / "missing.npy"); }),
            "[load_npy] '" + (dir_ / "missing.npy").string() +
                "': cannot open it: No such file or directory");
  EXPECT_EQ(error_of([&] { load_npy<float>(dir_); }),
            "[load_npy] '" + dir_.string() + "': is not a regular file");
}

TEST_F(NpyTest, SavingReplacesAtomicallyAndLeavesNoTemporary) {
  const fs::path path = dir_ / "x.npy";
  save_npy(path, Tensor<double>::ones({3}));
  save_npy(path, Tensor<double>::full({2}, 5));
  EXPECT_EQ(load_npy<double>(path).to_vector(), (std::vector<double>{5, 5}));
  EXPECT_EQ(listing(), std::vector<std::string>{"x.npy"});

  // A new file gets the usual mode (0666 less the umask), not a private temporary's 0600.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0666 & ~mask);

  // A relative path is saved beside the current folder's files.
  const fs::path cwd = fs::current_path();
  fs::current_path(dir_);
  save_npy("relative.npy", Tensor<float>::scalar(2));
  fs::current_path(cwd);
  EXPECT_EQ(load_npy<float>(dir_ / "relative.npy").item(), 2.0f);
}

TEST_F(NpyTest, FailedSavesLeaveTheOldFileAndNoTemporary) {
  const fs::path path = dir_ / "x.npy";
  save_npy(path, Tensor<double>::full({4}, 1.5));
  const std::string before = read_bytes(path);

  // Writing fails halfway: the file size limit stops the data at 4 KiB.
  {
    struct rlimit old_limit {};
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
    struct rlimit limit = old_limit;
    limit.rlim_cur = 4096;
    auto* const old_handler = std::signal(SIGXFSZ, SIG_IGN);  // get EFBIG, not a signal
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
    const std::string message = error_of([&] { save_npy(path, Tensor<double>::ones({10000})); });
    ::setrlimit(RLIMIT_FSIZE, &old_limit);
    std::signal(SIGXFSZ, old_handler);
    EXPECT_EQ(message, "[save_npy] '" + path.string() + "': writing failed: File too large");
  }
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(listing(), std::vector<std::string>{"x.npy"});

  // The target is a folder: the rename fails after the temporary was written.
  const fs::path folder = dir_ / "folder.npy";
  fs::create_directory(folder);
  EXPECT_EQ(error_of([&] { save_npy(folder, Tensor<float>::ones({2})); }),
            "[save_npy] '" + folder.string() + "': cannot replace it: Is a directory");
  EXPECT_EQ(listing(), (std::vector<std::string>{"folder.npy", "x.npy"}));

  const fs::path nowhere = dir_ / "no_such_folder" / "y.npy";
  EXPECT_EQ(error_of([&] { save_npy(nowhere, Tensor<float>::ones({2})); }),
            "[save_npy] '" + nowhere.string() +
                "': cannot create a temporary file beside it: No such file or directory");
  EXPECT_EQ(error_of([&] { save_npy(dir_ / "", Tensor<float>::ones({2})); }),
            "[save_npy] '" + (dir_ / "").string() + "': names a folder, not a file");
}

}  // namespace
}  // namespace lamppost
