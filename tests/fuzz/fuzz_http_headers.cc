// fuzz_http_headers — the answer headers walferry reads from the network:
// http::ParseHeaderLine (every header line libcurl hands over) and the S3
// values taken from them (Content-Length, Content-Range, Last-Modified, ETag).
// Invariants: the status is 0 or 100..599; header names are lowercase with no
// ':'; a Content-Length that parses prints back to the same number; a
// Content-Range that parses has first <= last < total and prints back to
// itself; nothing crashes on any line.
#include <cctype>

#include "fuzz_util.h"
#include "storage/http/http_client.h"
#include "storage/s3/s3_headers.h"
#include "storage/s3/s3_xml.h"

using namespace walferry;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = fuzz::AsText(data, size);
  http::Response r;
  size_t pos = 0;
  while (pos <= input.size()) {
    size_t nl = input.find('\n', pos);
    if (nl == std::string_view::npos) nl = input.size();
    http::ParseHeaderLine(input.substr(pos, nl - pos + (nl < input.size() ? 1 : 0)), &r);
    pos = nl + 1;
    FUZZ_CHECK(r.status == 0 || (r.status >= 100 && r.status <= 599), "status %ld", r.status);
  }
  for (const auto& [name, value] : r.headers) {
    FUZZ_CHECK(!name.empty() && name.find(':') == std::string::npos, "header name '%s'",
               name.c_str());
    for (unsigned char c : name)
      FUZZ_CHECK(!std::isupper(c), "header name '%s' not lowercase", name.c_str());
    FUZZ_CHECK(
        value.empty() || (value.front() != ' ' && value.back() != '\r' && value.back() != '\n'),
        "header value not trimmed");
  }

  std::vector<std::string_view> values = {input};
  for (const auto& [name, value] : r.headers) values.push_back(value);
  for (std::string_view v : values) {
    if (auto n = s3::ParseContentLength(v)) {
      FUZZ_CHECK(s3::ParseContentLength(std::to_string(*n)) == *n, "content-length round trip");
    }
    if (auto cr = s3::ParseContentRange(v)) {
      FUZZ_CHECK(cr->first <= cr->last, "content-range first > last");
      if (cr->total) FUZZ_CHECK(cr->last < *cr->total, "content-range past its total");
      std::string back = "bytes " + std::to_string(cr->first) + "-" + std::to_string(cr->last) +
                         "/" + (cr->total ? std::to_string(*cr->total) : "*");
      auto again = s3::ParseContentRange(back);
      FUZZ_CHECK(again && again->first == cr->first && again->last == cr->last &&
                     again->total == cr->total,
                 "content-range round trip");
    }
    (void)s3::ParseHttpDate(std::string(v));
  }
  return 0;
}
