#include "cli/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

namespace lamppost::cli {

namespace {

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Code points, not bytes: stage texts may hold UTF-8 (mu, lambda), and the line must fit the
// terminal's columns. Cutting happens between code points.
std::string cut_to_columns(const std::string& text, int columns) {
  int used = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool continuation = (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80;
    if (continuation) continue;
    if (used == columns) return text.substr(0, i);
    ++used;
  }
  return text;
}

}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto total = static_cast<long long>(std::llround(seconds));
  if (total < 60) return fmt::format("{}s", total);
  if (total < 3600) return fmt::format("{}m{:02}s", total / 60, total % 60);
  return fmt::format("{}h{:02}m", total / 3600, total / 60 % 60);
}

ProgressDisplay::Settings ProgressDisplay::settings_for(std::FILE* out) {
  Settings settings;
  const int fd = ::fileno(out);
  settings.terminal = fd >= 0 && ::isatty(fd) == 1;
  winsize size{};
  if (settings.terminal && ::ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
    settings.columns = size.ws_col;
  }
  return settings;
}

ProgressDisplay::ProgressDisplay(std::FILE* out, Settings settings)
    : out_(out), settings_(std::move(settings)) {
  if (!settings_.now) settings_.now = steady_seconds;
}

Progress ProgressDisplay::start(std::string label) {
  {
    const std::lock_guard lock(mutex_);
    label_ = std::move(label);
    started_ = settings_.now();
    shown_ = false;
  }
  report(0, "starting");
  return [this](double fraction, std::string_view stage) { report(fraction, stage); };
}

void ProgressDisplay::report(double fraction, std::string_view stage) {
  const std::lock_guard lock(mutex_);
  const double now = settings_.now();
  const double interval = settings_.terminal ? settings_.redraw_interval : settings_.line_interval;
  if (shown_ && now - last_shown_ < interval) return;
  fraction = std::isfinite(fraction) ? std::clamp(fraction, 0.0, 1.0) : 0.0;
  const std::string text = line(fraction, stage, now - started_);
  if (settings_.terminal) {
    // \r and "erase to end of line" redraw in place; one column is left free so that a line
    // exactly as wide as the terminal does not wrap.
    fmt::print(out_, "\r{}\x1b[K", cut_to_columns(text, std::max(settings_.columns - 1, 10)));
  } else {
    fmt::print(out_, "{}\n", text);
  }
  std::fflush(out_);
  shown_ = true;
  last_shown_ = now;
}

std::string ProgressDisplay::line(double fraction, std::string_view stage, double elapsed) const {
  // The estimate assumes the rest goes at the average pace so far; below 1% it is noise.
  const std::string left =
      fraction >= 0.01 ? format_duration(elapsed * (1 - fraction) / fraction) : "?";
  const std::string stage_text = stage.empty() ? "" : fmt::format(" {}", stage);
  if (!settings_.terminal) {
    return fmt::format("{} {:3.0f}%{} (elapsed {}, left ~{})", label_, 100 * fraction, stage_text,
                       format_duration(elapsed), left);
  }
  constexpr int kBar = 20;
  const int filled = static_cast<int>(std::floor(fraction * kBar));
  return fmt::format("{} [{:#<{}}{:.<{}}] {:3.0f}% {} elapsed, ~{} left{}", label_, "", filled, "",
                     kBar - filled, 100 * fraction, format_duration(elapsed), left, stage_text);
}

void ProgressDisplay::finish() {
  const std::lock_guard lock(mutex_);
  const std::string text =
      fmt::format("{} done in {}", label_, format_duration(settings_.now() - started_));
  if (settings_.terminal) {
    fmt::print(out_, "\r{}\x1b[K\n", cut_to_columns(text, std::max(settings_.columns - 1, 10)));
  } else {
    fmt::print(out_, "{}\n", text);
  }
  std::fflush(out_);
}

void ProgressDisplay::abandon() {
  const std::lock_guard lock(mutex_);
  if (settings_.terminal && shown_) fmt::print(out_, "\n");
  std::fflush(out_);
}

}  // namespace lamppost::cli
