// What the program makes of experiment results: the verdict table on the terminal, and in the
// output folder results.json (everything, for programs), one CSV file per table, a gnuplot
// script and a PNG per plot, and report.md (for people). Every file is written atomically, and
// the folder is brought up to date after each experiment, so an interrupted or failed run keeps
// what it finished.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "theory/experiment.h"

namespace lamppost::cli {

// The files made for one plot.
struct PlotFiles {
  std::string name;    // the plot's name
  std::string title;   //
  std::string script;  // <experiment>_<plot>.gp; empty when the plot's data was malformed
  std::string image;   // <experiment>_<plot>.png
  bool rendered = false;
  std::string problem;  // why there is no image although there could be one: gnuplot failed,
                        // or the data was malformed; empty when gnuplot is simply missing
};

struct ExperimentRecord {
  ExperimentResult result;
  std::vector<std::string> csv_files;  // one per table, in the result's order
  std::vector<PlotFiles> plots;        // one per plot, in the result's order
};

struct Failure {
  std::string experiment;
  std::string message;
};

// Everything a run wrote, in order.
struct RunRecord {
  std::string command;  // the command line, for the record
  bool gnuplot_found = false;
  std::vector<ExperimentRecord> experiments;
  std::optional<Failure> failure;  // the experiment that stopped the run, if one did
};

// "<experiment>_<name>" with every character but letters, digits, '-', '_' and '.' replaced by
// '_', so a name can never leave the output folder or need quoting in a shell.
std::string file_stem(std::string_view experiment, std::string_view name);

// How many findings there are, and how many agree with theory.
struct Tally {
  size_t findings = 0;
  size_t agree = 0;
};
Tally tally(const RunRecord& run);
// "5 of 6 findings agree with theory"
std::string summary_line(const RunRecord& run);

// The verdict table for the terminal: Claim | Case | Measured | Theory | Verdict | Agrees, one
// row per finding, columns padded to their widest cell.
std::string verdict_table(const RunRecord& run);

// results.json. Non-finite numbers (NaN, infinities) are written as null, so the file is valid
// JSON for any reader.
nlohmann::ordered_json results_json(const RunRecord& run);

// The table as CSV: a header row of column names, then one line per row, numbers in the
// shortest form that reads back to the same double ("nan", "inf" for non-finite values).
std::string table_csv(const Table& table);

// report.md: the summary, the verdict table, then per experiment its settings, findings, plots
// and data files. Without gnuplot it says how to install it and draw the plots.
std::string report_markdown(const RunRecord& run);

// Writes results into an output folder as they arrive.
class ReportWriter {
 public:
  // gnuplot: the program that draws the plots; nullopt writes the scripts but no images.
  ReportWriter(std::filesystem::path folder, std::string command,
               std::optional<std::filesystem::path> gnuplot);

  // Writes the experiment's CSV files, plot scripts and images, then rewrites results.json and
  // report.md over every experiment so far. Throws lamppost::Error naming a file that cannot be
  // written; a plot gnuplot cannot draw is recorded instead.
  void add(ExperimentResult result);
  // Records the experiment that failed, and rewrites results.json and report.md to say so.
  void add_failure(std::string experiment, std::string message);

  const RunRecord& record() const { return run_; }

 private:
  void write_summaries() const;

  std::filesystem::path folder_;
  std::optional<std::filesystem::path> gnuplot_;
  RunRecord run_;
};

}  // namespace lamppost::cli
