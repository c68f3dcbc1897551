// Internals of the C API: the boundary guard (exceptions -> status codes and
// the thread-local message), the handle table, and the objects behind the
// opaque handles.
#pragma once

#include <tbb/task_arena.h>

#include <cstdint>
#include <climits>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <string>
#include <utility>
#include <vector>

#include "landmark/config.h"
#include "src/config/fields.h"
#include "landmark/encoder.h"
#include "landmark/text_index.h"
#include "landmark/error.h"
#include "landmark/landmark.h"
#include "landmark/retriever.h"
#include "landmark/shard.h"
#include "landmark/store.h"

namespace landmark::capi {

// A failure with its status, thrown inside the API and turned into a
// return value by Guard.
struct Failure {
  landmark_status status;
  std::string message;
};
[[noreturn]] void Fail(landmark_status status, const std::string& message);

// Records `message` as this thread's last error; returns `status`.
landmark_status SetError(landmark_status status, const std::string& message);

// Runs `body`, mapping what it throws to a status: Failure -> its status,
// landmark::Error -> `library_status` (what a refusal by the library means
// for this call), bad_alloc -> out of memory ("out of memory while running
// <function>": the API function that called Guard), anything else -> internal.
landmark_status GuardImpl(landmark_status library_status, void (*body)(void*), void* context,
                          const char* function) noexcept;
template <class Body>
landmark_status Guard(landmark_status library_status, Body&& body,
                      const char* function = __builtin_FUNCTION()) noexcept {
  return GuardImpl(library_status, [](void* f) { (*static_cast<Body*>(f))(); }, &body, function);
}

// Runs `body`, re-throwing a landmark::Error as Failure{status}: for
// library checks whose refusal means something other than the call's default.
template <class Body>
auto As(landmark_status status, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Error& e) {
    Fail(status, e.what());
  }
}

template <class T>
T& NotNull(T* pointer, const char* what) {
  if (pointer == nullptr) Fail(LANDMARK_ERROR_NULL_ARGUMENT, std::string(what) + " is NULL");
  return *pointer;
}
inline void NotNull(const void* pointer, const char* what) {
  if (pointer == nullptr) Fail(LANDMARK_ERROR_NULL_ARGUMENT, std::string(what) + " is NULL");
}
inline const char* Str(const char* text, const char* what) { return &NotNull(text, what); }
// An option struct filled by its *_init function (struct_size matches).
template <class T>
const T& Options(const T* options, const char* what) {
  const T& o = NotNull(options, what);
  if (o.struct_size != sizeof(T)) {
    Fail(LANDMARK_ERROR_INVALID_ARGUMENT, std::string(what) + ": struct_size is " + std::to_string(o.struct_size) +
                                              ", this library's is " + std::to_string(sizeof(T)) +
                                              " (fill it with its _init function first)");
  }
  return o;
}

// The int a caller stored in a C enum field or argument. Read as the enum
// type, a value outside its enumerators would be undefined behaviour in C++;
// as an int it is checked like any other bad argument.
template <class Enum>
int Raw(const Enum& value) {
  static_assert(sizeof(Enum) == sizeof(int), "C enums are ints");
  int raw;
  std::memcpy(&raw, &value, sizeof(raw));
  return raw;
}

// A landmark_dtype value (as Raw gives it) as a DType.
DType DTypeFromC(int dtype, const char* what);

// A landmark_landmark_kind value (as Raw gives it) as a LandmarkKind.
LandmarkKind KindFromC(int kind, const char* what);

// Writes `text` NUL-terminated into buffer[capacity] (cut to fit), its full
// length to `length` (may be NULL); capacity 0 only measures.
void CopyOut(const std::string& text, char* buffer, size_t capacity, size_t* length);

// A landmark_device value (as Raw gives it) as a Device.
Device DeviceFromC(int device, const char* what);
landmark_device ToC(Device device);

// The options setters (landmark_*_options_set) and the preset fills: a key
// through the tables of fields (src/config/fields.h) onto C++ options that
// the caller built from the C struct and writes back to it.
template <class T>
struct FieldTarget {
  std::span<const Field<T>> fields;
  T& options;
};
// Sets option `name` (a key, or its unique last part) in the first target
// that has it; true if one did. None did: a Failure listing every key when
// `must_exist`, else false.
template <class... T>
bool SetOption(std::string_view name, const std::string& value, bool must_exist, FieldTarget<T>... targets) {
  bool done = false;
  auto one = [&](auto& target) {
    if (done) return;
    if (const auto* f = FindField(target.fields, name)) {
      As(LANDMARK_ERROR_INVALID_ARGUMENT, [&] { SetField(*f, target.options, value, f->key); });
      done = true;
    }
  };
  (one(targets), ...);
  if (!done && must_exist) {
    std::vector<std::string> keys;
    (..., [&] { for (const auto& f : targets.fields) keys.push_back(f.key); }());
    Fail(LANDMARK_ERROR_INVALID_ARGUMENT, UnknownOption(name, keys));
  }
  return done;
}
// A C options struct given to a setter: not NULL, filled by its _init.
template <class T>
T& MutableOptions(T* options, const char* what) {
  Options(static_cast<const T*>(options), what);
  return *options;
}

// a·b·c elements, refusing sizes that overflow (a caller's garbage, not a shape).
inline size_t Elements(size_t a, size_t b, size_t c, const char* what) {
  if ((b != 0 && a > SIZE_MAX / b) || (c != 0 && a * b > SIZE_MAX / c)) {
    Fail(LANDMARK_ERROR_INVALID_ARGUMENT, std::string(what) + ": the sizes overflow");
  }
  return a * b * c;
}

// ---- the objects behind the handles ----

enum class Kind : uint8_t { kArena = 1, kConfig, kWriter, kStore, kRetriever, kResult, kLlm, kLlmAnswerer, kLlmAnswer, kModel };
const char* Name(Kind kind);

struct ArenaObject {
  static constexpr Kind kKind = Kind::kArena;
  size_t threads = 0;
  std::shared_ptr<tbb::task_arena> arena;
};
struct ConfigObject {
  static constexpr Kind kKind = Kind::kConfig;
  Config config;
};
struct WriterObject {
  static constexpr Kind kKind = Kind::kWriter;
  std::optional<StoreWriter> writer;
};
struct StoreObject {
  static constexpr Kind kKind = Kind::kStore;
  std::string dir;
  std::optional<StoreReader> reader;
};
struct RetrieverObject {
  static constexpr Kind kKind = Kind::kRetriever;
  std::shared_ptr<const StoreReader> store;  // its own view, unaffected by refreshes of the store handle
  std::unique_ptr<Retriever> retriever;
  std::unique_ptr<ShardedRetriever> sharded;  // instead of `retriever`: a sharded store (store = this rank's shard)
  std::shared_ptr<tbb::task_arena> arena;
  std::optional<HashingEncoder> encoder;  // text stores
  std::shared_ptr<const TextIndex> index;  // text stores with an index: BM25 ranks, then attention
  size_t q_heads = 0;
  float temperature = 16.0f;
};
struct ResultObject {
  static constexpr Kind kKind = Kind::kResult;
  std::shared_ptr<const StoreReader> store;
  std::vector<RetrievalResult> results;
  std::shared_ptr<const TextIndex> index;  // chunk sources (text stores with an index)
  size_t q_heads = 0, head_dim = 0;
  bool sharded = false;  // store is rank 0's shard: it holds the texts of chunks [0, its chunks)
};

// ---- the handle table: ids never reused, so closed handles are detected ----

void* Register(Kind kind, std::shared_ptr<void> object);
std::shared_ptr<void> Lookup(const void* handle, Kind kind, const char* what, bool remove);

template <class T, class Handle>
Handle* Add(std::shared_ptr<T> object) {
  return static_cast<Handle*>(Register(T::kKind, std::move(object)));
}
template <class T>
std::shared_ptr<T> Get(const void* handle, const char* what) {
  return std::static_pointer_cast<T>(Lookup(handle, T::kKind, what, false));
}
// Removes the handle; the object lives on while other holders keep it.
template <class T>
std::shared_ptr<T> Take(const void* handle, const char* what) {
  return std::static_pointer_cast<T>(Lookup(handle, T::kKind, what, true));
}

// Runs `body` in `arena` (null: the caller's arena).
template <class Body>
void InArena(const std::shared_ptr<tbb::task_arena>& arena, Body&& body) {
  if (arena) {
    arena->execute(body);
  } else {
    body();
  }
}
std::shared_ptr<tbb::task_arena> ArenaOf(landmark_arena* arena);  // null for null

}  // namespace landmark::capi
