#include "apps/cli/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace landmark::cli {
namespace {

// Characters (UTF-8 code points; one column each) of `s`.
size_t Width(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  return n;
}

// The first `columns` characters of `s`, "…" last when cut.
std::string Cut(const std::string& s, size_t columns) {
  if (Width(s) <= columns) return s;
  if (columns == 0) return "";
  size_t kept = 0, i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xc0) != 0x80 && kept++ == columns - 1) break;
  }
  return s.substr(0, i) + "…";
}

}  // namespace

Progress::Progress(std::FILE* out, const Options& options)
    : out_(out),
      tty_(options.tty < 0 ? ::isatty(::fileno(out)) != 0 : options.tty != 0),
      options_(options),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

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

int Progress::Columns() const {
  if (options_.columns > 0) return options_.columns;
  winsize size{};
  if (::ioctl(::fileno(out_), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  const char* env = std::getenv("COLUMNS");
  const int columns = env ? std::atoi(env) : 0;
  return columns > 0 ? columns : 80;
}

std::string Progress::Line(double fraction, const std::string& detail, const std::string& eta, int columns) {
  const size_t width = size_t(std::max(columns, 2)) - 1;  // the last column free: no wrap, whatever the terminal
  // The bar takes a fifth of a narrow terminal, 24 columns of a wide one.
  const int bar_width = std::clamp(int(width) / 5, 4, 24);
  const int filled = fraction < 0 ? 0 : int(std::min(1.0, fraction) * bar_width);
  std::string bar(size_t(filled), '=');
  if (filled < bar_width) bar += '>';
  bar.resize(size_t(bar_width), ' ');
  char percent[16];
  std::snprintf(percent, sizeof(percent), "%3.0f%%", fraction < 0 ? 0.0 : std::min(1.0, fraction) * 100);
  // The ETA matters more than the end of the detail: the detail is cut first.
  const std::string head = "[" + bar + "] " + percent + "  ";
  const size_t room = width > Width(head) + Width(eta) ? width - Width(head) - Width(eta) : 0;
  return Cut(head + Cut(detail, room) + eta, width);
}

void Progress::Update(double fraction, const std::string& detail) {
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_).count();
  // A terminal redraws at most 10 times a second; a log gets a line every 5 s.
  if (tty_ ? drawn_ && since < 0.1 : since < options_.log_seconds) return;
  last_ = now;
  drawn_ = true;
  std::string eta;
  if (fraction > 0.01 && fraction < 1.0) eta = "  ETA " + Duration(elapsed() * (1 - fraction) / fraction);
  if (tty_) {
    std::fprintf(out_, "\r%s\033[K", Line(fraction, detail, eta, Columns()).c_str());
  } else {
    std::fprintf(out_, "%5.1f%%  %s%s\n", fraction < 0 ? 0.0 : fraction * 100, detail.c_str(), eta.c_str());
  }
  std::fflush(out_);
}

void Progress::Finish() {
  if (tty_ && drawn_) std::fprintf(out_, "\n");
}

}  // namespace landmark::cli
