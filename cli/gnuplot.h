// Plots through gnuplot (Debian: gnuplot-nox). Each plot becomes a self-contained script with
// its data inline, written beside the image it draws, so a reader can redraw or restyle a plot
// with `gnuplot <name>.gp` and nothing else; the program runs the same script to make the PNG.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "theory/experiment.h"

namespace lamppost::cli {

// The executable that `name` runs: name itself when it holds a '/', else the first match on
// PATH; nullopt when there is none.
std::optional<std::filesystem::path> find_program(std::string_view name);

// The script that draws plot into image, a file name relative to the script's folder. Axes are
// logarithmic as the plot says, the legend lists the curves' labels, curves with y_low/y_high
// get error bars. The terminal is pngcairo where gnuplot has it, else png. Running it with
// `-e "output_png='other.png'"` draws into another file instead.
std::string gnuplot_script(const Plot& plot, std::string_view image);

struct RenderOutcome {
  bool rendered = false;
  std::string problem;  // why not, when not: gnuplot's first error line, or what failed
};

// Runs gnuplot on the script (a file in folder) in folder and puts the image in place
// atomically: gnuplot draws into a temporary file that is renamed to image only when gnuplot
// succeeds. Failures are returned, not thrown: a plot that cannot be drawn must not cost the
// results.
RenderOutcome render_plot(const std::filesystem::path& gnuplot, const std::filesystem::path& folder,
                          std::string_view script, std::string_view image);

}  // namespace lamppost::cli
