// LayerKind's names: one table (src/core/enum_names.h) for writing and parsing.
#include "landmark/layer_kind.h"

#include <cstdint>

#include "src/core/enum_names.h"

namespace landmark {
namespace {

constexpr EnumName<LayerKind> kLayerKindNames[] = {{LayerKind::kHsa, "hsa"}, {LayerKind::kGmu, "gmu"}};

}  // namespace

const char* Name(LayerKind kind) { return NameIn(kLayerKindNames, kind); }

std::optional<LayerKind> ParseLayerKind(std::string_view name) {
  for (const EnumName<LayerKind>& n : kLayerKindNames) {
    if (name == n.name) return n.value;
  }
  return std::nullopt;
}

}  // namespace landmark
