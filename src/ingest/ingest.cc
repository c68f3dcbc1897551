#include "landmark/ingest.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>

#include "landmark/error.h"
#include "src/io/tensor_file.h"
#include "landmark/text_index.h"
#include "src/io/text_files.h"
#include "src/text/index_writer.h"

namespace landmark {

StoreOptions TextStoreOptions(const HashingEncoderOptions& encoder) {
  StoreOptions options;
  options.shape.kv_heads = encoder.kv_heads;
  options.shape.head_dim = encoder.head_dim;
  options.text = true;
  options.metadata["encoder"] = "hashing";
  options.metadata["encoder.seed"] = std::to_string(encoder.seed);
  char weight[32];
  std::snprintf(weight, sizeof(weight), "%.9g", double(encoder.bigram_weight));
  options.metadata["encoder.bigram_weight"] = weight;
  if (encoder.words) {
    options.metadata["encoder.tokens"] = "words";
    options.metadata["text.index"] = "bm25";
  }
  return options;
}

namespace {

constexpr size_t kPieceBytes = size_t(64) << 10;  // text read per step: bounds the encoded K/V

void CheckTextStore(const StoreWriter& writer, const TextIngestOptions& options) {
  const StoreInfo info = writer.info();
  LANDMARK_CHECK_ARG(info.has_text, writer.path() + ": text ingest needs a store created with text");
  LANDMARK_CHECK_ARG(info.shape.landmark != LandmarkKind::kLearned,
                     writer.path() + ": the hashing encoder has no learned landmarks (use mean or minmax)");
  LANDMARK_CHECK_ARG(options.encoder.kv_heads == info.shape.kv_heads && options.encoder.head_dim == info.shape.head_dim,
                     writer.path() + ": the encoder's kv heads × head dim (" + std::to_string(options.encoder.kv_heads) +
                         " × " + std::to_string(options.encoder.head_dim) + ") differ from the store's (" +
                         std::to_string(info.shape.kv_heads) + " × " + std::to_string(info.shape.head_dim) + ")");
  LANDMARK_CHECK_ARG(HasTextIndex(info) == options.encoder.words,
                     writer.path() + ": the encoder's tokens differ from the store's (see HashingEncoderOptionsOf)");
}

}  // namespace

IngestStats IngestTextDocument(StoreWriter& writer, std::string_view text, const std::string& name,
                               const TextIngestOptions& options) {
  CheckTextStore(writer, options);
  const std::string why = text.empty() ? "empty" : CheckText(text);
  LANDMARK_CHECK_ARG(why.empty(), name + ": " + why);
  IngestStats stats;
  if (!HasTextIndex(writer.info())) {
    HashingEncoder encoder(options.encoder);
    EncodedText encoded;
    for (size_t at = 0; at < text.size();) {  // pieces end at whitespace, as TextPieces'
      size_t end = std::min(text.size(), at + kPieceBytes);
      if (end < text.size()) {
        const size_t space = text.find_last_of(" \t\n\r\f\v", end - 1);
        if (space != std::string_view::npos && space >= at) end = space + 1;
      }
      const std::string_view piece = text.substr(at, end - at);
      encoder.Encode(piece, encoded);
      writer.Append(encoded.Batch(piece));
      stats.tokens += encoded.tokens;
      at = end;
    }
  } else {
    TextIndexWriter index(writer, options.encoder);
    const std::string hash = ContentHash(text);
    if (const std::string same = index.Find(hash); !same.empty() && !options.force) {
      stats.skipped.push_back(name + ": already in the store as " + same + " (force to add it again)");
      ++stats.duplicates;
      return stats;
    }
    index.Begin(name, hash);
    for (size_t at = 0; at < text.size();) {
      size_t end = std::min(text.size(), at + kPieceBytes);
      if (end < text.size()) {
        const size_t space = text.find_last_of(" \t\n\r\f\v", end - 1);
        if (space != std::string_view::npos && space >= at) end = space + 1;
        else while (end > at && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) --end;  // a whole character
      }
      index.Add(text.substr(at, end - at));
      at = end;
    }
    index.End();
    stats.tokens = index.tokens();
  }
  stats.input_bytes = text.size();
  stats.files = 1;
  return stats;
}

IngestStats IngestText(StoreWriter& writer, const std::vector<std::string>& inputs,
                       const TextIngestOptions& options, const IngestProgressFn& progress) {
  CheckTextStore(writer, options);
  const bool indexed = HasTextIndex(writer.info());
  const std::vector<std::string> files = ListTextFiles(inputs);
  LANDMARK_CHECK_ARG(!files.empty(), "no input files found");
  IngestStats stats;
  IngestProgress p;
  p.files_total = files.size();
  std::vector<size_t> sizes(files.size());
  std::vector<std::string> reasons(files.size()), hashes(files.size());
  for (size_t i = 0; i < files.size(); ++i) {  // check first: never ingest half a bad file
    reasons[i] = CheckTextFile(files[i], &sizes[i], &hashes[i]);
    if (reasons[i].empty()) {
      p.input_total += sizes[i];
      continue;
    }
    const std::string message = files[i] + ": " + reasons[i];
    LANDMARK_CHECK_ARG(!options.strict, message + " (strict: a file that is not UTF-8 text is an error)");
    if (options.warn) options.warn(message + "; skipped");
    stats.skipped.push_back(message);
  }
  std::string piece;
  if (indexed) {
    TextIndexWriter index(writer, options.encoder);
    for (size_t i = 0; i < files.size(); ++i) {
      if (!reasons[i].empty()) continue;
      p.current = files[i];
      if (const std::string same = index.Find(hashes[i]); !same.empty() && !options.force) {
        const std::string message = files[i] + ": already in the store as " + same + " (force adds it again)";
        if (options.warn) options.warn(message + "; skipped");
        stats.skipped.push_back(message);
        ++stats.duplicates;
        p.input_bytes += sizes[i];
        continue;
      }
      index.Begin(files[i], hashes[i]);
      TextPieces pieces(files[i], kPieceBytes);
      while (pieces.Next(piece)) {
        index.Add(piece);
        p.tokens = stats.tokens + index.tokens();
        p.input_bytes += piece.size();
        if (progress) progress(p);
      }
      index.End();
      ++stats.files;
      p.files_done = stats.files;
    }
    stats.tokens += index.tokens();
    stats.input_bytes = p.input_bytes;
    p.tokens = stats.tokens;
    if (progress) progress(p);
    return stats;
  }
  HashingEncoder encoder(options.encoder);
  EncodedText encoded;
  for (size_t i = 0; i < files.size(); ++i) {
    if (!reasons[i].empty()) continue;
    p.current = files[i];
    encoder.ResetDocument();
    TextPieces pieces(files[i], kPieceBytes);
    while (pieces.Next(piece)) {
      encoder.Encode(piece, encoded);
      writer.Append(encoded.Batch(piece));
      stats.tokens += encoded.tokens;
      p.tokens = stats.tokens;
      p.input_bytes += piece.size();
      if (progress) progress(p);
    }
    ++stats.files;
    p.files_done = stats.files;
  }
  stats.input_bytes = p.input_bytes;
  if (progress) progress(p);
  return stats;
}

IngestStats IngestTensors(StoreWriter& writer, const TensorIngestOptions& options,
                          const IngestProgressFn& progress) {
  const StoreInfo info = writer.info();
  const StoreShape& s = info.shape;
  LANDMARK_CHECK_ARG(!info.has_text, writer.path() + ": this store keeps text; tensors carry none");
  const TensorFile keys = TensorFile::Open(options.keys);
  const TensorFile values = TensorFile::Open(options.values);
  keys.CheckRank(3, "keys");
  values.CheckRank(3, "values");
  const size_t end = std::min(options.end_token, keys.shape()[0]), first = std::min(options.first_token, end);
  const size_t n = end - first;
  LANDMARK_CHECK_ARG(n == 0 || (first % s.chunk_size == 0 && (first == 0 || info.tokens == 0)),
                     keys.name() + ": a token range starts at a chunk boundary of a new store (first token " +
                         std::to_string(first) + ")");
  LANDMARK_CHECK_ARG(keys.shape()[1] == s.kv_heads && keys.shape()[2] == s.head_dim,
                     keys.name() + ": keys of shape " + keys.ShapeString() + " do not match the store's [n, " +
                         std::to_string(s.kv_heads) + ", " + std::to_string(s.head_dim) + "]");
  LANDMARK_CHECK_ARG(values.shape() == keys.shape() && values.dtype() == keys.dtype(),
                     values.name() + ": values (" + values.ShapeString() + ", " + Name(values.dtype()) +
                         ") must match the keys (" + keys.ShapeString() + ", " + Name(keys.dtype()) + ")");
  std::unique_ptr<TensorFile> landmarks;
  const size_t start = info.tokens;  // the partial chunk already in the store
  const size_t completes = (start % s.chunk_size + n) / s.chunk_size;
  if (s.landmark == LandmarkKind::kLearned) {
    LANDMARK_CHECK_ARG(!options.landmarks.empty(), writer.path() + ": a learned-landmark store needs --landmarks");
    landmarks = std::make_unique<TensorFile>(TensorFile::Open(options.landmarks));
    landmarks->CheckRank(3, "landmarks");
    LANDMARK_CHECK_ARG(landmarks->shape()[1] == s.landmark_heads && landmarks->shape()[2] == s.landmark_dim &&
                           landmarks->shape()[0] >= first / s.chunk_size + completes,
                       landmarks->name() + ": landmarks of shape " + landmarks->ShapeString() + " do not cover [" +
                           std::to_string(completes) + ", " + std::to_string(s.landmark_heads) + ", " +
                           std::to_string(s.landmark_dim) + "] (one per chunk this ingest completes)");
  } else {
    LANDMARK_CHECK_ARG(options.landmarks.empty(), writer.path() + std::string(": this store computes ") +
                                                      Name(s.landmark) + " landmarks; --landmarks is for learned ones");
  }
  IngestStats stats;
  IngestProgress p;
  p.current = keys.name();
  p.files_total = 1;
  p.input_total = 2 * n * s.kv_heads * s.head_dim * SizeOf(keys.dtype());
  const size_t row = s.kv_heads * s.head_dim * SizeOf(keys.dtype());
  const size_t landmark_row = s.landmark_heads * s.landmark_dim * (landmarks ? SizeOf(landmarks->dtype()) : 0);
  // Slices end at chunk boundaries, so each carries whole chunks' landmarks.
  const size_t slice = std::max<size_t>(s.chunk_size, options.slice_tokens / s.chunk_size * s.chunk_size);
  size_t done = 0, landmarks_used = first / s.chunk_size;
  while (done < n) {
    const size_t to_boundary = s.chunk_size - (start + done) % s.chunk_size;
    const size_t tokens = std::min(n - done, done == 0 ? to_boundary + slice - s.chunk_size : slice);
    TokenBatch batch;
    batch.tokens = tokens;
    batch.dtype = keys.dtype();
    batch.keys = static_cast<const uint8_t*>(keys.data()) + (first + done) * row;
    batch.values = static_cast<const uint8_t*>(values.data()) + (first + done) * row;
    if (landmarks) {
      batch.landmark_chunks = ((start + done) % s.chunk_size + tokens) / s.chunk_size;
      batch.landmarks = static_cast<const uint8_t*>(landmarks->data()) + landmarks_used * landmark_row;
      batch.landmark_dtype = landmarks->dtype();
      landmarks_used += batch.landmark_chunks;
    }
    writer.Append(batch);
    done += tokens;
    p.tokens = done;
    p.input_bytes = 2 * done * row;
    if (progress) progress(p);
  }
  stats.tokens = n;
  stats.input_bytes = p.input_total;
  stats.files = 1;
  return stats;
}

}  // namespace landmark
