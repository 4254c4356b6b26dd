#include "cli/report.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <span>
#include <utility>

#include <fmt/format.h>

#include "cli/gnuplot.h"
#include "tensor/error.h"
#include "tensor/file.h"

namespace lamppost::cli {

namespace fs = std::filesystem;

namespace {

std::string_view case_of(const Finding& finding) {
  return finding.contrast ? "contrast" : "claim";
}
std::string_view agrees_text(const Finding& finding) {
  return finding.agrees() ? "yes" : "NO";
}

// Terminal columns of a UTF-8 string: its code points (claims may say mu or lambda in Greek).
size_t display_width(std::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

nlohmann::ordered_json number(double value) {
  if (!std::isfinite(value)) return nullptr;
  return value;
}

// A Markdown table cell: one line, with the characters that would end the cell or start
// markup escaped. '<' only where it could open an HTML tag, so "slope <= -0.5" stays as it is.
std::string cell(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const char next = i + 1 < text.size() ? text[i + 1] : ' ';
    const bool opens_tag = c == '<' && (std::isalpha(static_cast<unsigned char>(next)) != 0 ||
                                        next == '/' || next == '!' || next == '?');
    if (c == '\n' || c == '\r') {
      out += ' ';
    } else if (c == '|' || c == '\\' || c == '*' || c == '`' || opens_tag) {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  return out;
}

// A CSV field, quoted (RFC 4180) only when it needs to be.
std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

void write_text(const fs::path& path, std::string_view text) {
  detail::write_file_atomically("write", path, {std::span<const char>(text.data(), text.size())});
}

void findings_markdown(std::string& s, std::span<const ExperimentRecord> experiments,
                       bool with_experiment) {
  s += with_experiment ? "| Experiment | Claim | Case | Measured | Theory | Verdict | Agrees |\n"
                         "|---|---|---|---|---|---|---|\n"
                       : "| Claim | Case | Measured | Theory | Verdict | Agrees |\n"
                         "|---|---|---|---|---|---|\n";
  for (const ExperimentRecord& experiment : experiments) {
    for (const Finding& f : experiment.result.findings) {
      if (with_experiment) s += fmt::format("| {} ", cell(experiment.result.name));
      s += fmt::format("| {} | {} | {} | {} | {} | {} |\n", cell(f.claim), case_of(f),
                       cell(f.measured), cell(f.predicted), to_string(f.verdict),
                       f.agrees() ? "yes" : "**NO**");
    }
  }
}

}  // namespace

std::string file_stem(std::string_view experiment, std::string_view name) {
  std::string stem = fmt::format("{}_{}", experiment, name);
  for (char& c : stem) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.';
    if (!safe) c = '_';
  }
  return stem;
}

Tally tally(const RunRecord& run) {
  Tally t;
  for (const ExperimentRecord& experiment : run.experiments) {
    for (const Finding& finding : experiment.result.findings) {
      ++t.findings;
      if (finding.agrees()) ++t.agree;
    }
  }
  return t;
}

std::string summary_line(const RunRecord& run) {
  const Tally t = tally(run);
  return fmt::format("{} of {} findings agree with theory", t.agree, t.findings);
}

std::string verdict_table(const RunRecord& run) {
  using Row = std::array<std::string, 6>;
  std::vector<Row> rows = {Row{"Claim", "Case", "Measured", "Theory", "Verdict", "Agrees"}};
  for (const ExperimentRecord& experiment : run.experiments) {
    for (const Finding& f : experiment.result.findings) {
      rows.push_back(Row{f.claim, std::string(case_of(f)), f.measured, f.predicted,
                         std::string(to_string(f.verdict)), std::string(agrees_text(f))});
    }
  }
  std::array<size_t, 6> widths{};
  for (const Row& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], display_width(row[c]));
  }
  std::string s;
  const auto add_row = [&](const Row& row) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(widths[c] - display_width(row[c]) + 2, ' ');
    }
    s += line + '\n';
  };
  add_row(rows[0]);
  Row rule;
  for (size_t c = 0; c < rule.size(); ++c) rule[c] = std::string(widths[c], '-');
  add_row(rule);
  for (size_t r = 1; r < rows.size(); ++r) add_row(rows[r]);
  return s;
}

nlohmann::ordered_json results_json(const RunRecord& run) {
  using json = nlohmann::ordered_json;
  const Tally t = tally(run);
  json out;
  out["program"] = "lamppost";
  out["version"] = LAMPPOST_VERSION;
  out["command"] = run.command;
  out["summary"] = {
      {"findings", t.findings}, {"agree", t.agree}, {"all_agree", t.agree == t.findings}};
  out["failure"] =
      run.failure ? json{{"experiment", run.failure->experiment}, {"message", run.failure->message}}
                  : json(nullptr);
  json experiments = json::array();
  for (const ExperimentRecord& record : run.experiments) {
    const ExperimentResult& r = record.result;
    json e;
    e["name"] = r.name;
    e["title"] = r.title;
    e["seconds"] = number(r.seconds);
    json settings = json::object();
    for (const auto& [flag, value] : r.settings) settings[flag] = value;
    e["settings"] = std::move(settings);
    json findings = json::array();
    for (const Finding& f : r.findings) {
      findings.push_back({{"claim", f.claim},
                          {"contrast", f.contrast},
                          {"measured", f.measured},
                          {"predicted", f.predicted},
                          {"verdict", to_string(f.verdict)},
                          {"expected", to_string(f.expected)},
                          {"agrees", f.agrees()}});
    }
    e["findings"] = std::move(findings);
    json tables = json::array();
    for (size_t i = 0; i < r.tables.size(); ++i) {
      const Table& table = r.tables[i];
      json rows = json::array();
      for (const std::vector<double>& row : table.rows) {
        json values = json::array();
        for (const double value : row) values.push_back(number(value));
        rows.push_back(std::move(values));
      }
      tables.push_back({{"name", table.name},
                        {"file", i < record.csv_files.size() ? record.csv_files[i] : ""},
                        {"columns", table.columns},
                        {"rows", std::move(rows)}});
    }
    e["tables"] = std::move(tables);
    json plots = json::array();
    for (const PlotFiles& plot : record.plots) {
      plots.push_back({{"name", plot.name},
                       {"title", plot.title},
                       {"script", plot.script.empty() ? json(nullptr) : json(plot.script)},
                       {"image", plot.rendered ? json(plot.image) : json(nullptr)},
                       {"problem", plot.problem.empty() ? json(nullptr) : json(plot.problem)}});
    }
    e["plots"] = std::move(plots);
    experiments.push_back(std::move(e));
  }
  out["experiments"] = std::move(experiments);
  return out;
}

std::string table_csv(const Table& table) {
  std::string s;
  for (size_t c = 0; c < table.columns.size(); ++c) {
    s += c == 0 ? "" : ",";
    s += csv_field(table.columns[c]);
  }
  s += '\n';
  for (const std::vector<double>& row : table.rows) {
    s += fmt::format("{}\n", fmt::join(row, ","));
  }
  return s;
}

std::string report_markdown(const RunRecord& run) {
  std::string s = "# lamppost results\n\n";
  if (!run.command.empty()) s += fmt::format("Command: `{}`\n\n", run.command);
  const Tally t = tally(run);
  s += fmt::format("**{}.**\n\n", summary_line(run));
  if (run.failure) {
    s += fmt::format(
        "> **{} failed:** {}  \n> The results below are those of the experiments that finished "
        "before it.\n\n",
        cell(run.failure->experiment), cell(run.failure->message));
  }
  const bool any_plots = std::any_of(run.experiments.begin(), run.experiments.end(),
                                     [](const ExperimentRecord& e) { return !e.plots.empty(); });
  if (any_plots && !run.gnuplot_found) {
    s += "> The plots were not drawn: gnuplot is not installed. Install it (`apt-get install "
         "gnuplot-nox`), then run `gnuplot <file>.gp` in this folder for each plot script (all "
         "at once: `for f in *.gp; do gnuplot \"$f\"; done`); the images appear where this "
         "report links them.\n\n";
  }
  if (t.findings > 0) {
    s += "## Verdicts\n\n";
    findings_markdown(s, run.experiments, /*with_experiment=*/true);
    s += '\n';
  }
  for (const ExperimentRecord& record : run.experiments) {
    const ExperimentResult& r = record.result;
    s += fmt::format("## {}\n\n{}\n\nRun time: {}.\n\n", cell(r.name), cell(r.title),
                     std::isfinite(r.seconds) ? fmt::format("{:.1f} s", r.seconds) : "unknown");
    if (!r.settings.empty()) {
      s += "| Setting | Value |\n|---|---|\n";
      for (const auto& [flag, value] : r.settings) {
        s += fmt::format("| {} | {} |\n", cell(flag), cell(value));
      }
      s += '\n';
    }
    if (!r.findings.empty()) {
      s += "### Findings\n\n";
      findings_markdown(s, {&record, 1}, /*with_experiment=*/false);
      s += '\n';
    }
    if (!record.plots.empty()) s += "### Plots\n\n";
    for (const PlotFiles& plot : record.plots) {
      if (plot.script.empty()) {
        s += fmt::format("*{}* could not be drawn: {}\n\n", cell(plot.title), cell(plot.problem));
      } else if (!plot.problem.empty()) {
        s += fmt::format("*{}*: gnuplot could not draw it ({}); its script is [{}]({}).\n\n",
                         cell(plot.title), cell(plot.problem), plot.script, plot.script);
      } else {
        // Linked also when gnuplot is missing: running the script puts the image there.
        s += fmt::format("![{}]({})\n\n*{}* (gnuplot script: [{}]({}))\n\n", cell(plot.title),
                         plot.image, cell(plot.title), plot.script, plot.script);
      }
    }
    if (!record.csv_files.empty()) {
      s += "### Data\n\n";
      for (size_t i = 0; i < record.csv_files.size() && i < r.tables.size(); ++i) {
        const Table& table = r.tables[i];
        s +=
            fmt::format("- [{}]({}): {} rows of {}\n", record.csv_files[i], record.csv_files[i],
                        table.rows.size(), cell(fmt::format("{}", fmt::join(table.columns, ", "))));
      }
      s += '\n';
    }
  }
  s += "All numbers, with every table, are in [results.json](results.json).\n";
  return s;
}

ReportWriter::ReportWriter(fs::path folder, std::string command, std::optional<fs::path> gnuplot)
    : folder_(std::move(folder)), gnuplot_(std::move(gnuplot)) {
  run_.command = std::move(command);
  run_.gnuplot_found = gnuplot_.has_value();
}

void ReportWriter::add(ExperimentResult result) {
  ExperimentRecord record;
  for (const Table& table : result.tables) {
    std::string file = file_stem(result.name, table.name) + ".csv";
    write_text(folder_ / file, table_csv(table));
    record.csv_files.push_back(std::move(file));
  }
  for (const Plot& plot : result.plots) {
    const std::string stem = file_stem(result.name, plot.name);
    PlotFiles files{plot.name, plot.title, stem + ".gp", stem + ".png", false, ""};
    std::string script;
    try {
      script = gnuplot_script(plot, files.image);
    } catch (const Error& e) {
      // A malformed plot loses its picture, not the run's results.
      files.script.clear();
      files.problem = e.what();
    }
    if (!script.empty()) {
      write_text(folder_ / files.script, script);
      if (gnuplot_) {
        const RenderOutcome outcome = render_plot(*gnuplot_, folder_, files.script, files.image);
        files.rendered = outcome.rendered;
        files.problem = outcome.problem;
      }
    }
    record.plots.push_back(std::move(files));
  }
  record.result = std::move(result);
  run_.experiments.push_back(std::move(record));
  write_summaries();
}

void ReportWriter::add_failure(std::string experiment, std::string message) {
  run_.failure = Failure{std::move(experiment), std::move(message)};
  write_summaries();
}

void ReportWriter::write_summaries() const {
  write_text(folder_ / "results.json", results_json(run_).dump(2) + "\n");
  write_text(folder_ / "report.md", report_markdown(run_));
}

}  // namespace lamppost::cli
