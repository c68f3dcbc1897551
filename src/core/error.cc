#include "landmark/error.h"

#include <cstdio>
#include <cstdlib>

namespace landmark::detail {

void ThrowError(const std::string& message, const char* file, int line) {
  throw Error(message, file, line);
}

void AssertFailed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "landmark: internal error: %s failed at %s:%d\n", condition, file, line);
  std::abort();
}

}  // namespace landmark::detail
