// The byte model's demo haystack: exact length, needles where it says, the
// task's format, deterministic.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <set>

#include "landmark/error.h"
#include "src/demo/model_demo.h"

namespace landmark::demo {
namespace {

TEST_CASE("model haystack: needles in place, task format, deterministic") {
  const std::string filler = LoadFillerText();
  REQUIRE(filler.size() > 100000);
  CHECK(std::all_of(filler.begin(), filler.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 32 && static_cast<unsigned char>(c) < 128;
  }));
  const ModelHaystack h = MakeModelHaystack(filler, 50000, 20, 3);
  CHECK(h.text.size() == 50000);
  CHECK(h.text.find('\n') == std::string::npos);
  REQUIRE(h.needles.size() == 20);
  std::set<uint32_t> vaults;
  for (size_t i = 0; i < h.needles.size(); ++i) {
    const ModelNeedle& n = h.needles[i];
    char sentence[64];
    std::snprintf(sentence, sizeof sentence, " The pass key for vault %03u is %05u. ", n.vault, n.key);
    CHECK(h.text.compare(n.position, std::strlen(sentence), sentence) == 0);
    CHECK(n.position + std::strlen(sentence) <= 50000 - 4 * 128);  // before the last 4 windows
    CHECK((n.vault >= 100 && n.vault <= 999 && n.key >= 10000 && n.key <= 99999));
    if (i > 0) CHECK(n.position > h.needles[i - 1].position);
    vaults.insert(n.vault);
  }
  CHECK(vaults.size() == 20);
  CHECK(MakeModelHaystack(filler, 50000, 20, 3).text == h.text);
  CHECK(MakeModelHaystack(filler, 50000, 20, 4).text != h.text);
  CHECK(NeedleQuestion(42) == " Q: pass key for vault 042? A: ");
  CHECK_THROWS_WITH_AS(MakeModelHaystack(filler, 600, 4, 1), doctest::Contains("too short"), Error);
  CHECK_THROWS_WITH_AS(MakeModelHaystack(filler, 1 << 20, 901, 1), doctest::Contains("at most 900"), Error);
  CHECK_THROWS_WITH_AS(LoadFillerText("/nonexistent.gz"), doctest::Contains("/nonexistent.gz"), Error);
}

}  // namespace
}  // namespace landmark::demo
