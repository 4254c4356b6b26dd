#include "tensor/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <system_error>

namespace lamppost::detail {

namespace fs = std::filesystem;

namespace {

bool write_all(int fd, const void* buffer, size_t size) {
  const auto* in = static_cast<const char*>(buffer);
  while (size > 0) {
    const ssize_t put = ::write(fd, in, size);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) return false;
    in += put;
    size -= static_cast<size_t>(put);
  }
  return true;
}

// The temporary file beside the target, removed unless it was renamed into place.
class TemporaryFile {
 public:
  TemporaryFile() = default;
  ~TemporaryFile() {
    if (!path_.empty() && !kept_) ::unlink(path_.c_str());
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

  // Creates a new file named .<name>.<random>.tmp beside target, mode 0666 less the umask like
  // any new file. O_EXCL makes the name ours alone; a clash draws another name.
  int create_beside(const fs::path& target) {
    const fs::path folder = target.parent_path();
    std::random_device entropy;
    for (int attempt = 0; attempt < 16; ++attempt) {
      const std::string name =
          fmt::format(".{}.{:08x}{:08x}.tmp", target.filename().string(), entropy(), entropy());
      fs::path candidate = folder.empty() ? fs::path(name) : folder / name;
      const int fd = ::open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd >= 0) {
        path_ = std::move(candidate);
        return fd;
      }
      if (errno != EEXIST) return -1;
    }
    errno = EEXIST;
    return -1;
  }

  const fs::path& path() const { return path_; }
  void keep() { kept_ = true; }

 private:
  fs::path path_;
  bool kept_ = false;
};

}  // namespace

std::string errno_message(int error) {
  return std::generic_category().message(error);
}

File::~File() {
  if (fd_ >= 0) ::close(fd_);
}

bool File::close() {
  const int fd = fd_;
  fd_ = -1;
  return ::close(fd) == 0;
}

bool read_exact(int fd, void* buffer, size_t size) {
  auto* out = static_cast<char*>(buffer);
  while (size > 0) {
    const ssize_t got = ::read(fd, out, size);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      if (got == 0) errno = 0;
      return false;
    }
    out += got;
    size -= static_cast<size_t>(got);
  }
  return true;
}

void write_file_atomically(std::string_view op, const fs::path& path,
                           std::initializer_list<std::span<const char>> parts) {
  if (path.filename().empty()) file_error(op, path, "names a folder, not a file");
  TemporaryFile temporary;
  File file(temporary.create_beside(path));
  if (!file.is_open()) {
    file_error(op, path, "cannot create a temporary file beside it: {}", errno_message(errno));
  }
  for (const std::span<const char> part : parts) {
    if (!write_all(file.fd(), part.data(), part.size())) {
      file_error(op, path, "writing failed: {}", errno_message(errno));
    }
  }
  // Flushed before the rename, so a crash cannot leave the new name on a partly written file.
  if (::fsync(file.fd()) != 0) file_error(op, path, "flushing failed: {}", errno_message(errno));
  if (!file.close()) file_error(op, path, "closing failed: {}", errno_message(errno));
  if (::rename(temporary.path().c_str(), path.c_str()) != 0) {
    file_error(op, path, "cannot replace it: {}", errno_message(errno));
  }
  temporary.keep();
}

}  // namespace lamppost::detail
