// s3_xml.h — the S3 XML documents walferry reads and writes, on pugixml.
// A malformed answer is kInvalidArgument naming the document, never a crash.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include "walferry/status.h"
#include "walferry/storage.h"

namespace walferry::s3 {

struct ErrorDoc {
  std::string code;  // "NoSuchKey", "SlowDown", ... ; empty if the body had none
  std::string message;
  std::string request_id;
};
// Reads <Error><Code>..</Code>..</Error>; an empty or non-XML body gives empty fields.
ErrorDoc ParseError(const std::string& body);
// True when the body is an <Error> document (S3 can answer 200 with one to
// CompleteMultipartUpload).
bool IsErrorDocument(const std::string& body);

struct ListPage {
  std::vector<ObjectInfo> objects;  // keys as stored (with the repository prefix)
  bool truncated = false;
  std::string next_token;
};
Result<ListPage> ParseListObjectsV2(const std::string& body);

Result<std::string> ParseUploadId(const std::string& body);

struct PartTag {
  int number;
  std::string etag;  // as the server returned it, quotes included
};
std::string CompleteMultipartBody(const std::vector<PartTag>& parts);

std::string DeleteObjectsBody(const std::vector<std::string>& keys);
struct DeleteError {
  std::string key, code, message;
};
Result<std::vector<DeleteError>> ParseDeleteResult(const std::string& body);

// "2013-05-24T00:00:00.000Z" (fraction optional; Z, +hh:mm, -hhmm or no zone = UTC)
// → seconds since the epoch (0 if unparsable, or anything follows).
int64_t ParseIso8601(const std::string& s);
// "Fri, 24 May 2013 00:00:00 GMT" → seconds since the epoch (0 if unparsable).
int64_t ParseHttpDate(const std::string& s);

}  // namespace walferry::s3
