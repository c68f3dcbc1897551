#include "src/cli/progress.h"

#include <unistd.h>

#include <algorithm>

namespace landmark::cli {

Progress::Progress(std::FILE* out)
    : out_(out), tty_(::isatty(::fileno(out)) != 0), start_(std::chrono::steady_clock::now()), last_(start_) {}

double Progress::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string Progress::Duration(double seconds) {
  const long s = long(seconds + 0.5);
  char buffer[32];
  if (s >= 3600) {
    std::snprintf(buffer, sizeof(buffer), "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(buffer, sizeof(buffer), "%ld:%02ld", s / 60, s % 60);
  }
  return buffer;
}

void Progress::Update(double fraction, const std::string& detail) {
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_).count();
  // A terminal redraws at most 10 times a second; a log gets a line every 5 s.
  if (tty_ ? drawn_ && since < 0.1 : since < 5.0) return;
  last_ = now;
  drawn_ = true;
  std::string eta;
  if (fraction > 0.01 && fraction < 1.0) eta = "  ETA " + Duration(elapsed() * (1 - fraction) / fraction);
  if (tty_) {
    constexpr int kWidth = 24;
    const int filled = fraction < 0 ? 0 : int(std::min(1.0, fraction) * kWidth);
    std::string bar(size_t(filled), '=');
    if (filled < kWidth) bar += '>';
    bar.resize(kWidth, ' ');
    std::fprintf(out_, "\r[%s] %3.0f%%  %s%s\033[K", bar.c_str(), fraction < 0 ? 0.0 : fraction * 100,
                 detail.c_str(), eta.c_str());
  } else {
    std::fprintf(out_, "%5.1f%%  %s%s\n", fraction < 0 ? 0.0 : fraction * 100, detail.c_str(), eta.c_str());
  }
  std::fflush(out_);
}

void Progress::Finish() {
  if (tty_ && drawn_) std::fprintf(out_, "\n");
}

}  // namespace landmark::cli
