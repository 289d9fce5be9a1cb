// The fault proxy of the end-to-end scenarios (tests/support/fault_proxy.cc), in front of the
// scripted server of tests/support/fake_s3_server.h: it forwards byte for byte, and each fault
// lands where it says. 127.0.0.1 only; every wait is bounded.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/fake_s3_server.h"
#include "support/temp_dir.h"

namespace walferry::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class Proxy {
 public:
  Proxy(const std::string& upstream, std::vector<std::string> args, const TempDir& dir,
        const std::string& name = "p")
      : port_file_(dir.path() + "/" + name + ".port"),
        log_(dir.path() + "/" + name + ".log"),
        requests_(dir.path() + "/" + name + ".requests") {
    std::vector<std::string> argv = {WALFERRY_FAULT_PROXY_BINARY,
                                     "--upstream",
                                     upstream,
                                     "--port-file",
                                     port_file_,
                                     "--log",
                                     log_,
                                     "--request-log",
                                     requests_,
                                     "--max-seconds",
                                     "60"};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      std::vector<char*> c;
      for (auto& a : argv) c.push_back(a.data());
      c.push_back(nullptr);
      int devnull = ::open("/dev/null", O_WRONLY);
      ::dup2(devnull, 1);
      ::execv(c[0], c.data());
      ::_exit(127);
    }
    for (int i = 0; i < 200 && port_ == 0; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {  // it refused to start
        pid_ = -1;
        exited_ok_ = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        break;
      }
      std::string p = ReadFile(port_file_);
      if (!p.empty()) port_ = std::atoi(p.c_str());
      if (port_ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }
  ~Proxy() { Stop(); }

  // SIGTERM; true when it exited by itself with status 0
  bool Stop() {
    if (pid_ <= 0) return exited_ok_;
    ::kill(pid_, SIGTERM);
    exited_ok_ = WaitExit();
    return exited_ok_;
  }
  bool WaitExit() {
    if (pid_ <= 0) return exited_ok_;
    int status = 0;
    for (int i = 0; i < 400; ++i) {
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return false;
  }
  int port() const { return port_; }
  std::string Log() const { return ReadFile(log_); }
  // the fault column of --request-log, one entry per request
  std::vector<std::string> Faults() const {
    std::vector<std::string> out;
    std::istringstream in(ReadFile(requests_));
    std::string line;
    while (std::getline(in, line)) out.push_back(line.substr(line.rfind(' ') + 1));
    return out;
  }

 private:
  std::string port_file_, log_, requests_;
  pid_t pid_ = -1;
  int port_ = 0;
  bool exited_ok_ = false;
};

int Connect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads until the peer closes (or resets) the connection; bounded.
std::string ReadToEnd(int fd) {
  std::string out;
  char buf[65536];
  for (int idle = 0; idle < 200;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) {
      ++idle;
      continue;
    }
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// Reads one response with a Content-Length body; bounded.
std::string ReadResponse(int fd) {
  std::string out;
  char buf[65536];
  for (int idle = 0; idle < 200;) {
    size_t end = out.find("\r\n\r\n");
    if (end != std::string::npos) {
      size_t cl = out.find("Content-Length: ");
      size_t len = cl == std::string::npos ? 0 : std::stoul(out.substr(cl + 16));
      if (out.size() >= end + 4 + len) return out;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) {
      ++idle;
      continue;
    }
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

void Send(int fd, const std::string& s) {
  ASSERT_EQ(::send(fd, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size()));
}

std::string Get(const std::string& path, bool close = true) {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
         (close ? "Connection: close\r\n" : "") + "\r\n";
}
std::string Put(const std::string& path, const std::string& body, bool close = true) {
  return "PUT " + path +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         (close ? "Connection: close\r\n" : "") + "\r\n" + body;
}

FakeResponse Ok(const std::string& body) {
  FakeResponse r;
  r.body = body;
  return r;
}

TEST(FaultProxy, ForwardsRequestsAndResponsesByteForByteOnAKeptAliveConnection) {
  TempDir dir;
  FakeS3Server server([](const FakeRequest& r, int) {
    return Ok(r.method == "GET" ? std::string(100000, 'g') : "stored");
  });
  Proxy proxy(server.Endpoint(), {}, dir);
  ASSERT_GT(proxy.port(), 0);
  int fd = Connect(proxy.port());
  ASSERT_GE(fd, 0);
  std::string body(300000, 'x');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  Send(fd, Get("/bucket/key?x=1", false));
  std::string r1 = ReadResponse(fd);
  Send(fd, Put("/bucket/other", body, false));
  std::string r2 = ReadResponse(fd);
  ::close(fd);
  EXPECT_EQ(r1.substr(0, 12), "HTTP/1.1 200");
  EXPECT_EQ(r1.substr(r1.find("\r\n\r\n") + 4), std::string(100000, 'g'));
  EXPECT_EQ(r2.substr(r2.find("\r\n\r\n") + 4), "stored");
  auto reqs = server.Requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].target, "/bucket/key?x=1");
  EXPECT_EQ(reqs[1].method, "PUT");
  EXPECT_EQ(reqs[1].body, body);
  EXPECT_TRUE(proxy.Stop());
  EXPECT_NE(proxy.Log().find("summary: 2 requests, 2 forwarded, 1 connections"), std::string::npos)
      << proxy.Log();
  EXPECT_NE(proxy.Log().find("total=0"), std::string::npos) << proxy.Log();
}

TEST(FaultProxy, SlowDownIsAnS3ErrorWithoutRetryAfterAndNeverReachesTheServer) {
  TempDir dir;
  FakeS3Server server([](const FakeRequest&, int) { return Ok("never"); });
  Proxy proxy(server.Endpoint(), {"--fault", "slowdown=1,burst=1"}, dir);
  int fd = Connect(proxy.port());
  Send(fd, Put("/bucket/key", "payload"));
  std::string r = ReadToEnd(fd);
  ::close(fd);
  EXPECT_EQ(r.substr(0, 12), "HTTP/1.1 503") << r;
  EXPECT_NE(r.find("<Code>SlowDown</Code>"), std::string::npos) << r;
  EXPECT_EQ(r.find("Retry-After"), std::string::npos) << r;
  EXPECT_TRUE(server.Requests().empty());
  EXPECT_TRUE(proxy.Stop());
  EXPECT_NE(proxy.Log().find("request 0 conn 0 PUT /bucket/key: slowdown"), std::string::npos)
      << proxy.Log();
  EXPECT_NE(proxy.Log().find("slowdown=1 total=1"), std::string::npos) << proxy.Log();
}

TEST(FaultProxy, ErrorBurstsAndFiltersByMethodAndKey) {
  TempDir dir;
  FakeS3Server server([](const FakeRequest&, int) { return Ok("fine"); });
  Proxy proxy(server.Endpoint(), {"--fault", "error-500=1,method=DELETE,key=*/wal/*,burst=3"}, dir);
  auto status_of = [&](const std::string& request) {
    int fd = Connect(proxy.port());
    Send(fd, request);
    std::string r = ReadToEnd(fd);
    ::close(fd);
    return r.substr(0, 12);
  };
  const std::string del = "DELETE /bucket/wal/seg HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
  EXPECT_EQ(status_of(Get("/bucket/wal/seg")), "HTTP/1.1 200");
  EXPECT_EQ(status_of("DELETE /bucket/backup/x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"),
            "HTTP/1.1 200");
  EXPECT_EQ(status_of(del), "HTTP/1.1 500");
  EXPECT_TRUE(proxy.Stop());
  EXPECT_EQ(server.Requests().size(), 2u);
  EXPECT_NE(proxy.Log().find("error-500=1 "), std::string::npos) << proxy.Log();
}

TEST(FaultProxy, ResetAfterRequestDeliversTheWholeRequestAndNoAnswer) {
  TempDir dir;
  FakeS3Server server([](const FakeRequest&, int) { return Ok("stored"); });
  Proxy proxy(server.Endpoint(), {"--fault", "reset-after-request=1,method=PUT"}, dir);
  std::string body(200000, 'w');
  int fd = Connect(proxy.port());
  Send(fd, Put("/bucket/wal/seg", body));
  std::string r = ReadToEnd(fd);
  ::close(fd);
  EXPECT_EQ(r, "");
  auto reqs = server.Requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].body, body);  // the server stored it; the client never learns
  EXPECT_TRUE(proxy.Stop());
  EXPECT_NE(proxy.Log().find("reset-after-request (the upstream answered 200)"), std::string::npos)
      << proxy.Log();
}

TEST(FaultProxy, ResetDuringRequestForwardsOnlyPartOfTheBody) {
  TempDir dir;
  FakeS3Server server([](const FakeRequest&, int) { return Ok("stored"); });
  Proxy proxy(server.Endpoint(), {"--fault", "reset-during-request=1"}, dir);
  int fd = Connect(proxy.port());
  Send(fd, Put("/bucket/wal/seg", std::string(100000, 'w')));
  std::string r = ReadToEnd(fd);
  ::close(fd);
  EXPECT_EQ(r, "");
  EXPECT_TRUE(proxy.Stop());
  EXPECT_TRUE(server.Requests().empty());  // the server never saw a complete request
  EXPECT_NE(proxy.Log().find(" of 100000 body bytes)"), std::string::npos) << proxy.Log();
}

TEST(FaultProxy, TruncatedResponseEndsCleanlyBeforeItsContentLength) {
  TempDir dir;
  FakeS3Server server([](const FakeRequest&, int) { return Ok(std::string(50000, 'b')); });
  Proxy proxy(server.Endpoint(), {"--fault", "truncate-response=1,method=GET"}, dir);
  int fd = Connect(proxy.port());
  Send(fd, Get("/bucket/wal/seg"));
  std::string r = ReadToEnd(fd);
  ::close(fd);
  ASSERT_NE(r.find("\r\n\r\n"), std::string::npos) << r;
  EXPECT_NE(r.find("Content-Length: 50000"), std::string::npos);
  EXPECT_LT(r.size() - (r.find("\r\n\r\n") + 4), 50000u);
  EXPECT_TRUE(proxy.Stop());
  EXPECT_NE(proxy.Log().find("truncate-response (http 200, after "), std::string::npos)
      << proxy.Log();
}

TEST(FaultProxy, TheSameSeedGivesTheSameFaultsToTheSameRequests) {
  TempDir dir;
  FakeS3Server server([](const FakeRequest&, int) { return Ok("ok"); });
  auto run = [&](const std::string& seed, const std::string& name) {
    Proxy proxy(server.Endpoint(),
                {"--seed", seed, "--latency-ms", "0-0", "--fault", "latency=0.2", "--fault",
                 "error-503=0.2,burst=2", "--fault", "reset-before-request=0.2"},
                dir, name);
    for (int i = 0; i < 40; ++i) {
      int fd = Connect(proxy.port());
      Send(fd, Get("/bucket/k" + std::to_string(i)));
      ReadToEnd(fd);
      ::close(fd);
    }
    EXPECT_TRUE(proxy.Stop());
    return proxy.Faults();
  };
  auto a = run("42", "a"), b = run("42", "b"), c = run("43", "c");
  ASSERT_EQ(a.size(), 40u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  int faulted = 0;
  for (const auto& f : a) faulted += f != "-";
  EXPECT_GT(faulted, 0);
  EXPECT_LT(faulted, 40);
}

TEST(FaultProxy, ALimitedRuleStopsAfterItsInjections) {
  TempDir dir;
  FakeS3Server server([](const FakeRequest&, int) { return Ok("ok"); });
  Proxy proxy(server.Endpoint(), {"--fault", "reset-before-request=1,key=*/manifest.json,limit=1"},
              dir);
  std::vector<std::string> got;
  for (int i = 0; i < 3; ++i) {
    int fd = Connect(proxy.port());
    Send(fd, Get("/bucket/backup/b1/manifest.json"));
    got.push_back(ReadToEnd(fd).substr(0, 12));
    ::close(fd);
  }
  EXPECT_TRUE(proxy.Stop());
  EXPECT_EQ(got, (std::vector<std::string>{"", "HTTP/1.1 200", "HTTP/1.1 200"}));
  EXPECT_EQ(proxy.Faults(), (std::vector<std::string>{"reset-before-request", "-", "-"}));
}

TEST(FaultProxy, ExitsByItselfAfterMaxSeconds) {
  TempDir dir;
  FakeS3Server server([](const FakeRequest&, int) { return Ok("ok"); });
  Proxy proxy(server.Endpoint(), {"--max-seconds", "0.3"}, dir);
  ASSERT_GT(proxy.port(), 0);
  EXPECT_TRUE(proxy.WaitExit());
  EXPECT_NE(proxy.Log().find("exit: --max-seconds reached"), std::string::npos) << proxy.Log();
}

TEST(FaultProxy, RefusesAnUpstreamOtherThanLoopbackPlainHttp) {
  TempDir dir;
  Proxy proxy("https://example.com:443", {}, dir);
  EXPECT_EQ(proxy.port(), 0);
  EXPECT_FALSE(proxy.WaitExit());
}

}  // namespace
}  // namespace walferry::testing
