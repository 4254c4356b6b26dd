// The lamppost program: `lamppost verify` runs the theory suite and prints the verdict table,
// `lamppost run <experiment>` runs one experiment with its flags, `lamppost list` names them.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/gnuplot.h"
#include "cli/options.h"
#include "cli/progress.h"
#include "cli/report.h"
#include "tensor/parallel.h"
#include "theory/experiment.h"

namespace {

using namespace lamppost;
using namespace lamppost::cli;

constexpr std::string_view kExitStatuses =
    "Exit status: 0 done; 1 an experiment or a write failed (what finished is kept); 2 a bad "
    "command line; 3 verify --strict found a finding whose verdict differs from theory's.";

// One line, whatever the message held.
std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

std::string command_line(int argc, char** argv) {
  std::string line = "lamppost";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool plain = !arg.empty() && arg.find_first_of(" \t'\"$\\`") == std::string_view::npos;
    line += plain ? fmt::format(" {}", arg) : fmt::format(" '{}'", arg);
  }
  return line;
}

// The quick and full defaults of an experiment, for `lamppost run <experiment> --help`.
std::string defaults_text(const ExperimentInfo& info) {
  std::string s = fmt::format("Defaults of {} (without --full / with --full):\n", info.name);
  const auto quick = settings_of(info.quick, info.flags);
  const auto full = settings_of(info.full, info.flags);
  for (size_t i = 0; i < quick.size(); ++i) {
    s += fmt::format("  --{:<17} {:<20} {}\n", quick[i].first,
                     quick[i].second.empty() ? "-" : quick[i].second,
                     full[i].second.empty() ? "-" : full[i].second);
  }
  return s;
}

struct Job {
  const ExperimentInfo* info;
  ExperimentOptions options;
};

// Runs the jobs in order, writing the output folder after each, and prints the verdict table.
int run_jobs(const std::vector<Job>& jobs, const std::string& folder, const std::string& command,
             bool strict) {
  const std::optional<std::filesystem::path> gnuplot = find_program("gnuplot");
  ReportWriter writer(folder, command, gnuplot);
  ProgressDisplay display(stderr, ProgressDisplay::settings_for(stderr));
  std::optional<std::string> failure;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const ExperimentInfo& info = *jobs[i].info;
    const Progress progress =
        display.start(fmt::format("[{}/{}] {}", i + 1, jobs.size(), info.name));
    ExperimentResult result;
    try {
      result = info.run(jobs[i].options, progress);
    } catch (const std::exception& e) {
      display.abandon();
      failure = fmt::format("{} failed: {}", info.name, one_line(e.what()));
      writer.add_failure(info.name, one_line(e.what()));
      break;
    }
    display.finish();
    writer.add(std::move(result));
  }

  const RunRecord& run = writer.record();
  if (!run.experiments.empty()) {
    fmt::print("{}\n{}.\n", verdict_table(run), summary_line(run));
  }
  for (const ExperimentRecord& experiment : run.experiments) {
    for (const PlotFiles& plot : experiment.plots) {
      if (!plot.problem.empty()) {
        fmt::print(stderr, "lamppost: {} not drawn: {}\n", plot.image, one_line(plot.problem));
      }
    }
  }
  const bool any_plots = std::any_of(run.experiments.begin(), run.experiments.end(),
                                     [](const ExperimentRecord& e) { return !e.plots.empty(); });
  if (any_plots && !gnuplot) {
    fmt::print(stderr,
               "lamppost: gnuplot is not installed, so the plots are scripts without images "
               "(apt-get install gnuplot-nox; report.md says how to draw them)\n");
  }
  fmt::print(stderr, "lamppost: wrote {} and results.json beside it\n",
             (std::filesystem::path(folder) / "report.md").string());
  if (failure) {
    fmt::print(stderr, "lamppost: {}\n", *failure);
    return kExitFailed;
  }
  const Tally t = tally(run);
  return strict && t.agree != t.findings ? kExitDisagree : kExitOk;
}

int list_experiments() {
  size_t width = 0;
  for (const ExperimentInfo& info : experiments()) width = std::max(width, info.name.size());
  for (const ExperimentInfo& info : experiments()) {
    fmt::print("{:<{}}  {}\n", info.name, width, info.claim);
  }
  return kExitOk;
}

int run_program(int argc, char** argv) {
  CLI::App app(
      "lamppost checks claims of deep-learning theory empirically: each experiment "
      "measures a figure with its interval and compares the verdict with theory's.",
      "lamppost");
  app.require_subcommand(1);
  app.footer(std::string(kExitStatuses));
  app.get_formatter()->column_width(34);

  const std::string threads_help =
      fmt::format("OpenMP threads (default: {}, all cores)", max_threads());
  const std::string output_help =
      "folder for results.json, CSV files, plots and report.md (default: lamppost-results)";

  // lamppost verify
  CLI::App* verify = app.add_subcommand(
      "verify", "Run every experiment (quick settings) and print the verdict table");
  bool strict = false;
  bool verify_full = false;
  std::string verify_output = "lamppost-results";
  std::string verify_threads;
  std::string verify_precision;
  std::string verify_seeds;
  std::string verify_experiments;
  verify->add_flag("--strict", strict,
                   "exit with status 3 when a finding's verdict differs from theory's");
  verify->add_flag("--full", verify_full,
                   "start from each experiment's full settings instead of its quick ones");
  verify->add_option("--output", verify_output, output_help)->type_name("DIR");
  CLI::Option* verify_threads_option =
      verify->add_option("--threads", verify_threads, threads_help)->type_name("INT");
  CLI::Option* verify_precision_option =
      verify
          ->add_option("--precision", verify_precision,
                       "double or float, for every experiment that has both (default: each one's "
                       "own)")
          ->type_name("NAME");
  CLI::Option* verify_seeds_option =
      verify
          ->add_option("--seeds", verify_seeds,
                       "repetitions for every experiment (default: each one's own)")
          ->type_name("INT");
  CLI::Option* verify_experiments_option =
      verify
          ->add_option("--experiments", verify_experiments,
                       "run only these experiments, e.g. a,b (default: all; see lamppost list)")
          ->type_name("LIST");

  // lamppost run <experiment>
  CLI::App* run = app.add_subcommand("run", "Run one experiment with its flags");
  std::string experiment_name;
  bool run_full = false;
  std::string run_output = "lamppost-results";
  std::string run_threads;
  run->add_option("experiment", experiment_name, "its name, as lamppost list shows it")
      ->required()
      ->type_name("NAME");
  run->add_flag("--full", run_full,
                "start from the experiment's full settings instead of its quick ones; flags "
                "given override either");
  run->add_option("--output", run_output, output_help)->type_name("DIR");
  CLI::Option* run_threads_option =
      run->add_option("--threads", run_threads, threads_help)->type_name("INT");
  const std::vector<ExperimentFlag>& flags = experiment_flags();
  std::vector<std::string> flag_texts(flags.size());
  std::vector<CLI::Option*> flag_options;
  for (size_t i = 0; i < flags.size(); ++i) {
    flag_options.push_back(
        run->add_option(fmt::format("--{}", flags[i].name), flag_texts[i], flags[i].description)
            ->type_name(std::string(flags[i].value_name)));
  }
  // Printed before the exit statuses, which every subcommand inherits from the app's footer.
  run->footer([&experiment_name] {
    for (const ExperimentInfo& info : experiments()) {
      if (info.name == experiment_name) return defaults_text(info);
    }
    return std::string(
        "Each experiment has its own quick and full defaults; `lamppost run <experiment> "
        "--help` shows them, `lamppost list` names the experiments.\n");
  });

  CLI::App* list = app.add_subcommand("list", "Name each experiment and the claim it checks");

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help: the help text on stdout, status 0
  } catch (const CLI::ParseError& e) {
    // CLI11 checks for a missing subcommand before it looks at stray arguments, so
    // `lamppost --bogus` would only hear that a subcommand is required.
    if (app.get_subcommands().empty() && argc > 1) {
      fmt::print(stderr,
                 "lamppost: '{}' is not a command (choose verify, run or list; see "
                 "lamppost --help)\n",
                 argv[1]);
    } else {
      fmt::print(stderr, "lamppost: {} (see lamppost --help)\n", one_line(e.what()));
    }
    return kExitUsage;
  }

  const std::string command = command_line(argc, argv);
  try {
    if (list->parsed()) return list_experiments();

    std::vector<Job> jobs;
    std::string folder;
    if (verify->parsed()) {
      GivenFlags overrides;
      if (verify_precision_option->count() > 0)
        overrides.emplace_back("precision", verify_precision);
      if (verify_seeds_option->count() > 0) overrides.emplace_back("seeds", verify_seeds);
      const std::optional<std::string> selection =
          verify_experiments_option->count() > 0 ? std::optional(verify_experiments) : std::nullopt;
      for (const ExperimentInfo* info : select_experiments(selection)) {
        // An override reaches the experiments that read its flag (double_descent has no float).
        GivenFlags own;
        for (const auto& given : overrides) {
          if (std::find(info->flags.begin(), info->flags.end(), given.first) != info->flags.end())
            own.push_back(given);
        }
        jobs.push_back({info, resolve_options(*info, verify_full, own)});
      }
      if (verify_threads_option->count() > 0) set_num_threads(parse_threads(verify_threads));
      folder = verify_output;
    } else {
      GivenFlags given;
      for (size_t i = 0; i < flags.size(); ++i) {
        if (flag_options[i]->count() > 0) given.emplace_back(flags[i].name, flag_texts[i]);
      }
      const ExperimentInfo& info = experiment_named(experiment_name);
      jobs.push_back({&info, resolve_options(info, run_full, given)});
      if (run_threads_option->count() > 0) set_num_threads(parse_threads(run_threads));
      folder = run_output;
    }
    prepare_output_folder(folder);
    return run_jobs(jobs, folder, command, verify->parsed() && strict);
  } catch (const UsageError& e) {
    fmt::print(stderr, "lamppost: {}\n", one_line(e.what()));
    return kExitUsage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "lamppost: {}\n", one_line(e.what()));
    return kExitFailed;
  }
}

}  // namespace

int main(int argc, char** argv) {
  return run_program(argc, argv);
}
