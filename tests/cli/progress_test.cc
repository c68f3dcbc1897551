// The progress display (apps/cli/progress.cc): terminal lines fit the width
// (issue 16 item 7: no wrapped redraws at 120 columns), a log gets a line
// per interval.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "apps/cli/progress.h"

using landmark::cli::Progress;

namespace {

size_t Width(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  return n;
}

std::string Read(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string text;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) text.append(buffer, n);
  return text;
}

const std::string kDetail =
    "1.23M tokens  456.7K tok/s  12.3 MiB/s in  345.6 MiB/s K/V  file 123/4567  "
    "a-rather-long-file-name-from-a-real-corpus-ünïcödé-chapter-0042.txt";

}  // namespace

TEST_CASE("ux 07: a progress line fits the terminal, the ETA kept, UTF-8 never split") {
  for (int columns : {120, 80, 40, 20, 2}) {
    const std::string line = Progress::Line(0.5, kDetail, "  ETA 1:02", columns);
    CHECK(Width(line) <= size_t(columns - 1));
    if (columns >= 40) CHECK(line.find("ETA 1:02") != std::string::npos);
    CHECK(line.find("\xef\xbf\xbd") == std::string::npos);
  }
  CHECK(Progress::Line(0.25, "short", "", 120).find("short") != std::string::npos);
  CHECK(Progress::Line(-1, "unknown", "", 120).find("  0%") != std::string::npos);
}

TEST_CASE("ux 07: terminal redraws at 120 columns never wrap") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  Progress progress(f, {1, 120, 5.0});
  for (int i = 0; i < 3; ++i) {
    progress.Update(0.1 * (i + 1), kDetail + kDetail);
    std::this_thread::sleep_for(std::chrono::milliseconds(110));
  }
  progress.Finish();
  const std::string text = Read(f);
  std::fclose(f);
  size_t redraws = 0;
  for (size_t begin = text.find('\r'); begin != std::string::npos; ++redraws) {
    const size_t end = text.find("\033[K", begin);
    REQUIRE(end != std::string::npos);
    CHECK(Width(text.substr(begin + 1, end - begin - 1)) <= 119);
    begin = text.find('\r', end);
  }
  CHECK(redraws == 3);
}

TEST_CASE("ux 07: in a log, one plain line per interval") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  Progress progress(f, {0, 0, 0.2});
  const auto start = std::chrono::steady_clock::now();
  int updates = 0;
  while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(700)) {
    progress.Update(0.5, "working");
    ++updates;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  progress.Finish();
  const std::string text = Read(f);
  std::fclose(f);
  size_t lines = 0;
  for (char c : text) lines += c == '\n';
  CHECK(updates > 20);
  CHECK(lines >= 2);  // 0.2, 0.4, 0.6 s on an idle machine; fewer lines only when late
  CHECK(lines <= 3);
  CHECK(text.find('\r') == std::string::npos);
  CHECK(text.find("50.0%  working") != std::string::npos);
}
