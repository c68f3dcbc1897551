// The kind of a mixing layer over the chunk store, shared by the byte model's
// upper blocks (docs/model.md) and the cross-decoder's layers (docs/gmu.md):
// `hsa` attends the store through the Retriever, `gmu` gates the hidden
// state with the memory an earlier hsa layer produced.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace landmark {

enum class LayerKind : uint8_t { kHsa, kGmu };

const char* Name(LayerKind kind);  // "hsa" | "gmu"
// The kind named `name`; nullopt for any other name (callers say where it came from).
std::optional<LayerKind> ParseLayerKind(std::string_view name);

}  // namespace landmark
