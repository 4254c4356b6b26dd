// File helpers shared by the readers and writers of lamppost's formats (.npy, saved models):
// errors that name the file, descriptors closed on every path, whole reads, and atomic writes.
#pragma once

#include <cstddef>
#include <filesystem>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "tensor/error.h"

namespace lamppost::detail {

// Throws Error("[op] '<path>': <reason>").
template <class... Args>
[[noreturn]] void file_error(std::string_view op, const std::filesystem::path& path,
                             fmt::format_string<Args...> reason, Args&&... args) {
  fail(op, "'{}': {}", path.string(), fmt::format(reason, std::forward<Args>(args)...));
}

// strerror's text for an errno value, thread-safely.
std::string errno_message(int error);

// An open file descriptor, closed when it goes out of scope.
class File {
 public:
  explicit File(int fd) : fd_(fd) {}
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  int fd() const { return fd_; }
  bool is_open() const { return fd_ >= 0; }
  // Closes now; false if close reports an error (NFS and friends report failed writes here).
  bool close();

 private:
  int fd_;
};

// Reads exactly size bytes; false at end of file or on an error (errno tells which: 0 at end).
bool read_exact(int fd, void* buffer, size_t size);

// Writes the parts one after another to path, atomically: into a temporary file beside it,
// flushed to disk, then renamed over path, so a reader sees the old file or the whole new one
// and a failure leaves no temporary behind. Errors name op and path.
void write_file_atomically(std::string_view op, const std::filesystem::path& path,
                           std::initializer_list<std::span<const char>> parts);

}  // namespace lamppost::detail
