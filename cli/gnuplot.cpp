#include "cli/gnuplot.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "tensor/error.h"
#include "tensor/file.h"

namespace lamppost::cli {

namespace fs = std::filesystem;

namespace {

constexpr std::array<std::string_view, 10> kColours = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                                       "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                                       "#bcbd22", "#17becf"};

// A gnuplot string literal. Single quotes take everything literally but the quote itself,
// which is doubled; a line break would end the command, so it becomes a space.
std::string gnuplot_string(std::string_view text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') {
      out += "''";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out + "'";
}

// Non-finite values become NaN, which gnuplot reads as a missing point.
std::string number(double value) {
  return std::isfinite(value) ? fmt::format("{}", value) : "NaN";
}

bool has_error_bars(const Curve& curve) {
  return !curve.y_low.empty() || !curve.y_high.empty();
}

void check_curve(const Plot& plot, const Curve& curve) {
  LAMPPOST_CHECK(curve.x.size() == curve.y.size(), "plot",
                 "curve '{}' of plot '{}' has {} x values and {} y values", curve.label, plot.name,
                 curve.x.size(), curve.y.size());
  if (has_error_bars(curve)) {
    LAMPPOST_CHECK(curve.y_low.size() == curve.y.size() && curve.y_high.size() == curve.y.size(),
                   "plot", "curve '{}' of plot '{}' has {} points but {} y_low and {} y_high",
                   curve.label, plot.name, curve.y.size(), curve.y_low.size(), curve.y_high.size());
  }
}

std::string_view style_of(const Curve& curve) {
  const bool bars = has_error_bars(curve);
  switch (curve.style) {
    case Curve::Style::points:
      return bars ? "yerrorbars" : "points";
    case Curve::Style::lines:
      return bars ? "yerrorlines" : "lines";
    case Curve::Style::lines_points:
      return bars ? "yerrorlines" : "linespoints";
  }
  return "linespoints";
}

// Everything gnuplot printed, from the file its stdout and stderr went to.
std::string read_all(std::FILE* file) {
  std::string text;
  std::rewind(file);
  char buffer[4096];
  size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, got);
  return text;
}

// The line that says what went wrong. gnuplot reports `"file.gp" line 12: <message>` after
// echoing the failing command; warnings have the same form and are passed over.
std::string first_problem(const std::string& output) {
  std::string last;
  size_t start = 0;
  while (start < output.size()) {
    size_t end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    const std::string line = output.substr(start, end - start);
    start = end + 1;
    if (line.find_first_not_of(" ^") == std::string::npos) continue;
    const size_t at = line.find("line ");
    if (at != std::string::npos && line.find(": ", at) != std::string::npos &&
        line.find("warning:") == std::string::npos) {
      return line;
    }
    last = line;
  }
  return last;
}

}  // namespace

std::optional<fs::path> find_program(std::string_view name) {
  const auto runnable = [](const fs::path& path) {
    std::error_code error;
    return fs::is_regular_file(path, error) && ::access(path.c_str(), X_OK) == 0;
  };
  if (name.empty()) return std::nullopt;
  if (name.find('/') != std::string_view::npos) {
    return runnable(fs::path(name)) ? std::optional<fs::path>(name) : std::nullopt;
  }
  const char* path_variable = std::getenv("PATH");
  const std::string_view folders = path_variable != nullptr ? path_variable : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= folders.size()) {
    size_t end = folders.find(':', start);
    if (end == std::string_view::npos) end = folders.size();
    // An empty entry means the current folder, as for the shell.
    const std::string_view folder = folders.substr(start, end - start);
    const fs::path candidate = fs::path(folder.empty() ? "." : folder) / name;
    if (runnable(candidate)) return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

std::string gnuplot_script(const Plot& plot, std::string_view image) {
  for (const Curve& curve : plot.curves) check_curve(plot, curve);
  std::string s;
  const auto line = [&s]<class... Args>(fmt::format_string<Args...> format, Args&&... args) {
    s += fmt::format(format, std::forward<Args>(args)...);
    s += '\n';
  };
  line("# {}", plot.title);
  line("# Drawn by lamppost. Run gnuplot on this file in its folder to redraw {}.", image);
  line("if (!exists(\"output_png\")) output_png = {}", gnuplot_string(image));
  // Text is set literally (noenhanced): labels such as "mu_t" or "m^-1/2" keep their
  // characters instead of turning into sub- and superscripts of the wrong extent.
  line("if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {{");
  line("  set terminal pngcairo size 960,640 noenhanced font \",11\"");
  line("}} else {{");
  line("  set terminal png size 960,640 noenhanced");
  line("}}");
  line("set output output_png");
  line("set title {}", gnuplot_string(plot.title));
  line("set xlabel {}", gnuplot_string(plot.x_label));
  line("set ylabel {}", gnuplot_string(plot.y_label));
  // Log axes label their decades plainly (0.001, 1e-05) instead of gnuplot's fixed "%f".
  if (plot.log_x) line("set logscale x\nset format x '%g'");
  if (plot.log_y) line("set logscale y\nset format y '%g'");
  line("set grid");
  // Below the frame the legend never hides data.
  line("set key below");
  // Tableau's ten colours, all dark enough to read on white (gnuplot's own cycle has yellow).
  for (size_t i = 0; i < kColours.size(); ++i) {
    line("set linetype {} lc rgb '{}' lw 1.5", i + 1, kColours[i]);
  }

  std::vector<std::string> commands;
  for (size_t c = 0; c < plot.curves.size(); ++c) {
    const Curve& curve = plot.curves[c];
    if (curve.x.empty()) continue;
    const bool bars = has_error_bars(curve);
    line("$curve{} << EOD", c + 1);
    for (size_t i = 0; i < curve.x.size(); ++i) {
      if (bars) {
        line("{} {} {} {}", number(curve.x[i]), number(curve.y[i]), number(curve.y_low[i]),
             number(curve.y_high[i]));
      } else {
        line("{} {}", number(curve.x[i]), number(curve.y[i]));
      }
    }
    line("EOD");
    commands.push_back(fmt::format("$curve{} using {} with {} title {}", c + 1,
                                   bars ? "1:2:3:4" : "1:2", style_of(curve),
                                   gnuplot_string(curve.label)));
  }
  if (commands.empty()) {
    // gnuplot refuses to plot nothing; an empty frame says so instead of failing.
    line("unset logscale");
    line("set label 'no data' at graph 0.5, 0.5 center");
    line("plot [0:1] [0:1] NaN notitle");
  } else {
    line("plot {}", fmt::join(commands, ", \\\n     "));
  }
  line("unset output");
  return s;
}

RenderOutcome render_plot(const fs::path& gnuplot, const fs::path& folder, std::string_view script,
                          std::string_view image) {
  const std::string temporary = fmt::format(".{}.{}.tmp", image, ::getpid());
  // Everything the child needs is built before fork: between fork and exec only
  // async-signal-safe calls are allowed (OpenMP's threads may hold the allocator's locks).
  const std::string program = gnuplot.string();
  const std::string assignment = fmt::format("output_png={}", gnuplot_string(temporary));
  const std::string script_name(script);
  const std::string folder_name = folder.string();
  std::vector<char*> argv = {const_cast<char*>(program.c_str()), const_cast<char*>("-e"),
                             const_cast<char*>(assignment.c_str()),
                             const_cast<char*>(script_name.c_str()), nullptr};

  std::FILE* log = std::tmpfile();
  if (log == nullptr) {
    return {false, fmt::format("cannot make a file for gnuplot's messages: {}",
                               detail::errno_message(errno))};
  }
  const int log_fd = ::fileno(log);
  const pid_t child = ::fork();
  if (child < 0) {
    std::fclose(log);
    return {false, fmt::format("cannot start gnuplot: {}", detail::errno_message(errno))};
  }
  if (child == 0) {
    const int null_input = ::open("/dev/null", O_RDONLY);
    if (null_input >= 0) ::dup2(null_input, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    if (::chdir(folder_name.c_str()) != 0) ::_exit(126);
    ::execv(program.c_str(), argv.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  const std::string output = read_all(log);
  std::fclose(log);

  const fs::path drawn = folder / temporary;
  std::error_code error;
  const bool succeeded = WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
                         fs::is_regular_file(drawn, error) && fs::file_size(drawn, error) > 0;
  if (!succeeded) {
    fs::remove(drawn, error);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
      return {false, fmt::format("cannot run '{}'", program)};
    }
    const std::string problem = first_problem(output);
    return {false, problem.empty() ? fmt::format("gnuplot failed (status {})", status) : problem};
  }
  fs::rename(drawn, folder / image, error);
  if (error) {
    fs::remove(drawn, error);
    return {false, fmt::format("cannot rename the image into place: {}", error.message())};
  }
  return {true, ""};
}

}  // namespace lamppost::cli
