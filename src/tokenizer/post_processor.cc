#include "src/tokenizer/post_processor.h"

#include <cstdint>
#include <string>

namespace landmark::tokenizer {
namespace {

// A template for one sequence: special tokens and the sequence itself
// ("$A") in order. TemplateProcessing, RobertaProcessing and BertProcessing
// ("<s> $A </s>", "[CLS] $A [SEP]") are all this.
class Template : public PostProcessor {
 public:
  struct Piece {
    bool sequence = false;
    std::vector<int32_t> ids;  // the special token's ids
  };
  explicit Template(std::vector<Piece> pieces) : pieces_(std::move(pieces)) {}

  void Process(std::vector<int32_t>& ids, std::vector<size_t>* offsets, size_t text_size) const override {
    std::vector<int32_t> out_ids;
    std::vector<size_t> out_offsets;
    std::vector<bool> added;
    for (const Piece& piece : pieces_) {
      if (piece.sequence) {
        out_ids.insert(out_ids.end(), ids.begin(), ids.end());
        if (offsets != nullptr) out_offsets.insert(out_offsets.end(), offsets->begin(), offsets->end());
        added.insert(added.end(), ids.size(), false);
      } else {
        out_ids.insert(out_ids.end(), piece.ids.begin(), piece.ids.end());
        out_offsets.insert(out_offsets.end(), piece.ids.size(), 0);
        added.insert(added.end(), piece.ids.size(), true);
      }
    }
    ids = std::move(out_ids);
    if (offsets == nullptr) return;
    size_t next = text_size;
    for (size_t i = added.size(); i-- > 0;) {
      if (added[i]) {
        out_offsets[i] = next;
      } else {
        next = out_offsets[i];
      }
    }
    *offsets = std::move(out_offsets);
  }

 private:
  std::vector<Piece> pieces_;
};

// Adds nothing: ByteLevel only trims offsets, which landmark does not report.
class Nothing : public PostProcessor {
 public:
  void Process(std::vector<int32_t>&, std::vector<size_t>*, size_t) const override {}
};

class Sequence : public PostProcessor {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PostProcessor>> steps) : steps_(std::move(steps)) {}
  void Process(std::vector<int32_t>& ids, std::vector<size_t>* offsets, size_t text_size) const override {
    for (const auto& step : steps_) step->Process(ids, offsets, text_size);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> steps_;
};

int32_t CheckedId(const Json& node, const Where& where, int32_t end_id) {
  const int64_t id = AsInt(node, where);
  if (id < 0 || id >= end_id) where.Fail("id " + std::to_string(id) + " is not in the vocabulary");
  return static_cast<int32_t>(id);
}

// TemplateProcessing's "single": pieces as objects ({"SpecialToken": {"id":
// "<s>", ...}}, {"Sequence": {"id": "A", ...}}) or strings ("<s>", "$A",
// "$A:0"), or one string of them separated by spaces.
std::unique_ptr<PostProcessor> ParseTemplate(const Json& node, const Where& where, int32_t end_id) {
  const Where tokens_where = where / "special_tokens";
  const Json& tokens = AsObject(Member(node, "special_tokens", where), tokens_where);
  const Where single_where = where / "single";
  const Json& single = Member(node, "single", where);
  std::vector<Json> items;
  if (single.is_string()) {
    const std::string text = single.get<std::string>();
    for (size_t at = 0; at <= text.size();) {
      const size_t space = std::min(text.find(' ', at), text.size());
      items.emplace_back(text.substr(at, space - at));
      at = space + 1;
    }
  } else {
    for (const Json& item : AsArray(single, single_where)) items.push_back(item);
  }
  std::vector<Template::Piece> pieces;
  for (size_t i = 0; i < items.size(); ++i) {
    const Where w = single_where[i];
    std::string special, sequence;
    if (items[i].is_string()) {
      std::string text = items[i].get<std::string>();
      text = text.substr(0, text.find(':'));  // the type id, which landmark does not report
      if (text.rfind('$', 0) == 0) {
        sequence = text.size() == 1 ? "A" : text.substr(1);
      } else {
        special = text;
      }
    } else if (const Json* s = Optional(items[i], "SpecialToken", w)) {
      special = StringMember(*s, "id", w / "SpecialToken");
    } else if (const Json* q = Optional(items[i], "Sequence", w)) {
      sequence = StringMember(*q, "id", w / "Sequence");
    } else {
      w.Fail("expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
    }
    Template::Piece piece;
    if (sequence.empty()) {
      const auto it = tokens.find(special);
      if (it == tokens.end()) w.Fail("special token '" + special + "' is not in special_tokens");
      const Where tw = tokens_where / special;
      const Where ids_where = tw / "ids";  // named: g++ 13 warns of a reference through a temporary
      const Json& ids = AsArray(Member(*it, "ids", tw), ids_where);
      if (ids.empty()) ids_where.Fail("expected at least one id");
      for (size_t k = 0; k < ids.size(); ++k) piece.ids.push_back(CheckedId(ids[k], ids_where[k], end_id));
    } else if (sequence == "A" || sequence == "a" ||
               (!sequence.empty() && sequence.find_first_not_of("0123456789") == std::string::npos)) {
      piece.sequence = true;
    } else {
      w.Fail("a single-sequence template can hold special tokens and $A, not '" + sequence + "'");
    }
    pieces.push_back(std::move(piece));
  }
  return std::make_unique<Template>(std::move(pieces));
}

// RobertaProcessing / BertProcessing: "cls" and "sep" as [token, id].
std::unique_ptr<PostProcessor> ParseClsSep(const Json& node, const Where& where, int32_t end_id) {
  std::vector<Template::Piece> pieces(3);
  for (const char* key : {"cls", "sep"}) {
    const Where w = where / key;
    const Json& pair = AsArray(Member(node, key, where), w);
    if (pair.size() != 2) w.Fail("expected [token, id]");
    pieces[key[0] == 'c' ? 0 : 2].ids = {CheckedId(pair[1], w[1], end_id)};
  }
  pieces[1].sequence = true;
  return std::make_unique<Template>(std::move(pieces));
}

}  // namespace

std::unique_ptr<PostProcessor> ParsePostProcessor(const Json& node, const Where& where, int32_t end_id, int depth) {
  CheckNesting(depth, "post-processor", where);
  const std::string type = TypeOf(node, where);
  if (type == "TemplateProcessing") return ParseTemplate(node, where, end_id);
  if (type == "ByteLevel") return std::make_unique<Nothing>();
  if (type == "RobertaProcessing" || type == "BertProcessing") return ParseClsSep(node, where, end_id);
  if (type == "Sequence") {
    return std::make_unique<Sequence>(ParseSteps<PostProcessor>(
        node, "processors", where,
        [&](const Json& n, const Where& w) { return ParsePostProcessor(n, w, end_id, depth + 1); }));
  }
  Unsupported("post-processor", type, "TemplateProcessing, ByteLevel, RobertaProcessing, BertProcessing and Sequence",
              where);
}

}  // namespace landmark::tokenizer
