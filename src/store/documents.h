// The documents table and chunk sources of stores made from documents (text
// stores, LLM stores): one JSON line per document, 16 bytes per chunk
// (document index as little-endian i64, byte offset as u64), both kept as
// attachments committed with the chunks (docs/store.md).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "landmark/store.h"

namespace landmark {

std::string DocumentLine(const StoreDocument& document);
// Parses the attachment called `name`; throws naming `where` (the store),
// the attachment and the line.
std::vector<StoreDocument> ParseDocuments(std::string_view attachment, const std::string& where,
                                          std::string_view name);

inline constexpr size_t kSourceBytes = 16;
void AppendSource(std::string& out, const ChunkSource& source);
// Chunk `chunk`'s source; document -1 when the table does not reach it.
ChunkSource ReadSource(std::string_view attachment, size_t chunk);

}  // namespace landmark
