// fake_s3_server.h — a scripted HTTP/1.1 server on 127.0.0.1 for S3 client tests.
//
// Each test gives a handler that sees every request (method, target, headers,
// body) and says what to answer: a status, headers and body, or to drop the
// connection without an answer, or to send only part of the body. The server
// records every request so a test can assert the bytes on the wire.
// Bounded: accept and read waits use poll() with short timeouts, and the
// destructor stops the thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace walferry::testing {

struct FakeRequest {
  std::string method;
  std::string target;                          // path and query as sent
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;
  std::string Header(const std::string& n) const {
    auto it = headers.find(n);
    return it == headers.end() ? "" : it->second;
  }
};

struct FakeResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool drop = false;           // close the connection without answering
  long truncate_body_at = -1;  // send Content-Length of the full body but only this many bytes

  static FakeResponse Error(int status, const std::string& code) {
    FakeResponse r;
    r.status = status;
    r.body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code +
             "</Code><Message>scripted</Message><RequestId>req-1</RequestId></Error>";
    return r;
  }
};

class FakeS3Server {
 public:
  using Handler = std::function<FakeResponse(const FakeRequest&, int index)>;

  explicit FakeS3Server(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(listen_fd_, 16);
    thread_ = std::thread([this] { Run(); });
  }

  ~FakeS3Server() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }

  std::string Endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  std::vector<FakeRequest> Requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Run() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      Serve(fd);  // one connection at a time is enough for these tests
      ::close(fd);
    }
  }

  // Reads until `n` bytes are buffered or the peer goes away; false on EOF/timeout.
  bool Fill(int fd, std::string& buf, size_t n) {
    char tmp[65536];
    for (int waited = 0; buf.size() < n && waited < 100 && !stop_;) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) {
        ++waited;
        continue;
      }
      ssize_t r = ::recv(fd, tmp, sizeof tmp, 0);
      if (r <= 0) return false;
      buf.append(tmp, static_cast<size_t>(r));
    }
    return buf.size() >= n;
  }

  void Serve(int fd) {
    std::string buf;
    while (!stop_) {
      size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        if (!Fill(fd, buf, buf.size() + 1)) return;
      }
      FakeRequest req;
      std::string head = buf.substr(0, end);
      buf.erase(0, end + 4);
      size_t line_end = head.find("\r\n");
      std::string first = head.substr(0, line_end);
      size_t sp1 = first.find(' '), sp2 = first.rfind(' ');
      req.method = first.substr(0, sp1);
      req.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
      size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
      while (pos < head.size()) {
        size_t e = head.find("\r\n", pos);
        if (e == std::string::npos) e = head.size();
        std::string line = head.substr(pos, e - pos);
        size_t colon = line.find(':');
        if (colon != std::string::npos) {
          std::string name = line.substr(0, colon);
          std::transform(name.begin(), name.end(), name.begin(), ::tolower);
          size_t v = line.find_first_not_of(' ', colon + 1);
          req.headers[name] = v == std::string::npos ? "" : line.substr(v);
        }
        pos = e + 2;
      }
      size_t length =
          std::stoul(req.Header("content-length").empty() ? "0" : req.Header("content-length"));
      if (!Fill(fd, buf, length)) return;
      req.body = buf.substr(0, length);
      buf.erase(0, length);
      int index;
      {
        std::lock_guard<std::mutex> lock(mu_);
        index = static_cast<int>(requests_.size());
        requests_.push_back(req);
      }
      FakeResponse resp = handler_(req, index);
      if (resp.drop) return;
      std::string out = "HTTP/1.1 " + std::to_string(resp.status) + " Scripted\r\n";
      for (const auto& [k, v] : resp.headers) out += k + ": " + v + "\r\n";
      out += "Content-Length: " + std::to_string(resp.body.size()) + "\r\n\r\n";
      bool truncated = resp.truncate_body_at >= 0 && req.method != "HEAD";
      if (req.method != "HEAD")
        out += truncated ? resp.body.substr(0, resp.truncate_body_at) : resp.body;
      ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
      if (truncated) return;
    }
  }

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<FakeRequest> requests_;
};

}  // namespace walferry::testing
