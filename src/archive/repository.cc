#include "archive/repository.h"

#include <nlohmann/json.hpp>

namespace walferry::archive {

using nlohmann::json;

std::string EncodeHeader(const ObjectHeader& h) {
  json j = {{"format", kRepositoryFormat},
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
  if (format->get<int64_t>() != kRepositoryFormat) return bad("unknown format");
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

}  // namespace walferry::archive
