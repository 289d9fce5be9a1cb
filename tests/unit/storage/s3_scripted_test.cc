// S3 client behaviour against a scripted server: the cases a real server will
// not produce on demand (5xx, SlowDown, resets, truncated bodies, 501 to
// conditional PUT, a 200 carrying an error), and the bytes on the wire.
#include <gtest/gtest.h>

#include <chrono>

#include "common/crypto.h"
#include "support/fake_s3_server.h"
#include "walferry/storage.h"

namespace walferry {
namespace {

using testing::FakeRequest;
using testing::FakeResponse;
using testing::FakeS3Server;

S3Config FakeConfig(const FakeS3Server& server) {
  S3Config c;
  c.endpoint = server.Endpoint();
  c.bucket = "bkt";
  c.prefix = "pre";
  c.uri_style = "path";
  c.access_key_id = "AKIDEXAMPLE";
  c.secret_access_key = "fake-secret-never-shown";
  c.retry.max_attempts = 5;
  c.retry.max_seconds = 10;
  c.retry.base_delay_seconds = 0.01;
  c.retry.max_delay_seconds = 0.05;
  c.connect_timeout_seconds = 2;
  c.stall_timeout_seconds = 2;
  return c;
}

std::unique_ptr<Storage> Open(const S3Config& c) {
  auto s = OpenS3Storage(c);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return std::move(s.value());
}

FakeResponse OkPut(const FakeRequest& r) {
  FakeResponse ok;
  ok.headers.emplace_back("ETag", "\"" + crypto::Hex(crypto::Md5(r.body)) + "\"");
  return ok;
}

TEST(S3Scripted, PutCarriesVerifiableChecksumsAndRetriesSlowDownAnd5xx) {
  FakeS3Server server([](const FakeRequest& r, int i) {
    if (i == 0) return FakeResponse::Error(503, "SlowDown");
    if (i == 1) return FakeResponse::Error(500, "InternalError");
    return OkPut(r);
  });
  auto s = Open(FakeConfig(server));
  const std::string body = "segment bytes \x00\x01 end";
  auto r = PutString(*s, "wal/000000010000000000000001", body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto reqs = server.Requests();
  ASSERT_EQ(reqs.size(), 3u);
  for (const auto& q : reqs) {
    EXPECT_EQ(q.method, "PUT");
    EXPECT_EQ(q.target, "/bkt/pre/wal/000000010000000000000001");
    EXPECT_EQ(q.body, body);
    EXPECT_EQ(q.Header("content-md5"), crypto::Base64(crypto::Md5(body)));
    EXPECT_EQ(q.Header("x-amz-content-sha256"), crypto::Sha256Hex(body))
        << "payload hash is signed, not UNSIGNED-PAYLOAD";
    EXPECT_NE(q.Header("authorization")
                  .find("SignedHeaders=content-md5;host;x-amz-content-sha256;x-amz-date"),
              std::string::npos)
        << q.Header("authorization");
    EXPECT_EQ(q.Header("transfer-encoding"), "");
    EXPECT_EQ(q.Header("content-length"), std::to_string(body.size()));
  }
}

TEST(S3Scripted, AuthenticationErrorsAreNotRetried) {
  for (const char* code : {"SignatureDoesNotMatch", "InvalidAccessKeyId", "ExpiredToken"}) {
    FakeS3Server server([&](const FakeRequest&, int) { return FakeResponse::Error(403, code); });
    auto r = PutString(*Open(FakeConfig(server)), "k", "v");
    EXPECT_EQ(r.status().code(), Status::Code::kAuth) << code;
    EXPECT_EQ(server.Requests().size(), 1u) << code;
    EXPECT_NE(r.status().message().find(code), std::string::npos) << "the S3 error code is named";
    EXPECT_NE(r.status().message().find("http 403"), std::string::npos);
    EXPECT_NE(r.status().message().find("'k'"), std::string::npos) << "the key is named";
    EXPECT_EQ(r.status().ToString().find("fake-secret-never-shown"), std::string::npos);
  }
}

TEST(S3Scripted, AccessDeniedIsPermissionAndBadRequestIsFinal) {
  FakeS3Server denied(
      [](const FakeRequest&, int) { return FakeResponse::Error(403, "AccessDenied"); });
  EXPECT_EQ(PutString(*Open(FakeConfig(denied)), "k", "v").status().code(),
            Status::Code::kPermission);
  EXPECT_EQ(denied.Requests().size(), 1u);
  FakeS3Server bad(
      [](const FakeRequest&, int) { return FakeResponse::Error(400, "InvalidArgument"); });
  EXPECT_EQ(PutString(*Open(FakeConfig(bad)), "k", "v").status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(bad.Requests().size(), 1u);
}

TEST(S3Scripted, ConnectionDroppedWithoutAnswerIsRetried) {
  FakeS3Server server([](const FakeRequest& r, int i) {
    FakeResponse drop;
    drop.drop = true;
    return i == 0 ? drop : OkPut(r);
  });
  auto r = PutString(*Open(FakeConfig(server)), "k", "v");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(server.Requests().size(), 2u);
}

TEST(S3Scripted, RetriesAreBoundedInCountAndTime) {
  FakeS3Server server([](const FakeRequest&, int) { return FakeResponse::Error(503, "SlowDown"); });
  S3Config c = FakeConfig(server);
  c.retry.max_attempts = 4;
  auto r = PutString(*Open(c), "k", "v");
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable);
  EXPECT_TRUE(r.status().Retryable());
  EXPECT_EQ(server.Requests().size(), 4u);

  FakeS3Server slow(
      [](const FakeRequest&, int) { return FakeResponse::Error(500, "InternalError"); });
  c = FakeConfig(slow);
  c.retry.max_attempts = 1000;
  c.retry.max_seconds = 1;
  c.retry.base_delay_seconds = 0.2;
  c.retry.max_delay_seconds = 0.4;
  auto t0 = std::chrono::steady_clock::now();
  r = PutString(*Open(c), "k", "v");
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable);
  EXPECT_LT(secs, 2.0);
  EXPECT_LT(slow.Requests().size(), 1000u);
}

TEST(S3Scripted, EtagThatIsNotOurMd5IsCorruption) {
  FakeS3Server server([](const FakeRequest&, int) {
    FakeResponse r;
    r.headers.emplace_back("ETag", "\"00000000000000000000000000000000\"");
    return r;
  });
  auto r = PutString(*Open(FakeConfig(server)), "k", "v");
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << r.status().ToString();
}

TEST(S3Scripted, ConditionalPutFallsBackToHeadWhenServerAnswers501) {
  FakeS3Server server([](const FakeRequest& r, int) {
    if (r.method == "PUT" && !r.Header("if-none-match").empty())
      return FakeResponse::Error(501, "NotImplemented");
    if (r.method == "HEAD") {
      FakeResponse missing;
      missing.status = 404;
      return missing;
    }
    return OkPut(r);
  });
  auto s = Open(FakeConfig(server));
  PutOptions absent;
  absent.if_absent = true;
  ASSERT_TRUE(PutString(*s, "h/00000002.history", "tli", absent).ok());
  ASSERT_TRUE(PutString(*s, "h/00000003.history", "tli", absent).ok());
  auto reqs = server.Requests();
  // First call: conditional PUT (501), HEAD, plain PUT. Second: remembered, HEAD + plain PUT.
  ASSERT_EQ(reqs.size(), 5u);
  EXPECT_EQ(reqs[0].Header("if-none-match"), "*");
  EXPECT_EQ(reqs[1].method, "HEAD");
  EXPECT_EQ(reqs[2].method, "PUT");
  EXPECT_EQ(reqs[2].Header("if-none-match"), "");
  EXPECT_EQ(reqs[3].method, "HEAD");
  EXPECT_EQ(reqs[4].Header("if-none-match"), "");
}

TEST(S3Scripted, ConditionalPutOnExistingObjectIsAlreadyExists) {
  FakeS3Server server(
      [](const FakeRequest&, int) { return FakeResponse::Error(412, "PreconditionFailed"); });
  PutOptions absent;
  absent.if_absent = true;
  auto r = PutString(*Open(FakeConfig(server)), "k", "v", absent);
  EXPECT_TRUE(r.status().IsAlreadyExists()) << r.status().ToString();
  EXPECT_EQ(server.Requests().size(), 1u);
}

TEST(S3Scripted, TruncatedGetResumesFromLastByteOfTheSameVersion) {
  std::string object(100000, '\0');
  for (size_t i = 0; i < object.size(); ++i) object[i] = static_cast<char>(i * 7);
  FakeS3Server server([&](const FakeRequest& r, int i) {
    FakeResponse resp;
    resp.headers.emplace_back("ETag", "\"v1\"");
    if (i == 0) {
      resp.body = object;
      resp.truncate_body_at = 40000;
      return resp;
    }
    // "bytes=N-"
    size_t from = std::stoul(r.Header("range").substr(6));
    resp.status = 206;
    resp.body = object.substr(from);
    return resp;
  });
  auto got = GetString(*Open(FakeConfig(server)), "wal/x");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, object);
  auto reqs = server.Requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].Header("range"), "");
  EXPECT_EQ(reqs[1].Header("range"), "bytes=40000-");
  EXPECT_EQ(reqs[1].Header("if-match"), "\"v1\"");
}

TEST(S3Scripted, ObjectReplacedDuringGetIsNotMixed) {
  FakeS3Server server([](const FakeRequest&, int i) {
    if (i == 0) {
      FakeResponse resp;
      resp.headers.emplace_back("ETag", "\"v1\"");
      resp.body = std::string(1000, 'a');
      resp.truncate_body_at = 10;
      return resp;
    }
    return FakeResponse::Error(412, "PreconditionFailed");
  });
  StringSink sink;
  Status s = Open(FakeConfig(server))->Get("wal/x", sink);
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("replaced"), std::string::npos);
}

TEST(S3Scripted, NotFoundIsQuietAndNotRetried) {
  FakeS3Server server(
      [](const FakeRequest&, int) { return FakeResponse::Error(404, "NoSuchKey"); });
  StringSink sink;
  Status s = Open(FakeConfig(server))->Get("wal/000000010000000000000099", sink);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_EQ(server.Requests().size(), 1u);
}

TEST(S3Scripted, ListingFollowsContinuationTokensAndStripsPrefix) {
  FakeS3Server server([](const FakeRequest& r, int) {
    FakeResponse resp;
    bool second = r.target.find("continuation-token=tok%2F1") != std::string::npos;
    resp.body = std::string("<ListBucketResult><IsTruncated>") + (second ? "false" : "true") +
                "</IsTruncated>" +
                (second ? "" : "<NextContinuationToken>tok/1</NextContinuationToken>") +
                "<Contents><Key>pre/wal/" + (second ? "b" : "a") +
                "</Key><Size>5</Size><LastModified>2026-11-21T07:38:08.000Z</"
                "LastModified><ETag>\"x\"</ETag></Contents>"
                "</ListBucketResult>";
    return resp;
  });
  auto all = ListAll(*Open(FakeConfig(server)), "wal/");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].key, "wal/a");
  EXPECT_EQ((*all)[1].key, "wal/b");
  EXPECT_EQ((*all)[0].mtime_unix, 1795246688);
  auto reqs = server.Requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].target, "/bkt?list-type=2&max-keys=1000&prefix=pre%2Fwal%2F");
}

TEST(S3Scripted, MalformedAnswersAreClearErrorsNotCrashes) {
  for (std::string body :
       {"", "not xml", "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
        "<Other/>", "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>"}) {
    FakeS3Server server([&](const FakeRequest&, int) {
      FakeResponse resp;
      resp.body = body;
      return resp;
    });
    auto all = ListAll(*Open(FakeConfig(server)), "");
    EXPECT_EQ(all.status().code(), Status::Code::kInvalidArgument) << "body '" << body << "'";
  }
}

TEST(S3Scripted, MultipartUploadVerifiesPartsAndCompletesAfterA200Error) {
  constexpr size_t kSize = 11u << 20;  // 3 parts of 5 MiB, 5 MiB, 1 MiB
  std::string object(kSize, 'x');
  for (size_t i = 0; i < kSize; i += 4096) object[i] = static_cast<char>(i / 4096);
  std::vector<std::string> part_md5s(4);
  int completes = 0;
  FakeS3Server server([&](const FakeRequest& r, int) {
    FakeResponse resp;
    if (r.method == "POST" && r.target.find("uploads") != std::string::npos) {
      resp.body =
          "<InitiateMultipartUploadResult><UploadId>up-1</UploadId></"
          "InitiateMultipartUploadResult>";
    } else if (r.method == "PUT") {
      int n = std::stoi(r.target.substr(r.target.find("partNumber=") + 11));
      part_md5s[n] = crypto::Md5(r.body);
      resp.headers.emplace_back("ETag", "\"" + crypto::Hex(part_md5s[n]) + "\"");
    } else if (r.method == "POST") {
      // The first Complete fails inside a 200 answer, as S3 documents it may.
      if (completes++ == 0) {
        resp.body = "<Error><Code>InternalError</Code><Message>try again</Message></Error>";
      } else {
        resp.body = "<CompleteMultipartUploadResult><ETag></ETag></CompleteMultipartUploadResult>";
      }
    } else if (r.method == "HEAD") {
      resp.body = object;  // HEAD sends only its Content-Length
      resp.headers.emplace_back(
          "ETag",
          "\"" + crypto::Hex(crypto::Md5(part_md5s[1] + part_md5s[2] + part_md5s[3])) + "-3\"");
    } else {
      resp.status = 400;
    }
    return resp;
  });
  S3Config c = FakeConfig(server);
  c.multipart_threshold = 8u << 20;
  c.part_size = 5u << 20;
  auto r = PutString(*Open(c), "base/big", object);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->sha256_hex, crypto::Sha256Hex(object));
  auto reqs = server.Requests();
  ASSERT_EQ(reqs.size(), 7u);  // initiate, 3 parts, complete (error), complete, head
  EXPECT_EQ(reqs[1].body.size(), 5u << 20);
  EXPECT_EQ(reqs[3].body.size(), 1u << 20);
  for (int i = 1; i <= 3; ++i) {
    EXPECT_EQ(reqs[i].Header("content-md5"), crypto::Base64(crypto::Md5(reqs[i].body)));
    EXPECT_EQ(reqs[i].Header("x-amz-content-sha256"), crypto::Sha256Hex(reqs[i].body));
  }
  EXPECT_NE(reqs[4].body.find("<PartNumber>3</PartNumber>"), std::string::npos);
  EXPECT_EQ(reqs[4].Header("content-md5"), crypto::Base64(crypto::Md5(reqs[4].body)));
}

TEST(S3Scripted, FailedMultipartUploadIsAborted) {
  FakeS3Server server([](const FakeRequest& r, int) {
    FakeResponse resp;
    if (r.method == "POST") {
      resp.body =
          "<InitiateMultipartUploadResult><UploadId>up-9</UploadId></"
          "InitiateMultipartUploadResult>";
      return resp;
    }
    if (r.method == "PUT") return FakeResponse::Error(403, "AccessDenied");
    resp.status = 204;  // the abort
    return resp;
  });
  S3Config c = FakeConfig(server);
  c.multipart_threshold = 5u << 20;
  c.part_size = 5u << 20;
  auto r = PutString(*Open(c), "base/big", std::string(6u << 20, 'z'));
  EXPECT_EQ(r.status().code(), Status::Code::kPermission);
  auto reqs = server.Requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[2].method, "DELETE");
  EXPECT_NE(reqs[2].target.find("uploadId=up-9"), std::string::npos);
}

TEST(S3Scripted, DeleteObjectsSendsContentMd5AndReportsPerKeyErrors) {
  FakeS3Server server([](const FakeRequest&, int) {
    FakeResponse resp;
    resp.body =
        "<DeleteResult><Error><Key>pre/b</Key><Code>AccessDenied</Code><Message>no</Message></"
        "Error></DeleteResult>";
    return resp;
  });
  Status s = Open(FakeConfig(server))->RemoveMany({"a", "b"});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("pre/b"), std::string::npos) << s.ToString();
  auto reqs = server.Requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target, "/bkt?delete=");
  EXPECT_EQ(reqs[0].Header("content-md5"), crypto::Base64(crypto::Md5(reqs[0].body)));
  EXPECT_NE(reqs[0].body.find("<Key>pre/a</Key>"), std::string::npos);
}

TEST(S3Scripted, VirtualHostStyleAddressing) {
  FakeS3Server server([](const FakeRequest& r, int) { return OkPut(r); });
  S3Config c = FakeConfig(server);
  c.uri_style = "host";
  c.endpoint = "http://localhost:" + server.Endpoint().substr(server.Endpoint().rfind(':') + 1);
  // curl resolves *.localhost to loopback itself (RFC 6761), so the host style can be tested here.
  auto r = PutString(*Open(c), "k y", "v");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto reqs = server.Requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target, "/pre/k%20y");
  EXPECT_EQ(reqs[0].Header("host").rfind("bkt.localhost:", 0), 0u) << reqs[0].Header("host");
}

}  // namespace
}  // namespace walferry
