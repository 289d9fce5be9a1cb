#include "storage/s3/s3_xml.h"

#include <cctype>
#include <pugixml.hpp>
#include <sstream>

namespace walferry::s3 {
namespace {

// parse_ws_pcdata: text that is only blanks is kept, as any XML reader keeps
// it; without it pugixml reads <Key> </Key> (a valid S3 key) as no key at all.
bool Load(pugi::xml_document& doc, const std::string& body) {
  return doc.load_buffer(body.data(), body.size(), pugi::parse_default | pugi::parse_ws_pcdata,
                         pugi::encoding_utf8);
}

std::string Text(const pugi::xml_node& n, const char* child) {
  return n.child(child).text().as_string();
}

Status Malformed(const char* what, const std::string& body) {
  return Status::InvalidArgument(std::string("malformed ") + what + " from the server: '" +
                                 body.substr(0, 200) + "'");
}

}  // namespace

ErrorDoc ParseError(const std::string& body) {
  ErrorDoc e;
  pugi::xml_document doc;
  if (body.empty() || !Load(doc, body)) return e;
  pugi::xml_node err = doc.child("Error");
  e.code = Text(err, "Code");
  e.message = Text(err, "Message");
  e.request_id = Text(err, "RequestId");
  return e;
}

bool IsErrorDocument(const std::string& body) {
  pugi::xml_document doc;
  return !body.empty() && Load(doc, body) && doc.child("Error");
}

Result<ListPage> ParseListObjectsV2(const std::string& body) {
  pugi::xml_document doc;
  if (!Load(doc, body)) return Malformed("ListObjectsV2 answer", body);
  pugi::xml_node root = doc.child("ListBucketResult");
  if (!root) return Malformed("ListObjectsV2 answer", body);
  ListPage page;
  for (pugi::xml_node c : root.children("Contents")) {
    ObjectInfo info;
    info.key = Text(c, "Key");
    if (info.key.empty()) return Malformed("ListObjectsV2 entry (no key)", body);
    info.size = c.child("Size").text().as_ullong();
    info.mtime_unix = ParseIso8601(Text(c, "LastModified"));
    info.etag = Text(c, "ETag");
    page.objects.push_back(std::move(info));
  }
  page.truncated = std::string(Text(root, "IsTruncated")) == "true";
  page.next_token = Text(root, "NextContinuationToken");
  return page;
}

Result<std::string> ParseUploadId(const std::string& body) {
  pugi::xml_document doc;
  if (!Load(doc, body)) return Malformed("CreateMultipartUpload answer", body);
  std::string id = Text(doc.child("InitiateMultipartUploadResult"), "UploadId");
  if (id.empty()) return Malformed("CreateMultipartUpload answer (no UploadId)", body);
  return id;
}

namespace {
std::string Serialize(const pugi::xml_document& doc) {
  std::ostringstream out;
  doc.save(out, "", pugi::format_raw | pugi::format_no_declaration);
  return out.str();
}
}  // namespace

std::string CompleteMultipartBody(const std::vector<PartTag>& parts) {
  pugi::xml_document doc;
  pugi::xml_node root = doc.append_child("CompleteMultipartUpload");
  for (const auto& p : parts) {
    pugi::xml_node part = root.append_child("Part");
    part.append_child("PartNumber").text().set(p.number);
    part.append_child("ETag").text().set(p.etag.c_str());
  }
  return Serialize(doc);
}

std::string DeleteObjectsBody(const std::vector<std::string>& keys) {
  pugi::xml_document doc;
  pugi::xml_node root = doc.append_child("Delete");
  root.append_child("Quiet").text().set("true");
  for (const auto& k : keys) root.append_child("Object").append_child("Key").text().set(k.c_str());
  return Serialize(doc);
}

Result<std::vector<DeleteError>> ParseDeleteResult(const std::string& body) {
  pugi::xml_document doc;
  if (!Load(doc, body) || !doc.child("DeleteResult"))
    return Malformed("DeleteObjects answer", body);
  std::vector<DeleteError> errors;
  for (pugi::xml_node e : doc.child("DeleteResult").children("Error")) {
    errors.push_back({Text(e, "Key"), Text(e, "Code"), Text(e, "Message")});
  }
  return errors;
}

int64_t ParseIso8601(const std::string& s) {
  std::tm tm{};
  const char* p = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (p == nullptr) return 0;
  if (*p == '.') {  // fractional seconds: ignored
    ++p;
    if (!std::isdigit(static_cast<unsigned char>(*p))) return 0;
    while (std::isdigit(static_cast<unsigned char>(*p))) ++p;
  }
  int64_t offset = 0;  // seconds east of UTC; no zone at all reads as UTC
  if (*p == 'Z' || *p == 'z') {
    ++p;
  } else if (*p == '+' || *p == '-') {
    int sign = *p == '-' ? -1 : 1;
    ++p;
    auto two = [&](int& v) {
      if (!std::isdigit(static_cast<unsigned char>(p[0])) ||
          !std::isdigit(static_cast<unsigned char>(p[1])))
        return false;
      v = (p[0] - '0') * 10 + (p[1] - '0');
      p += 2;
      return true;
    };
    int hours = 0, minutes = 0;
    if (!two(hours)) return 0;
    if (*p == ':') ++p;
    if (!two(minutes) || hours > 23 || minutes > 59) return 0;
    offset = sign * (hours * 3600 + minutes * 60);
  }
  if (*p != '\0') return 0;
  return static_cast<int64_t>(timegm(&tm)) - offset;
}

int64_t ParseHttpDate(const std::string& s) {
  std::tm tm{};
  if (strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S", &tm) == nullptr) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace walferry::s3
