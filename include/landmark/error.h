// Errors, FAISS-style two tiers:
//  - user errors (bad arguments, bad files) throw landmark::Error with a message
//    that names the input and what was wrong;
//  - internal invariants abort with file and line (LANDMARK_ASSERT).
#pragma once

#include <stdexcept>
#include <string>

namespace landmark {

class Error : public std::runtime_error {
 public:
  Error(const std::string& message, const char* file, int line)
      : std::runtime_error(message), file_(file), line_(line) {}
  const char* file() const { return file_; }  // source location of the check
  int line() const { return line_; }

 private:
  const char* file_;
  int line_;
};

namespace detail {
[[noreturn]] void ThrowError(const std::string& message, const char* file, int line);
[[noreturn]] void AssertFailed(const char* condition, const char* file, int line);
}  // namespace detail

}  // namespace landmark

// Throws landmark::Error(message) unless `condition`; `message` is any
// expression convertible to std::string, evaluated only on failure.
#define LANDMARK_CHECK_ARG(condition, message)                               \
  do {                                                                       \
    if (!(condition)) ::landmark::detail::ThrowError(message, __FILE__, __LINE__); \
  } while (0)

#define LANDMARK_THROW(message) ::landmark::detail::ThrowError(message, __FILE__, __LINE__)

// Internal invariant: aborts with the condition, file and line. Always on.
#define LANDMARK_ASSERT(condition)                                                  \
  do {                                                                              \
    if (!(condition)) ::landmark::detail::AssertFailed(#condition, __FILE__, __LINE__); \
  } while (0)
