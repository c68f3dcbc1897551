#include "src/store/format.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <xxhash.h>

#include "landmark/error.h"
#include "landmark/version.h"
#include "src/io/mapped_file.h"
#include "src/store/append_file.h"

namespace landmark {

using nlohmann::json;

void StoreShape::Validate() {
  auto positive = [](size_t value, size_t limit, const char* what) {
    LANDMARK_CHECK_ARG(value >= 1 && value <= limit, std::string("store shape: ") + what + " = " +
                                                         std::to_string(value) + " (must be 1.." +
                                                         std::to_string(limit) + ")");
  };
  positive(chunk_size, 1 << 16, "chunk size");
  positive(kv_heads, 1 << 12, "kv heads");
  positive(head_dim, 1 << 14, "head dim");
  if (landmark == LandmarkKind::kLearned) {
    positive(landmark_heads, 1 << 12, "landmark heads (required for learned landmarks)");
    positive(landmark_dim, 1 << 14, "landmark dim (required for learned landmarks)");
  } else {
    if (landmark_heads == 0) landmark_heads = kv_heads;
    if (landmark_dim == 0) landmark_dim = head_dim;
    LANDMARK_CHECK_ARG(landmark_heads == kv_heads && landmark_dim == head_dim,
                       std::string("store shape: ") + Name(landmark) +
                           " landmarks have one head per kv head and R = head dim");
  }
}

size_t StoreShape::landmark_values() const {
  return landmark == LandmarkKind::kMinMax ? 2 * landmark_dim : landmark_dim;
}
size_t StoreShape::landmark_bytes_per_chunk() const {
  return landmark_heads * landmark_values() * SizeOf(dtype);
}
size_t StoreShape::kv_bytes() const { return 2 * chunk_size * head_dim * SizeOf(dtype); }
size_t StoreShape::record_bytes() const {
  return (kv_bytes() + store::kRecordAlign - 1) / store::kRecordAlign * store::kRecordAlign;
}

namespace store {
namespace {

std::string Hex(uint64_t x) {
  char buffer[17];
  std::snprintf(buffer, sizeof(buffer), "%016" PRIx64, x);
  return buffer;
}

// Strict reads of the manifest's fields: the type and range of each, and a
// message naming the file and the field ("shape.chunk_size") when wrong.
class Fields {
 public:
  explicit Fields(const std::string& path) : path_(path) {}

  const json& Get(const json& object, const std::string& key, const std::string& where) const {
    LANDMARK_CHECK_ARG(object.is_object() && object.contains(key),
                       path_ + ": missing field '" + Join(where, key) + "'");
    return object.at(key);
  }
  uint64_t Unsigned(const json& object, const std::string& key, const std::string& where = "",
                    uint64_t max = std::numeric_limits<uint64_t>::max()) const {
    const json& v = Get(object, key, where);
    LANDMARK_CHECK_ARG(v.is_number_unsigned(), path_ + ": field '" + Join(where, key) +
                                                   "' must be a non-negative integer, is " + v.dump());
    const uint64_t value = v.get<uint64_t>();
    LANDMARK_CHECK_ARG(value <= max, path_ + ": field '" + Join(where, key) + "' is " + std::to_string(value) +
                                         ", more than " + std::to_string(max));
    return value;
  }
  std::string String(const json& object, const std::string& key, const std::string& where = "") const {
    const json& v = Get(object, key, where);
    LANDMARK_CHECK_ARG(v.is_string(), path_ + ": field '" + Join(where, key) + "' must be a string, is " + v.dump());
    return v.get<std::string>();
  }
  bool Bool(const json& object, const std::string& key, const std::string& where = "") const {
    const json& v = Get(object, key, where);
    LANDMARK_CHECK_ARG(v.is_boolean(), path_ + ": field '" + Join(where, key) + "' must be true or false, is " +
                                           v.dump());
    return v.get<bool>();
  }
  const json& Object(const json& object, const std::string& key, const std::string& where = "") const {
    const json& v = Get(object, key, where);
    LANDMARK_CHECK_ARG(v.is_object(), path_ + ": field '" + Join(where, key) + "' must be an object, is " +
                                          Short(v));
    return v;
  }
  const json& Array(const json& object, const std::string& key, const std::string& where = "") const {
    const json& v = Get(object, key, where);
    LANDMARK_CHECK_ARG(v.is_array(), path_ + ": field '" + Join(where, key) + "' must be a list, is " + Short(v));
    return v;
  }
  uint64_t Checksum(const json& object, const std::string& key, const std::string& where) const {
    const std::string s = String(object, key, where);
    LANDMARK_CHECK_ARG(s.size() == 16 && s.find_first_not_of("0123456789abcdef") == std::string::npos,
                       path_ + ": field '" + Join(where, key) + "' is not an xxh3-64 checksum: \"" + s + "\"");
    return std::stoull(s, nullptr, 16);
  }

 private:
  static std::string Join(const std::string& where, const std::string& key) {
    return where.empty() ? key : where + "." + key;
  }
  static std::string Short(const json& v) {
    const std::string s = v.dump();
    return s.size() > 40 ? s.substr(0, 40) + "..." : s;
  }
  const std::string& path_;
};

// a + b and a * b of sizes a manifest gives; an overflow is a damaged manifest.
uint64_t Add(uint64_t a, uint64_t b, const std::string& path, const std::string& what) {
  uint64_t sum;
  LANDMARK_CHECK_ARG(!__builtin_add_overflow(a, b, &sum), path + ": " + what + " overflows (corrupted manifest)");
  return sum;
}
uint64_t Mul(uint64_t a, uint64_t b, const std::string& path, const std::string& what) {
  uint64_t product;
  LANDMARK_CHECK_ARG(!__builtin_mul_overflow(a, b, &product), path + ": " + what + " overflows (corrupted manifest)");
  return product;
}

// The manifest's own checksum: xxh3-64 of the compact JSON of every field
// but "checksum" (nlohmann keeps object keys sorted: one canonical form).
uint64_t ContentChecksum(const json& j) {
  json content = j;
  content.erase("checksum");
  const std::string text = content.dump();
  return XXH3_64bits(text.data(), text.size());
}

}  // namespace

std::string SegmentName(size_t index) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "kv-%06zu.bin", index);
  return buffer;
}

std::string TailName(uint64_t commit) {
  char buffer[40];
  std::snprintf(buffer, sizeof(buffer), "tail-%06" PRIu64 ".bin", commit);
  return buffer;
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  return dir.empty() || dir.back() == '/' ? dir + name : dir + "/" + name;
}

bool IsAttachmentName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

void CheckAttachmentName(std::string_view name, const std::string& what) {
  LANDMARK_CHECK_ARG(IsAttachmentName(name), what + ": attachment name '" + std::string(name) +
                                                 "' is not 1-64 characters of a-z, 0-9, '_' and '-'");
}

std::string AppendAttachmentFile(std::string_view name) { return "att-" + std::string(name) + ".bin"; }

std::string ReplacedAttachmentFile(std::string_view name, uint64_t commit) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), ".%06" PRIu64 ".bin", commit);
  return "att-" + std::string(name) + buffer;
}

int OpenStoreFile(const std::string& path, int flags, bool writing) {
  const int fd = OpenRegularFile(path, flags | O_NOFOLLOW);
  struct stat st {};
  if (writing && ::fstat(fd, &st) == 0 && st.st_nlink > 1) {
    ::close(fd);
    LANDMARK_THROW(path + ": has " + std::to_string(st.st_nlink) +
                   " hard links; a store's files must not be shared with other files (appending would change them)");
  }
  return fd;
}

size_t ChunksPerSegment(const StoreShape& shape, size_t segment_bytes) {
  return std::max<size_t>(1, segment_bytes / (shape.kv_heads * shape.record_bytes()));
}

uint64_t Manifest::tail_kv_bytes() const {
  return uint64_t(shape.kv_heads) * 2 * tail_tokens * shape.head_dim * SizeOf(shape.dtype);
}

std::string Manifest::ToJson() const {
  json files_json = json::object();
  for (const auto& [name, entry] : files) {
    json regions = json::array();
    for (const Region& r : entry.regions) {
      regions.push_back({{"offset", r.offset}, {"bytes", r.bytes}, {"xxh3", Hex(r.xxh3)}});
    }
    files_json[name] = {{"bytes", entry.bytes}, {"regions", regions}};
  }
  json attachments_json = json::object();
  for (const auto& [name, a] : attachments) {
    attachments_json[name] = {{"mode", a.append ? "append" : "replace"}, {"file", a.file}};
  }
  json j = {
      {"format", kFormatName},
      {"version", kFormatVersion},
      {"shape",
       {{"chunk_size", shape.chunk_size},
        {"kv_heads", shape.kv_heads},
        {"head_dim", shape.head_dim},
        {"dtype", Name(shape.dtype)},
        {"landmark", Name(shape.landmark)},
        {"landmark_heads", shape.landmark_heads},
        {"landmark_dim", shape.landmark_dim}}},
      {"record_bytes", shape.record_bytes()},
      {"segment_bytes", segment_bytes},
      {"chunks_per_segment", chunks_per_segment},
      {"commit_every", commit_every},
      {"text", text},
      {"commit", commit},
      {"chunks", chunks},
      {"tail_tokens", tail_tokens},
      {"tail_text_bytes", tail_text_bytes},
      {"files", files_json},
      {"created", created},
      {"creator", creator},
      {"metadata", metadata},
  };
  if (!attachments.empty()) j["attachments"] = attachments_json;
  j["checksum"] = Hex(ContentChecksum(j));
  return j.dump(2) + "\n";
}

Manifest Manifest::Parse(const std::string& text, const std::string& path) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    LANDMARK_THROW(path + ": not valid JSON (" + std::string(e.what()) + "); truncated or corrupted?");
  }
  LANDMARK_CHECK_ARG(j.is_object() && j.contains("format") && j["format"] == kFormatName,
                     path + ": not a landmark store manifest");
  const Fields f(path);
  const uint64_t version = f.Unsigned(j, "version");
  LANDMARK_CHECK_ARG(version == kFormatVersion, path + ": unknown format version " + std::to_string(version) +
                                                    " (this landmark reads version " +
                                                    std::to_string(kFormatVersion) + ")");
  // Without a checksum: a manifest written before there was one (legacy).
  if (j.contains("checksum")) {
    const uint64_t expected = f.Checksum(j, "checksum", "");
    LANDMARK_CHECK_ARG(ContentChecksum(j) == expected,
                       path + ": checksum mismatch (the manifest was edited or corrupted; run `landmark verify`)");
  }
  Manifest m;
  const json& s = f.Object(j, "shape");
  m.shape.chunk_size = f.Unsigned(s, "chunk_size", "shape");
  m.shape.kv_heads = f.Unsigned(s, "kv_heads", "shape");
  m.shape.head_dim = f.Unsigned(s, "head_dim", "shape");
  m.shape.dtype = ParseDType(f.String(s, "dtype", "shape"), path + ": field 'shape.dtype'");
  m.shape.landmark = ParseLandmarkKind(f.String(s, "landmark", "shape"), path + ": field 'shape.landmark'");
  m.shape.landmark_heads = f.Unsigned(s, "landmark_heads", "shape");
  m.shape.landmark_dim = f.Unsigned(s, "landmark_dim", "shape");
  try {
    m.shape.Validate();
  } catch (const Error& e) {
    LANDMARK_THROW(path + ": " + e.what());
  }
  m.segment_bytes = f.Unsigned(j, "segment_bytes");
  LANDMARK_CHECK_ARG(m.segment_bytes > 0, path + ": field 'segment_bytes' is 0");
  m.chunks_per_segment = f.Unsigned(j, "chunks_per_segment");
  m.commit_every = j.contains("commit_every") ? f.Unsigned(j, "commit_every") : 1024;
  m.text = f.Bool(j, "text");
  m.commit = f.Unsigned(j, "commit");
  m.chunks = f.Unsigned(j, "chunks", "", uint64_t(1) << 40);
  m.tail_tokens = f.Unsigned(j, "tail_tokens");
  m.tail_text_bytes = f.Unsigned(j, "tail_text_bytes");
  m.created = j.contains("created") ? f.String(j, "created") : "";
  m.creator = j.contains("creator") ? f.String(j, "creator") : "";
  if (j.contains("metadata")) {
    for (const auto& [key, value] : f.Object(j, "metadata").items()) m.metadata[key] = f.String(j["metadata"], key, "metadata");
  }
  const uint64_t record = f.Unsigned(j, "record_bytes");
  LANDMARK_CHECK_ARG(record == m.shape.record_bytes(),
                     path + ": record_bytes " + std::to_string(record) + " disagrees with the shape");
  LANDMARK_CHECK_ARG(m.chunks_per_segment == ChunksPerSegment(m.shape, m.segment_bytes),
                     path + ": chunks_per_segment disagrees with segment_bytes");
  LANDMARK_CHECK_ARG(m.tail_tokens < m.shape.chunk_size,
                     path + ": tail of " + std::to_string(m.tail_tokens) + " tokens is not shorter than a chunk");

  for (const auto& [name, entry] : f.Object(j, "files").items()) {
    const std::string where = "files." + name;
    FileEntry e;
    e.bytes = f.Unsigned(entry, "bytes", where);
    uint64_t covered = 0;
    const json empty = json::array();
    const json& regions = entry.is_object() && entry.contains("regions") ? f.Array(entry, "regions", where) : empty;
    for (size_t i = 0; i < regions.size(); ++i) {
      const std::string at = where + ".regions[" + std::to_string(i) + "]";
      const Region region{f.Unsigned(regions[i], "offset", at), f.Unsigned(regions[i], "bytes", at),
                          f.Checksum(regions[i], "xxh3", at)};
      LANDMARK_CHECK_ARG(region.offset == covered, path + ": " + name + " regions are not contiguous");
      // Checked without overflow: each region lies inside the file's bytes.
      LANDMARK_CHECK_ARG(region.bytes <= e.bytes - covered,
                         path + ": " + name + " regions exceed its " + std::to_string(e.bytes) + " bytes");
      covered += region.bytes;
      e.regions.push_back(region);
    }
    LANDMARK_CHECK_ARG(covered == e.bytes, path + ": " + name + " regions do not cover its " +
                                               std::to_string(e.bytes) + " bytes");
    m.files[name] = std::move(e);
  }
  if (j.contains("attachments")) {
    for (const auto& [name, entry] : f.Object(j, "attachments").items()) {
      const std::string where = "attachments." + name;
      CheckAttachmentName(name, path);
      Attachment a;
      const std::string mode = f.String(entry, "mode", where);
      LANDMARK_CHECK_ARG(mode == "append" || mode == "replace",
                         path + ": field '" + where + ".mode' is \"" + mode + "\" (expected append or replace)");
      a.append = mode == "append";
      a.file = f.String(entry, "file", where);
      const std::string prefix = "att-" + name + ".";
      const bool well_named = a.append ? a.file == AppendAttachmentFile(name)
                                       : a.file.size() > prefix.size() + 4 && a.file.rfind(prefix, 0) == 0 &&
                                             a.file.compare(a.file.size() - 4, 4, ".bin") == 0 &&
                                             a.file.find_first_not_of("0123456789", prefix.size()) == a.file.size() - 4;
      LANDMARK_CHECK_ARG(well_named, path + ": field '" + where + ".file' names an unexpected file \"" + a.file + "\"");
      LANDMARK_CHECK_ARG(m.files.count(a.file), path + ": lists no entry for " + a.file + " (attachment " + name + ")");
      m.attachments[name] = std::move(a);
    }
  }

  // Every expected file, with the size the counts imply, and nothing else.
  std::map<std::string, uint64_t> expected;
  expected[kLandmarks] = Mul(m.chunks, m.shape.landmark_bytes_per_chunk(), path, "the size of landmarks.bin");
  for (size_t s = 0; s < m.segments(); ++s) {
    const size_t in_segment = std::min(m.chunks - s * m.chunks_per_segment, m.chunks_per_segment);
    expected[SegmentName(s)] =
        Mul(Mul(in_segment, m.shape.kv_heads, path, "a segment's size"), m.shape.record_bytes(), path, "a segment's size");
  }
  if (m.text) {
    expected[kTextIndex] = Mul(m.chunks, 8, path, "the size of text-index.bin");
    expected[kText] = m.files.count(kText) ? m.files[kText].bytes : 0;  // any size
  } else {
    LANDMARK_CHECK_ARG(m.tail_text_bytes == 0, path + ": tail text in a store without text");
  }
  if (m.tail_tokens) expected[m.tail_name()] = Add(m.tail_kv_bytes(), m.tail_text_bytes, path, "the tail's size");
  for (const auto& [name, a] : m.attachments) expected[a.file] = m.files[a.file].bytes;  // any size
  for (const auto& [name, bytes] : expected) {
    const auto it = m.files.find(name);
    LANDMARK_CHECK_ARG(it != m.files.end(), path + ": lists no entry for " + name);
    LANDMARK_CHECK_ARG(it->second.bytes == bytes, path + ": " + name + " is listed with " +
                                                      std::to_string(it->second.bytes) + " bytes, the counts imply " +
                                                      std::to_string(bytes));
  }
  for (const auto& [name, entry] : m.files) {
    LANDMARK_CHECK_ARG(expected.count(name), path + ": lists an unexpected file " + name);
  }
  return m;
}

Manifest Manifest::Read(const std::string& dir) {
  const std::string path = JoinPath(dir, kManifest);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    LANDMARK_CHECK_ARG(errno != ENOENT, dir + ": no such store directory");
    LANDMARK_THROW(dir + ": cannot open the store directory: " + std::strerror(errno));
  }
  LANDMARK_CHECK_ARG(S_ISDIR(st.st_mode), dir + ": is " + FileTypeName(st.st_mode) + ", not a store directory");
  if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) {
    LANDMARK_THROW(dir + ": not a landmark store (no " + kManifest + ")");
  }
  const int fd = OpenStoreFile(path, O_RDONLY, false);  // a symlink, FIFO, ...: refused, never waited on
  std::string text;
  try {
    LANDMARK_CHECK_ARG(::fstat(fd, &st) == 0, path + ": cannot stat: " + std::strerror(errno));
    constexpr uint64_t kMaxManifest = uint64_t(1) << 30;
    LANDMARK_CHECK_ARG(uint64_t(st.st_size) <= kMaxManifest,
                       path + ": " + std::to_string(st.st_size) + " bytes; not a manifest (at most 1 GiB)");
    text.resize(size_t(st.st_size));
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = ::read(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      LANDMARK_CHECK_ARG(n >= 0, path + ": read failed: " + std::strerror(errno));
      if (n == 0) break;
      done += size_t(n);
    }
    text.resize(done);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  LANDMARK_CHECK_ARG(!text.empty(), path + ": empty (truncated?)");
  return Parse(text, path);
}

void Manifest::WriteAtomic(const std::string& dir) const {
  const std::string text = ToJson();
  WriteWholeFile(dir, kManifest, text.data(), text.size(), /*sync_dir=*/true);
}

StoreInfo Manifest::Info(const std::string& dir) const {
  StoreInfo info;
  info.path = dir;
  info.shape = shape;
  info.commit = commit;
  info.chunks = chunks;
  info.tail_tokens = tail_tokens;
  info.tokens = chunks * shape.chunk_size + tail_tokens;
  info.segments = segments();
  info.segment_bytes = segment_bytes;
  for (const auto& [name, entry] : files) {
    if (name.rfind("kv-", 0) == 0) info.kv_bytes += entry.bytes;
  }
  info.landmark_bytes = files.count(kLandmarks) ? files.at(kLandmarks).bytes : 0;
  info.has_text = text;
  info.text_bytes = (text && files.count(kText) ? files.at(kText).bytes : 0) + tail_text_bytes;
  info.created = created;
  info.creator = creator;
  info.metadata = metadata;
  for (const auto& [name, a] : attachments) info.attachments[name] = {a.append, files.at(a.file).bytes};
  return info;
}

}  // namespace store

std::string StoreInfo::ToJson() const {
  json j = {{"path", path},
                  {"chunk_size", shape.chunk_size},
                  {"kv_heads", shape.kv_heads},
                  {"head_dim", shape.head_dim},
                  {"dtype", Name(shape.dtype)},
                  {"landmark", Name(shape.landmark)},
                  {"landmark_heads", shape.landmark_heads},
                  {"landmark_dim", shape.landmark_dim},
                  {"commit", commit},
                  {"chunks", chunks},
                  {"tokens", tokens},
                  {"tail_tokens", tail_tokens},
                  {"segments", segments},
                  {"segment_bytes", segment_bytes},
                  {"kv_bytes", kv_bytes},
                  {"landmark_bytes", landmark_bytes},
                  {"text", has_text},
                  {"text_bytes", text_bytes},
                  {"created", created},
                  {"creator", creator},
                  {"metadata", metadata}};
  j["attachments"] = json::object();
  for (const auto& [name, a] : attachments) {
    j["attachments"][name] = {{"mode", a.append ? "append" : "replace"}, {"bytes", a.bytes}};
  }
  return j.dump(2);
}

std::string StoreInfo::ToText() const {
  auto bytes = [](uint64_t b) {
    char buffer[32];
    if (b >= (uint64_t(1) << 30)) {
      std::snprintf(buffer, sizeof(buffer), "%.2f GiB", double(b) / double(1 << 30));
    } else if (b >= (uint64_t(1) << 20)) {
      std::snprintf(buffer, sizeof(buffer), "%.1f MiB", double(b) / double(1 << 20));
    } else if (b >= 1024) {
      std::snprintf(buffer, sizeof(buffer), "%.1f KiB", double(b) / 1024);
    } else {
      std::snprintf(buffer, sizeof(buffer), "%" PRIu64 " B", b);
    }
    return std::string(buffer);
  };
  std::ostringstream s;
  s << "store      " << path << "\n"
    << "tokens     " << tokens << " (" << chunks << " chunks of " << shape.chunk_size << " + a tail of "
    << tail_tokens << ")\n"
    << "kv         " << shape.kv_heads << " heads × d " << shape.head_dim << ", " << Name(shape.dtype)
    << ", " << bytes(kv_bytes) << " in " << segments << " segment" << (segments == 1 ? "" : "s")
    << " (roll-over " << bytes(segment_bytes) << ")\n"
    << "landmarks  " << Name(shape.landmark) << ", " << shape.landmark_heads << " heads × R "
    << shape.landmark_dim << ", " << bytes(landmark_bytes) << "\n"
    << "text       " << (has_text ? bytes(text_bytes) : std::string("not stored")) << "\n"
    << "commit     " << commit << "\n"
    << "created    " << created << " by " << creator << "\n";
  for (const auto& [key, value] : metadata) s << "  " << key << ": " << value << "\n";
  for (const auto& [name, a] : attachments) {
    s << "attachment " << name << ": " << bytes(a.bytes) << (a.append ? " (append-only)" : "") << "\n";
  }
  return s.str();
}

}  // namespace landmark
