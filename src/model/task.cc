// The byte model's task: the shipped weights were trained on one kind of
// question, so a question is put in that frame only when it asks that; any
// other question would get a confident answer made up from the frame.
#include <cctype>
#include <set>
#include <string>

#include "landmark/model.h"

namespace landmark {

const char kPassKeyTask[] =
    "the pass key of a numbered vault in the text (\"pass key for vault 123\", \"What is the pass key of vault 123?\"), "
    "or all of them when the vault has several (\"pass keys for vault 123\")";

std::string PassKeyQuestion(std::string_view question) {
  // Words a pass-key question may hold besides "vault" and its number.
  static const std::set<std::string> kFiller = {"what", "whats", "is", "s", "the", "pass", "key", "passkey", "for",
                                                "of", "to", "vault", "number", "no", "tell", "me", "give", "a", "q",
                                                "keys", "passkeys", "are", "all"};
  std::string number, word;
  bool vault = false, other = false, multi = false;
  auto end_word = [&] {
    if (word.empty()) return;
    if (std::isdigit(static_cast<unsigned char>(word[0]))) {
      other |= !number.empty() || word.size() > 9;  // one vault number, digits only
      number = word;
    } else {
      vault |= word == "vault";
      multi |= word == "keys" || word == "passkeys";  // RULER's multi-value: every value, ascending
      other |= kFiller.count(word) == 0;
    }
    word.clear();
  };
  for (char c : question) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      const bool digit = std::isdigit(u) != 0;
      if (!word.empty() && digit != (std::isdigit(static_cast<unsigned char>(word[0])) != 0)) end_word();
      word += char(std::tolower(u));
    } else {
      end_word();
      other |= !(c == ' ' || c == '?' || c == '.' || c == ':' || c == '#' || c == '\'' || c == ',' || c == '\t');
    }
  }
  end_word();
  if (!vault || number.empty() || other) return "";
  const size_t first = number.find_first_not_of('0');
  return std::string(multi ? " Q: pass keys for vault " : " Q: pass key for vault ") +
         (first == std::string::npos ? "0" : number.substr(first)) + "? A: ";
}

}  // namespace landmark
