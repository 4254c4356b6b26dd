#include "tensor/npy.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cctype>
#include <cerrno>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "tensor/error.h"
#include "tensor/file.h"

namespace lamppost {

namespace {

using detail::errno_message;
using detail::File;
using detail::file_error;
using detail::read_exact;

// Data are copied between memory and file as they are, which is the file's byte order only on
// a little-endian machine.
static_assert(std::endian::native == std::endian::little, "npy.cpp assumes a little-endian host");

namespace fs = std::filesystem;

constexpr std::array<char, 6> kMagic = {'\x93', 'N', 'U', 'M', 'P', 'Y'};
// NumPy pads the header so the data start on a 64-byte boundary, and so do we.
constexpr size_t kHeaderAlignment = 64;

// ---------------------------------------------------------------------------------------------
// Reading.

struct NpyHeader {
  int item_size = 0;  // 4 for '<f4', 8 for '<f8'
  Shape shape;
};

// The header is a Python dict literal, e.g. {'descr': '<f8', 'fortran_order': False,
// 'shape': (2, 3), }. This parser accepts exactly the subset NumPy writes and literal_eval
// would read: the three keys in any order, each once; quoted strings; True/False; tuples of
// integers (a 1-tuple needs its trailing comma); trailing commas; any whitespace.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const fs::path& path) : text_(text), path_(path) {}

  NpyHeader parse() {
    std::optional<std::string> descr;
    std::optional<bool> fortran_order;
    std::optional<Shape> shape;
    expect('{');
    while (!accept('}')) {
      const std::string key = parse_string();
      expect(':');
      skip_space();
      if (key == "descr" && !descr) {
        if (at() == '[') refuse("structured dtypes are not supported (descr is a list)");
        descr = parse_string();
      } else if (key == "fortran_order" && !fortran_order) {
        fortran_order = parse_bool();
      } else if (key == "shape" && !shape) {
        shape = parse_shape();
      } else {
        refuse("unexpected or repeated key '{}' in the header", key);
      }
      if (!accept(',')) {
        expect('}');
        break;
      }
    }
    skip_space();
    if (pos_ != text_.size()) syntax_error("nothing");
    if (!descr || !fortran_order || !shape) {
      refuse("the header lacks '{}'", !descr           ? "descr"
                                      : !fortran_order ? "fortran_order"
                                                       : "shape");
    }
    if (*descr != "<f4" && *descr != "<f8") {
      refuse("dtype '{}' is not supported; lamppost reads '<f4' and '<f8'", *descr);
    }
    if (*fortran_order) refuse("fortran_order True is not supported; save a C-order array");
    return {(*descr)[2] == '4' ? 4 : 8, std::move(*shape)};
  }

 private:
  template <class... Args>
  [[noreturn]] void refuse(fmt::format_string<Args...> reason, Args&&... args) const {
    file_error("load_npy", path_, reason, std::forward<Args>(args)...);
  }

  [[noreturn]] void syntax_error(std::string_view expected) const {
    // The header is quoted with its non-printable bytes escaped, as the file may be anything.
    std::string shown;
    for (char c : text_.substr(0, 200)) {
      const auto byte = static_cast<unsigned char>(c);
      shown += byte >= 0x20 && byte < 0x7f ? std::string(1, c) : fmt::format("\\x{:02x}", byte);
    }
    refuse("the header does not parse: expected {} at offset {} of \"{}\"", expected, pos_, shown);
  }

  char at() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool accept(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  void expect(char c) {
    if (!accept(c)) syntax_error(fmt::format("'{}'", c));
  }

  std::string parse_string() {
    skip_space();
    const char quote = at();
    if (quote != '\'' && quote != '"') syntax_error("a quoted string");
    const size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) syntax_error("the end of the string");
    std::string s(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return s;
  }

  bool parse_bool() {
    skip_space();
    for (const auto& [word, value] :
         {std::pair{std::string_view("True"), true}, std::pair{std::string_view("False"), false}}) {
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return value;
      }
    }
    syntax_error("True or False");
  }

  Shape parse_shape() {
    expect('(');
    Shape shape;
    bool trailing_comma = false;
    while (!accept(')')) {
      if (shape.size() == kMaxDims) refuse("the shape has more than {} dimensions", kMaxDims);
      shape.push_back(parse_dimension());
      trailing_comma = accept(',');
      if (!trailing_comma) {
        expect(')');
        break;
      }
    }
    if (shape.size() == 1 && !trailing_comma) syntax_error("',' (a 1-tuple needs its comma)");
    // The element count must fit int64_t, and so must the byte count checked later.
    int64_t count = 1;
    for (int64_t extent : shape) {
      if (extent != 0 && count > std::numeric_limits<int64_t>::max() / 8 / extent) {
        refuse("shape {} has too many elements", to_string(shape));
      }
      count *= extent;
    }
    return shape;
  }

  int64_t parse_dimension() {
    skip_space();
    const size_t start = pos_;
    const bool negative = at() == '-';
    if (negative) ++pos_;
    if (!std::isdigit(static_cast<unsigned char>(at()))) syntax_error("a dimension");
    uint64_t value = 0;
    bool overflow = false;
    while (std::isdigit(static_cast<unsigned char>(at()))) {
      const auto digit = static_cast<uint64_t>(text_[pos_++] - '0');
      overflow = overflow || value > (std::numeric_limits<int64_t>::max() - digit) / 10;
      if (!overflow) value = value * 10 + digit;
    }
    const std::string_view digits = text_.substr(start, pos_ - start);
    if (negative) refuse("negative dimension {} in the shape", digits);
    if (overflow) refuse("dimension {} overflows int64", digits);
    return static_cast<int64_t>(value);
  }

  std::string_view text_;
  const fs::path& path_;
  size_t pos_ = 0;
};

// Copies count elements of type From from the file into out, converting to T in chunks so no
// second full-size buffer is needed.
template <Real T, Real From>
bool read_converted(int fd, T* out, int64_t count) {
  constexpr int64_t kChunk = 8192;
  std::array<From, kChunk> buffer;
  for (int64_t done = 0; done < count; done += kChunk) {
    const int64_t n = std::min(kChunk, count - done);
    if (!read_exact(fd, buffer.data(), static_cast<size_t>(n) * sizeof(From))) return false;
    for (int64_t i = 0; i < n; ++i) out[done + i] = static_cast<T>(buffer[i]);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Writing.

// What save_npy writes before the data: magic, version, header length and the header dict,
// space-padded to end in '\n' on a 64-byte boundary.
std::string npy_prefix(std::string_view descr, const Shape& shape) {
  const std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                                       descr, to_string(shape));
  // Version 1.0 counts the header in 2 bytes: ample for kMaxDims extents (NumPy moves to 2.0
  // only past 65535 bytes).
  const size_t total = 10 + dict.size() + 1;
  const size_t length = (total + kHeaderAlignment - 1) / kHeaderAlignment * kHeaderAlignment - 10;
  static_assert(kMaxDims * 24 + 128 < std::numeric_limits<uint16_t>::max());
  std::string out(kMagic.begin(), kMagic.end());
  out += '\x01';
  out += '\0';
  out += static_cast<char>(length & 0xff);
  out += static_cast<char>(length >> 8);
  out += dict;
  out.append(length - dict.size() - 1, ' ');
  out += '\n';
  return out;
}

}  // namespace

template <Real T>
void save_npy(const fs::path& path, const Tensor<T>& tensor) {
  constexpr std::string_view op = "save_npy";
  const Tensor<T> data = tensor.contiguous();
  const std::string prefix = npy_prefix(sizeof(T) == 4 ? "<f4" : "<f8", data.shape());

  const size_t bytes = static_cast<size_t>(data.numel()) * sizeof(T);
  detail::write_file_atomically(
      op, path,
      {std::span<const char>(prefix),
       std::span<const char>(reinterpret_cast<const char*>(data.data()), bytes)});
}

template <Real T>
Tensor<T> load_npy(const fs::path& path) {
  constexpr std::string_view op = "load_npy";
  File file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file.is_open()) file_error(op, path, "cannot open it: {}", errno_message(errno));
  struct stat info {};
  if (::fstat(file.fd(), &info) != 0) {
    file_error(op, path, "cannot read its size: {}", errno_message(errno));
  }
  if (!S_ISREG(info.st_mode)) file_error(op, path, "is not a regular file");
  const auto file_size = static_cast<uint64_t>(info.st_size);

  // Magic (6 bytes) and version (2), then the header length: 2 bytes in version 1, 4 in
  // versions 2 and 3.
  std::array<unsigned char, 8> preamble{};
  const auto preamble_read = static_cast<size_t>(std::min<uint64_t>(file_size, preamble.size()));
  if (!read_exact(file.fd(), preamble.data(), preamble_read)) {
    file_error(op, path, "reading failed: {}", errno_message(errno));
  }
  if (preamble_read < kMagic.size() ||
      !std::equal(kMagic.begin(), kMagic.end(), preamble.begin(),
                  [](char m, unsigned char c) { return static_cast<unsigned char>(m) == c; })) {
    file_error(op, path, "bad magic string: not an NPY file");
  }
  if (preamble_read < preamble.size()) file_error(op, path, "the file ends inside the preamble");
  const int major = preamble[6], minor = preamble[7];
  if (minor != 0 || major < 1 || major > 3) {
    file_error(op, path, "unsupported NPY version {}.{} (lamppost reads 1.0, 2.0 and 3.0)", major,
               minor);
  }
  const size_t length_bytes = major == 1 ? 2 : 4;
  const uint64_t header_start = preamble.size() + length_bytes;
  if (file_size < header_start) file_error(op, path, "the file ends inside the preamble");
  std::array<unsigned char, 4> length_field{};
  if (!read_exact(file.fd(), length_field.data(), length_bytes)) {
    file_error(op, path, "reading failed: {}", errno_message(errno));
  }
  uint64_t header_length = 0;
  for (size_t b = 0; b < length_bytes; ++b) header_length |= uint64_t{length_field[b]} << (8 * b);
  if (header_length > file_size - header_start) {
    file_error(op, path, "the header is truncated: it claims {} bytes but {} follow", header_length,
               file_size - header_start);
  }
  std::string text(header_length, '\0');
  if (!read_exact(file.fd(), text.data(), header_length)) {
    file_error(op, path, "reading the header failed: {}", errno_message(errno));
  }
  const NpyHeader header = HeaderParser(text, path).parse();

  // The shape was checked to keep the byte count within int64_t.
  int64_t count = 1;
  for (int64_t extent : header.shape) count *= extent;
  const auto expected = static_cast<uint64_t>(count) * static_cast<uint64_t>(header.item_size);
  const uint64_t actual = file_size - header_start - header_length;
  if (actual != expected) {
    file_error(op, path, "{}: shape {} of '<f{}' needs {} data bytes, the file holds {}",
               actual < expected ? "the data are truncated" : "trailing bytes after the data",
               to_string(header.shape), header.item_size, expected, actual);
  }

  Tensor<T> out = Tensor<T>::empty(header.shape);
  const bool ok = header.item_size == static_cast<int>(sizeof(T))
                      ? read_exact(file.fd(), out.data(), static_cast<size_t>(expected))
                  : header.item_size == 4 ? read_converted<T, float>(file.fd(), out.data(), count)
                                          : read_converted<T, double>(file.fd(), out.data(), count);
  if (!ok) {
    file_error(op, path, "reading the data failed: {}",
               errno == 0 ? "the file shrank while being read" : errno_message(errno));
  }
  return out;
}

template void save_npy<float>(const fs::path&, const Tensor<float>&);
template void save_npy<double>(const fs::path&, const Tensor<double>&);
template Tensor<float> load_npy<float>(const fs::path&);
template Tensor<double> load_npy<double>(const fs::path&);

}  // namespace lamppost
