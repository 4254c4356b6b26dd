// Progress of long work on stderr: on a terminal one line redrawn in place (a bar, the
// percentage, the stage, elapsed time and an estimate of the time left); elsewhere (a log, a
// pipe) plain lines, at most one every few seconds, so logs stay readable.
#pragma once

#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "theory/experiment.h"

namespace lamppost::cli {

// "42s", "3m07s", "1h02m".
std::string format_duration(double seconds);

class ProgressDisplay {
 public:
  struct Settings {
    bool terminal = false;         // redraw one line in place instead of printing lines
    int columns = 80;              // the terminal's width; the line is cut to fit
    double line_interval = 5.0;    // plain lines: at least this many seconds apart
    double redraw_interval = 0.1;  // terminal: redraws at most this often
    std::function<double()> now;   // seconds on a monotonic clock; empty: steady_clock
  };

  // For out = stderr: a terminal when stderr is one, its width from the terminal.
  static Settings settings_for(std::FILE* out);

  ProgressDisplay(std::FILE* out, Settings settings);

  // Starts a task, e.g. "[2/6] kernel_constancy", and returns the callback its experiment
  // reports through. The callback may be called from any thread.
  Progress start(std::string label);
  // Ends the current task with its time ("done in 1m12s"); on a terminal, ends the line.
  void finish();
  // Ends the current task without a time (it failed); on a terminal, ends the line.
  void abandon();

 private:
  void report(double fraction, std::string_view stage);
  std::string line(double fraction, std::string_view stage, double elapsed) const;

  std::FILE* out_;
  Settings settings_;
  std::mutex mutex_;
  std::string label_;
  double started_ = 0;
  double last_shown_ = 0;
  bool shown_ = false;  // something was printed for the current task
};

}  // namespace lamppost::cli
