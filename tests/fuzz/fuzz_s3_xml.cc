// fuzz_s3_xml — every S3 XML answer walferry reads, on any bytes: the error
// document, ListObjectsV2, CreateMultipartUpload (UploadId) and DeleteObjects
// results, and the dates inside them.
// Invariants: parsers never crash or throw; a listing that parses has a
// non-empty key for every object; an UploadId that parses is non-empty; the
// documents walferry writes (DeleteObjects, CompleteMultipartUpload) carry
// back exactly the keys and ETags they were built from.
#include <pugixml.hpp>

#include "fuzz_util.h"
#include "storage/s3/s3_xml.h"
#include "walferry/storage.h"

using namespace walferry;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(fuzz::AsText(data, size));

  s3::ErrorDoc e = s3::ParseError(body);
  bool is_error = s3::IsErrorDocument(body);
  if (!is_error)
    FUZZ_CHECK(e.code.empty() && e.message.empty(), "an error code outside an <Error> document");

  auto list = s3::ParseListObjectsV2(body);
  if (list.ok()) {
    for (const auto& o : list->objects) FUZZ_CHECK(!o.key.empty(), "listed object without a key");
  } else {
    FUZZ_CHECK(list.status().code() == Status::Code::kInvalidArgument, "%s",
               list.status().ToString().c_str());
  }

  auto id = s3::ParseUploadId(body);
  if (id.ok()) FUZZ_CHECK(!id->empty(), "empty UploadId accepted");

  auto del = s3::ParseDeleteResult(body);
  if (!del.ok()) FUZZ_CHECK(del.status().code() == Status::Code::kInvalidArgument, "delete result");

  (void)s3::ParseIso8601(body);
  (void)s3::ParseHttpDate(body);

  // The documents walferry writes: lines of the input that are valid object
  // keys become a DeleteObjects body and ETags of a CompleteMultipartUpload.
  std::vector<std::string> keys;
  std::vector<s3::PartTag> parts;
  size_t pos = 0;
  while (pos < body.size() && keys.size() < 64) {
    size_t nl = body.find('\n', pos);
    if (nl == std::string::npos) nl = body.size();
    std::string k = body.substr(pos, nl - pos);
    pos = nl + 1;
    if (!ValidateKey(k).ok()) continue;
    keys.push_back(k);
    parts.push_back({static_cast<int>(parts.size()) + 1, k});
  }
  if (!keys.empty()) {
    pugi::xml_document doc;
    const std::string xml = s3::DeleteObjectsBody(keys);
    FUZZ_CHECK(doc.load_buffer(xml.data(), xml.size(), pugi::parse_default | pugi::parse_ws_pcdata,
                               pugi::encoding_utf8),
               "DeleteObjects body is not XML");
    size_t i = 0;
    for (pugi::xml_node o : doc.child("Delete").children("Object")) {
      FUZZ_CHECK(i < keys.size() && keys[i] == o.child("Key").text().as_string(),
                 "DeleteObjects body changed key %zu", i);
      ++i;
    }
    FUZZ_CHECK(i == keys.size(), "DeleteObjects body lost keys");

    pugi::xml_document done;
    const std::string cxml = s3::CompleteMultipartBody(parts);
    FUZZ_CHECK(done.load_buffer(cxml.data(), cxml.size(),
                                pugi::parse_default | pugi::parse_ws_pcdata, pugi::encoding_utf8),
               "CompleteMultipartUpload body is not XML");
    i = 0;
    for (pugi::xml_node p : done.child("CompleteMultipartUpload").children("Part")) {
      FUZZ_CHECK(i < parts.size() && parts[i].etag == p.child("ETag").text().as_string() &&
                     parts[i].number == p.child("PartNumber").text().as_int(),
                 "CompleteMultipartUpload body changed part %zu", i);
      ++i;
    }
    FUZZ_CHECK(i == parts.size(), "CompleteMultipartUpload body lost parts");
  }
  return 0;
}
