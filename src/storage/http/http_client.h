// http_client.h — one HTTP/1.1 exchange at a time over libcurl, with kept-alive
// connections shared by all threads. Knows nothing about S3: no retries, no
// signing. Transport failures become Status values here, in one place.
#pragma once

#include <curl/curl.h>

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "walferry/status.h"

namespace walferry::http {

struct Request {
  std::string method;  // GET, HEAD, PUT, POST, DELETE
  std::string url;     // complete and already percent-encoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view body;  // sent with Content-Length (PUT/POST), not owned
};

struct Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lowercased, last value wins
  std::string body;  // error bodies always; success bodies unless streamed to a sink
  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

// Folds one received header line (CRLF or not) into `response`: a status line
// ("HTTP/1.1 200 OK") starts a new answer (after 100 Continue or a redirect) and
// clears the headers; "Name: value" is stored under the lowercased name, the
// value without surrounding blanks; anything else is ignored. The status is a
// 3-digit code in 100..599, else 0 (no answer). Pure: tests/fuzz feeds it bytes.
void ParseHeaderLine(std::string_view line, Response* response);

struct ClientOptions {
  std::string ca_file;  // PEM bundle; empty = the system's trust store
  bool verify_tls = true;
  double connect_timeout_seconds = 10;
  double stall_timeout_seconds = 30;  // abort when no byte moves for this long
};

// Receives a 2xx response body piece by piece, with the answer's status and
// headers; a non-ok Status aborts the exchange.
using BodySink = std::function<Status(const Response& head, const char* data, size_t n)>;

class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends one request. An HTTP answer of any status is a Response; only a
  // failure to get an answer is a Status: kUnavailable for network errors
  // and timeouts (retryable), kAuth when the server's TLS certificate is not
  // trusted, kInvalidArgument for a malformed URL. When `sink` is given, a
  // 2xx body goes to it instead of Response::body. Thread-safe.
  Result<Response> Send(const Request& request, const BodySink* sink = nullptr);

 private:
  CURL* Acquire();
  void Release(CURL* handle);

  ClientOptions options_;
  std::mutex mu_;
  std::vector<CURL*> idle_;  // handles keep their connections alive between requests
};

}  // namespace walferry::http
