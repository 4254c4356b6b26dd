#include "models/save.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "tensor/error.h"
#include "tensor/file.h"

namespace lamppost {

namespace {

static_assert(std::endian::native == std::endian::little, "save.cpp assumes a little-endian host");

namespace fs = std::filesystem;

constexpr std::string_view kFirstLine = "lamppost model 1\n";
constexpr std::string_view kDataMarker = "\ndata\n";  // ends the header; the data follow
// A header is a few hundred bytes; a larger one is not a header (and is not read whole).
constexpr size_t kMaxHeaderBytes = 1 << 16;

template <Real T>
std::string_view type_name() {
  return sizeof(T) == 4 ? "float32" : "float64";
}

// The header's lines after the first, as key -> value, each key once.
class Header {
 public:
  Header(const fs::path& path, std::string_view text) : path_(path) {
    size_t at = 0;
    while (at < text.size()) {
      const size_t end = std::min(text.find('\n', at), text.size());
      const std::string_view line = text.substr(at, end - at);
      at = end + 1;
      const size_t space = line.find(' ');
      const std::string key(line.substr(0, space));
      LAMPPOST_CHECK(!key.empty() && space != std::string_view::npos, "load_model",
                     "'{}': header line '{}' is not 'key value'", path_.string(), line);
      LAMPPOST_CHECK(values_.emplace(key, line.substr(space + 1)).second, "load_model",
                     "'{}': key '{}' appears twice", path_.string(), key);
    }
  }

  std::string take(const std::string& key) {
    const auto found = values_.find(key);
    if (found == values_.end())
      detail::file_error("load_model", path_, "the header lacks '{}'", key);
    std::string value = found->second;
    values_.erase(found);
    return value;
  }

  template <class N>
  N number(const std::string& key) {
    const std::string text = take(key);
    N value{};
    const char* begin = text.data();
    const char* const stop = text.data() + text.size();
    std::from_chars_result result{};
    if constexpr (std::is_floating_point_v<N>) {
      // Written by fmt's {:a} as [-]0x<hex>p<exp>; from_chars takes it without the 0x.
      const bool negative = begin != stop && *begin == '-';
      const std::string_view digits(begin + negative, stop);
      if (!digits.starts_with("0x")) {
        detail::file_error("load_model", path_, "'{}' has the value '{}', not a hexadecimal real",
                           key, text);
      }
      result = std::from_chars(digits.data() + 2, stop, value, std::chars_format::hex);
      if (negative) value = -value;
    } else {
      result = std::from_chars(begin, stop, value);
    }
    if (result.ec != std::errc() || result.ptr != stop) {
      detail::file_error("load_model", path_, "'{}' has the value '{}', not a number", key, text);
    }
    return value;
  }

  std::vector<int64_t> numbers(const std::string& key) {
    const std::string text = take(key);
    std::vector<int64_t> values;
    const char* at = text.data();
    const char* end = text.data() + text.size();
    while (at < end) {
      int64_t value = 0;
      const auto [next, error] = std::from_chars(at, end, value);
      if (error != std::errc() || (next != end && *next != ' ')) {
        detail::file_error("load_model", path_, "'{}' has the value '{}', not numbers", key, text);
      }
      values.push_back(value);
      at = next == end ? end : next + 1;
    }
    return values;
  }

  // Every key has been taken: anything left is unknown to this version.
  void finish() const {
    if (!values_.empty()) {
      detail::file_error("load_model", path_, "unknown key '{}' in the header",
                         values_.begin()->first);
    }
  }

 private:
  fs::path path_;
  std::map<std::string, std::string> values_;
};

}  // namespace

template <Real T>
void save_model(const fs::path& path, const Mlp<T>& mlp, const Tensor<T>& params) {
  LAMPPOST_CHECK(params.shape() == Shape{mlp.parameter_count()}, "save_model",
                 "parameters of shape {} for a network of {} parameters", to_string(params.shape()),
                 mlp.parameter_count());
  const MlpConfig& c = mlp.config();
  const std::string header = fmt::format(
      "{}kind mlp\ntype {}\ninputs {}\nhidden {}\noutputs {}\nactivation {}\n"
      "parameterization {}\nsigma_w {:a}\nsigma_b {:a}\nbiases {}\nnonlinear_output {}\n"
      "parameters {}{}",
      kFirstLine, type_name<T>(), c.inputs, fmt::join(c.hidden, " "), c.outputs,
      to_string(c.activation), to_string(c.parameterization), c.sigma_w, c.sigma_b,
      c.biases ? 1 : 0, c.nonlinear_output ? 1 : 0, mlp.parameter_count(), kDataMarker);
  const Tensor<T> data = params.contiguous();
  detail::write_file_atomically(
      "save_model", path,
      {std::span<const char>(header),
       std::span<const char>(reinterpret_cast<const char*>(data.data()),
                             static_cast<size_t>(data.numel()) * sizeof(T))});
}

template <Real T>
SavedModel<T> load_model(const fs::path& path) {
  constexpr std::string_view op = "load_model";
  detail::File file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file.is_open())
    detail::file_error(op, path, "cannot open it: {}", detail::errno_message(errno));
  struct stat info {};
  if (::fstat(file.fd(), &info) != 0) {
    detail::file_error(op, path, "cannot stat it: {}", detail::errno_message(errno));
  }
  if (!S_ISREG(info.st_mode)) detail::file_error(op, path, "not a regular file");
  const auto file_size = static_cast<uint64_t>(info.st_size);

  // The header: lines up to "data\n", within the first kMaxHeaderBytes.
  std::string head(static_cast<size_t>(std::min<uint64_t>(file_size, kMaxHeaderBytes)), '\0');
  if (!detail::read_exact(file.fd(), head.data(), head.size())) {
    detail::file_error(op, path, "reading failed: {}", detail::errno_message(errno));
  }
  if (!head.starts_with(kFirstLine)) {
    detail::file_error(op, path, "not a lamppost model (the first line is not '{}')",
                       kFirstLine.substr(0, kFirstLine.size() - 1));
  }
  const size_t marker = head.find(kDataMarker);
  if (marker == std::string::npos) {
    detail::file_error(op, path, "the header has no 'data' line (truncated?)");
  }
  Header header(path, std::string_view(head).substr(kFirstLine.size(), marker - kFirstLine.size()));
  const std::string kind = header.take("kind");
  if (kind != "mlp") detail::file_error(op, path, "unknown kind of model '{}'", kind);
  const std::string type = header.take("type");
  if (type != "float32" && type != "float64") {
    detail::file_error(op, path, "unknown type '{}' (float32 or float64)", type);
  }
  MlpConfig config;
  config.inputs = header.number<int64_t>("inputs");
  config.hidden = header.numbers("hidden");
  config.outputs = header.number<int64_t>("outputs");
  const std::string activation = header.take("activation");
  const std::string parameterization = header.take("parameterization");
  config.sigma_w = header.number<double>("sigma_w");
  config.sigma_b = header.number<double>("sigma_b");
  const auto flag = [&](const std::string& key) {
    const int value = header.number<int>(key);
    if (value != 0 && value != 1)
      detail::file_error(op, path, "'{}' is {}, not 0 or 1", key, value);
    return value == 1;
  };
  config.biases = flag("biases");
  config.nonlinear_output = flag("nonlinear_output");
  const auto count = header.number<int64_t>("parameters");
  header.finish();

  // The network's own checks, reported as this file's fault.
  std::optional<Mlp<T>> mlp;
  try {
    config.activation = parse_activation(activation);
    config.parameterization = parse_parameterization(parameterization);
    mlp.emplace(config);
  } catch (const Error& e) {
    detail::file_error(op, path, "the network it describes is invalid: {}", e.what());
  }
  if (count != mlp->parameter_count()) {
    detail::file_error(op, path, "it holds {} parameters, but its network has {}", count,
                       mlp->parameter_count());
  }
  const uint64_t item = type == "float32" ? 4 : 8;
  const uint64_t data_start = marker + kDataMarker.size();
  const uint64_t expected = static_cast<uint64_t>(count) * item;
  const uint64_t actual = file_size - data_start;
  if (actual != expected) {
    detail::file_error(
        op, path, "{}: {} {} parameters need {} bytes, the file holds {}",
        actual < expected ? "the data are truncated" : "trailing bytes after the data", count, type,
        expected, actual);
  }
  // Read straight into the parameters when the precisions agree; through a buffer otherwise.
  Tensor<T> params = Tensor<T>::empty({count});
  std::vector<char> other_precision;
  char* bytes = reinterpret_cast<char*>(params.data());
  if (item != sizeof(T)) {
    other_precision.resize(static_cast<size_t>(expected));
    bytes = other_precision.data();
  }
  const size_t in_head = head.size() - data_start;  // data already read with the header
  std::copy(head.begin() + static_cast<std::ptrdiff_t>(data_start), head.end(), bytes);
  if (!detail::read_exact(file.fd(), bytes + in_head, static_cast<size_t>(expected) - in_head)) {
    detail::file_error(
        op, path, "reading the data failed: {}",
        errno == 0 ? "the file shrank while being read" : detail::errno_message(errno));
  }
  if (item == 4 && sizeof(T) != 4) {
    const auto* values = reinterpret_cast<const float*>(bytes);
    for (int64_t i = 0; i < count; ++i) params.data()[i] = static_cast<T>(values[i]);
  } else if (item == 8 && sizeof(T) != 8) {
    const auto* values = reinterpret_cast<const double*>(bytes);
    for (int64_t i = 0; i < count; ++i) params.data()[i] = static_cast<T>(values[i]);
  }
  return {std::move(*mlp), std::move(params)};
}

template void save_model(const fs::path&, const Mlp<float>&, const Tensor<float>&);
template void save_model(const fs::path&, const Mlp<double>&, const Tensor<double>&);
template SavedModel<float> load_model(const fs::path&);
template SavedModel<double> load_model(const fs::path&);

}  // namespace lamppost
