// PassKeyQuestion (src/model/task.cc): the byte model's one task is framed,
// anything else is refused (issue 16 item 6).
#include <doctest/doctest.h>

#include "landmark/model.h"

using landmark::PassKeyQuestion;

TEST_CASE("ux 06: pass-key questions are framed as the model was trained") {
  const std::string framed = " Q: pass key for vault 123? A: ";
  CHECK(PassKeyQuestion("pass key for vault 123") == framed);
  CHECK(PassKeyQuestion("pass key for vault 123?") == framed);
  CHECK(PassKeyQuestion("What is the pass key of vault 123?") == framed);
  CHECK(PassKeyQuestion("what's the passkey for vault #0123") == framed);
  CHECK(PassKeyQuestion("vault 123") == framed);
  CHECK(PassKeyQuestion(" Q: pass key for vault 123? A: ") == framed);
  // RULER's multi-value: every value of the vault
  CHECK(PassKeyQuestion("pass keys for vault 123") == " Q: pass keys for vault 123? A: ");
  CHECK(PassKeyQuestion("What are the passkeys of vault 123?") == " Q: pass keys for vault 123? A: ");
}

TEST_CASE("ux 06: other questions are not the model's task") {
  for (const char* q : {"who wrote the vault list?", "what is the capital of France?", "pass key for vault",
                        "pass key for vault 12 and vault 13", "summarise vault 12", "vault 1234567890123",
                        "pass key for vault 12; rm -rf /", ""}) {
    CAPTURE(q);
    CHECK(PassKeyQuestion(q).empty());
  }
  CHECK(std::string(landmark::kPassKeyTask).find("pass key") != std::string::npos);
}
