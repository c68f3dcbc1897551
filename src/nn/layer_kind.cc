// LayerKind's names, one table for writing and parsing.
#include "landmark/layer_kind.h"

#include <cstdint>
#include <utility>

namespace landmark {
namespace {

constexpr std::pair<LayerKind, const char*> kNames[] = {{LayerKind::kHsa, "hsa"}, {LayerKind::kGmu, "gmu"}};

}  // namespace

const char* Name(LayerKind kind) {
  for (const auto& [k, name] : kNames) {
    if (k == kind) return name;
  }
  return "?";
}

std::optional<LayerKind> ParseLayerKind(std::string_view name) {
  for (const auto& [k, n] : kNames) {
    if (name == n) return k;
  }
  return std::nullopt;
}

}  // namespace landmark
