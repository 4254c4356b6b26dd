// The command line's values, parsed and checked before any work starts. A bad value is a
// UsageError, which the program prints as one line and answers with exit status 2; everything
// here names the flag and the offending value.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "theory/experiment.h"

namespace lamppost::cli {

// Exit statuses of the lamppost program, documented in its --help.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;    // an experiment or a write failed
inline constexpr int kExitUsage = 2;     // a bad command line
inline constexpr int kExitDisagree = 3;  // verify --strict: a finding disagrees with theory

// A bad command line, e.g. "--widths: 0 is not a width (widths are >= 1)".
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A flag of `lamppost run` that sets one field of ExperimentOptions.
struct ExperimentFlag {
  std::string_view name;        // without the dashes: "widths"
  std::string_view value_name;  // what --help shows for the value: "LIST"
  std::string description;
  // Parses text into the field; throws UsageError naming --<name> and the text.
  void (*set)(ExperimentOptions& options, std::string_view text);
};

// Every ExperimentOptions flag, in --help's order.
const std::vector<ExperimentFlag>& experiment_flags();

// Flags given on the command line, as (name without dashes, text), in the order given.
using GivenFlags = std::vector<std::pair<std::string, std::string>>;

// The experiment's quick (or, with full, its full) options with the given flags applied on top,
// then checked: by the experiment's own check, and a Fashion-MNIST run needs the data set's
// files. Throws UsageError.
ExperimentOptions resolve_options(const ExperimentInfo& info, bool full, const GivenFlags& given);

// "1,2,3" -> {1, 2, 3}; each value must be >= minimum. Throws UsageError naming --flag.
std::vector<int64_t> parse_integer_list(std::string_view flag, std::string_view text,
                                        int64_t minimum);

// --threads: a count >= 1. Throws UsageError.
int parse_threads(std::string_view text);

// The experiment of that name (`lamppost run <name>`); throws UsageError naming the unknown
// name and the choices.
const ExperimentInfo& experiment_named(std::string_view name);

// --experiments a,b: the named experiments in registry order; all of them when the flag was
// not given (nullopt). Throws UsageError naming an unknown name and the choices.
std::vector<const ExperimentInfo*> select_experiments(const std::optional<std::string>& list);

// Creates the folder if needed and checks that files can be written into it, so a long run
// cannot end on an unwritable folder. Throws UsageError naming --output and the reason.
void prepare_output_folder(const std::filesystem::path& folder);

}  // namespace lamppost::cli
