// s3_storage.cc — the s3:// backend: any S3-compatible store, over the S3 REST API.
//
// Integrity: every request with a body carries Content-MD5 and a SigV4
// signature over the payload's SHA-256, so the server refuses bytes that
// changed on the way (BadDigest / XAmzContentSHA256Mismatch). After a PUT the
// ETag is compared with our MD5 (where the ETag is an MD5, i.e. without KMS),
// and after a multipart upload a HEAD checks size and the multipart ETag.
//
// Retries: one request at a time is retried (a multipart part alone), with
// exponential backoff and full jitter, bounded by RetryPolicy in count and
// time, on network errors, timeouts, 5xx, 429/SlowDown and RequestTimeout;
// never on authentication, permission or request errors.
//
// Credentials: a CredentialsProvider (credentials.h) shared by every thread
// of the Storage gives the credentials of each attempt; an attempt signs
// with one set from start to end. An answer saying the credentials expired
// (ExpiredToken, InvalidToken, ..., or a 403 once temporary credentials are
// past their expiration) makes the provider fetch new ones, and the request
// is sent again once at once, not counted as an attempt.
//
// Conditional create: If-None-Match: * on PUT. A store that answers 501 to it
// is remembered (per Storage object) and then a HEAD before the PUT stands in.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "common/crypto.h"
#include "common/log.h"
#include "storage/http/http_client.h"
#include "storage/s3/credentials.h"
#include "storage/s3/s3_headers.h"
#include "storage/s3/s3_xml.h"
#include "storage/s3/sigv4.h"
#include "walferry/storage.h"

namespace walferry {
namespace {

using s3::Params;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kMinPartSize = 5ull << 20;
constexpr int kMaxParts = 10000;
constexpr size_t kDeleteBatch = 1000;
constexpr int kMaxListPages = 1000000;  // bounds a listing loop against a broken server

struct S3Request {
  std::string method;
  std::string key;  // full object key (with repository prefix); "" = the bucket
  Params query;
  Params headers;  // extra headers, all signed
  std::string_view body;
  // Digests of body, computed once per body (not per attempt) by WithDigests.
  std::string body_sha256_hex = {};
  std::string body_md5 = {};  // raw
};

S3Request WithDigests(S3Request r) {
  if (r.body_sha256_hex.empty()) r.body_sha256_hex = crypto::Sha256Hex(r.body);
  if (r.body_md5.empty() && (r.method == "PUT" || r.method == "POST"))
    r.body_md5 = crypto::Md5(r.body);
  return r;
}

// The outcome of one attempt, classified.
struct Attempt {  // NOLINT
  Status status;
  bool retry = false;
  bool expired = false;  // the credentials were refused as expired: refresh, send again
};

class S3Storage final : public Storage {
 public:
  S3Storage(S3Config cfg, std::shared_ptr<s3::CredentialsProvider> creds)
      : cfg_(std::move(cfg)),
        creds_(std::move(creds)),
        client_(http::ClientOptions{cfg_.ca_file, cfg_.verify_tls, cfg_.connect_timeout_seconds,
                                    cfg_.stall_timeout_seconds}) {
    std::string endpoint =
        cfg_.endpoint.empty() ? "https://s3." + cfg_.region + ".amazonaws.com" : cfg_.endpoint;
    auto sep = endpoint.find("://");
    scheme_ = endpoint.substr(0, sep);
    host_ = endpoint.substr(sep + 3);
    while (!host_.empty() && host_.back() == '/') host_.pop_back();
    path_style_ = cfg_.uri_style == "path";
    if (!path_style_ && IsIpAddress(host_)) {
      // "bucket.127.0.0.1" can never resolve: an IP endpoint means path style.
      log::Debug("s3-endpoint " + endpoint + " is an IP address: using path-style addressing");
      path_style_ = true;
    }
    if (!path_style_) host_ = cfg_.bucket + "." + host_;
  }

  std::string Describe() const override {
    return "s3://" + cfg_.bucket + (cfg_.prefix.empty() ? "" : "/" + cfg_.prefix);
  }

  Result<PutResult> Put(const std::string& key, ByteSource& body,
                        const PutOptions& options) override {
    WF_RETURN_IF_ERROR(ValidateKey(key));
    const std::string op = "put '" + key + "' in " + Describe();
    WF_RETURN_IF_ERROR(body.Rewind().Annotate(op));
    std::optional<uint64_t> size = body.Size();
    if (options.size && size && *options.size != *size) {
      return Status::Corruption(op + ": body has " + std::to_string(*size) + " bytes, expected " +
                                std::to_string(*options.size));
    }
    if (auto whole = body.Contiguous(); whole && whole->size() <= cfg_.multipart_threshold) {
      return PutSingle(key, *whole, options, op);  // already in memory: no copy
    }
    // Known small bodies go in one PUT. Otherwise read one part's worth: if the
    // body ends within it, still one PUT; if not, multipart.
    uint64_t first = size && *size <= cfg_.multipart_threshold ? *size : PartSize(size);
    std::string buf;
    auto n = ReadUpTo(body, first, &buf);
    if (!n.ok()) return n.status().Annotate(op + ": read body");
    char probe;
    bool more = false;
    if (buf.size() == first) {
      auto p = body.Read(&probe, 1);
      if (!p.ok()) return p.status().Annotate(op + ": read body");
      more = *p == 1;
    }
    if (!more) return PutSingle(key, buf, options, op);
    return PutMultipart(key, body, std::move(buf), probe, size, options, op);
  }

  Status Get(const std::string& key, ByteSink& sink, std::optional<ByteRange> range) override {
    WF_RETURN_IF_ERROR(ValidateGet(key, range));
    const std::string op = "get '" + key + "' from " + Describe();
    uint64_t delivered = 0;
    std::string etag;
    // What the current attempt asked for: a Range from `asked_from` (when
    // `ranged`), checked against the answer before its first byte is used.
    bool ranged = false, checked = false;
    uint64_t asked_from = 0;
    http::BodySink body_sink = [&](const http::Response& head, const char* data, size_t n) {
      if (!checked) {
        checked = true;
        WF_RETURN_IF_ERROR(CheckRangeAnswer(head, ranged, asked_from, range, op));
      }
      if (etag.empty()) etag = head.Header("etag");
      // A 200 to "bytes=0-N" is the whole object: keep only what was asked.
      if (range && range->length) {
        if (delivered >= *range->length) return Status::Ok();
        n = static_cast<size_t>(std::min<uint64_t>(n, *range->length - delivered));
      }
      Status s = sink.Write(data, n);
      if (s.ok()) delivered += n;
      return s;
    };
    auto result = Execute(
        op,
        [&](int attempt) -> Result<std::optional<S3Request>> {
          S3Request req{"GET", FullKey(key), {}, {}, {}};
          checked = false;
          ranged = range || delivered > 0;
          // A retry resumes after the last delivered byte, of the same version only.
          if (ranged) {
            asked_from = (range ? range->offset : 0) + delivered;
            std::string spec = "bytes=" + std::to_string(asked_from) + "-";
            if (range && range->length) {
              if (delivered >= *range->length) return std::optional<S3Request>();  // all there
              spec += std::to_string(range->offset + *range->length - 1);
            }
            req.headers.emplace_back("Range", spec);
          }
          if (attempt > 0 && !etag.empty()) req.headers.emplace_back("If-Match", etag);
          return std::optional<S3Request>(req);
        },
        &body_sink);
    if (!result.ok()) {
      if (result.status().code() == Status::Code::kAlreadyExists) {  // If-Match failed
        return Status::Unavailable(op + ": the object was replaced while it was being read");
      }
      return result.status();
    }
    return Status::Ok();
  }

  Result<ObjectInfo> Head(const std::string& key) override {
    WF_RETURN_IF_ERROR(ValidateKey(key));
    const std::string op = "head '" + key + "' in " + Describe();
    auto r = Execute(op, S3Request{"HEAD", FullKey(key), {}, {}, {}});
    if (!r.ok()) return r.status();
    ObjectInfo info;
    info.key = key;
    auto size = s3::ParseContentLength(r->Header("content-length"));
    if (!size) {
      return Status::InvalidArgument(op + ": the server's answer has no valid Content-Length ('" +
                                     r->Header("content-length").substr(0, 40) + "')");
    }
    info.size = *size;
    info.mtime_unix = s3::ParseHttpDate(r->Header("last-modified"));
    info.etag = r->Header("etag");
    return info;
  }

  Status List(const std::string& prefix,
              const std::function<Status(const ObjectInfo&)>& visit) override {
    const std::string op = "list '" + prefix + "' in " + Describe();
    const std::string full_prefix = cfg_.prefix.empty() ? prefix : cfg_.prefix + "/" + prefix;
    const size_t strip = cfg_.prefix.empty() ? 0 : cfg_.prefix.size() + 1;
    std::string token;
    for (int page_no = 0; page_no < kMaxListPages; ++page_no) {
      Params query = {{"list-type", "2"}, {"prefix", full_prefix}, {"max-keys", "1000"}};
      if (!token.empty()) query.emplace_back("continuation-token", token);
      auto r = Execute(op, S3Request{"GET", "", query, {}, {}});
      if (!r.ok()) return r.status();
      auto page = s3::ParseListObjectsV2(r->body);
      if (!page.ok()) return page.status().Annotate(op);
      for (auto& info : page->objects) {
        if (info.key.size() < strip) continue;
        info.key = info.key.substr(strip);
        WF_RETURN_IF_ERROR(visit(info));
      }
      if (!page->truncated) return Status::Ok();
      if (page->next_token.empty() || page->next_token == token) {
        return Status::InvalidArgument(
            op + ": server said the listing is truncated but gave no new continuation token");
      }
      token = page->next_token;
    }
    return Status::Unavailable(op + ": more than " + std::to_string(kMaxListPages) + " pages");
  }

  Status Remove(const std::string& key) override {
    WF_RETURN_IF_ERROR(ValidateKey(key));
    const std::string op = "remove '" + key + "' from " + Describe();
    auto r = Execute(op, S3Request{"DELETE", FullKey(key), {}, {}, {}});
    if (!r.ok() && !r.status().IsNotFound()) return r.status();
    return Status::Ok();
  }

  Status RemoveMany(const std::vector<std::string>& keys) override {
    for (const auto& k : keys) WF_RETURN_IF_ERROR(ValidateKey(k));
    for (size_t i = 0; i < keys.size(); i += kDeleteBatch) {
      std::vector<std::string> batch;
      for (size_t j = i; j < std::min(keys.size(), i + kDeleteBatch); ++j)
        batch.push_back(FullKey(keys[j]));
      const std::string op =
          "remove " + std::to_string(batch.size()) + " objects from " + Describe();
      const std::string body = s3::DeleteObjectsBody(batch);
      auto r = Execute(op, S3Request{"POST", "", {{"delete", ""}}, {}, body});
      if (!r.ok()) return r.status();
      auto errors = s3::ParseDeleteResult(r->body);
      if (!errors.ok()) return errors.status().Annotate(op);
      for (const auto& e : *errors) {
        if (e.code == "NoSuchKey") continue;
        return Status::Unavailable(op + ": '" + e.key + "': " + e.code + " " + e.message);
      }
    }
    return Status::Ok();
  }

 private:
  // ---- single and multipart PUT -------------------------------------------

  Result<PutResult> PutSingle(const std::string& key, std::string_view data,
                              const PutOptions& options, const std::string& op) {
    PutResult result{data.size(), crypto::Sha256Hex(data)};
    WF_RETURN_IF_ERROR(CheckPutExpectations(result, options, op));
    if (options.if_absent && if_none_match_ == kUnsupported)
      WF_RETURN_IF_ERROR(CheckAbsent(key, op));
    const std::string md5 = crypto::Md5(data);
    for (;;) {
      bool conditional = options.if_absent && if_none_match_ != kUnsupported;
      auto r = Execute(op, [&](int) -> Result<std::optional<S3Request>> {
        S3Request req{"PUT", FullKey(key), {}, ObjectHeaders(), data, result.sha256_hex, md5};
        if (conditional) req.headers.emplace_back("If-None-Match", "*");
        return std::optional<S3Request>(req);
      });
      if (!r.ok() && conditional && r.status().code() == Status::Code::kNotSupported) {
        log::Debug(Describe() +
                   " does not support If-None-Match on PUT: checking before writing instead");
        if_none_match_ = kUnsupported;
        WF_RETURN_IF_ERROR(CheckAbsent(key, op));
        continue;
      }
      if (!r.ok()) return r.status();
      WF_RETURN_IF_ERROR(CheckEtag(r->Header("etag"), crypto::Hex(md5), op));
      return result;
    }
  }

  Result<PutResult> PutMultipart(const std::string& key, ByteSource& body, std::string first,
                                 char next_byte, std::optional<uint64_t> size,
                                 const PutOptions& options, const std::string& op) {
    // Stores without conditional multipart completion (radosgw ignores it)
    // are still checked first, so an existing object is not replaced in the
    // common case; only a racing writer can slip in between.
    if (options.if_absent) WF_RETURN_IF_ERROR(CheckAbsent(key, op));
    const uint64_t part_size = PartSize(size);
    auto init = Execute(op + ": start multipart upload",
                        S3Request{"POST", FullKey(key), {{"uploads", ""}}, ObjectHeaders(), {}});
    if (!init.ok()) return init.status();
    auto upload_id = s3::ParseUploadId(init->body);
    if (!upload_id.ok()) return upload_id.status().Annotate(op);

    auto abort = [&](Status s) -> Result<PutResult> {
      auto a = Execute(op + ": abort multipart upload",
                       S3Request{"DELETE", FullKey(key), {{"uploadId", *upload_id}}, {}, {}});
      if (!a.ok() && !a.status().IsNotFound()) log::Warn(a.status().ToString());
      return s;
    };

    crypto::Digest whole = crypto::Digest::Sha256();
    std::vector<s3::PartTag> parts;
    std::string md5s;  // raw part MD5s, for the expected multipart ETag
    uint64_t total = 0;
    std::string buf = std::move(first);  // a full first part
    std::string carry(1, next_byte);     // the byte read to learn that more follows
    while (!buf.empty()) {
      if (static_cast<int>(parts.size()) >= kMaxParts) {
        return abort(Status::InvalidArgument(op + ": body needs more than 10000 parts")
                         .WithHint("raise s3-part-size"));
      }
      whole.Update(buf);
      total += buf.size();
      const int number = static_cast<int>(parts.size()) + 1;
      const std::string md5 = crypto::Md5(buf);
      auto r = Execute(op + ": part " + std::to_string(number),
                       S3Request{"PUT",
                                 FullKey(key),
                                 {{"partNumber", std::to_string(number)}, {"uploadId", *upload_id}},
                                 {},
                                 buf,
                                 "",
                                 md5});
      if (!r.ok()) return abort(r.status());
      std::string etag = r->Header("etag");
      Status e = CheckEtag(etag, crypto::Hex(md5), op + ": part " + std::to_string(number));
      if (!e.ok()) return abort(e);
      parts.push_back({number, etag.empty() ? "\"" + crypto::Hex(md5) + "\"" : etag});
      md5s += md5;
      buf.assign(carry);
      carry.clear();
      auto n = ReadUpTo(body, part_size - buf.size(), &buf);
      if (!n.ok()) return abort(n.status().Annotate(op + ": read body"));
    }
    PutResult result{total, crypto::Hex(whole.Finish())};
    Status expected = CheckPutExpectations(result, options, op);
    if (!expected.ok()) return abort(expected);

    const std::string complete_body = s3::CompleteMultipartBody(parts);
    auto done =
        Execute(op + ": complete multipart upload", [&](int) -> Result<std::optional<S3Request>> {
          S3Request req{"POST", FullKey(key), {{"uploadId", *upload_id}}, {}, complete_body};
          if (options.if_absent && if_none_match_ != kUnsupported)
            req.headers.emplace_back("If-None-Match", "*");
          return std::optional<S3Request>(req);
        });
    // A retried Complete whose first try had succeeded answers NoSuchUpload:
    // the HEAD below tells whether the object is the one we uploaded.
    if (!done.ok() && !done.status().IsNotFound()) return abort(done.status());

    const std::string expected_etag =
        crypto::Hex(crypto::Md5(md5s)) + "-" + std::to_string(parts.size());
    auto head = Head(key);
    if (!head.ok()) return abort(head.status().Annotate(op + ": verify after completing"));
    if (head->size != total) {
      return Status::Corruption(op + ": stored object has " + std::to_string(head->size) +
                                " bytes, uploaded " + std::to_string(total));
    }
    Status e = CheckEtag(head->etag, expected_etag, op + ": verify after completing");
    if (!e.ok()) return e;
    return result;
  }

  // ---- one request, retried -------------------------------------------------

  // Builds the request for an attempt; nullopt means nothing is left to send.
  using Prepare = std::function<Result<std::optional<S3Request>>(int attempt)>;

  Result<http::Response> Execute(const std::string& op, const S3Request& request) {
    const S3Request ready = WithDigests(request);
    return Execute(op, [&](int) -> Result<std::optional<S3Request>> {
      return std::optional<S3Request>(ready);
    });
  }

  // Runs a request until it succeeds or fails for good.
  Result<http::Response> Execute(const std::string& op, const Prepare& prepare,
                                 const http::BodySink* sink = nullptr) {
    const auto start = Clock::now();
    Status last;
    bool refreshed = false;  // once per request
    bool again_now = false;
    for (int attempt = 0; attempt < std::max(1, cfg_.retry.max_attempts); ++attempt) {
      if (again_now) {
        again_now = false;
      } else if (attempt > 0) {
        double delay = BackoffSeconds(attempt);
        double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
        if (elapsed + delay > cfg_.retry.max_seconds) break;
        log::Debug(op + ": attempt " + std::to_string(attempt) + " failed (" + last.message() +
                   "); retrying in " + std::to_string(static_cast<int>(delay * 1000)) + " ms");
        std::this_thread::sleep_for(std::chrono::duration<double>(delay));
      }
      auto prepared = prepare(attempt);
      if (!prepared.ok()) return prepared.status();
      if (!prepared->has_value()) return http::Response{};
      const S3Request& req = **prepared;
      auto creds = creds_->Get();
      if (!creds.ok()) {
        last = creds.status().Annotate(op + ": get credentials from " + creds_->SourceName());
        if (last.Retryable()) continue;
        return last;
      }
      auto t0 = Clock::now();
      auto r = client_.Send(Build(req, creds->keys), sink);
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      if (!r.ok()) {
        last = r.status().Annotate(op);
        log::Debug(op + ": " + req.method + " failed after " +
                   std::to_string(static_cast<int>(ms)) + " ms: " + r.status().message());
        if (last.Retryable()) continue;
        return last;
      }
      log::Trace(op + ": " + req.method + " -> http " + std::to_string(r->status) + " (" +
                 std::to_string(static_cast<int>(ms)) + " ms)");
      Attempt a = Classify(*r, req, op, *creds);
      if (a.status.ok()) return std::move(*r);
      last = a.status;
      if (a.expired && !refreshed && creds_->Invalidate(creds->keys)) {
        log::Debug(op + ": the server refused the credentials from " + creds_->SourceName() +
                   " as expired (" + a.status.message() + "); fetching new ones and sending again");
        refreshed = true;
        again_now = true;
        --attempt;  // not counted: the request itself did not fail
        continue;
      }
      if (!a.retry) return last;
    }
    return last.Retryable()
               ? Status(last).WithHint(
                     "check that the S3 endpoint is up and reachable (gave up after " +
                     std::to_string(cfg_.retry.max_attempts) + " attempts or s3-retry-seconds)")
               : last;
  }

  // Turns an HTTP answer into ok / a retryable failure / a final failure.
  Attempt Classify(const http::Response& r, const S3Request& req, const std::string& op,
                   const s3::TimedCredentials& used) {
    if (r.status >= 200 && r.status < 300) {
      // CompleteMultipartUpload can fail after sending 200: the error is in the body.
      if (req.method == "POST" && s3::IsErrorDocument(r.body))
        return FromError(200, s3::ParseError(r.body), op);
      return {Status::Ok()};
    }
    const s3::ErrorDoc e = s3::ParseError(r.body);
    Attempt a = FromError(r.status, e, op);
    // Some stores (radosgw) answer a plain 403 AccessDenied to a session
    // token past its expiration: temporary credentials that are (nearly)
    // expired by our clock are fetched again as well.
    constexpr int64_t kSkewSeconds = 60;
    // An answer to HEAD has no body, hence no code: a refusal of temporary
    // credentials there may be an expired token too.
    const bool refused = r.status == 403 || r.status == 400;
    a.expired =
        s3::IsExpiredCredentialsCode(e.code) ||
        (refused && used.expiration != 0 && Now() + kSkewSeconds >= used.expiration) ||
        (refused && req.method == "HEAD" && e.code.empty() && !used.keys.session_token.empty());
    return a;
  }

  int64_t Now() const {
    return cfg_.credentials_clock ? cfg_.credentials_clock()
                                  : static_cast<int64_t>(std::time(nullptr));
  }

  Attempt FromError(long http, const s3::ErrorDoc& e, const std::string& op) {
    std::string what = op + ": http " + std::to_string(http) +
                       (e.code.empty() ? "" : " " + e.code) +
                       (e.message.empty() ? "" : " (" + e.message + ")") +
                       (e.request_id.empty() ? "" : " [request id " + e.request_id + "]");
    const std::string& c = e.code;
    if (c == "InvalidAccessKeyId" || c == "SignatureDoesNotMatch" || c == "InvalidToken" ||
        c == "ExpiredToken" || c == "TokenRefreshRequired" || c == "AuthorizationHeaderMalformed" ||
        c == "InvalidSecurity" || c == "MissingSecurityHeader") {
      return {
          Status::Auth(what).WithHint("check the credentials, from " + creds_->SourceName() +
                                      ", and the region (see \"Credentials\" in man walferry)")};
    }
    if (c == "RequestTimeTooSkewed")
      return {Status::Auth(what).WithHint("this machine's clock is off: fix NTP")};
    if (c == "AccessDenied" || c == "AllAccessDisabled" || c == "AccountProblem") {
      return {Status::Permission(what).WithHint(
          "grant the credentials s3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket on "
          "the bucket and prefix")};
    }
    if (c == "NoSuchBucket") {
      // Never kNotFound: restore_command would read that as "no such WAL file".
      return {Status::InvalidArgument(what).WithHint("create the bucket or fix --repo")};
    }
    if (c == "NoSuchKey" || c == "NoSuchUpload" || (http == 404 && c.empty()))
      return {Status::NotFound(what)};
    if (c == "PreconditionFailed" || http == 412) return {Status::AlreadyExists(what)};
    if (c == "BadDigest" || c == "XAmzContentSHA256Mismatch" || c == "InvalidDigest") {
      // The bytes changed between us and the server: sending them again may work.
      return {Status::Unavailable(what + ": the server received different bytes than were sent"),
              true};
    }
    if (c == "PermanentRedirect" || c == "AuthorizationQueryParametersError" || http == 301 ||
        http == 307) {
      return {Status::InvalidArgument(what).WithHint(
          "the bucket lives in another region or endpoint: fix --s3-region / --s3-endpoint")};
    }
    if (http == 501 || c == "NotImplemented") return {Status::NotSupported(what)};
    if (c == "InvalidRange" || http == 416)
      return {Status::InvalidArgument(what + ": range outside the object")};
    if (http == 403) {
      return {Status::Permission(
          what + (c.empty()
                      ? ": access denied or credentials rejected (no error code in the answer)"
                      : ""))};
    }
    if (http >= 500 || http == 429 || c == "SlowDown" || c == "RequestTimeout" ||
        c == "ConditionalRequestConflict" || c == "OperationAborted" || c == "InternalError" ||
        c == "ServiceUnavailable") {
      return {Status::Unavailable(what), true};
    }
    return {Status::InvalidArgument(what)};
  }

  double BackoffSeconds(int attempt) {
    // Full jitter: uniform in [0, min(cap, base * 2^attempt)].
    double ceiling =
        std::min(cfg_.retry.max_delay_seconds,
                 cfg_.retry.base_delay_seconds * static_cast<double>(1u << std::min(attempt, 20)));
    thread_local std::mt19937_64 rng(std::random_device{}());
    return std::uniform_real_distribution<double>(0, ceiling)(rng);
  }

  // Signs a request and builds its URL.
  http::Request Build(const S3Request& req, const s3::Credentials& creds) {
    std::string path = path_style_ ? "/" + s3::UriEncode(cfg_.bucket, true) : "";
    path += "/" + s3::UriEncode(req.key, false);
    if (path_style_ && req.key.empty()) path.pop_back();  // "/bucket" for bucket requests
    if (path.empty()) path = "/";
    const std::string payload_sha =
        req.body_sha256_hex.empty() ? crypto::Sha256Hex(req.body) : req.body_sha256_hex;
    const std::string amz_date = s3::AmzDate(std::time(nullptr));
    Params headers = {
        {"host", host_}, {"x-amz-date", amz_date}, {"x-amz-content-sha256", payload_sha}};
    if (!creds.session_token.empty())
      headers.emplace_back("x-amz-security-token", creds.session_token);
    if (req.method == "PUT" || req.method == "POST") {
      headers.emplace_back(
          "content-md5",
          crypto::Base64(req.body_md5.empty() ? crypto::Md5(req.body) : req.body_md5));
    }
    for (const auto& h : req.headers) headers.push_back(h);
    s3::SigningInput in{req.method, path, req.query, headers, payload_sha};
    http::Request out;
    out.method = req.method;
    std::string query = s3::CanonicalQuery(req.query);
    out.url = scheme_ + "://" + host_ + path + (query.empty() ? "" : "?" + query);
    out.headers = headers;
    out.headers.emplace_back("Authorization", s3::Sign(in, creds, cfg_.region, "s3", amz_date));
    if (req.method == "PUT" || req.method == "POST")
      out.headers.emplace_back("Content-Type", "application/octet-stream");
    out.body = req.body;
    return out;
  }

  // ---- small helpers --------------------------------------------------------

  // "10.0.0.1", "10.0.0.1:9000", "[::1]:9000".
  static bool IsIpAddress(const std::string& host_port) {
    if (!host_port.empty() && host_port[0] == '[') return true;
    std::string host = host_port.substr(0, host_port.find(':'));
    return !host.empty() && host.find_first_not_of("0123456789.") == std::string::npos;
  }

  std::string FullKey(const std::string& key) const {
    return cfg_.prefix.empty() ? key : cfg_.prefix + "/" + key;
  }

  Params ObjectHeaders() const {
    Params h;
    if (!cfg_.storage_class.empty()) h.emplace_back("x-amz-storage-class", cfg_.storage_class);
    if (!cfg_.sse.empty()) h.emplace_back("x-amz-server-side-encryption", cfg_.sse);
    return h;
  }

  uint64_t PartSize(std::optional<uint64_t> size) const {
    uint64_t p = std::max(cfg_.part_size, kMinPartSize);
    if (size) p = std::max(p, (*size + kMaxParts - 1) / kMaxParts);
    return p;
  }

  // Appends up to n bytes of `body` to *out; fewer only at the end of the body.
  static Result<size_t> ReadUpTo(ByteSource& body, uint64_t n, std::string* out) {
    size_t start = out->size();
    out->resize(start + n);
    size_t got = 0;
    while (got < n) {
      auto r = body.Read(out->data() + start + got, n - got);
      if (!r.ok()) return r.status();
      if (*r == 0) break;
      got += *r;
    }
    out->resize(start + got);
    return got;
  }

  // The answer to a GET that sent Range: a 206 must cover exactly the bytes
  // asked for (when it says which, in Content-Range); a 200 (a server that ignores Range) is the
  // whole object, so it is usable only when the range starts at 0 (the caller keeps the first
  // bytes). Anything else would splice the wrong bytes into the body.
  static Status CheckRangeAnswer(const http::Response& head, bool ranged, uint64_t from,
                                 const std::optional<ByteRange>& range, const std::string& op) {
    if (!ranged) return Status::Ok();
    if (head.status == 200) {
      if (from == 0) return Status::Ok();
      return Status::InvalidArgument(
                 op + ": asked for bytes from " + std::to_string(from) +
                 ", the server sent the whole object (it ignored the Range header)")
          .WithHint("use an S3 endpoint that supports ranged GET requests");
    }
    const std::string header = head.Header("content-range");
    if (header.empty())
      return Status::Ok();  // a 206 must carry it (RFC 9110); nothing to check without
    auto cr = s3::ParseContentRange(header);
    bool ok = cr && cr->first == from;
    if (ok && cr->total) {
      // The last byte: the end of the asked range, or of the object when it is shorter.
      uint64_t end = range && range->length ? range->offset + *range->length - 1 : *cr->total - 1;
      ok = cr->last == std::min(end, *cr->total - 1);
    } else if (ok && range && range->length) {
      ok = cr->last <= range->offset + *range->length - 1;
    }
    if (!ok) {
      return Status::InvalidArgument(op + ": asked for bytes from " + std::to_string(from) +
                                     ", the server answered Content-Range '" +
                                     header.substr(0, 80) + "'");
    }
    return Status::Ok();
  }

  // The server verified Content-MD5 already; an ETag that is an MD5 (no KMS)
  // must also be ours, or the object is not what we sent.
  Status CheckEtag(std::string etag, const std::string& expected, const std::string& op) const {
    if (cfg_.sse == "aws:kms" || cfg_.sse == "aws:kms:dsse") return Status::Ok();
    etag.erase(std::remove(etag.begin(), etag.end(), '"'), etag.end());
    if (etag.empty()) return Status::Ok();  // some stores omit it; Content-MD5 was verified
    if (etag != expected) {
      return Status::Corruption(op + ": server reports etag " + etag + ", expected " + expected);
    }
    return Status::Ok();
  }

  Status CheckAbsent(const std::string& key, const std::string& op) {
    auto h = Head(key);
    if (h.ok()) return Status::AlreadyExists(op + ": object already exists");
    if (h.status().IsNotFound()) return Status::Ok();
    return h.status();
  }

  enum { kUnknown = 0, kUnsupported = 1 };
  S3Config cfg_;
  std::shared_ptr<s3::CredentialsProvider> creds_;
  http::Client client_;
  std::string scheme_, host_;
  bool path_style_ = true;
  std::atomic<int> if_none_match_{kUnknown};
};

// The chain's inputs from an S3Config, with the region resolved.
Result<std::shared_ptr<s3::CredentialsProvider>> ProviderFor(S3Config* config) {
  s3::CredentialEnvironment env = s3::ProcessEnvironment();
  if (config->credentials_clock) env.now = config->credentials_clock;
  if (!config->region_from_option) {
    if (std::string r = s3::RegionFromEnvironment(env); !r.empty()) config->region = r;
  }
  s3::ChainOptions o;
  o.static_keys = {config->access_key_id, config->secret_access_key, config->session_token};
  o.static_origin =
      config->credentials_origin.empty() ? "s3-access-key-id" : config->credentials_origin;
  o.region = config->region;
  o.sts_endpoint = config->sts_endpoint;
  o.ca_file = config->ca_file;
  o.verify_tls = config->verify_tls;
  o.connect_timeout_seconds = config->connect_timeout_seconds;
  o.stall_timeout_seconds = config->stall_timeout_seconds;
  auto source = s3::ResolveCredentialChain(o, env);
  if (!source.ok()) return source.status();
  return std::make_shared<s3::CredentialsProvider>(std::move(source).value(), env.now);
}

}  // namespace

Result<std::string> DescribeS3Credentials(const S3Config& config) {
  S3Config c = config;
  auto provider = ProviderFor(&c);
  if (!provider.ok()) return provider.status();
  auto creds = (*provider)->Get();
  if (!creds.ok())
    return creds.status().Annotate("get credentials from " + (*provider)->SourceName());
  std::string d = (*provider)->SourceName() + ": access key id '" + creds->keys.access_key_id + "'";
  if (!creds->keys.session_token.empty()) d += ", session token set";
  if (creds->expiration != 0) {
    std::time_t t = static_cast<std::time_t>(creds->expiration);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    d += ", temporary until " + std::string(buf) + " (refreshed before then)";
  }
  if (!config.region_from_option && c.region != config.region)
    d += "; region " + c.region + " from the AWS settings";
  return d;
}

Result<std::unique_ptr<Storage>> OpenS3Storage(const S3Config& config) {
  auto bad = [](const std::string& m) { return Status::InvalidArgument(m); };
  if (config.bucket.empty()) return bad("s3: no bucket given");
  if (!config.endpoint.empty() && config.endpoint.rfind("http://", 0) != 0 &&
      config.endpoint.rfind("https://", 0) != 0) {
    return bad("s3-endpoint '" + config.endpoint + "' must start with http:// or https://");
  }
  if (config.uri_style != "path" && config.uri_style != "host") {
    return bad("s3-uri-style '" + config.uri_style + "' must be 'path' or 'host'");
  }
  if (config.part_size < kMinPartSize)
    return bad("s3-part-size must be at least 5MiB (S3's minimum part size)");
  S3Config c = config;
  auto provider = ProviderFor(&c);
  if (!provider.ok()) return provider.status();
  if (c.region.empty()) return bad("s3-region is empty");
  return std::unique_ptr<Storage>(new S3Storage(std::move(c), std::move(provider).value()));
}

}  // namespace walferry
