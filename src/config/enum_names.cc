// Name() and the Parse functions of the library's option enums, all over
// the tables of src/core/enum_tables.h.
#include "src/config/enum_tables.h"

#include <string>

namespace landmark {

const char* Name(Device device) { return NameIn(kDeviceNames, device); }
Device ParseDevice(std::string_view name) { return ParseIn(kDeviceNames, name, "device"); }

const char* Name(DType t) { return NameIn(kDTypeNames, t); }
DType ParseDType(std::string_view name, std::string_view what) { return ParseIn(kDTypeNames, name, "dtype", what); }

const char* Name(LandmarkKind kind) { return NameIn(kLandmarkKindNames, kind); }
LandmarkKind ParseLandmarkKind(std::string_view name, std::string_view what) {
  return ParseIn(kLandmarkKindNames, name, "landmark kind", what);
}

const char* Name(Fusion fusion) { return NameIn(kFusionNames, fusion); }
Fusion ParseFusion(const std::string& name) { return ParseIn(kFusionNames, name, "fusion"); }

const char* Name(RetrievalWeights weights) { return NameIn(kRetrievalWeightsNames, weights); }
RetrievalWeights ParseRetrievalWeights(const std::string& name) {
  return ParseIn(kRetrievalWeightsNames, name, "weights");
}

const char* Name(GpuKv placement) { return NameIn(kGpuKvNames, placement); }
GpuKv ParseGpuKv(const std::string& name) { return ParseIn(kGpuKvNames, name, "K/V placement"); }

const char* Name(PrefillPolicy policy) { return NameIn(kPrefillPolicyNames, policy); }
PrefillPolicy ParsePrefillPolicy(std::string_view name) { return ParseIn(kPrefillPolicyNames, name, "prefill policy"); }

}  // namespace landmark
