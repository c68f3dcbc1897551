#include "src/store/documents.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <exception>
#include <type_traits>

#include "landmark/error.h"

namespace landmark {

std::string DocumentLine(const StoreDocument& d) {
  nlohmann::json j = {{"path", d.path},
                      {"bytes", d.bytes},
                      {"hash", d.hash},
                      {"first_token", d.first_token},
                      {"tokens", d.tokens}};
  return j.dump() + "\n";
}

std::vector<StoreDocument> ParseDocuments(std::string_view attachment, const std::string& where,
                                        std::string_view name) {
  std::vector<StoreDocument> out;
  size_t line = 0, begin = 0;
  while (begin < attachment.size()) {
    size_t end = attachment.find('\n', begin);
    LANDMARK_CHECK_ARG(end != std::string_view::npos,
                       where + ": " + std::string(name) + " line " + std::to_string(line + 1) + " is cut short");
    ++line;
    const std::string text(attachment.substr(begin, end - begin));
    begin = end + 1;
    const std::string at = where + ": " + std::string(name) + " line " + std::to_string(line);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const std::exception&) {
      LANDMARK_THROW(at + " is not JSON");
    }
    StoreDocument d;
    auto field = [&](const char* name, auto& value, bool number) {
      LANDMARK_CHECK_ARG(j.is_object() && j.contains(name) &&
                             (number ? j[name].is_number_unsigned() : j[name].is_string()),
                         at + ": '" + name + "' missing or of the wrong type");
      value = j[name].get<std::remove_reference_t<decltype(value)>>();
    };
    field("path", d.path, false);
    field("bytes", d.bytes, true);
    field("hash", d.hash, false);
    field("first_token", d.first_token, true);
    field("tokens", d.tokens, true);
    LANDMARK_CHECK_ARG(out.empty() || d.first_token >= out.back().first_token,
                       at + ": documents out of order");
    out.push_back(std::move(d));
  }
  return out;
}

void AppendSource(std::string& out, const ChunkSource& source) {
  char bytes[kSourceBytes];
  std::memcpy(bytes, &source.document, 8);
  std::memcpy(bytes + 8, &source.offset, 8);
  out.append(bytes, kSourceBytes);
}

ChunkSource ReadSource(std::string_view attachment, size_t chunk) {
  ChunkSource s;
  if ((chunk + 1) * kSourceBytes > attachment.size()) return s;  // unknown: reported as the preamble
  std::memcpy(&s.document, attachment.data() + chunk * kSourceBytes, 8);
  std::memcpy(&s.offset, attachment.data() + chunk * kSourceBytes + 8, 8);
  return s;
}

}  // namespace landmark
