#pragma once
/// A Keras-style console progress display for training loops.
///
/// Per epoch it writes the lines Keras users read every day:
///
///     Epoch 3/10
///     57/89 [=================>............] - ETA: 4s - loss: 2.6755 - accuracy: 0.2008
///     89/89 [==============================] - 11s 121ms/step - loss: 2.6755 - accuracy: 0.2008 - val_loss: 2.8420 - val_accuracy: 0.1612
///
/// On a terminal the bar is redrawn in place with '\r' (at most every `redraw_interval`
/// seconds) and the closing line replaces it. Written to a file or pipe, the display prints
/// only "Epoch i/n" and the closing line, so logs hold no carriage returns.
///
/// The display writes to the stream it is given; nn's training code never prints, it reports
/// through callbacks that feed this class.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#if defined(__has_include)
#if __has_include(<unistd.h>)
#include <unistd.h>
#define NN_PROGRESS_HAVE_ISATTY 1
#endif
#endif

#include "nn/core/errors.hpp"
#include "nn/core/shape.hpp"

namespace nn {

/// One named value on a progress line, e.g. {"loss", 2.6755}.
using Metric = std::pair<std::string, double>;

/// Returns true when standard output is a terminal, so a display may redraw in place.
inline bool stdout_is_terminal() {
#ifdef NN_PROGRESS_HAVE_ISATTY
  return ::isatty(STDOUT_FILENO) == 1;
#else
  return false;
#endif
}

namespace detail {

/// Formats a metric as Keras does: 4 decimals, or scientific notation below 1e-3.
inline std::string format_metric_value(double value) {
  char text[64];
  if (value == 0.0 || std::fabs(value) > 1e-3 || !std::isfinite(value)) {
    std::snprintf(text, sizeof text, "%.4f", value);
  } else {
    std::snprintf(text, sizeof text, "%.4e", value);
  }
  return text;
}

/// Formats a remaining time as Keras' ETA field: "4s", "2:05" or "1:02:05".
inline std::string format_eta(double seconds) {
  const long total = std::lround(std::max(0.0, seconds));
  char text[64];
  if (total >= 3600) {
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", total / 3600, (total % 3600) / 60,
                  total % 60);
  } else if (total >= 60) {
    std::snprintf(text, sizeof text, "%ld:%02ld", total / 60, total % 60);
  } else {
    std::snprintf(text, sizeof text, "%lds", total);
  }
  return text;
}

/// Formats the time of one step in the closest unit: "2s/step", "121ms/step" or "850us/step".
inline std::string format_time_per_step(double seconds) {
  char text[64];
  if (seconds >= 1.0) {
    std::snprintf(text, sizeof text, "%.0fs/step", seconds);
  } else if (seconds >= 1e-3) {
    std::snprintf(text, sizeof text, "%.0fms/step", seconds * 1e3);
  } else {
    std::snprintf(text, sizeof text, "%.0fus/step", seconds * 1e6);
  }
  return text;
}

/// Formats the step counter and bar, e.g. "57/89 [=================>............]".
///
/// The counter is right-aligned to the width of `steps`, as Keras does, so the bar does not
/// move while the count grows.
inline std::string format_bar(Index step, Index steps, int width) {
  const std::string total = std::to_string(steps);
  std::string counter = std::to_string(step);
  if (counter.size() < total.size()) counter.insert(0, total.size() - counter.size(), ' ');

  const Index filled = steps > 0 ? std::min<Index>(width, width * step / steps) : width;
  std::string bar = counter + "/" + total + " [";
  if (filled > 0) {
    bar.append(static_cast<std::size_t>(filled - 1), '=');
    bar += step < steps ? '>' : '=';
  }
  bar.append(static_cast<std::size_t>(width - filled), '.');
  bar += ']';
  return bar;
}

inline std::string format_metrics(const std::vector<Metric>& metrics) {
  std::string text;
  for (const auto& metric : metrics) {
    text += " - " + metric.first + ": " + format_metric_value(metric.second);
  }
  return text;
}

}  // namespace detail

/// Prints Keras-style epoch headers, progress bars and closing lines to a stream.
///
/// Call begin_epoch() once per epoch, update() after every batch with the running metrics of
/// the epoch so far, and end_epoch() with the final training and validation metrics.
class ConsoleProgress {
 public:
  /// A clock returning seconds; tests pass a fake one to get fixed times.
  using Clock = std::function<double()>;

  /// `interactive` selects in-place redrawing; pass stdout_is_terminal() for std::cout.
  explicit ConsoleProgress(std::ostream& out, bool interactive, int bar_width = 30,
                           Clock clock = steady_seconds)
      : out_(out), interactive_(interactive), bar_width_(bar_width), clock_(std::move(clock)) {
    if (bar_width < 1) {
      throw ShapeError("ConsoleProgress: bar_width must be at least 1, got " +
                       std::to_string(bar_width));
    }
  }

  /// Seconds between two redraws of the bar on a terminal; Keras uses 0.05.
  void set_redraw_interval(double seconds) { redraw_interval_ = seconds; }

  /// Prints "Epoch i/n" for the 0-based `epoch` and starts timing it.
  void begin_epoch(Index epoch, Index epochs, Index steps) {
    if (steps < 1) {
      throw ShapeError("ConsoleProgress::begin_epoch: steps must be at least 1, got " +
                       std::to_string(steps));
    }
    steps_ = steps;
    step_ = 0;
    line_width_ = 0;
    start_ = clock_();
    last_draw_ = -1e300;
    out_ << "Epoch " << epoch + 1 << '/' << epochs << '\n' << std::flush;
  }

  /// Reports that `step` (1-based) batches of the epoch are done, with the running metrics.
  ///
  /// On a terminal, redraws the bar with an ETA unless the last redraw was less than the
  /// redraw interval ago; the final step is always drawn. Elsewhere it prints nothing.
  void update(Index step, const std::vector<Metric>& metrics) {
    step_ = std::min(step, steps_);
    if (!interactive_) return;
    const double now = clock_();
    if (step_ < steps_ && now - last_draw_ < redraw_interval_) return;
    last_draw_ = now;

    const double per_step = step_ > 0 ? (now - start_) / static_cast<double>(step_) : 0.0;
    const double eta = per_step * static_cast<double>(steps_ - step_);
    draw(detail::format_bar(step_, steps_, bar_width_) + " - ETA: " + detail::format_eta(eta) +
         detail::format_metrics(metrics));
  }

  /// Prints the closing line: all steps, elapsed time, time per step and every metric.
  ///
  /// Returns the seconds since begin_epoch(), the number Keras' closing line shows.
  double end_epoch(const std::vector<Metric>& metrics) {
    const double elapsed = clock_() - start_;
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.0fs", elapsed);
    const std::string line = detail::format_bar(steps_, steps_, bar_width_) + " - " + seconds +
                             ' ' + detail::format_time_per_step(elapsed / steps_) +
                             detail::format_metrics(metrics);
    if (interactive_) {
      draw(line);
      out_ << '\n' << std::flush;
    } else {
      out_ << line << '\n' << std::flush;
    }
    line_width_ = 0;
    return elapsed;
  }

  /// Ends a bar that stays unfinished, e.g. when training is interrupted, with a line break.
  void abandon_epoch() {
    if (interactive_ && line_width_ > 0) out_ << '\n' << std::flush;
    line_width_ = 0;
  }

 private:
  static double steady_seconds() {
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
  }

  // Overwrites the current terminal line; pads with spaces when the new text is shorter.
  void draw(const std::string& line) {
    std::string text = "\r" + line;
    if (line.size() < line_width_) text.append(line_width_ - line.size(), ' ');
    line_width_ = line.size();
    out_ << text << std::flush;
  }

  std::ostream& out_;
  bool interactive_;
  int bar_width_;
  Clock clock_;
  double redraw_interval_ = 0.05;
  Index steps_ = 1;
  Index step_ = 0;
  std::size_t line_width_ = 0;
  double start_ = 0.0;
  double last_draw_ = 0.0;
};

}  // namespace nn
