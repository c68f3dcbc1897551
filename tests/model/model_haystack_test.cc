// The byte model's demo haystack: exact length, needles where it says, the
// task's format, deterministic.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "landmark/error.h"
#include "apps/demo/model_demo.h"

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
  REQUIRE(h.questions.size() == 20);
  for (size_t i = 0; i < 20; ++i) {
    CHECK(h.questions[i].needles == std::vector<size_t>{i});
    CHECK(!h.questions[i].multi);
    char key[8];
    std::snprintf(key, sizeof key, "%05u", h.needles[i].key);
    CHECK(h.questions[i].expected == key);
  }
}

// RULER's string_match_all for the answers: each expected value found
// among the answer's words, in any order, whole words only.
TEST_CASE("model answers: values found in any order, whole words") {
  CHECK(ValueCount("12345") == 1);
  CHECK(ValueCount("12345 67890") == 2);
  CHECK(ValueCount("") == 0);
  CHECK(ValuesFound("12345 67890", "12345 67890") == 2);
  CHECK(ValuesFound("12345 67890", "67890 12345") == 2);   // order: not exact, both found
  CHECK(ValuesFound("12345 67890", "12345 12345") == 1);   // the first value twice
  CHECK(ValuesFound("12345 67890", "12346 67891") == 0);
  CHECK(ValuesFound("12345", "123456") == 0);              // a word, not a substring
  CHECK(ValuesFound("12345", "  12345  ") == 1);
  CHECK(ValuesFound("12345", "") == 0);
  CHECK(ValuesFound("12345 67890", "x 67890 y") == 1);
}

TEST_CASE("model haystack: multikey decades and multivalue pairs") {
  const std::string filler = LoadFillerText();
  const ModelHaystack k = MakeModelHaystack(filler, 60000, 25, 5, 128, ModelTask::kMultiKey);
  REQUIRE(k.needles.size() == 25);
  REQUIRE(k.questions.size() == 25);
  std::map<uint32_t, int> decades;
  std::set<uint32_t> vaults;
  for (const ModelNeedle& n : k.needles) {
    ++decades[n.vault / 10];
    vaults.insert(n.vault);
    CHECK(k.text.find(" The pass key for vault " + std::to_string(n.vault) + " is ") != std::string::npos);
  }
  CHECK(vaults.size() == 25);
  CHECK(decades.size() == 3);  // two full decades and five of a third
  for (const auto& [d, count] : decades) CHECK((count == 10 || count == 5));

  const ModelHaystack v = MakeModelHaystack(filler, 60000, 20, 5, 128, ModelTask::kMultiValue);
  REQUIRE(v.needles.size() == 20);
  REQUIRE(v.questions.size() == 10);
  for (const ModelQuestion& q : v.questions) {
    CHECK(q.multi);
    REQUIRE(q.needles.size() == 2);
    const uint32_t a = v.needles[q.needles[0]].key, b = v.needles[q.needles[1]].key;
    CHECK(a != b);
    CHECK(v.needles[q.needles[1]].vault == q.vault);
    char expected[16];
    std::snprintf(expected, sizeof expected, "%05u %05u", std::min(a, b), std::max(a, b));
    CHECK(q.expected == expected);
  }
  CHECK(NeedleQuestion(42, true) == " Q: pass keys for vault 042? A: ");
  CHECK(MakeModelHaystack(filler, 60000, 20, 5, 128, ModelTask::kMultiValue).text == v.text);
  CHECK_THROWS_WITH_AS(MakeModelHaystack(filler, 60000, 21, 5, 128, ModelTask::kMultiValue),
                       doctest::Contains("even"), Error);
  CHECK(ParseModelTask("multikey") == ModelTask::kMultiKey);
  CHECK_THROWS_WITH_AS(ParseModelTask("nope"), doctest::Contains("nope"), Error);
}

}  // namespace
}  // namespace landmark::demo
