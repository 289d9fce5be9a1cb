// object.cc — the stored-object writer and reader (object.h), and the header
// line of kWal objects. The two places marked "ENCRYPTION STAGE" are where
// issue 11 slots its stage in: between the codec and the stored bytes.
#include "repo/object.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/crypto.h"
#include "repo/identity.h"

namespace walferry::repo {
namespace {

using nlohmann::json;

// Room for the header line in front of an InMemory kWal object; a header is
// about 150 bytes.
// The header line's own format: 1 in every repository format so far (an
// encrypted object's header, repository format 2, is still to come).
constexpr int kObjectFormat = 1;
constexpr size_t kHeaderRoom = 512;
constexpr size_t kSourceChunk = 1 << 20;  // ObjectSource reads the original in these
constexpr size_t kDecodePiece = 256 << 10;

// Counts bytes on their way to `next`.
class CountSink : public ByteSink {
 public:
  explicit CountSink(ByteSink& next) : next_(next) {}
  Status Write(const char* data, size_t n) override {
    count_ += n;
    return next_.Write(data, n);
  }
  uint64_t count() const { return count_; }

 private:
  ByteSink& next_;
  uint64_t count_ = 0;
};

}  // namespace

// ---- the header line ----

std::string EncodeHeader(const ObjectHeader& h) {
  json j = {{"format", kObjectFormat},
            {"name", h.name},
            {"codec", CodecName(h.codec)},
            {"size", h.size},
            {"sha256", h.sha256_hex}};
  return j.dump() + "\n";
}

Result<ObjectHeader> DecodeHeader(std::string_view line, const std::string& key) {
  // Stored bytes are untrusted: every field's type is checked before it is
  // read (json::value() throws on a type mismatch), and every way a header
  // can be wrong is kCorruption naming the object, never a usage error.
  auto bad = [&](const std::string& why) {
    return Status::Corruption("object '" + key + "' has no valid walferry header: " + why);
  };
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return bad("not a JSON object");
  auto format = j.find("format");
  if (format == j.end() || !format->is_number_integer()) return bad("no format");
  if (format->get<int64_t>() != kObjectFormat) return bad("unknown format");
  ObjectHeader h;
  auto name = j.find("name");
  if (name == j.end() || !name->is_string()) return bad("no name");
  h.name = name->get<std::string>();
  auto codec_field = j.find("codec");
  if (codec_field == j.end() || !codec_field->is_string()) return bad("no codec");
  auto codec = ParseCodec(codec_field->get<std::string>());
  if (!codec.ok()) return bad(codec.status().message());
  h.codec = *codec;
  auto size = j.find("size");
  if (size == j.end() || !size->is_number_unsigned()) return bad("no size");
  h.size = size->get<uint64_t>();
  auto sha = j.find("sha256");
  if (sha == j.end() || !sha->is_string()) return bad("no sha256");
  h.sha256_hex = sha->get<std::string>();
  if (h.sha256_hex.size() != 64 ||
      h.sha256_hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return bad("no sha256");
  }
  return h;
}

Result<ObjectHeader> ReadHeader(Storage& storage, const std::string& key) {
  auto head = GetString(storage, key, ByteRange{0, kMaxHeaderSize});
  if (head.status().code() == Status::Code::kInvalidArgument) {
    // A range from byte 0 is refused only for an empty object (storage.h):
    // damaged repository data, not a usage error.
    auto info = storage.Head(key);
    if (info.ok() && info->size == 0) {
      return Status::Corruption("object '" + key + "' in " + storage.Describe() +
                                " is empty (0 bytes): it has no walferry header");
    }
  }
  if (!head.ok()) return head.status();
  size_t nl = head->find('\n');
  if (nl == std::string::npos)
    return Status::Corruption("object '" + key + "' has no walferry header line");
  return DecodeHeader(std::string_view(*head).substr(0, nl), key);
}

// ---- writing ----

class ObjectWriter::Stored final : public CountSink {
 public:
  using CountSink::CountSink;
};

struct ObjectWriter::Hash {
  crypto::Digest sha = crypto::Digest::Sha256();
};

ObjectWriter::ObjectWriter(const WriteSpec& spec, ByteSink* out) : spec_(spec), out_(out) {}
ObjectWriter::~ObjectWriter() = default;

Result<std::unique_ptr<ObjectWriter>> ObjectWriter::New(const WriteSpec& spec, ByteSink& out) {
  if (spec.layout == Layout::kWal && !spec.header) {
    return Status::Internal("a WAL object is streamed only with its header known in advance (" +
                            spec.name + "); build it InMemory");
  }
  std::unique_ptr<ObjectWriter> w(new ObjectWriter(spec, &out));
  WF_RETURN_IF_ERROR(w->Start());
  return w;
}

Result<std::unique_ptr<ObjectWriter>> ObjectWriter::InMemory(const WriteSpec& spec,
                                                             uint64_t size_hint) {
  auto buffer = std::make_unique<StringSink>();
  const size_t room = spec.layout == Layout::kWal && !spec.header ? kHeaderRoom : 0;
  if (size_hint > 0) {
    // Worst case of incompressible input for every codec; reserving (unlike
    // growing) never holds two copies, and untouched capacity costs no memory.
    const size_t size = static_cast<size_t>(size_hint);
    buffer->out.reserve(room + size + size / 128 + (64 << 10));
  }
  buffer->out.assign(room, ' ');
  std::unique_ptr<ObjectWriter> w(new ObjectWriter(spec, buffer.get()));
  w->buffer_ = std::move(buffer);
  w->header_room_ = room;
  WF_RETURN_IF_ERROR(w->Start());
  return w;
}

Status ObjectWriter::Start() {
  stored_ = std::make_unique<Stored>(*out_);
  hash_ = std::make_unique<Hash>();
  if (spec_.layout == Layout::kWal && spec_.header) {
    const std::string line = EncodeHeader(*spec_.header);
    WF_RETURN_IF_ERROR(stored_->Write(line.data(), line.size()));
  }
  // ENCRYPTION STAGE (issue 11): an encrypting sink goes between the codec and
  // stored_ (compress, then encrypt); the codec below writes into it instead.
  ByteSink& payload = *stored_;
  auto c = CompressSink::New(spec_.codec, spec_.level, payload);
  if (!c.ok()) return c.status();
  compress_ = std::move(*c);
  return Status::Ok();
}

Status ObjectWriter::Write(const char* data, size_t n) {
  if (finished_) return Status::Internal("object written after its end");
  hash_->sha.Update(data, n);
  original_size_ += n;
  return compress_->Write(data, n);
}

Part ObjectWriter::EndPart() {
  Part p{part_start_, original_size_ - part_start_, crypto::Hex(hash_->sha.Finish())};
  part_start_ = original_size_;
  ++parts_ended_;
  return p;
}

Status ObjectWriter::Finish() {
  if (finished_) return Status::Internal("object finished twice");
  finished_ = true;
  WF_RETURN_IF_ERROR(compress_->Finish());
  // ENCRYPTION STAGE (issue 11): the encrypting sink ends here (its final chunk).
  const size_t ended = parts_ended_;
  last_part_ = EndPart();
  header_ = ObjectHeader{spec_.name, spec_.codec, original_size_, last_part_.sha256_hex};
  stored_size_ = stored_->count();
  if (spec_.layout != Layout::kWal) return Status::Ok();
  if (ended > 0) return Status::Internal("a WAL object has no parts");
  if (spec_.header) {
    if (spec_.header->size != header_.size || spec_.header->sha256_hex != header_.sha256_hex) {
      return Status::Corruption(
          "'" + spec_.name + "' changed while it was stored: " + std::to_string(header_.size) +
          " bytes with sha256 " + header_.sha256_hex + ", its header says " +
          std::to_string(spec_.header->size) + " bytes with " + spec_.header->sha256_hex);
    }
    return Status::Ok();
  }
  // InMemory: the header goes at the end of its room, and the object starts
  // where the header does.
  const std::string line = EncodeHeader(header_);
  if (line.size() > header_room_) return Status::Internal("object header longer than its room");
  start_ = header_room_ - line.size();
  buffer_->out.replace(start_, line.size(), line);
  stored_size_ += line.size();
  return Status::Ok();
}

std::string_view ObjectWriter::object() const {
  if (!buffer_) return {};
  return std::string_view(buffer_->out).substr(start_);
}

std::string ObjectWriter::TakeBuffer(size_t* start) {
  *start = start_;
  if (!buffer_) return {};
  return std::move(buffer_->out);
}

Result<std::unique_ptr<ObjectSource>> ObjectSource::New(const WriteSpec& spec,
                                                        ByteSource& original) {
  std::unique_ptr<ObjectSource> s(new ObjectSource(spec, original));
  WF_RETURN_IF_ERROR(s->Restart());
  return s;
}

Status ObjectSource::Restart() {
  pending_.out.clear();
  pos_ = 0;
  done_ = false;
  auto w = ObjectWriter::New(spec_, pending_);
  if (!w.ok()) return w.status();
  writer_ = std::move(*w);
  return Status::Ok();
}

Result<size_t> ObjectSource::Read(char* buf, size_t n) {
  while (pos_ >= pending_.out.size() && !done_) {
    pending_.out.clear();
    pos_ = 0;
    if (chunk_.empty()) chunk_.resize(kSourceChunk);
    auto got = original_.Read(chunk_.data(), chunk_.size());
    if (!got.ok()) return got.status();
    if (*got == 0) {
      WF_RETURN_IF_ERROR(writer_->Finish());
      done_ = true;
    } else {
      WF_RETURN_IF_ERROR(writer_->Write(chunk_.data(), *got));
    }
  }
  size_t take = std::min(n, pending_.out.size() - pos_);
  std::memcpy(buf, pending_.out.data() + pos_, take);
  pos_ += take;
  return take;
}

Status ObjectSource::Rewind() {
  if (writer_->original_size() == 0 && pos_ == 0) return Status::Ok();  // nothing read yet
  // Read again from the start: the figures describe what is sent this time.
  WF_RETURN_IF_ERROR(original_.Rewind());
  return Restart();
}

Result<PutResult> PutObject(Storage& storage, const std::string& key, const WriteSpec& spec,
                            std::string_view original, const PutOptions& options) {
  if (spec.layout == Layout::kData && spec.codec == Codec::kNone) {
    // The stored bytes are the original: put them from where they are.
    // ENCRYPTION STAGE (issue 11): an encrypted repository takes the path below.
    return PutString(storage, key, original, options);
  }
  auto w = ObjectWriter::InMemory(spec, original.size());
  if (!w.ok()) return w.status();
  WF_RETURN_IF_ERROR((*w)->Write(original.data(), original.size()));
  WF_RETURN_IF_ERROR((*w)->Finish());
  return PutString(storage, key, (*w)->object(), options);
}

// ---- reading ----

struct ObjectReader::Hashes {
  explicit Hashes(ByteSink& out) : original(&out), count(out) {}
  std::optional<HashSink> stored;  // only when the manifest recorded a SHA-256
  HashSink original;               // kWal: the header has the original's SHA-256
  CountSink count;                 // kData: the original is only counted
};

ObjectReader::ObjectReader(ReadSpec spec, ByteSink& out)
    : spec_(std::move(spec)), hashes_(std::make_unique<Hashes>(out)) {
  if (spec_.recorded) hashes_->stored.emplace(nullptr);
}
ObjectReader::~ObjectReader() = default;

uint64_t ObjectReader::original_size() const {
  return spec_.layout == Layout::kWal ? hashes_->original.size() : hashes_->count.count();
}

Status ObjectReader::StartPayload() {
  const Codec codec = spec_.layout == Layout::kWal ? header_.codec : spec_.codec;
  ByteSink& original =
      spec_.layout == Layout::kWal ? static_cast<ByteSink&>(hashes_->original) : hashes_->count;
  auto d = DecompressSink::New(codec, original);
  if (!d.ok()) return d.status();
  decompress_ = std::move(*d);
  in_payload_ = true;
  return Status::Ok();
}

Status ObjectReader::Write(const char* data, size_t n) {
  stored_size_ += n;
  if (hashes_->stored) WF_RETURN_IF_ERROR(hashes_->stored->Write(data, n));
  if (!in_payload_ && spec_.layout == Layout::kData) WF_RETURN_IF_ERROR(StartPayload());
  // DECRYPTION STAGE (issue 11): the payload goes through a decrypting sink
  // before the decompressor (decrypt, then decompress).
  if (in_payload_) return decompress_->Write(data, n);
  head_.append(data, n);
  size_t nl = head_.find('\n');
  if (nl == std::string::npos) {
    if (head_.size() > kMaxHeaderSize)
      return Status::Corruption("object '" + spec_.key + "' has no walferry header line");
    return Status::Ok();
  }
  auto h = DecodeHeader(std::string_view(head_).substr(0, nl), spec_.key);
  if (!h.ok()) return h.status();
  header_ = *h;
  WF_RETURN_IF_ERROR(StartPayload());
  std::string rest = head_.substr(nl + 1);
  head_.clear();
  return rest.empty() ? Status::Ok() : decompress_->Write(rest.data(), rest.size());
}

Status ObjectReader::Finish() {
  const std::string& key = spec_.key;
  if (spec_.recorded) {
    std::string sha = hashes_->stored->Sha256Hex();
    if (stored_size_ != spec_.recorded->size || sha != spec_.recorded->sha256_hex) {
      return Status::Corruption("object '" + key + "' has " + std::to_string(stored_size_) +
                                " bytes with SHA-256 " + sha + "; the manifest says " +
                                std::to_string(spec_.recorded->size) + " bytes with " +
                                spec_.recorded->sha256_hex)
          .WithHint("the backup is damaged; restore from another backup");
    }
  }
  if (!in_payload_ && spec_.layout == Layout::kData) WF_RETURN_IF_ERROR(StartPayload());
  if (!in_payload_)
    return Status::Corruption("object '" + key + "' is empty or has no walferry header line");
  WF_RETURN_IF_ERROR(decompress_->Finish().Annotate("object '" + key + "'"));
  if (spec_.layout != Layout::kWal) return Status::Ok();
  if (header_.name != spec_.name) {
    return Status::Corruption("object '" + key + "' holds '" + header_.name + "', not '" +
                              spec_.name + "'");
  }
  if (hashes_->original.size() != header_.size) {
    return Status::Corruption("object '" + key + "' restores to " +
                              std::to_string(hashes_->original.size()) +
                              " bytes, its header says " + std::to_string(header_.size));
  }
  std::string sha = hashes_->original.Sha256Hex();
  original_sha256_ = sha;
  if (sha != header_.sha256_hex) {
    return Status::Corruption("object '" + key + "' restores to sha256 " + sha +
                              ", its header says " + header_.sha256_hex);
  }
  return Status::Ok();
}

namespace {
ReadResult ResultOf(const ObjectReader& r) {
  return ReadResult{r.original_size(), r.stored_size(), r.original_sha256(), r.header()};
}
}  // namespace

Result<ReadResult> GetObject(Storage& storage, const ReadSpec& spec, ByteSink& out) {
  ObjectReader reader(spec, out);
  Status s = storage.Get(spec.key, reader);
  if (s.ok()) s = reader.Finish();
  if (s.code() == Status::Code::kCorruption && s.message().find(spec.key) == std::string::npos) {
    // Found while streaming (a codec's frame checksum) or at the end (size, SHA-256).
    s = s.Annotate("object '" + spec.key + "' in " + storage.Describe());
  }
  WF_RETURN_IF_ERROR(s);
  return ResultOf(reader);
}

Result<ReadResult> DecodeObject(std::string_view stored, const ReadSpec& spec, ByteSink& out) {
  ObjectReader reader(spec, out);
  Status s;
  for (size_t at = 0; at < stored.size() && s.ok(); at += kDecodePiece) {
    s = reader.Write(stored.data() + at, std::min(kDecodePiece, stored.size() - at));
  }
  if (s.ok()) s = reader.Finish();
  if (s.code() == Status::Code::kCorruption && s.message().find(spec.key) == std::string::npos)
    s = s.Annotate("'" + spec.key + "'");
  WF_RETURN_IF_ERROR(s);
  return ResultOf(reader);
}

}  // namespace walferry::repo
