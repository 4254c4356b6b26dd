#include "data/idx.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <limits>
#include <memory>
#include <string>
#include <system_error>

#include "tensor/error.h"

namespace lamppost {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kOp = "read_idx";

template <class... Args>
[[noreturn]] void refuse(const fs::path& path, fmt::format_string<Args...> reason, Args&&... args) {
  fail(kOp, "'{}': {}", path.string(), fmt::format(reason, std::forward<Args>(args)...));
}

std::string errno_message(int error) {
  return std::generic_category().message(error);
}

// The bytes of a file, inflated on the fly when the file is gzip. The gzip test looks at the
// content, not the name, so "x.gz" holding plain IDX and "x" holding gzip both read.
class Source {
 public:
  explicit Source(const fs::path& path) : path_(path) {
    file_.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (file_.fd < 0) refuse(path, "cannot open it: {}", errno_message(errno));
    struct stat info {};
    if (::fstat(file_.fd, &info) != 0)
      refuse(path, "cannot read its size: {}", errno_message(errno));
    if (!S_ISREG(info.st_mode)) refuse(path, "is not a regular file");
    file_size_ = static_cast<uint64_t>(info.st_size);

    std::array<unsigned char, 2> magic{};
    const bool gzip = read_plain(magic.data(), magic.size()) == magic.size() && magic[0] == 0x1f &&
                      magic[1] == 0x8b;
    if (::lseek(file_.fd, 0, SEEK_SET) != 0) {
      refuse(path, "cannot seek in it: {}", errno_message(errno));
    }
    if (gzip) {
      // zlib takes the descriptor over (gzclose closes it); on failure it stays ours.
      gz_.reset(::gzdopen(file_.fd, "rb"));
      if (gz_ == nullptr) refuse(path, "cannot open its gzip stream: {}", errno_message(errno));
      file_.fd = -1;
      // A larger buffer than zlib's 8 KiB default means fewer read calls.
      ::gzbuffer(gz_.get(), 1 << 17);
    }
  }
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  bool is_gzip() const { return gz_ != nullptr; }
  uint64_t file_size() const { return file_size_; }

  // Reads up to size bytes; fewer only where the (decompressed) data end. Errors throw.
  size_t read(void* buffer, size_t size) {
    return is_gzip() ? read_gzip(buffer, size) : read_plain(buffer, size);
  }

 private:
  size_t read_plain(void* buffer, size_t size) {
    auto* out = static_cast<char*>(buffer);
    size_t done = 0;
    while (done < size) {
      const ssize_t got = ::read(file_.fd, out + done, size - done);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) refuse(path_, "reading failed: {}", errno_message(errno));
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    return done;
  }

  size_t read_gzip(void* buffer, size_t size) {
    auto* out = static_cast<char*>(buffer);
    size_t done = 0;
    while (done < size) {
      // gzread counts in int.
      const auto chunk = static_cast<unsigned>(std::min<size_t>(size - done, 1U << 30));
      const int got = ::gzread(gz_.get(), out + done, chunk);
      // A stream cut short still yields what it holds, then reports Z_BUF_ERROR, so the error
      // is checked after every call, not only when gzread returns -1.
      if (got > 0) done += static_cast<size_t>(got);
      int code = Z_OK;
      const char* message = ::gzerror(gz_.get(), &code);
      if (got < 0 || code != Z_OK) {
        refuse(path_, "corrupt gzip data after {} decompressed bytes: {}", delivered_ + done,
               zlib_reason(code, message));
      }
      if (static_cast<unsigned>(got) < chunk) break;
    }
    delivered_ += done;
    return done;
  }

  // gzerror's message is "<fd:N>: reason" for a stream opened with gzdopen; the descriptor
  // means nothing to the reader, so only the reason is kept.
  static std::string zlib_reason(int code, const char* message) {
    if (code == Z_ERRNO) return errno_message(errno);
    std::string_view text = message;
    if (text.starts_with("<fd:")) {
      const size_t colon = text.find(": ");
      if (colon != std::string_view::npos) text.remove_prefix(colon + 2);
    }
    return std::string(text);
  }

  // Members, not constructor code, own the descriptor and the stream, so that a refusal thrown
  // by the constructor still closes them.
  struct Descriptor {
    int fd = -1;
    ~Descriptor() {
      if (fd >= 0) ::close(fd);
    }
  };
  struct GzClose {
    void operator()(gzFile stream) const { ::gzclose(stream); }
  };

  const fs::path& path_;
  Descriptor file_;
  std::unique_ptr<gzFile_s, GzClose> gz_;
  uint64_t file_size_ = 0;
  uint64_t delivered_ = 0;
};

std::string hex_bytes(const unsigned char* bytes, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) out += fmt::format("{}{:02x}", i == 0 ? "" : " ", bytes[i]);
  return out;
}

// The element at p, stored big-endian, as type V.
template <class V>
V load_big_endian(const unsigned char* p) {
  using Bits = std::conditional_t<
      sizeof(V) == 1, uint8_t,
      std::conditional_t<sizeof(V) == 2, uint16_t,
                         std::conditional_t<sizeof(V) == 4, uint32_t, uint64_t>>>;
  Bits bits = 0;
  for (size_t k = 0; k < sizeof(V); ++k) bits = static_cast<Bits>((uint64_t{bits} << 8) | p[k]);
  return std::bit_cast<V>(bits);
}

// Calls f(i, value) for every element, value in the array's own C++ type.
template <class F>
void for_each_value(const IdxArray& array, F&& f) {
  const auto visit = [&]<class V>(V) {
    const int64_t n = array.numel();
    const unsigned char* p = array.bytes.data();
    for (int64_t i = 0; i < n; ++i) f(i, load_big_endian<V>(p + i * sizeof(V)));
  };
  switch (array.type) {
    case IdxType::uint8:
      return visit(uint8_t{});
    case IdxType::int8:
      return visit(int8_t{});
    case IdxType::int16:
      return visit(int16_t{});
    case IdxType::int32:
      return visit(int32_t{});
    case IdxType::float32:
      return visit(float{});
    case IdxType::float64:
      return visit(double{});
  }
}

bool is_known_type(unsigned char code) {
  return code == 0x08 || code == 0x09 || (code >= 0x0B && code <= 0x0E);
}

}  // namespace

std::string_view to_string(IdxType type) {
  switch (type) {
    case IdxType::uint8:
      return "uint8";
    case IdxType::int8:
      return "int8";
    case IdxType::int16:
      return "int16";
    case IdxType::int32:
      return "int32";
    case IdxType::float32:
      return "float32";
    case IdxType::float64:
      return "float64";
  }
  return "unknown";
}

size_t item_size(IdxType type) {
  switch (type) {
    case IdxType::uint8:
    case IdxType::int8:
      return 1;
    case IdxType::int16:
      return 2;
    case IdxType::int32:
    case IdxType::float32:
      return 4;
    case IdxType::float64:
      return 8;
  }
  return 0;
}

bool is_integer(IdxType type) {
  return type != IdxType::float32 && type != IdxType::float64;
}

int64_t IdxArray::numel() const {
  return lamppost::numel(shape, kOp);
}

template <Real T>
Tensor<T> IdxArray::to_tensor() const {
  Tensor<T> out = Tensor<T>::empty(shape);
  T* data = out.data();
  for_each_value(*this, [&](int64_t i, auto value) { data[i] = static_cast<T>(value); });
  return out;
}

IdxArray read_idx_array(const fs::path& path) {
  Source source(path);
  const char* const holder = source.is_gzip() ? "the decompressed file" : "the file";

  std::array<unsigned char, 4> magic{};
  const size_t magic_read = source.read(magic.data(), magic.size());
  if (magic_read == 0) refuse(path, "{} is empty", holder);
  if (magic_read < 2 || magic[0] != 0 || magic[1] != 0) {
    refuse(path, "bad magic {}: neither IDX (00 00 <type> <ndim>) nor gzip (1f 8b)",
           hex_bytes(magic.data(), magic_read));
  }
  if (magic_read < magic.size()) {
    refuse(path, "truncated header: needs 4 bytes, {} holds {}", holder, magic_read);
  }
  if (!is_known_type(magic[2])) {
    refuse(path,
           "unknown type code 0x{:02x} (IDX has 0x08 uint8, 0x09 int8, 0x0b int16, 0x0c int32, "
           "0x0d float32, 0x0e float64)",
           magic[2]);
  }
  const auto type = static_cast<IdxType>(magic[2]);
  const size_t ndim = magic[3];
  if (ndim == 0 || ndim > kMaxDims) {
    refuse(path, "{} dimensions: lamppost reads 1 to {}", ndim, kMaxDims);
  }

  std::array<unsigned char, 4 * kMaxDims> extents{};
  const size_t extents_read = source.read(extents.data(), 4 * ndim);
  if (extents_read < 4 * ndim) {
    refuse(path, "truncated header: needs {} bytes, {} holds {}", 4 + 4 * ndim, holder,
           4 + extents_read);
  }
  IdxArray array;
  array.type = type;
  for (size_t d = 0; d < ndim; ++d)
    array.shape.push_back(load_big_endian<uint32_t>(&extents[4 * d]));
  // The byte count must fit int64_t; each extent is below 2^32, so only the product can overflow.
  const auto item = static_cast<int64_t>(item_size(type));
  int64_t count = 1;
  for (const int64_t extent : array.shape) {
    if (extent != 0 && count > std::numeric_limits<int64_t>::max() / item / extent) {
      refuse(path, "shape {} of {} has too many elements", to_string(array.shape), to_string(type));
    }
    count *= extent;
  }
  const auto expected = static_cast<uint64_t>(count * item);
  const auto describe = [&] {
    return fmt::format("shape {} of {} needs {} data bytes", to_string(array.shape),
                       to_string(type), expected);
  };

  if (!source.is_gzip()) {
    // The file's size tells the data length before anything is allocated.
    const uint64_t actual = source.file_size() - 4 - 4 * ndim;
    if (actual < expected) refuse(path, "truncated: {}, the file holds {}", describe(), actual);
    if (actual > expected) {
      refuse(path, "trailing bytes after the data: {}, the file holds {}", describe(), actual);
    }
    array.bytes.resize(expected);
    if (source.read(array.bytes.data(), expected) != expected) {
      refuse(path, "the file shrank while being read");
    }
    return array;
  }

  // The uncompressed size is known only once read, so the buffer grows (doubling, capped at
  // the expected size) as data arrive: a small file claiming a huge shape costs at most twice
  // what it really holds.
  constexpr uint64_t kChunk = uint64_t{1} << 20;
  while (array.bytes.size() < expected) {
    const size_t have = array.bytes.size();
    const size_t want = std::min(expected - have, kChunk);
    if (array.bytes.capacity() < have + want) {
      array.bytes.reserve(
          std::min<uint64_t>(expected, std::max(2 * array.bytes.capacity(), have + want)));
    }
    array.bytes.resize(have + want);
    const size_t got = source.read(array.bytes.data() + have, want);
    array.bytes.resize(have + got);
    if (got < want) refuse(path, "truncated: {}, {} holds {}", describe(), holder, have + got);
  }
  // Reading past the data also makes zlib verify the stream's checksum and length.
  unsigned char extra = 0;
  if (source.read(&extra, 1) != 0) {
    refuse(path, "trailing bytes after the data: {}, {} holds more", describe(), holder);
  }
  return array;
}

template <Real T>
Tensor<T> read_idx(const fs::path& path) {
  return read_idx_array(path).to_tensor<T>();
}

std::vector<int64_t> read_idx_labels(const fs::path& path) {
  const IdxArray array = read_idx_array(path);
  if (!is_integer(array.type)) {
    refuse(path, "labels must be integers, the file holds {}", to_string(array.type));
  }
  if (array.shape.size() != 1) {
    refuse(path, "labels must be 1-d, the file holds shape {}", to_string(array.shape));
  }
  std::vector<int64_t> labels(static_cast<size_t>(array.numel()));
  for_each_value(array, [&](int64_t i, auto value) {
    labels[static_cast<size_t>(i)] = static_cast<int64_t>(value);
  });
  return labels;
}

template Tensor<float> IdxArray::to_tensor<float>() const;
template Tensor<double> IdxArray::to_tensor<double>() const;
template Tensor<float> read_idx<float>(const fs::path&);
template Tensor<double> read_idx<double>(const fs::path&);

}  // namespace lamppost
