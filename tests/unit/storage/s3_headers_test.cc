// The S3 answer headers, parsed strictly (s3_headers.h, http::ParseHeaderLine),
// and ranged GETs checked against the answer's status and Content-Range.
#include "storage/s3/s3_headers.h"

#include <gtest/gtest.h>

#include "storage/http/http_client.h"
#include "storage/s3/s3_xml.h"
#include "support/fake_s3_server.h"
#include "walferry/storage.h"

namespace walferry {
namespace {

using testing::FakeRequest;
using testing::FakeResponse;
using testing::FakeS3Server;

TEST(S3Headers, ContentLengthIsDigitsThatFit64Bits) {
  EXPECT_EQ(s3::ParseContentLength("16777216"), 16777216u);
  EXPECT_EQ(s3::ParseContentLength(" 0 "), 0u);
  EXPECT_EQ(s3::ParseContentLength("18446744073709551615"), UINT64_MAX);
  // strtoull took all of these (a negative length wrapped to 2^64 - 1).
  for (const char* bad :
       {"", " ", "-1", "+5", "1e3", "12 34", "0x10", "18446744073709551616", "abc"}) {
    EXPECT_FALSE(s3::ParseContentLength(bad).has_value()) << "'" << bad << "'";
  }
}

TEST(S3Headers, ContentRange) {
  auto r = s3::ParseContentRange("bytes 0-4095/16777216");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->first, 0u);
  EXPECT_EQ(r->last, 4095u);
  EXPECT_EQ(r->total, 16777216u);
  r = s3::ParseContentRange("bytes 10-19/*");
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->total.has_value());
  for (const char* bad : {"", "bytes", "bytes 5-4/10", "bytes 0-10/10", "bytes -1-2/3", "bytes 0-1",
                          "items 0-1/2", "bytes 0-1/x", "bytes */10", "bytes 0--1/2"}) {
    EXPECT_FALSE(s3::ParseContentRange(bad).has_value()) << "'" << bad << "'";
  }
}

TEST(HttpHeaderLine, StatusLinesAndHeaders) {
  http::Response r;
  http::ParseHeaderLine("HTTP/1.1 100 Continue\r\n", &r);
  EXPECT_EQ(r.status, 100);
  http::ParseHeaderLine("X-Old: 1\r\n", &r);
  http::ParseHeaderLine("HTTP/1.1 206 Partial Content\r\n", &r);
  EXPECT_EQ(r.status, 206);
  EXPECT_TRUE(r.headers.empty()) << "a new status line starts a new answer";
  http::ParseHeaderLine("ETag:   \"abc\" \r\n", &r);
  http::ParseHeaderLine("Content-Range: bytes 0-1/2\r\n", &r);
  http::ParseHeaderLine(": no name\r\n", &r);
  http::ParseHeaderLine("no colon\r\n", &r);
  EXPECT_EQ(r.Header("etag"), "\"abc\"");
  EXPECT_EQ(r.Header("content-range"), "bytes 0-1/2");
  EXPECT_EQ(r.headers.size(), 2u);
  for (const char* bad :
       {"HTTP/1.1 2000 X", "HTTP/1.1 99 X", "HTTP/1.1 abc", "HTTP/1.1", "HTTP/2 600"}) {
    http::Response b;
    b.status = 200;
    http::ParseHeaderLine(bad, &b);
    EXPECT_EQ(b.status, 0) << bad;
  }
  http::Response two;
  http::ParseHeaderLine("HTTP/2 204", &two);
  EXPECT_EQ(two.status, 204);
}

// Found by tests/fuzz/fuzz_s3_xml: pugixml dropped text made only of blanks,
// so a listing holding the key " " failed as "entry (no key)".
TEST(S3Xml, Iso8601TimesHonourTheirZone) {
  const int64_t utc = s3::ParseIso8601("2026-12-02T07:00:00Z");
  EXPECT_EQ(utc, 1796194800);
  EXPECT_EQ(s3::ParseIso8601("2026-12-02T07:00:00.123Z"), utc);
  EXPECT_EQ(s3::ParseIso8601("2026-12-02T07:00:00"), utc);
  EXPECT_EQ(s3::ParseIso8601("2026-12-02T08:00:00+01:00"), utc);
  EXPECT_EQ(s3::ParseIso8601("2026-12-02T01:30:00-0530"), utc);
  EXPECT_EQ(s3::ParseIso8601("2026-12-02T07:00:00.5+00:00"), utc);
  EXPECT_EQ(s3::ParseIso8601("2026-12-02T07:00:00Zjunk"), 0);
  EXPECT_EQ(s3::ParseIso8601("2026-12-02T07:00:00+1"), 0);
  EXPECT_EQ(s3::ParseIso8601("2026-12-02T07:00:00."), 0);
  EXPECT_EQ(s3::ParseIso8601("yesterday"), 0);
}

TEST(S3Xml, BlankKeysAreKeys) {
  auto page = s3::ParseListObjectsV2(
      "<ListBucketResult>\n <Contents><Key> </Key><Size>1</Size></Contents>\n"
      " <Contents><Key>a b </Key></Contents>\n "
      "<IsTruncated>false</IsTruncated>\n</ListBucketResult>");
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, " ");
  EXPECT_EQ(page->objects[0].size, 1u);
  EXPECT_EQ(page->objects[1].key, "a b ");
  EXPECT_FALSE(page->truncated);
  auto errors = s3::ParseDeleteResult(
      "<DeleteResult><Error><Key>  </Key><Code>AccessDenied</Code></Error></DeleteResult>");
  ASSERT_TRUE(errors.ok());
  ASSERT_EQ(errors->size(), 1u);
  EXPECT_EQ((*errors)[0].key, "  ");
  EXPECT_EQ(s3::ParseError("<Error>\n  <Code>SlowDown</Code>\n</Error>").code, "SlowDown");
}

S3Config FakeConfig(const FakeS3Server& server) {
  S3Config c;
  c.endpoint = server.Endpoint();
  c.bucket = "bkt";
  c.uri_style = "path";
  c.access_key_id = "AKIDEXAMPLE";
  c.secret_access_key = "fake-secret-never-shown";
  c.retry.max_attempts = 2;
  c.retry.max_seconds = 10;
  c.retry.base_delay_seconds = 0.01;
  c.retry.max_delay_seconds = 0.02;
  c.connect_timeout_seconds = 2;
  c.stall_timeout_seconds = 2;
  return c;
}

std::string Object() {
  std::string o(10000, '\0');
  for (size_t i = 0; i < o.size(); ++i) o[i] = static_cast<char>('a' + i % 26);
  return o;
}

Result<std::string> RangedGet(FakeS3Server::Handler handler, ByteRange range) {
  FakeS3Server server(std::move(handler));
  auto s = OpenS3Storage(FakeConfig(server));
  EXPECT_TRUE(s.ok());
  return GetString(**s, "wal/x", range);
}

TEST(S3RangedGet, AServerThatIgnoresRangeIsRefusedPastOffsetZero) {
  // Before: the whole object was delivered as if it were bytes 100..149.
  auto got = RangedGet(
      [](const FakeRequest&, int) {
        FakeResponse r;
        r.body = Object();
        return r;
      },
      ByteRange{100, 50});
  EXPECT_EQ(got.status().code(), Status::Code::kInvalidArgument) << got.status().ToString();
  EXPECT_NE(got.status().message().find("ignored the Range header"), std::string::npos);
}

TEST(S3RangedGet, AWholeObjectAnswerToARangeFromZeroIsCutToTheRange) {
  // Before: all 10000 bytes were delivered for bytes=0-4095.
  auto got = RangedGet(
      [](const FakeRequest&, int) {
        FakeResponse r;
        r.body = Object();
        return r;
      },
      ByteRange{0, 4096});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, Object().substr(0, 4096));
}

TEST(S3RangedGet, AContentRangeForOtherBytesIsRefused) {
  auto got = RangedGet(
      [](const FakeRequest&, int) {
        FakeResponse r;
        r.status = 206;
        r.headers.emplace_back("Content-Range", "bytes 0-49/10000");
        r.body = Object().substr(0, 50);
        return r;
      },
      ByteRange{100, 50});
  EXPECT_EQ(got.status().code(), Status::Code::kInvalidArgument) << got.status().ToString();
  EXPECT_NE(got.status().message().find("bytes 0-49/10000"), std::string::npos);
}

TEST(S3RangedGet, AMatchingContentRangeIsAccepted) {
  std::string range_header;
  auto got = RangedGet(
      [&](const FakeRequest& q, int) {
        range_header = q.Header("range");
        FakeResponse r;
        r.status = 206;
        r.headers.emplace_back("Content-Range", "bytes 100-149/10000");
        r.body = Object().substr(100, 50);
        return r;
      },
      ByteRange{100, 50});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, Object().substr(100, 50));
  EXPECT_EQ(range_header, "bytes=100-149");
  // A short object: the answer ends at its last byte.
  got = RangedGet(
      [](const FakeRequest&, int) {
        FakeResponse r;
        r.status = 206;
        r.headers.emplace_back("Content-Range", "bytes 0-9999/10000");
        r.body = Object();
        return r;
      },
      ByteRange{0, 20000});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->size(), 10000u);
}

}  // namespace
}  // namespace walferry
