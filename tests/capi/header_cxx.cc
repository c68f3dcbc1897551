// The C API's header also compiles as C++ (pedantic, warnings as errors):
// apps in either language include the same file.
#include "landmark/landmark.h"

static_assert(LANDMARK_API_VERSION >= 1, "landmark.h: API version");
