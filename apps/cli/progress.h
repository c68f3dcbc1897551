// A one-line progress display for long work: redrawn in place (at most 10
// times a second) on a terminal, cut to the terminal's width so a redraw
// never wraps; in a log (not a terminal), a plain line every 5 seconds.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace landmark::cli {

class Progress {
 public:
  struct Options {
    int tty = -1;             // 1: terminal redraws, 0: log lines, -1: isatty(out)
    int columns = 0;          // terminal width; 0: asked of the terminal each redraw ($COLUMNS, else 80)
    double log_seconds = 5.0; // between log lines
  };
  explicit Progress(std::FILE* out = stderr) : Progress(out, Options()) {}
  Progress(std::FILE* out, const Options& options);
  // `fraction` in [0, 1] (negative: unknown); `detail` follows the bar.
  void Update(double fraction, const std::string& detail);
  void Finish();  // ends the line on a terminal
  double elapsed() const;  // seconds since construction
  // "1:02:03" or "2:03"
  static std::string Duration(double seconds);
  // The terminal line: bar, percent, detail and ETA, at most `columns` − 1
  // characters (UTF-8 aware; the last column left free so no terminal wraps).
  static std::string Line(double fraction, const std::string& detail, const std::string& eta, int columns);

 private:
  int Columns() const;

  std::FILE* out_;
  bool tty_;
  Options options_;
  std::chrono::steady_clock::time_point start_, last_;
  bool drawn_ = false;
};

}  // namespace landmark::cli
