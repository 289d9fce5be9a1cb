#include "storage/http/http_client.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "common/lazy_lib.h"

namespace walferry::http {
namespace {

std::once_flag g_curl_init;
CURLcode g_curl_init_rc = CURLE_OK;

struct Exchange {
  Response* response;
  const BodySink* sink;
  Status sink_status;
  std::string_view upload;
  size_t upload_pos = 0;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  ParseHeaderLine(std::string_view(data, size * n), ex->response);
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  size_t len = size * n;
  long status = ex->response->status;
  if (ex->sink != nullptr && status >= 200 && status < 300) {
    ex->sink_status = (*ex->sink)(*ex->response, data, len);
    return ex->sink_status.ok() ? len : 0;  // 0 aborts the transfer
  }
  // Error bodies are small XML documents; keep at most 1 MiB of anything else.
  if (ex->response->body.size() < (1u << 20)) ex->response->body.append(data, len);
  return len;
}

size_t OnUpload(char* buf, size_t size, size_t n, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  size_t k = std::min(size * n, ex->upload.size() - ex->upload_pos);
  std::memcpy(buf, ex->upload.data() + ex->upload_pos, k);
  ex->upload_pos += k;
  return k;
}

int OnSeek(void* user, curl_off_t offset, int origin) {
  auto* ex = static_cast<Exchange*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<size_t>(offset) > ex->upload.size()) {
    return CURL_SEEKFUNC_FAIL;
  }
  ex->upload_pos = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

Status TransportError(CURLcode code, const char* detail, const Request& r) {
  std::string what = r.method + " " + r.url.substr(0, r.url.find('?')) + ": " +
                     (detail[0] ? detail : curl_easy_strerror(code));
  switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      return Status::Auth("tls: server certificate not trusted: " + what)
          .WithHint("pass the CA that signed the server's certificate with --s3-ca-file");
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL: return Status::InvalidArgument("bad url: " + what);
    default:
      // Connection refused or reset, timeouts, DNS failures, truncated answers:
      // all may work on a later attempt.
      return Status::Unavailable(what);
  }
}

}  // namespace

void ParseHeaderLine(std::string_view line, Response* response) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!line.empty() && blank(line.back())) line.remove_suffix(1);
  if (line.rfind("HTTP/", 0) == 0) {  // a new status line (after 100 Continue or a redirect)
    response->headers.clear();
    response->status = 0;
    auto sp = line.find(' ');
    if (sp == std::string_view::npos) return;
    std::string_view code = line.substr(sp + 1, 3);
    if (code.size() == 3 &&
        std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
        (line.size() == sp + 4 || line[sp + 4] == ' ')) {
      long v = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
      if (v >= 100 && v <= 599) response->status = v;
    }
    return;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && blank(value.front())) value.remove_prefix(1);
  response->headers[name] = std::string(value);
}

Client::Client(ClientOptions options) : options_(std::move(options)) {
  std::call_once(g_curl_init, [] { g_curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Client::~Client() {
  for (CURL* h : idle_) curl_easy_cleanup(h);
}

CURL* Client::Acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      CURL* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  return curl_easy_init();
}

void Client::Release(CURL* handle) {
  std::lock_guard<std::mutex> lock(mu_);
  idle_.push_back(handle);
}

Result<Response> Client::Send(const Request& request, const BodySink* sink) {
  // libcurl is loaded on first use (common/lazy_lib.h): a missing one is a
  // clear error naming the package, not a crash or a null handle.
  if (g_curl_init_rc != CURLE_OK) {
    WF_RETURN_IF_ERROR(LibcurlAvailable());
    return Status::Internal(std::string("curl_global_init failed: ") +
                            curl_easy_strerror(g_curl_init_rc));
  }
  CURL* h = Acquire();
  if (h == nullptr) return Status::Internal("curl_easy_init failed");
  curl_easy_reset(h);  // keeps the connection cache

  Response response;
  Exchange ex{&response, sink, Status::Ok(), request.body};
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout_seconds * 1000));
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                   std::max(1L, static_cast<long>(options_.stall_timeout_seconds)));
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
  if (!options_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &ex);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &ex);

  const std::string& m = request.method;
  if (m == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (m == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (m == "PUT" || m == "POST") {
    // Upload from memory with a known length: no chunked encoding, and a
    // body curl can rewind itself if the server closes a kept-alive connection.
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(h, CURLOPT_READFUNCTION, OnUpload);
    curl_easy_setopt(h, CURLOPT_READDATA, &ex);
    curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, OnSeek);
    curl_easy_setopt(h, CURLOPT_SEEKDATA, &ex);
    if (m == "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "POST");
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m.c_str());
  }

  struct curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  if (m == "PUT" || m == "POST") headers = curl_slist_append(headers, "Transfer-Encoding:");
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);

  CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);

  if (rc != CURLE_OK) {
    // A failed exchange may leave the connection in an unknown state: drop the handle.
    curl_easy_cleanup(h);
    if (rc == CURLE_WRITE_ERROR && !ex.sink_status.ok()) return ex.sink_status;
    return TransportError(rc, errbuf, request);
  }
  Release(h);
  response.status = status;
  return response;
}

}  // namespace walferry::http
