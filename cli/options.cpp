#include "cli/options.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <system_error>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "data/fashion_mnist.h"
#include "tensor/error.h"
#include "tensor/file.h"

namespace lamppost::cli {

namespace fs = std::filesystem;

namespace {

template <class... Args>
[[noreturn]] void usage_error(std::string_view flag, fmt::format_string<Args...> message,
                              Args&&... args) {
  throw UsageError(
      fmt::format("--{}: {}", flag, fmt::format(message, std::forward<Args>(args)...)));
}

// A library error's message without its "[op] " prefix, to follow the flag's name instead.
std::string_view without_op(std::string_view message) {
  if (message.starts_with('[')) {
    const size_t end = message.find("] ");
    if (end != std::string_view::npos) return message.substr(end + 2);
  }
  return message;
}

// The library's parse_* for an enum flag, its error re-worded to name the flag.
template <class Parse>
auto parse_choice(std::string_view flag, std::string_view text, Parse parse) {
  try {
    return parse(text);
  } catch (const Error& e) {
    usage_error(flag, "{}", without_op(e.what()));
  }
}

template <class Integer>
Integer parse_integer(std::string_view flag, std::string_view text, Integer minimum) {
  Integer value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error == std::errc::result_out_of_range) usage_error(flag, "'{}' is out of range", text);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    usage_error(flag, "'{}' is not a whole number", text);
  }
  if (value < minimum)
    usage_error(flag, "{} is too small (the least allowed is {})", value, minimum);
  return value;
}

// A finite number; throws UsageError naming --flag.
double parse_number(std::string_view flag, std::string_view text) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    usage_error(flag, "'{}' is not a number", text);
  }
  if (!std::isfinite(value)) usage_error(flag, "{} is not a finite number", text);
  return value;
}

double parse_step_size(std::string_view text) {
  const double value = parse_number("step-size", text);
  if (value < 0) {
    usage_error("step-size", "{} is negative (0 chooses the step size from the curvature)", text);
  }
  return value;
}

// A number in (low, high), or (low, high] when high is included.
double parse_in_range(std::string_view flag, std::string_view text, double low, double high,
                      bool high_included) {
  const double value = parse_number(flag, text);
  if (value <= low || value > high || (value == high && !high_included)) {
    usage_error(flag, "{} is out of range: it must lie in ({}, {}{}", text, low, high,
                high_included ? "]" : ")");
  }
  return value;
}

// A number >= 0.
double parse_nonnegative(std::string_view flag, std::string_view text) {
  const double value = parse_number(flag, text);
  if (value < 0) usage_error(flag, "{} is negative", text);
  return value;
}

// "a, b,c" -> {"a", "b", "c"}: items separated by commas, spaces around them dropped. Throws
// UsageError naming --flag on an empty list or an empty item.
std::vector<std::string_view> split_list(std::string_view flag, std::string_view text) {
  if (text.find_first_not_of(' ') == std::string_view::npos) {
    usage_error(flag, "the list is empty (give values separated by commas, e.g. 1,2,3)");
  }
  std::vector<std::string_view> items;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    std::string_view item = text.substr(start, comma - start);
    item.remove_prefix(std::min(item.find_first_not_of(' '), item.size()));
    item.remove_suffix(item.size() - std::min(item.find_last_not_of(' ') + 1, item.size()));
    if (item.empty()) usage_error(flag, "'{}' has an empty item", text);
    items.push_back(item);
    if (comma == std::string_view::npos) return items;
    start = comma + 1;
  }
}

// Label-noise rates: each q in [0, 1].
std::vector<double> parse_noise_rates(std::string_view text) {
  std::vector<double> rates;
  for (std::string_view item : split_list("noise-rates", text)) {
    const double q = parse_number("noise-rates", item);
    if (q < 0 || q > 1)
      usage_error("noise-rates", "{} is not a noise rate (q lies in [0, 1])", item);
    rates.push_back(q);
  }
  return rates;
}

std::vector<DataSource> parse_datasets(std::string_view text) {
  std::vector<DataSource> sources;
  for (std::string_view item : split_list("datasets", text))
    sources.push_back(parse_choice("datasets", item, parse_data_source));
  return sources;
}

// A number > 0.
double parse_positive(std::string_view flag, std::string_view text) {
  const double value = parse_number(flag, text);
  if (value <= 0) usage_error(flag, "{} is not positive", text);
  return value;
}

// The files lamppost's Fashion-MNIST loader reads (data/fashion_mnist.cpp).
constexpr std::string_view kFashionMnistFiles[] = {
    "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz"};

// flag: the flag that chose Fashion-MNIST (--dataset or --datasets).
void require_fashion_mnist(const ExperimentOptions& options, std::string_view flag) {
  const bool default_folder = options.data_directory.empty();
  const fs::path folder =
      default_folder ? fs::path(kFashionMnistDirectory) : fs::path(options.data_directory);
  for (const std::string_view file : kFashionMnistFiles) {
    std::error_code error;
    if (fs::is_regular_file(folder / file, error)) continue;
    if (default_folder) {
      usage_error(flag,
                  "fashion-mnist needs '{}', which is missing: install the Debian package "
                  "dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or name the "
                  "files' folder with --data-dir",
                  (folder / file).string());
    }
    usage_error("data-dir", "'{}' has no {}: point it at Fashion-MNIST's IDX files",
                folder.string(), file);
  }
}

}  // namespace

const std::vector<ExperimentFlag>& experiment_flags() {
  static const std::vector<ExperimentFlag> flags = {
      {"depths", "LIST", "hidden layers, one network family per value, e.g. 1,2,3",
       [](ExperimentOptions& o, std::string_view text) {
         o.depths = parse_integer_list("depths", text, 1);
       }},
      {"widths", "LIST", "hidden widths m, e.g. 32,64,128",
       [](ExperimentOptions& o, std::string_view text) {
         o.widths = parse_integer_list("widths", text, 1);
       }},
      {"activation", "NAME", "relu, tanh, erf, gelu, softplus, sigmoid or identity",
       [](ExperimentOptions& o, std::string_view text) {
         o.activation = parse_choice("activation", text, parse_activation);
       }},
      {"dataset", "NAME", "synthetic or fashion-mnist",
       [](ExperimentOptions& o, std::string_view text) {
         o.dataset = parse_choice("dataset", text, parse_data_source);
       }},
      {"datasets", "LIST",
       "claims 7 and 8: the data sets run in turn, e.g. synthetic,fashion-mnist",
       [](ExperimentOptions& o, std::string_view text) { o.datasets = parse_datasets(text); }},
      {"data-dir", "DIR",
       fmt::format("Fashion-MNIST's folder (default: {}, from dataset-fashion-mnist)",
                   kFashionMnistDirectory),
       [](ExperimentOptions& o, std::string_view text) {
         if (text.empty()) usage_error("data-dir", "the folder name is empty");
         o.data_directory = text;
       }},
      {"n", "INT", "training samples",
       [](ExperimentOptions& o, std::string_view text) {
         o.n = parse_integer<int64_t>("n", text, 1);
       }},
      {"test-n", "INT", "claims 7 to 10: test points",
       [](ExperimentOptions& o, std::string_view text) {
         o.test_n = parse_integer<int64_t>("test-n", text, 1);
       }},
      {"input-dimension", "INT", "input dimension d_0 of synthetic data (Fashion-MNIST: 784)",
       [](ExperimentOptions& o, std::string_view text) {
         o.input_dimension = parse_integer<int64_t>("input-dimension", text, 1);
       }},
      {"dimensions", "LIST", "claim 10: input dimensions d, e.g. 2,4,8",
       [](ExperimentOptions& o, std::string_view text) {
         o.dimensions = parse_integer_list("dimensions", text, 1);
       }},
      {"features", "LIST", "claim 7: random-feature counts m, each even (default: a grid around n)",
       [](ExperimentOptions& o, std::string_view text) {
         o.features = parse_integer_list("features", text, 2);
         for (int64_t m : o.features) {
           if (m % 2 != 0) usage_error("features", "{} is odd (cos/sin pairs: m is even)", m);
         }
       }},
      {"sample-sizes", "LIST", "claim 9: training set sizes n, e.g. 500,2000,8000",
       [](ExperimentOptions& o, std::string_view text) {
         o.sample_sizes = parse_integer_list("sample-sizes", text, 2);
       }},
      {"noise-rates", "LIST", "claims 7, 8 and 10: label-noise rates q in [0, 1], e.g. 0,0.1,0.2",
       [](ExperimentOptions& o, std::string_view text) {
         o.noise_rates = parse_noise_rates(text);
       }},
      {"bandwidth", "X",
       "claims 7 and 8: kernel bandwidth sigma (default: from the data's median distance)",
       [](ExperimentOptions& o, std::string_view text) {
         o.bandwidth = parse_positive("bandwidth", text);
       }},
      {"ridge", "X", "claim 7: the ridge lambda of the contrast fit",
       [](ExperimentOptions& o, std::string_view text) {
         o.ridge = parse_positive("ridge", text);
       }},
      {"alpha", "X", "claim 9: wiNN's exponent, weights ||x - x_i||^-alpha (default: d / 4)",
       [](ExperimentOptions& o, std::string_view text) {
         o.alpha = parse_positive("alpha", text);
       }},
      {"steps", "INT", "training step budget",
       [](ExperimentOptions& o, std::string_view text) {
         o.steps = parse_integer<int64_t>("steps", text, 1);
       }},
      {"step-size", "X", "step size; 0 chooses 1 / lambda_max from the curvature",
       [](ExperimentOptions& o, std::string_view text) { o.step_size = parse_step_size(text); }},
      {"batch-size", "INT", "SGD mini-batch size",
       [](ExperimentOptions& o, std::string_view text) {
         o.batch_size = parse_integer<int64_t>("batch-size", text, 1);
       }},
      {"slope-tolerance", "X",
       "verdicts: how far a fitted slope may sit above theory's and still agree",
       [](ExperimentOptions& o, std::string_view text) {
         o.slope_tolerance = parse_nonnegative("slope-tolerance", text);
       }},
      {"target-fraction", "X",
       "claims 1 and 3: GD trains until the loss is this fraction of its start",
       [](ExperimentOptions& o, std::string_view text) {
         o.target_fraction = parse_in_range("target-fraction", text, 0, 1, false);
       }},
      {"interpolation", "X", "claims 5 and 6: the loss fraction that counts as interpolation",
       [](ExperimentOptions& o, std::string_view text) {
         o.interpolation = parse_in_range("interpolation", text, 0, 1, false);
       }},
      {"mu-floor", "X", "claim 5: the fraction of mu_0 that min_t mu_t must keep",
       [](ExperimentOptions& o, std::string_view text) {
         o.mu_floor = parse_in_range("mu-floor", text, 0, 1, true);
       }},
      {"ball-radius", "X", "claim 2: the Hessian is also measured this far from w_0",
       [](ExperimentOptions& o, std::string_view text) {
         o.ball_radius = parse_nonnegative("ball-radius", text);
       }},
      {"seeds", "INT", "independent repetitions (intervals are taken over them)",
       [](ExperimentOptions& o, std::string_view text) {
         o.seeds = parse_integer<int64_t>("seeds", text, 1);
       }},
      {"seed", "INT", "first seed; repetitions use seed, seed + 1, ...",
       [](ExperimentOptions& o, std::string_view text) {
         o.seed = parse_integer<uint64_t>("seed", text, 0);
       }},
      {"precision", "NAME", "double or float",
       [](ExperimentOptions& o, std::string_view text) {
         o.precision = parse_choice("precision", text, parse_precision);
       }},
  };
  return flags;
}

std::vector<int64_t> parse_integer_list(std::string_view flag, std::string_view text,
                                        int64_t minimum) {
  std::vector<int64_t> values;
  for (std::string_view item : split_list(flag, text))
    values.push_back(parse_integer<int64_t>(flag, item, minimum));
  return values;
}

int parse_threads(std::string_view text) {
  return parse_integer<int>("threads", text, 1);
}

ExperimentOptions resolve_options(const ExperimentInfo& info, bool full, const GivenFlags& given) {
  ExperimentOptions options = full ? info.full : info.quick;
  for (const auto& [name, text] : given) {
    const ExperimentFlag* flag = nullptr;
    for (const ExperimentFlag& candidate : experiment_flags()) {
      if (candidate.name == name) flag = &candidate;
    }
    if (flag == nullptr) throw UsageError(fmt::format("--{}: no such flag", name));
    if (std::find(info.flags.begin(), info.flags.end(), name) == info.flags.end()) {
      usage_error(name, "{} does not use it (its flags: --{})", info.name,
                  fmt::join(info.flags, ", --"));
    }
    flag->set(options, text);
  }
  const auto reads = [&info](std::string_view flag) {
    return std::find(info.flags.begin(), info.flags.end(), flag) != info.flags.end();
  };
  if (info.check) {
    try {
      info.check(options);
    } catch (const Error& e) {
      throw UsageError(std::string(without_op(e.what())));
    }
  }
  if (reads("dataset") && options.dataset == DataSource::fashion_mnist)
    require_fashion_mnist(options, "dataset");
  if (reads("datasets") && std::find(options.datasets.begin(), options.datasets.end(),
                                     DataSource::fashion_mnist) != options.datasets.end())
    require_fashion_mnist(options, "datasets");
  return options;
}

const ExperimentInfo& experiment_named(std::string_view name) {
  std::vector<std::string_view> choices;
  for (const ExperimentInfo& info : experiments()) {
    if (info.name == name) return info;
    choices.push_back(info.name);
  }
  throw UsageError(
      fmt::format("unknown experiment '{}' (choose one of {})", name, fmt::join(choices, ", ")));
}

std::vector<const ExperimentInfo*> select_experiments(const std::optional<std::string>& list) {
  std::vector<const ExperimentInfo*> selected;
  if (!list) {
    for (const ExperimentInfo& info : experiments()) selected.push_back(&info);
    return selected;
  }
  const std::string_view text = *list;
  if (text.empty()) usage_error("experiments", "the list is empty (name experiments: a,b)");
  std::vector<std::string_view> names;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    names.push_back(text.substr(start, comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  for (const std::string_view name : names) {
    try {
      experiment_named(name);
    } catch (const UsageError& e) {
      usage_error("experiments", "{}", e.what());
    }
  }
  // Registry order, each once, whatever order the names came in.
  for (const ExperimentInfo& info : experiments()) {
    for (const std::string_view name : names) {
      if (info.name == name) {
        selected.push_back(&info);
        break;
      }
    }
  }
  return selected;
}

void prepare_output_folder(const fs::path& folder) {
  if (folder.empty()) usage_error("output", "the folder name is empty");
  std::error_code error;
  if (fs::exists(folder, error) && !fs::is_directory(folder, error)) {
    usage_error("output", "'{}' is a file, not a folder", folder.string());
  }
  fs::create_directories(folder, error);
  if (error) usage_error("output", "cannot create '{}': {}", folder.string(), error.message());
  // Creating a file shows what access(2) can only guess (ACLs, network file systems).
  std::string probe = (folder / ".lamppost-write-test.XXXXXX").string();
  const int fd = ::mkstemp(probe.data());
  if (fd < 0) {
    usage_error("output", "cannot write into '{}': {}", folder.string(),
                detail::errno_message(errno));
  }
  ::close(fd);
  ::unlink(probe.c_str());
}

}  // namespace lamppost::cli
