// Text inputs: listing, the UTF-8/binary/empty checks, and pieces that
// split only at whitespace and reassemble the file.
#include <doctest/doctest.h>

#include <string>

#include "landmark/error.h"
#include "src/io/text_files.h"
#include "tests/io/io_test_util.h"

namespace landmark {
namespace {

TEST_CASE("text files: listing is recursive and sorted; missing paths are errors") {
  test::TempDir dir("list");
  std::filesystem::create_directories(dir.path / "b" / "c");
  test::WriteFile(dir / "b/c/z.txt", "z");
  test::WriteFile(dir / "b/a.txt", "a");
  test::WriteFile(dir / "top.txt", "t");
  const auto files = ListTextFiles({dir.path.string(), dir / "top.txt"});
  CHECK(files == std::vector<std::string>{dir / "b/a.txt", dir / "b/c/z.txt", dir / "top.txt", dir / "top.txt"});
  CHECK_THROWS_WITH_AS(ListTextFiles({dir / "nope"}), doctest::Contains("nope: no such file"), Error);
}

TEST_CASE("text files: UTF-8 text passes; empty, binary and invalid UTF-8 are named") {
  test::TempDir dir("check");
  const std::pair<std::string, std::string> cases[] = {
      {"ok", "héllo wörld — 日本語 🙂\n"},
      {"empty", "empty"},
      {"binary", std::string("abc\0def", 7)},
      {"bad", "ok \xff here"},
      {"overlong", "\xc0\xaf"},
      {"surrogate", "\xed\xa0\x80"},
      {"cut", "end \xe6\x97"},
  };
  for (const auto& [file, content] : cases) {
    const std::string& name = file;  // clang (C++20) cannot capture a structured binding in CAPTURE
    test::WriteFile(dir / name, name == "empty" ? "" : content);
    size_t bytes = 0;
    const std::string reason = CheckTextFile(dir / name, &bytes);
    CAPTURE(name);
    CAPTURE(reason);
    if (name == "ok") CHECK(reason.empty());
    if (name == "empty") CHECK(reason == "empty");
    if (name == "binary") CHECK(reason.find("binary") != std::string::npos);
    if (name == "bad") CHECK(reason == "invalid UTF-8 at byte 3");
    if (name == "overlong" || name == "surrogate") CHECK(reason.find("invalid UTF-8") != std::string::npos);
    if (name == "cut") CHECK(reason.find("truncated character") != std::string::npos);
  }
}

TEST_CASE("text files: pieces end at whitespace and reassemble the file") {
  test::TempDir dir("pieces");
  std::string text;
  for (int i = 0; i < 3000; ++i) text += "word" + std::to_string(i) + (i % 7 ? " " : "\n");
  text += std::string(500, 'x');  // a word longer than a piece
  test::WriteFile(dir / "t.txt", text);
  TextPieces pieces(dir / "t.txt", 256);
  std::string piece, joined;
  size_t count = 0;
  while (pieces.Next(piece)) {
    ++count;
    joined += piece;
    if (joined.size() < text.size() - 600) {
      const char last = piece.back();
      CHECK((last == ' ' || last == '\n'));
    }
  }
  CHECK(joined == text);
  CHECK(count > 50);
}

}  // namespace
}  // namespace landmark
