// The lamppost program's library: results.json, CSV files, report.md, gnuplot scripts and
// rendering (with gnuplot present, absent and failing), progress lines, and flag checks.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/gnuplot.h"
#include "cli/options.h"
#include "cli/progress.h"
#include "cli/report.h"
#include "tensor/error.h"

namespace lamppost::cli {
namespace {

namespace fs = std::filesystem;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// A result such as an experiment returns: a claim that holds, a contrast that (as theory
// predicts) does not, a table with a NaN, a log-log plot with error bars and a reference line.
ExperimentResult sample_result() {
  ExperimentResult r;
  r.name = "kernel_constancy";
  r.title = "The tangent kernel barely moves in training, less the wider the network";
  r.settings = {{"widths", "32,64,128"}, {"depths", "1,2"}, {"activation", "erf"}};
  r.findings.push_back({.claim = "kernel change ~ m^-1/2 or faster, depth 2",
                        .contrast = false,
                        .measured = "slope -0.52 [-0.61, -0.44]",
                        .predicted = "slope <= -0.5",
                        .verdict = Verdict::holds,
                        .expected = Verdict::holds});
  r.findings.push_back({.claim = "kernel constant, non-linear output layer",
                        .contrast = true,
                        .measured = "slope -0.02 [-0.1, 0.05]",
                        .predicted = "slope > -0.5 | no decay",
                        .verdict = Verdict::does_not_hold,
                        .expected = Verdict::does_not_hold});
  Table table{.name = "kernel_change", .columns = {"width", "depth", "change"}, .rows = {}};
  table.add_row({32, 2, 0.1});
  table.add_row({64, 2, 1.0 / 3.0});
  table.add_row({128, 2, kNaN});
  r.tables.push_back(table);
  Plot plot{.name = "kernel_change",
            .title = "Kernel change against width",
            .x_label = "width m",
            .y_label = "relative kernel change",
            .log_x = true,
            .log_y = true,
            .curves = {}};
  plot.curves.push_back({.label = "depth 2",
                         .x = {32, 64, 128},
                         .y = {0.1, 0.07, 0.05},
                         .y_low = {0.09, 0.06, 0.04},
                         .y_high = {0.11, 0.08, 0.06},
                         .style = Curve::Style::points});
  plot.curves.push_back({.label = "fit: slope -0.52",
                         .x = {32, 128},
                         .y = {0.1, 0.049},
                         .y_low = {},
                         .y_high = {},
                         .style = Curve::Style::lines});
  plot.curves.push_back({.label = "reference m^-1/2 (it's theory's)",
                         .x = {32, 128},
                         .y = {0.1, 0.05},
                         .y_low = {},
                         .y_high = {},
                         .style = Curve::Style::lines});
  r.plots.push_back(plot);
  r.seconds = 1.5;
  return r;
}

ExperimentResult disagreeing_result() {
  ExperimentResult r;
  r.name = "pl_condition";
  r.title = "Square loss of wide networks is PL*";
  r.findings.push_back({.claim = "loss under the PL bound",
                        .contrast = false,
                        .measured = "mu = 0.001",
                        .predicted = "mu > 0",
                        .verdict = Verdict::inconclusive,
                        .expected = Verdict::holds});
  r.seconds = kInf;
  return r;
}

RunRecord sample_run() {
  RunRecord run;
  run.command = "lamppost verify --strict";
  run.experiments.push_back({sample_result(), {"kernel_constancy_kernel_change.csv"}, {}});
  run.experiments[0].plots.push_back({"kernel_change", "Kernel change against width",
                                      "kernel_constancy_kernel_change.gp",
                                      "kernel_constancy_kernel_change.png", true, ""});
  run.experiments.push_back({disagreeing_result(), {}, {}});
  return run;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A fresh folder under the system's temporary folder, removed at the end of the test.
class TemporaryFolder {
 public:
  TemporaryFolder() {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            fmt::format("lamppost_report_test_{}_{}", ::getpid(), test->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TemporaryFolder() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Files whose names start with '.': the atomic writes' temporaries, which must not outlive them.
int hidden_files(const fs::path& folder) {
  int count = 0;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.path().filename().string().starts_with('.')) ++count;
  }
  return count;
}

template <class F>
std::string usage_error_of(F&& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(ResultsJson, RoundTripsWithNullForNonFiniteNumbers) {
  const std::string text = results_json(sample_run()).dump(2);
  const nlohmann::json j = nlohmann::json::parse(text);  // throws if the text is not JSON

  EXPECT_EQ(j["program"], "lamppost");
  EXPECT_EQ(j["command"], "lamppost verify --strict");
  EXPECT_EQ(j["summary"]["findings"], 3);
  EXPECT_EQ(j["summary"]["agree"], 2);
  EXPECT_EQ(j["summary"]["all_agree"], false);
  EXPECT_TRUE(j["failure"].is_null());

  const nlohmann::json& e = j["experiments"][0];
  EXPECT_EQ(e["name"], "kernel_constancy");
  EXPECT_EQ(e["seconds"], 1.5);
  EXPECT_EQ(e["settings"]["widths"], "32,64,128");
  EXPECT_EQ(e["findings"][1]["contrast"], true);
  EXPECT_EQ(e["findings"][1]["verdict"], "does not hold");
  EXPECT_EQ(e["findings"][1]["expected"], "does not hold");
  EXPECT_EQ(e["findings"][1]["agrees"], true);
  EXPECT_EQ(e["findings"][0]["measured"], "slope -0.52 [-0.61, -0.44]");

  const nlohmann::json& table = e["tables"][0];
  EXPECT_EQ(table["file"], "kernel_constancy_kernel_change.csv");
  EXPECT_EQ(table["columns"], nlohmann::json({"width", "depth", "change"}));
  ASSERT_EQ(table["rows"].size(), 3u);
  EXPECT_EQ(table["rows"][1][2].get<double>(), 1.0 / 3.0);  // bit for bit
  EXPECT_TRUE(table["rows"][2][2].is_null());               // NaN
  EXPECT_EQ(e["plots"][0]["image"], "kernel_constancy_kernel_change.png");

  const nlohmann::json& second = j["experiments"][1];
  EXPECT_TRUE(second["seconds"].is_null());  // infinity
  EXPECT_EQ(second["findings"][0]["verdict"], "inconclusive");
  EXPECT_EQ(second["findings"][0]["agrees"], false);
}

TEST(ResultsJson, RecordsTheFailure) {
  RunRecord run = sample_run();
  run.failure = Failure{"pl_condition", "[train] loss diverged at step 12"};
  const nlohmann::json j = nlohmann::json::parse(results_json(run).dump());
  EXPECT_EQ(j["failure"]["experiment"], "pl_condition");
  EXPECT_EQ(j["failure"]["message"], "[train] loss diverged at step 12");
}

TEST(TableCsv, HeaderThenRowsAtFullPrecision) {
  Table table{.name = "t", .columns = {"width", "loss, final", "say \"hi\""}, .rows = {}};
  table.add_row({32, 0.1, 1e-300});
  table.add_row({64, 1.0 / 3.0, kNaN});
  table.add_row({128, -kInf, 2.5});
  const std::string csv = table_csv(table);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "width,\"loss, final\",\"say \"\"hi\"\"\"");

  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);
  std::getline(lines, line);
  EXPECT_EQ(line, "32,0.1,1e-300");
  std::getline(lines, line);
  const std::string third = line.substr(line.find(',') + 1, line.rfind(',') - line.find(',') - 1);
  EXPECT_EQ(std::strtod(third.c_str(), nullptr), 1.0 / 3.0);  // reads back to the same double
  EXPECT_EQ(line.substr(line.rfind(',') + 1), "nan");
  std::getline(lines, line);
  EXPECT_EQ(line, "128,-inf,2.5");
  EXPECT_FALSE(std::getline(lines, line));
}

TEST(VerdictTable, RowsAlignedAndCounted) {
  const RunRecord run = sample_run();
  const std::string table = verdict_table(run);
  std::istringstream lines(table);
  std::string header;
  std::string rule;
  std::string row;
  std::getline(lines, header);
  std::getline(lines, rule);
  EXPECT_TRUE(header.starts_with("Claim"));
  for (const char* column : {"Case", "Measured", "Theory", "Verdict", "Agrees"}) {
    EXPECT_NE(header.find(column), std::string::npos) << column;
  }
  EXPECT_TRUE(rule.starts_with("-----"));
  std::getline(lines, row);
  EXPECT_TRUE(row.starts_with("kernel change ~ m^-1/2 or faster, depth 2"));
  EXPECT_EQ(row.find("slope -0.52"), header.find("Measured"));  // columns line up
  EXPECT_TRUE(row.ends_with("yes"));
  std::getline(lines, row);
  EXPECT_NE(row.find("contrast"), std::string::npos);
  EXPECT_NE(row.find("does not hold"), std::string::npos);
  std::getline(lines, row);
  EXPECT_NE(row.find("inconclusive"), std::string::npos);
  EXPECT_TRUE(row.ends_with("NO"));
  EXPECT_EQ(summary_line(run), "2 of 3 findings agree with theory");
}

TEST(ReportMarkdown, VerdictRowsSettingsImagesAndData) {
  RunRecord run = sample_run();
  run.gnuplot_found = true;
  const std::string md = report_markdown(run);
  EXPECT_NE(md.find("**2 of 3 findings agree with theory.**"), std::string::npos);
  EXPECT_NE(md.find("| Experiment | Claim | Case | Measured | Theory | Verdict | Agrees |"),
            std::string::npos);
  EXPECT_NE(md.find("| kernel_constancy | kernel change ~ m^-1/2 or faster, depth 2 | claim | "
                    "slope -0.52 [-0.61, -0.44] | slope <= -0.5 | holds | yes |"),
            std::string::npos)
      << md;
  // A '|' inside a cell is escaped, not a column break.
  EXPECT_NE(md.find("slope > -0.5 \\| no decay"), std::string::npos);
  EXPECT_NE(md.find("| pl_condition | loss under the PL bound | claim | mu = 0.001 | mu > 0 | "
                    "inconclusive | **NO** |"),
            std::string::npos);
  EXPECT_NE(md.find("| widths | 32,64,128 |"), std::string::npos);
  EXPECT_NE(md.find("![Kernel change against width](kernel_constancy_kernel_change.png)"),
            std::string::npos);
  EXPECT_NE(md.find("[kernel_constancy_kernel_change.csv](kernel_constancy_kernel_change.csv)"),
            std::string::npos);
  EXPECT_EQ(md.find("gnuplot-nox"), std::string::npos);  // gnuplot was there
}

TEST(ReportMarkdown, SaysHowToDrawPlotsWithoutGnuplotAndNamesTheFailure) {
  RunRecord run = sample_run();
  run.gnuplot_found = false;
  run.experiments[0].plots[0].rendered = false;
  run.failure = Failure{"sgd_rate", "[train] loss diverged"};
  const std::string md = report_markdown(run);
  EXPECT_NE(md.find("apt-get install gnuplot-nox"), std::string::npos);
  EXPECT_NE(md.find("gnuplot <file>.gp"), std::string::npos);
  EXPECT_NE(md.find("**sgd_rate failed:** [train] loss diverged"), std::string::npos);
  // The image stays linked: running the script puts it there.
  EXPECT_NE(md.find("](kernel_constancy_kernel_change.png)"), std::string::npos);
}

TEST(GnuplotScript, LabelsLogAxesLegendAndErrorBars) {
  const Plot plot = sample_result().plots[0];
  const std::string script = gnuplot_script(plot, "kernel_constancy_kernel_change.png");
  for (const char* expected :
       {"set title 'Kernel change against width'", "set xlabel 'width m'",
        "set ylabel 'relative kernel change'", "set logscale x", "set logscale y",
        "output_png = 'kernel_constancy_kernel_change.png'", "set output output_png", "pngcairo",
        "set terminal png ", "$curve1 << EOD", "32 0.1 0.09 0.11",
        "$curve1 using 1:2:3:4 with yerrorbars title 'depth 2'",
        "$curve2 using 1:2 with lines title 'fit: slope -0.52'",
        "title 'reference m^-1/2 (it''s theory''s)'", "set key"}) {
    EXPECT_NE(script.find(expected), std::string::npos) << expected << "\n" << script;
  }
  Plot linear = plot;
  linear.log_x = false;
  linear.log_y = false;
  EXPECT_EQ(gnuplot_script(linear, "x.png").find("logscale"), std::string::npos);
}

TEST(GnuplotScript, NonFiniteValuesAreMissingPointsAndMismatchedCurvesAreNamed) {
  Plot plot{.name = "p", .title = "t", .x_label = "x", .y_label = "y", .curves = {}};
  plot.curves.push_back({.label = "c", .x = {1, 2}, .y = {kNaN, kInf}});
  const std::string script = gnuplot_script(plot, "p.png");
  EXPECT_NE(script.find("1 NaN\n2 NaN\n"), std::string::npos);
  plot.curves[0].y = {1};
  try {
    gnuplot_script(plot, "p.png");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "[plot] curve 'c' of plot 'p' has 2 x values and 1 y values");
  }
}

TEST(FindProgram, SearchesPath) {
  EXPECT_FALSE(find_program("lamppost-no-such-program").has_value());
  EXPECT_FALSE(find_program("/nonexistent/gnuplot").has_value());
  const auto sh = find_program("sh");
  ASSERT_TRUE(sh.has_value());
  EXPECT_EQ(sh->filename(), "sh");
}

TEST(ReportWriter, WithoutGnuplotWritesDataScriptsAndReport) {
  const TemporaryFolder folder;
  ReportWriter writer(folder.path(), "lamppost verify", std::nullopt);
  writer.add(sample_result());
  writer.add(disagreeing_result());

  const fs::path& out = folder.path();
  EXPECT_TRUE(fs::exists(out / "results.json"));
  EXPECT_TRUE(fs::exists(out / "kernel_constancy_kernel_change.csv"));
  EXPECT_TRUE(fs::exists(out / "kernel_constancy_kernel_change.gp"));
  EXPECT_FALSE(fs::exists(out / "kernel_constancy_kernel_change.png"));
  EXPECT_EQ(hidden_files(out), 0);

  EXPECT_EQ(read_text(out / "kernel_constancy_kernel_change.csv"),
            table_csv(sample_result().tables[0]));
  EXPECT_EQ(read_text(out / "kernel_constancy_kernel_change.gp"),
            gnuplot_script(sample_result().plots[0], "kernel_constancy_kernel_change.png"));
  const std::string md = read_text(out / "report.md");
  EXPECT_NE(md.find("apt-get install gnuplot-nox"), std::string::npos);
  EXPECT_NE(md.find("## pl_condition"), std::string::npos);

  const nlohmann::json j = nlohmann::json::parse(read_text(out / "results.json"));
  EXPECT_EQ(j["experiments"].size(), 2u);
  EXPECT_TRUE(j["experiments"][0]["plots"][0]["image"].is_null());
  EXPECT_TRUE(j["experiments"][0]["plots"][0]["problem"].is_null());

  // A failure keeps what finished and says what stopped the run.
  writer.add_failure("sgd_rate", "[train] loss diverged");
  const nlohmann::json after = nlohmann::json::parse(read_text(out / "results.json"));
  EXPECT_EQ(after["experiments"].size(), 2u);
  EXPECT_EQ(after["failure"]["experiment"], "sgd_rate");
  EXPECT_NE(read_text(out / "report.md").find("**sgd_rate failed:**"), std::string::npos);
}

TEST(ReportWriter, WithGnuplotDrawsPngs) {
  const auto gnuplot = find_program("gnuplot");
  if (!gnuplot) GTEST_SKIP() << "gnuplot is not installed";
  const TemporaryFolder folder;
  ReportWriter writer(folder.path(), "lamppost verify", gnuplot);
  writer.add(sample_result());
  const PlotFiles& plot = writer.record().experiments[0].plots[0];
  EXPECT_TRUE(plot.rendered) << plot.problem;
  const std::string png = read_text(folder.path() / "kernel_constancy_kernel_change.png");
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  EXPECT_EQ(hidden_files(folder.path()), 0);
}

TEST(ReportWriter, FailingGnuplotIsRecordedNotThrown) {
  const auto failing = find_program("false");
  ASSERT_TRUE(failing.has_value());
  const TemporaryFolder folder;
  ReportWriter writer(folder.path(), "lamppost verify", failing);
  writer.add(sample_result());
  const PlotFiles& plot = writer.record().experiments[0].plots[0];
  EXPECT_FALSE(plot.rendered);
  EXPECT_FALSE(plot.problem.empty());
  EXPECT_FALSE(fs::exists(folder.path() / "kernel_constancy_kernel_change.png"));
  EXPECT_EQ(hidden_files(folder.path()), 0);
  EXPECT_NE(read_text(folder.path() / "report.md").find("gnuplot could not draw it"),
            std::string::npos);
}

TEST(ReportWriter, MalformedPlotLosesOnlyItsPicture) {
  const TemporaryFolder folder;
  ReportWriter writer(folder.path(), "lamppost run x", std::nullopt);
  ExperimentResult result = sample_result();
  result.plots[0].curves[0].y_high.pop_back();
  writer.add(result);
  const PlotFiles& plot = writer.record().experiments[0].plots[0];
  EXPECT_TRUE(plot.script.empty());
  EXPECT_NE(plot.problem.find("curve 'depth 2' of plot 'kernel_change' has 3 points"),
            std::string::npos);
  EXPECT_TRUE(fs::exists(folder.path() / "kernel_constancy_kernel_change.csv"));
  EXPECT_NE(read_text(folder.path() / "report.md").find("could not be drawn"), std::string::npos);
}

TEST(FileStem, KeepsNamesInsideTheFolder) {
  EXPECT_EQ(file_stem("kernel_constancy", "kernel_change"), "kernel_constancy_kernel_change");
  EXPECT_EQ(file_stem("a/b", "../c d"), "a_b_.._c_d");
}

// A clock the test moves by hand.
struct FakeClock {
  double seconds = 100;
};

std::string captured(std::FILE* file, char* buffer) {
  std::fflush(file);
  return buffer == nullptr ? "" : std::string(buffer);
}

TEST(Progress, PlainLinesAtMostEveryFewSeconds) {
  char* buffer = nullptr;
  size_t size = 0;
  std::FILE* out = ::open_memstream(&buffer, &size);
  FakeClock clock;
  ProgressDisplay display(
      out, {.terminal = false, .line_interval = 5, .now = [&clock] { return clock.seconds; }});
  const Progress progress = display.start("[1/2] kernel_constancy");
  clock.seconds += 1;
  progress(0.1, "width 32");  // too soon after the first line: not shown
  clock.seconds += 5;
  progress(0.25, "width 64");
  clock.seconds += 2;
  display.finish();
  const std::string text = captured(out, buffer);
  std::fclose(out);
  std::free(buffer);
  EXPECT_EQ(text,
            "[1/2] kernel_constancy   0% starting (elapsed 0s, left ~?)\n"
            "[1/2] kernel_constancy  25% width 64 (elapsed 6s, left ~18s)\n"
            "[1/2] kernel_constancy done in 8s\n");
}

TEST(Progress, TerminalBarRedrawsOneLine) {
  char* buffer = nullptr;
  size_t size = 0;
  std::FILE* out = ::open_memstream(&buffer, &size);
  FakeClock clock;
  ProgressDisplay display(
      out, {.terminal = true, .columns = 200, .redraw_interval = 0.1, .now = [&clock] {
              return clock.seconds;
            }});
  const Progress progress = display.start("[2/6] pl");
  clock.seconds += 30;
  progress(0.5, "training");
  const std::string text = captured(out, buffer);
  EXPECT_NE(text.find("\r[2/6] pl [##########..........]  50% 30s elapsed, ~30s left training"
                      "\x1b[K"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find('\n'), std::string::npos);
  display.finish();
  EXPECT_TRUE(captured(out, buffer).ends_with("\r[2/6] pl done in 30s\x1b[K\n"));
  std::fclose(out);
  std::free(buffer);
}

TEST(Progress, Durations) {
  EXPECT_EQ(format_duration(42.4), "42s");
  EXPECT_EQ(format_duration(187), "3m07s");
  EXPECT_EQ(format_duration(3720), "1h02m");
  EXPECT_EQ(format_duration(kNaN), "?");
}

ExperimentInfo sample_info() {
  ExperimentInfo info;
  info.name = "kernel_constancy";
  info.quick.depths = {1, 2};
  info.quick.widths = {32, 64};
  info.quick.steps = 100;
  info.full = info.quick;
  info.full.widths = {32, 64, 128, 256};
  info.full.steps = 1000;
  for (const ExperimentFlag& flag : experiment_flags()) info.flags.emplace_back(flag.name);
  return info;
}

TEST(Options, FullStartsFromFullDefaultsAndGivenFlagsOverride) {
  const ExperimentInfo info = sample_info();
  const ExperimentOptions quick = resolve_options(info, false, {});
  EXPECT_EQ(quick.widths, (std::vector<int64_t>{32, 64}));
  const ExperimentOptions full =
      resolve_options(info, true, {{"steps", "50"}, {"activation", "relu"}, {"step-size", "0.5"}});
  EXPECT_EQ(full.widths, (std::vector<int64_t>{32, 64, 128, 256}));
  EXPECT_EQ(full.steps, 50);
  EXPECT_EQ(full.activation, Activation::relu);
  EXPECT_EQ(full.step_size, 0.5);
  const ExperimentOptions lists =
      resolve_options(info, false, {{"widths", "8, 16,32"}, {"precision", "float"}, {"seed", "7"}});
  EXPECT_EQ(lists.widths, (std::vector<int64_t>{8, 16, 32}));
  EXPECT_EQ(lists.precision, Precision::float32);
  EXPECT_EQ(lists.seed, 7u);
}

TEST(Options, ListFlagsOfTheInterpolationExperiments) {
  const ExperimentInfo info = sample_info();
  const ExperimentOptions options = resolve_options(
      info, false,
      {{"noise-rates", "0, 0.1,0.3"}, {"datasets", "synthetic"}, {"features", "10,20"}});
  EXPECT_EQ(options.noise_rates, (std::vector<double>{0, 0.1, 0.3}));
  EXPECT_EQ(options.datasets, (std::vector<DataSource>{DataSource::synthetic}));
  EXPECT_EQ(options.features, (std::vector<int64_t>{10, 20}));
  const auto error = [&](std::string flag, std::string text) {
    return usage_error_of([&] { resolve_options(info, false, {{flag, text}}); });
  };
  EXPECT_EQ(error("noise-rates", "0.1,1.5"),
            "--noise-rates: 1.5 is not a noise rate (q lies in [0, 1])");
  EXPECT_EQ(error("noise-rates", "0.1,,0.2"), "--noise-rates: '0.1,,0.2' has an empty item");
  EXPECT_EQ(error("features", "10,15"), "--features: 15 is odd (cos/sin pairs: m is even)");
  EXPECT_EQ(error("datasets", "synthetic,mnist"),
            "--datasets: unknown value 'mnist' (choose one of synthetic, fashion-mnist)");
  EXPECT_EQ(error("bandwidth", "0"), "--bandwidth: 0 is not positive");
  EXPECT_EQ(error("ridge", "-1"), "--ridge: -1 is not positive");
}

TEST(Options, FlagsTheExperimentDoesNotReadAreRefused) {
  const ExperimentInfo& info = experiment_named("kernel_at_init");
  const std::string message = usage_error_of([&] {
    resolve_options(info, false, {{"noise-rates", "0.1"}});
  });
  EXPECT_TRUE(
      message.starts_with("--noise-rates: kernel_at_init does not use it (its flags: "
                          "--depths, --widths,"))
      << message;
}

// What only the experiment can judge (a value's range for it) is also a usage error, before any
// work starts.
TEST(Options, TheExperimentsOwnCheckIsAUsageError) {
  const std::string message = usage_error_of([] {
    resolve_options(experiment_named("simplices"), false, {{"dimensions", "1,14"}});
  });
  EXPECT_EQ(message,
            "dimensions must be at most 12 (the data include the cube's 2^d corners), got 14");
  EXPECT_EQ(usage_error_of([] {
              resolve_options(experiment_named("label_noise"), false, {{"noise-rates", "0.1"}});
            }),
            "noise-rates must start at 0 and hold at least one more rate (the clean fit is the "
            "reference), got 0.1");
}

TEST(Options, BadValuesNameTheFlagAndTheValue) {
  const ExperimentInfo info = sample_info();
  const auto error = [&](std::string flag, std::string text) {
    return usage_error_of([&] { resolve_options(info, false, {{flag, text}}); });
  };
  EXPECT_EQ(error("widths", "32,0"), "--widths: 0 is too small (the least allowed is 1)");
  EXPECT_EQ(error("depths", "0"), "--depths: 0 is too small (the least allowed is 1)");
  EXPECT_EQ(error("widths", ""),
            "--widths: the list is empty (give values separated by commas, e.g. 1,2,3)");
  EXPECT_EQ(error("widths", "32,,64"), "--widths: '32,,64' has an empty item");
  EXPECT_EQ(error("widths", "32,abc"), "--widths: 'abc' is not a whole number");
  EXPECT_EQ(error("steps", "0"), "--steps: 0 is too small (the least allowed is 1)");
  EXPECT_EQ(error("n", "1.5"), "--n: '1.5' is not a whole number");
  EXPECT_EQ(error("seeds", "0"), "--seeds: 0 is too small (the least allowed is 1)");
  EXPECT_EQ(error("step-size", "-0.1"),
            "--step-size: -0.1 is negative (0 chooses the step size from the curvature)");
  EXPECT_EQ(error("step-size", "nan"), "--step-size: nan is not a finite number");
  EXPECT_EQ(error("mu-floor", "0"), "--mu-floor: 0 is out of range: it must lie in (0, 1]");
  EXPECT_EQ(error("interpolation", "1"),
            "--interpolation: 1 is out of range: it must lie in (0, 1)");
  EXPECT_EQ(error("target-fraction", "x"), "--target-fraction: 'x' is not a number");
  EXPECT_EQ(error("slope-tolerance", "-0.1"), "--slope-tolerance: -0.1 is negative");
  EXPECT_EQ(error("ball-radius", "inf"), "--ball-radius: inf is not a finite number");
  EXPECT_EQ(error("activation", "swish"),
            "--activation: unknown value 'swish' (choose one of relu, tanh, erf, gelu, softplus, "
            "sigmoid, identity)")
      << "the library's parse_activation may have changed its wording";
  EXPECT_EQ(error("precision", "half"),
            "--precision: unknown value 'half' (choose one of float, double)");
  EXPECT_EQ(usage_error_of([] { parse_threads("0"); }),
            "--threads: 0 is too small (the least allowed is 1)");
}

TEST(Options, FashionMnistNeedsItsFiles) {
  const ExperimentInfo info = sample_info();
  EXPECT_EQ(usage_error_of([&] {
              resolve_options(info, false,
                              {{"dataset", "fashion-mnist"}, {"data-dir", "/nonexistent/fm"}});
            }),
            "--data-dir: '/nonexistent/fm' has no train-images-idx3-ubyte.gz: point it at "
            "Fashion-MNIST's IDX files");
}

TEST(Options, OutputFolderMustBeWritable) {
  const TemporaryFolder folder;
  EXPECT_EQ(usage_error_of([&] { prepare_output_folder(folder.path() / "a" / "b"); }), "");
  EXPECT_TRUE(fs::is_directory(folder.path() / "a" / "b"));
  EXPECT_EQ(hidden_files(folder.path() / "a" / "b"), 0);  // the probe is gone

  std::ofstream(folder.path() / "file") << "x";
  const std::string under_file =
      usage_error_of([&] { prepare_output_folder(folder.path() / "file" / "out"); });
  EXPECT_TRUE(under_file.starts_with("--output: cannot create '")) << under_file;
  EXPECT_TRUE(usage_error_of([&] {
                prepare_output_folder(folder.path() / "file");
              }).ends_with("file' is a file, not a folder"));

  if (::geteuid() != 0) {  // root writes anywhere
    const fs::path locked = folder.path() / "locked";
    fs::create_directories(locked);
    fs::permissions(locked, fs::perms::owner_read | fs::perms::owner_exec);
    EXPECT_TRUE(usage_error_of([&] {
                  prepare_output_folder(locked);
                }).starts_with("--output: cannot write into '"));
    fs::permissions(locked, fs::perms::owner_all);
  }
}

TEST(Options, ExperimentNamesAreChecked) {
  EXPECT_TRUE(usage_error_of([] {
                select_experiments(std::string("no_such"));
              }).starts_with("--experiments: unknown experiment 'no_such'"));
  EXPECT_EQ(usage_error_of([] { select_experiments(std::string("")); }),
            "--experiments: the list is empty (name experiments: a,b)");
  EXPECT_EQ(select_experiments(std::nullopt).size(), experiments().size());
  EXPECT_TRUE(usage_error_of([] {
                experiment_named("no_such");
              }).starts_with("unknown experiment 'no_such'"));
}

}  // namespace
}  // namespace lamppost::cli
