#include "apps/cli/field_options.h"

namespace landmark::cli {

const char* TypeName(FieldType type) {
  switch (type) {
    case FieldType::kCount: return "UINT";
    case FieldType::kReal: return "FLOAT";
    case FieldType::kBool: return "";
    case FieldType::kChoice: return "TEXT";
    case FieldType::kBytes: return "SIZE";
  }
  return "TEXT";
}

}  // namespace landmark::cli
