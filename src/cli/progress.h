// A one-line progress display for long work: redrawn in place (at most 10
// times a second) on a terminal, a plain line every few seconds otherwise.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace landmark::cli {

class Progress {
 public:
  explicit Progress(std::FILE* out = stderr);
  // `fraction` in [0, 1] (negative: unknown); `detail` follows the bar.
  void Update(double fraction, const std::string& detail);
  void Finish();  // ends the line on a terminal
  double elapsed() const;  // seconds since construction
  // "1:02:03" or "2:03"
  static std::string Duration(double seconds);

 private:
  std::FILE* out_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_;
  bool drawn_ = false;
};

}  // namespace landmark::cli
