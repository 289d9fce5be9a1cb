// fault_proxy.cc — an HTTP/1.1 fault-injecting proxy between walferry and an S3 server,
// for the end-to-end fault scenarios (tests/e2e/pg/scenarios/proxy.sh, RELIABILITY.md).
//
//   walferry_fault_proxy --upstream http://127.0.0.1:PORT [--port 0] [--port-file FILE]
//       [--seed N] [--fault SPEC]... [--config FILE] [--bandwidth BYTES_PER_S]
//       [--latency-ms MIN-MAX] [--stall-ms MIN-MAX] [--max-seconds S]
//       [--max-connections N] [--log FILE] [--request-log FILE]
//
// It listens on 127.0.0.1 only (port 0: the kernel picks one; the port is printed and written
// to --port-file) and forwards every request to the upstream, a plain-HTTP server on 127.0.0.1.
// It parses just enough HTTP/1.1 to find the boundaries of requests and responses
// (Content-Length, chunked bodies, keep-alive, Expect: 100-continue, 1xx answers, HEAD), so a
// fault lands at a precise point of an exchange. The request head and body are forwarded byte
// for byte (SigV4 signatures stay valid).
//
// A fault SPEC is KIND=PROBABILITY[,method=METHOD][,key=GLOB][,query=GLOB][,burst=N][,limit=N]:
//   latency                 sleep --latency-ms before forwarding the request
//   stall                   sleep --stall-ms before the response, or in its body
//   reset-before-request    reset the client connection before anything is forwarded
//   reset-during-request    forward part of the request body, then reset both connections
//   reset-after-request     forward the whole request, wait for the upstream's answer, then
//                           reset the client connection (the server did it, the client never
//                           learns)
//   reset-during-response   forward the response head and part of its body, then reset
//   truncate-response       forward the response head and part of its body, then close
//                           cleanly (FIN): a body shorter than its Content-Length
//   error-500 | error-503 | slowdown
//                           answer 500 InternalError / 503 ServiceUnavailable / 503 SlowDown
//                           with an S3 XML error body (no Retry-After) without forwarding;
//                           burst=N (default 3): the next N-1 matching requests get it too
// METHOD is GET, PUT, POST, HEAD, DELETE (or *); key= matches the request path, query= the
// query string (fnmatch globs); limit=N: at most N injections of this rule. Per request at most one
// fault is chosen: the rules matching the request are tried in order, each with its probability,
// from one uniform draw. The draw of request number N (0, 1, ... in arrival order) depends only on
// --seed and N: the same sequence of requests gets the same faults. --config FILE holds one SPEC
// per line (# comments).
// --bandwidth limits the bytes per second forwarded in both directions, all connections
// together.
//
// Bounded: it exits by itself after --max-seconds (default 600), on SIGTERM or SIGINT, or
// when its parent process dies; at most --max-connections (default 64) client connections
// are served at once; every wait on a socket has a timeout. Every injected fault is logged
// (one line each, to --log or stderr); at exit a summary line gives the counts. --request-log
// FILE gets one line per request: its number, connection, method, target and fault (or -).
#include <arpa/inet.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------- configuration
enum class Kind {
  kLatency,
  kStall,
  kResetBeforeRequest,
  kResetDuringRequest,
  kResetAfterRequest,
  kResetDuringResponse,
  kTruncateResponse,
  kError500,
  kError503,
  kSlowDown,
  kCount
};
constexpr const char* kKindNames[] = {"latency",
                                      "stall",
                                      "reset-before-request",
                                      "reset-during-request",
                                      "reset-after-request",
                                      "reset-during-response",
                                      "truncate-response",
                                      "error-500",
                                      "error-503",
                                      "slowdown"};
constexpr int kKinds = static_cast<int>(Kind::kCount);

bool IsError(Kind k) {
  return k == Kind::kError500 || k == Kind::kError503 || k == Kind::kSlowDown;
}

struct Rule {
  Kind kind = Kind::kLatency;
  double probability = 0;
  std::string method = "*";
  std::string key = "*";
  std::string query = "*";
  int burst = 1;
  int limit = 0;       // at most this many injections (0: no limit)
  int injected = 0;    // guarded by g_decide_mu
  int burst_left = 0;  // requests still to get this error (guarded by g_decide_mu)
};

struct Config {
  std::string upstream_host = "127.0.0.1";
  int upstream_port = 0;
  int port = 0;
  std::string port_file;
  std::string log_file;
  std::string request_log_file;
  uint64_t seed = 1;
  std::vector<Rule> rules;
  double bandwidth = 0;  // bytes per second, 0 = unlimited
  int latency_min_ms = 50, latency_max_ms = 300;
  int stall_min_ms = 500, stall_max_ms = 2000;
  double max_seconds = 600;
  int max_connections = 64;
};

Config g_cfg;
std::mutex g_decide_mu;
std::atomic<uint64_t> g_request_no{0};
std::atomic<bool> g_stop{false};
FILE* g_log = stderr;
FILE* g_request_log = nullptr;
std::mutex g_log_mu;

// counters
std::atomic<uint64_t> g_counts[kKinds];
std::atomic<uint64_t> g_connections{0}, g_requests{0}, g_forwarded{0}, g_upstream_failures{0};
std::atomic<uint64_t> g_bytes_up{0}, g_bytes_down{0}, g_throttle_ms{0};
std::atomic<int> g_open{0};
std::mutex g_open_mu;
std::condition_variable g_open_cv;

[[noreturn]] void Die(const std::string& m) {
  std::fprintf(stderr, "walferry_fault_proxy: %s\n", m.c_str());
  std::exit(2);
}

void Log(const std::string& line) {
  std::lock_guard<std::mutex> lock(g_log_mu);
  std::fprintf(g_log, "fault-proxy: %s\n", line.c_str());
  std::fflush(g_log);
}

bool ParseRange(const std::string& s, int* lo, int* hi) {
  auto dash = s.find('-');
  char* end = nullptr;
  long a = std::strtol(s.c_str(), &end, 10);
  if (dash == std::string::npos) {
    if (*end != 0 || a < 0) return false;
    *lo = *hi = static_cast<int>(a);
    return true;
  }
  long b = std::strtol(s.c_str() + dash + 1, &end, 10);
  if (*end != 0 || a < 0 || b < a) return false;
  *lo = static_cast<int>(a);
  *hi = static_cast<int>(b);
  return true;
}

double ParseBytes(const std::string& s) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  std::string unit(end);
  if (unit == "" || unit == "B") return v;
  if (unit == "K" || unit == "KiB") return v * 1024;
  if (unit == "M" || unit == "MiB") return v * 1024 * 1024;
  if (unit == "G" || unit == "GiB") return v * 1024 * 1024 * 1024;
  Die("bad byte rate '" + s + "' (use N, NK, NM or NG)");
}

Rule ParseRule(const std::string& spec) {
  Rule r;
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t comma = spec.find(',', start);
    parts.push_back(
        spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  auto eq = parts[0].find('=');
  if (eq == std::string::npos) Die("fault '" + spec + "': expected KIND=PROBABILITY");
  std::string kind = parts[0].substr(0, eq);
  int k = -1;
  for (int i = 0; i < kKinds; ++i)
    if (kind == kKindNames[i]) k = i;
  if (k < 0) Die("fault '" + spec + "': unknown kind '" + kind + "'");
  r.kind = static_cast<Kind>(k);
  char* end = nullptr;
  r.probability = std::strtod(parts[0].c_str() + eq + 1, &end);
  if (*end != 0 || r.probability < 0 || r.probability > 1)
    Die("fault '" + spec + "': probability must be in [0, 1]");
  r.burst = IsError(r.kind) ? 3 : 1;
  for (size_t i = 1; i < parts.size(); ++i) {
    auto e = parts[i].find('=');
    if (e == std::string::npos)
      Die("fault '" + spec + "': expected NAME=VALUE in '" + parts[i] + "'");
    std::string n = parts[i].substr(0, e), v = parts[i].substr(e + 1);
    if (n == "method") {
      r.method = v;
    } else if (n == "key") {
      r.key = v;
    } else if (n == "query") {
      r.query = v;
    } else if (n == "limit") {
      r.limit = std::atoi(v.c_str());
      if (r.limit < 1) Die("fault '" + spec + "': limit must be at least 1");
    } else if (n == "burst") {
      r.burst = std::atoi(v.c_str());
      if (r.burst < 1 || r.burst > 1000) Die("fault '" + spec + "': burst must be in 1..1000");
      if (!IsError(r.kind) && r.burst != 1)
        Die("fault '" + spec + "': burst applies to error kinds only");
    } else {
      Die("fault '" + spec + "': unknown field '" + n + "'");
    }
  }
  return r;
}

void ReadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) Die("cannot read config file '" + path + "'");
  std::string line;
  while (std::getline(in, line)) {
    auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    line.erase(0, line.find_first_not_of(" \t"));
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
      line.pop_back();
    if (!line.empty()) g_cfg.rules.push_back(ParseRule(line));
  }
}

void ParseArgs(int argc, char** argv) {
  std::string upstream;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--upstream") {
      upstream = value();
    } else if (a == "--port") {
      g_cfg.port = std::atoi(value().c_str());
    } else if (a == "--port-file") {
      g_cfg.port_file = value();
    } else if (a == "--log") {
      g_cfg.log_file = value();
    } else if (a == "--request-log") {
      g_cfg.request_log_file = value();
    } else if (a == "--seed") {
      g_cfg.seed = std::strtoull(value().c_str(), nullptr, 10);
    } else if (a == "--fault") {
      g_cfg.rules.push_back(ParseRule(value()));
    } else if (a == "--config") {
      ReadConfigFile(value());
    } else if (a == "--bandwidth") {
      g_cfg.bandwidth = ParseBytes(value());
    } else if (a == "--latency-ms") {
      if (!ParseRange(value(), &g_cfg.latency_min_ms, &g_cfg.latency_max_ms))
        Die("bad --latency-ms (MIN-MAX)");
    } else if (a == "--stall-ms") {
      if (!ParseRange(value(), &g_cfg.stall_min_ms, &g_cfg.stall_max_ms))
        Die("bad --stall-ms (MIN-MAX)");
    } else if (a == "--max-seconds") {
      g_cfg.max_seconds = std::strtod(value().c_str(), nullptr);
      if (g_cfg.max_seconds <= 0 || g_cfg.max_seconds > 86400)
        Die("--max-seconds must be in (0, 86400]");
    } else if (a == "--max-connections") {
      g_cfg.max_connections = std::atoi(value().c_str());
      if (g_cfg.max_connections < 1 || g_cfg.max_connections > 1024)
        Die("--max-connections must be in 1..1024");
    } else if (a == "--help" || a == "-h") {
      std::printf(
          "usage: walferry_fault_proxy --upstream http://127.0.0.1:PORT [options]; see the comment "
          "at the top of tests/support/fault_proxy.cc\n");
      std::exit(0);
    } else {
      Die("unknown argument '" + a + "'");
    }
  }
  const std::string pfx = "http://127.0.0.1:";
  if (upstream.rfind(pfx, 0) != 0)
    Die("--upstream must be http://127.0.0.1:PORT (127.0.0.1 only, plain HTTP)");
  std::string port = upstream.substr(pfx.size());
  while (!port.empty() && port.back() == '/') port.pop_back();
  g_cfg.upstream_port = std::atoi(port.c_str());
  if (g_cfg.upstream_port <= 0 || g_cfg.upstream_port > 65535)
    Die("bad upstream port in '" + upstream + "'");
  if (g_cfg.port < 0 || g_cfg.port > 65535) Die("bad --port");
}

// ---------------------------------------------------------------- determinism
uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
// the i-th uniform draw in [0, 1) of request n
double Draw(uint64_t n, int i) {
  uint64_t h = SplitMix(SplitMix(g_cfg.seed ^ 0x5f0a1b2c3d4e5f60ull) ^
                        SplitMix(n * 16 + static_cast<uint64_t>(i)));
  return static_cast<double>(h >> 11) / 9007199254740992.0;
}

// ---------------------------------------------------------------- sockets
struct Sock {
  int fd = -1;
  std::string buf;  // bytes read but not consumed
  bool eof = false;
};

void SetLingerReset(int fd) {
  struct linger l {
    1, 0
  };
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}
void Close(Sock* s, bool reset) {
  if (s->fd < 0) return;
  if (reset) SetLingerReset(s->fd);
  ::close(s->fd);
  s->fd = -1;
  s->buf.clear();
  s->eof = false;
}

// Reads more bytes into s->buf; false on timeout, error or EOF (s->eof set on EOF).
bool Fill(Sock* s, int timeout_ms) {
  pollfd p{s->fd, POLLIN, 0};
  int deadline_left = timeout_ms;
  for (;;) {
    if (g_stop.load()) return false;
    int step = std::min(deadline_left, 500);
    int r = ::poll(&p, 1, step);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return false;
    if (r == 0) {
      deadline_left -= step;
      if (deadline_left <= 0) return false;
      continue;
    }
    char tmp[65536];
    ssize_t n = ::recv(s->fd, tmp, sizeof tmp, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) s->eof = true;
      return false;
    }
    s->buf.append(tmp, static_cast<size_t>(n));
    return true;
  }
}

void Throttle(size_t n) {
  if (g_cfg.bandwidth <= 0) return;
  static std::mutex mu;
  static Clock::time_point next = Clock::now();
  Clock::time_point until;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto now = Clock::now();
    if (next < now) next = now;
    next += std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(static_cast<double>(n) / g_cfg.bandwidth));
    until = next;
  }
  auto now = Clock::now();
  if (until > now) {
    g_throttle_ms += static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count());
    std::this_thread::sleep_until(until);
  }
}

// Writes all of data (throttled); false on error or timeout.
bool WriteAll(int fd, const char* data, size_t n, std::atomic<uint64_t>* counter) {
  while (n > 0) {
    size_t piece = std::min<size_t>(n, 16384);
    Throttle(piece);
    size_t done = 0;
    while (done < piece) {
      pollfd p{fd, POLLOUT, 0};
      int r = ::poll(&p, 1, 60000);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      ssize_t w = ::send(fd, data + done, piece - done, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      done += static_cast<size_t>(w);
    }
    if (counter) *counter += piece;
    data += piece;
    n -= piece;
  }
  return true;
}
bool WriteAll(int fd, const std::string& s, std::atomic<uint64_t>* counter) {
  return WriteAll(fd, s.data(), s.size(), counter);
}

int ConnectUpstream() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(g_cfg.upstream_port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// A kept-alive upstream connection that the server closed meanwhile (readable: EOF, or an
// unexpected byte) is not reused.
bool StillUsable(const Sock& s) {
  if (s.fd < 0 || !s.buf.empty()) return false;
  pollfd p{s.fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

// ---------------------------------------------------------------- HTTP messages
struct Message {
  std::string head;  // raw, up to and including the blank line
  std::string start_line;
  std::map<std::string, std::string> headers;  // lowercase names, last value wins
  std::string method, target;                  // requests
  int status = 0;                              // responses
  bool http10 = false;
  std::string Header(const std::string& n) const {
    auto it = headers.find(n);
    return it == headers.end() ? "" : it->second;
  }
};

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

enum class ReadResult { kOk, kEof, kError };

ReadResult ReadHead(Sock* s, Message* m, bool request, int timeout_ms) {
  size_t end;
  while ((end = s->buf.find("\r\n\r\n")) == std::string::npos) {
    if (s->buf.size() > 65536) return ReadResult::kError;
    if (!Fill(s, timeout_ms))
      return s->eof && s->buf.empty() ? ReadResult::kEof : ReadResult::kError;
  }
  m->head = s->buf.substr(0, end + 4);
  s->buf.erase(0, end + 4);
  size_t pos = m->head.find("\r\n");
  m->start_line = m->head.substr(0, pos);
  pos += 2;
  while (pos < m->head.size() - 2) {
    size_t eol = m->head.find("\r\n", pos);
    std::string line = m->head.substr(pos, eol - pos);
    pos = eol + 2;
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string v = line.substr(colon + 1);
    v.erase(0, v.find_first_not_of(" \t"));
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
    m->headers[Lower(line.substr(0, colon))] = v;
  }
  auto sp1 = m->start_line.find(' ');
  if (sp1 == std::string::npos) return ReadResult::kError;
  if (request) {
    auto sp2 = m->start_line.find(' ', sp1 + 1);
    if (sp2 == std::string::npos) return ReadResult::kError;
    m->method = m->start_line.substr(0, sp1);
    m->target = m->start_line.substr(sp1 + 1, sp2 - sp1 - 1);
    m->http10 = m->start_line.substr(sp2 + 1) == "HTTP/1.0";
  } else {
    m->http10 = m->start_line.rfind("HTTP/1.0", 0) == 0;
    m->status = std::atoi(m->start_line.c_str() + sp1 + 1);
  }
  return ReadResult::kOk;
}

enum class Framing { kNone, kLength, kChunked, kUntilClose };
struct Body {
  Framing framing = Framing::kNone;
  uint64_t length = 0;
};

Body RequestBody(const Message& m) {
  if (Lower(m.Header("transfer-encoding")).find("chunked") != std::string::npos)
    return {Framing::kChunked, 0};
  std::string cl = m.Header("content-length");
  if (!cl.empty()) return {Framing::kLength, std::strtoull(cl.c_str(), nullptr, 10)};
  return {Framing::kNone, 0};
}
Body ResponseBody(const Message& req, const Message& resp) {
  if (req.method == "HEAD" || resp.status == 204 || resp.status == 304 ||
      (resp.status >= 100 && resp.status < 200)) {
    return {Framing::kNone, 0};
  }
  if (Lower(resp.Header("transfer-encoding")).find("chunked") != std::string::npos)
    return {Framing::kChunked, 0};
  std::string cl = resp.Header("content-length");
  if (!cl.empty()) return {Framing::kLength, std::strtoull(cl.c_str(), nullptr, 10)};
  return {Framing::kUntilClose, 0};
}

bool WantsClose(const Message& m) {
  std::string c = Lower(m.Header("connection"));
  if (c.find("close") != std::string::npos) return true;
  if (m.http10 && c.find("keep-alive") == std::string::npos) return true;
  return false;
}

// Relays a body from `from` to the socket `to`. cut_at: stop after this many body bytes (raw
// bytes on the wire for chunked bodies), nullopt: relay it all. stall_at: sleep stall_ms once
// this many bytes are relayed. Returns true when the whole body (or the cut) was relayed.
struct RelayOutcome {
  bool ok = false;
  bool cut = false;
  uint64_t relayed = 0;
};
RelayOutcome RelayBody(Sock* from, int to, const Body& body, std::optional<uint64_t> cut_at,
                       std::optional<uint64_t> stall_at, int stall_ms,
                       std::atomic<uint64_t>* counter, int timeout_ms) {
  RelayOutcome out;
  auto send = [&](const char* p, size_t n) -> bool {  // false: stop (error or cut reached)
    while (n > 0) {
      size_t k = n;
      if (stall_at && out.relayed <= *stall_at && out.relayed + k > *stall_at)
        k = *stall_at - out.relayed;
      if (cut_at && out.relayed + k > *cut_at) k = *cut_at - out.relayed;
      if (k > 0 && !WriteAll(to, p, k, counter)) return false;
      out.relayed += k;
      p += k;
      n -= k;
      if (stall_at && out.relayed == *stall_at) {
        std::this_thread::sleep_for(std::chrono::milliseconds(stall_ms));
        stall_at.reset();
      }
      if (cut_at && out.relayed >= *cut_at) {
        out.cut = true;
        return false;
      }
    }
    return true;
  };
  // consume n bytes of from->buf into the output
  auto pass = [&](size_t n) -> bool {
    bool r = send(from->buf.data(), n);
    from->buf.erase(0, n);
    return r;
  };
  switch (body.framing) {
    case Framing::kNone: out.ok = true; return out;
    case Framing::kLength: {
      uint64_t left = body.length;
      while (left > 0) {
        if (from->buf.empty() && !Fill(from, timeout_ms)) return out;
        size_t n = static_cast<size_t>(std::min<uint64_t>(left, from->buf.size()));
        left -= n;
        if (!pass(n)) return out;
      }
      out.ok = true;
      return out;
    }
    case Framing::kUntilClose:
      for (;;) {
        if (from->buf.empty() && !Fill(from, timeout_ms)) {
          out.ok = from->eof;
          return out;
        }
        if (!pass(from->buf.size())) return out;
      }
    case Framing::kChunked:
      for (;;) {
        size_t eol;
        while ((eol = from->buf.find("\r\n")) == std::string::npos) {
          if (from->buf.size() > 4096 || !Fill(from, timeout_ms)) return out;
        }
        uint64_t size = std::strtoull(from->buf.c_str(), nullptr, 16);
        if (!pass(eol + 2)) return out;
        if (size == 0) {  // trailers, up to the blank line
          for (;;) {
            while ((eol = from->buf.find("\r\n")) == std::string::npos) {
              if (from->buf.size() > 65536 || !Fill(from, timeout_ms)) return out;
            }
            bool last = eol == 0;
            if (!pass(eol + 2)) return out;
            if (last) {
              out.ok = true;
              return out;
            }
          }
        }
        uint64_t left = size + 2;  // data and its CRLF
        while (left > 0) {
          if (from->buf.empty() && !Fill(from, timeout_ms)) return out;
          size_t n = static_cast<size_t>(std::min<uint64_t>(left, from->buf.size()));
          left -= n;
          if (!pass(n)) return out;
        }
      }
  }
  return out;
}

std::string ErrorResponse(Kind k, uint64_t n) {
  int status = k == Kind::kError500 ? 500 : 503;
  const char* code = k == Kind::kError500   ? "InternalError"
                     : k == Kind::kError503 ? "ServiceUnavailable"
                                            : "SlowDown";
  const char* reason = status == 500 ? "Internal Server Error" : "Service Unavailable";
  const char* message = k == Kind::kSlowDown ? "Please reduce your request rate."
                                             : "injected by walferry_fault_proxy";
  std::string body = std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>") +
                     code + "</Code><Message>" + message + "</Message><RequestId>fault-proxy-" +
                     std::to_string(n) +
                     "</RequestId><HostId>walferry-fault-proxy</HostId></Error>";
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nContent-Type: application/xml\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nx-amz-request-id: fault-proxy-" + std::to_string(n) + "\r\n\r\n" + body;
}

// ---------------------------------------------------------------- fault choice
struct Decision {
  std::optional<Kind> kind;
  uint64_t n = 0;
  double a = 0, b = 0;  // further draws: a = where (fraction), b = how long
};

Decision Choose(const Message& req);

// the fault of the next request, and its line in --request-log
Decision Decide(const Message& req, uint64_t conn) {
  std::lock_guard<std::mutex> lock(g_decide_mu);
  Decision d = Choose(req);
  if (g_request_log != nullptr) {
    std::fprintf(g_request_log, "%llu conn %llu %s %s %s\n", static_cast<unsigned long long>(d.n),
                 static_cast<unsigned long long>(conn), req.method.c_str(),
                 req.target.substr(0, 300).c_str(),
                 d.kind ? kKindNames[static_cast<int>(*d.kind)] : "-");
    std::fflush(g_request_log);
  }
  return d;
}

Decision Choose(const Message& req) {
  Decision d;
  d.n = g_request_no++;
  d.a = Draw(d.n, 1);
  d.b = Draw(d.n, 2);
  std::string path = req.target, query;
  auto q = path.find('?');
  if (q != std::string::npos) {
    query = path.substr(q + 1);
    path.resize(q);
  }
  auto matches = [&](const Rule& r) {
    if (r.limit > 0 && r.injected >= r.limit) return false;
    return (r.method == "*" || r.method == req.method) &&
           fnmatch(r.key.c_str(), path.c_str(), 0) == 0 &&
           fnmatch(r.query.c_str(), query.c_str(), 0) == 0;
  };
  for (auto& r : g_cfg.rules) {  // a burst under way wins
    if (r.burst_left > 0 && matches(r)) {
      --r.burst_left;
      ++r.injected;
      d.kind = r.kind;
      return d;
    }
  }
  double u = Draw(d.n, 0), acc = 0;
  for (auto& r : g_cfg.rules) {
    if (!matches(r)) continue;
    acc += r.probability;
    if (u < acc) {
      ++r.injected;
      d.kind = r.kind;
      if (IsError(r.kind)) r.burst_left = r.burst - 1;
      return d;
    }
  }
  return d;
}

int Between(int lo, int hi, double u) { return lo + static_cast<int>((hi - lo) * u); }

void LogFault(const Decision& d, uint64_t conn, const Message& req, const std::string& detail) {
  g_counts[static_cast<int>(*d.kind)]++;
  std::string target = req.target.substr(0, 160);
  Log("request " + std::to_string(d.n) + " conn " + std::to_string(conn) + " " + req.method + " " +
      target + ": " + kKindNames[static_cast<int>(*d.kind)] +
      (detail.empty() ? "" : " (" + detail + ")"));
}

// ---------------------------------------------------------------- one client connection
constexpr int kClientIdleMs = 120000;
constexpr int kUpstreamMs = 120000;

void Serve(int cfd, uint64_t conn) {
  Sock client, up;
  client.fd = cfd;
  for (;;) {
    Message req;
    ReadResult rr = ReadHead(&client, &req, true, kClientIdleMs);
    if (rr != ReadResult::kOk) break;
    g_requests++;
    Decision d = Decide(req, conn);
    Body rbody = RequestBody(req);
    bool expect100 = Lower(req.Header("expect")).find("100-continue") != std::string::npos;
    Kind k = d.kind.value_or(Kind::kCount);

    if (k == Kind::kLatency) {
      int ms = Between(g_cfg.latency_min_ms, g_cfg.latency_max_ms, d.b);
      LogFault(d, conn, req, std::to_string(ms) + " ms");
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }
    if (k == Kind::kResetBeforeRequest) {
      LogFault(d, conn, req, "nothing forwarded");
      break;  // reset below
    }
    if (IsError(k)) {
      // answer without forwarding; read the body first so the connection stays usable
      bool keep = !expect100 && rbody.framing != Framing::kChunked;
      if (keep && rbody.framing == Framing::kLength) {
        uint64_t left = rbody.length;
        while (left > 0) {
          if (client.buf.empty() && !Fill(&client, kClientIdleMs)) {
            keep = false;
            break;
          }
          size_t n = static_cast<size_t>(std::min<uint64_t>(left, client.buf.size()));
          client.buf.erase(0, n);
          left -= n;
        }
      }
      LogFault(d, conn, req, "");
      std::string resp = ErrorResponse(k, d.n);
      if (!keep) resp.insert(resp.find("\r\n") + 2, "Connection: close\r\n");
      if (!WriteAll(client.fd, resp, &g_bytes_down) || !keep || WantsClose(req)) {
        Close(&client, false);
        Close(&up, true);
        return;
      }
      continue;
    }

    if (!StillUsable(up)) {
      Close(&up, false);
      up.fd = ConnectUpstream();
      if (up.fd < 0) {
        g_upstream_failures++;
        Log("request " + std::to_string(d.n) + ": cannot connect to the upstream 127.0.0.1:" +
            std::to_string(g_cfg.upstream_port) + ": " + std::strerror(errno));
        break;
      }
    }
    g_forwarded++;
    if (!WriteAll(up.fd, req.head, &g_bytes_up)) break;

    Message resp;
    bool have_resp = false;
    if (expect100 && rbody.framing != Framing::kNone) {
      // the server answers 100 Continue (relayed) or a final status (no body is sent then)
      if (ReadHead(&up, &resp, false, kUpstreamMs) != ReadResult::kOk) break;
      if (resp.status == 100) {
        if (!WriteAll(client.fd, resp.head, &g_bytes_down)) break;
      } else {
        have_resp = true;
      }
    }
    if (!have_resp) {
      std::optional<uint64_t> cut;
      if (k == Kind::kResetDuringRequest) {
        uint64_t total = rbody.framing == Framing::kLength ? rbody.length : 4096;
        cut = total > 1 ? static_cast<uint64_t>(static_cast<double>(total - 1) * d.a) : 0;
      }
      RelayOutcome o =
          RelayBody(&client, up.fd, rbody, cut, std::nullopt, 0, &g_bytes_up, kClientIdleMs);
      if (k == Kind::kResetDuringRequest) {
        LogFault(d, conn, req,
                 "after " + std::to_string(o.relayed) + " of " +
                     (rbody.framing == Framing::kLength ? std::to_string(rbody.length) : "?") +
                     " body bytes");
        Close(&up, true);
        break;
      }
      if (!o.ok) break;
      // interim answers (100 Continue without Expect, 102) are relayed as they come
      for (;;) {
        resp = Message();
        if (ReadHead(&up, &resp, false, kUpstreamMs) != ReadResult::kOk) goto done;
        if (resp.status >= 200 || resp.status < 100) break;
        if (!WriteAll(client.fd, resp.head, &g_bytes_down)) goto done;
      }
    }
    if (k == Kind::kResetAfterRequest) {
      LogFault(d, conn, req, "the upstream answered " + std::to_string(resp.status));
      Close(&up, true);
      break;
    }
    {
      Body body = ResponseBody(req, resp);
      std::optional<uint64_t> cut, stall_at;
      int stall_ms = 0;
      if (k == Kind::kStall) {
        stall_ms = Between(g_cfg.stall_min_ms, g_cfg.stall_max_ms, d.b);
        bool in_body = body.framing == Framing::kLength && body.length > 1 && d.a >= 0.5;
        if (in_body) {
          stall_at = static_cast<uint64_t>(static_cast<double>(body.length - 1) * (d.a - 0.5) * 2);
          LogFault(d, conn, req,
                   std::to_string(stall_ms) + " ms after " + std::to_string(*stall_at) + " of " +
                       std::to_string(body.length) + " response body bytes");
        } else {
          LogFault(d, conn, req,
                   std::to_string(stall_ms) + " ms before the response (" +
                       std::to_string(resp.status) + ")");
          std::this_thread::sleep_for(std::chrono::milliseconds(stall_ms));
        }
      }
      bool cutting = k == Kind::kResetDuringResponse || k == Kind::kTruncateResponse;
      if (cutting) {
        uint64_t total = body.framing == Framing::kLength ? body.length : 4096;
        cut = body.framing == Framing::kNone || total <= 1
                  ? 0
                  : static_cast<uint64_t>(static_cast<double>(total - 1) * d.a);
      }
      if (!WriteAll(client.fd, resp.head, &g_bytes_down)) break;
      RelayOutcome o =
          RelayBody(&up, client.fd, body, cut, stall_at, stall_ms, &g_bytes_down, kUpstreamMs);
      if (cutting) {
        LogFault(d, conn, req,
                 "http " + std::to_string(resp.status) + ", after " + std::to_string(o.relayed) +
                     " of " +
                     (body.framing == Framing::kLength ? std::to_string(body.length)
                      : body.framing == Framing::kNone ? "0"
                                                       : "?") +
                     " body bytes");
        Close(&up, true);
        if (k == Kind::kTruncateResponse) {
          ::shutdown(client.fd, SHUT_WR);
          Close(&client, false);
          return;
        }
        break;
      }
      if (!o.ok) break;
      if (body.framing == Framing::kUntilClose || WantsClose(resp)) {
        Close(&client, false);
        Close(&up, false);
        return;
      }
      if (WantsClose(req) ||
          have_resp) {  // have_resp: the body of an Expect request was never sent
        Close(&up, false);
        Close(&client, false);
        return;
      }
    }
  }
done:
  // any fault, error or the end of the client's connection: reset what is left
  Close(&up, true);
  if (client.fd >= 0) {
    bool clean_eof = client.eof && client.buf.empty();
    Close(&client, !clean_eof);
  }
}

// ---------------------------------------------------------------- main
void OnSignal(int) { g_stop.store(true); }

void Summary(double seconds) {
  std::string s =
      "summary: " + std::to_string(g_requests.load()) + " requests, " +
      std::to_string(g_forwarded.load()) + " forwarded, " + std::to_string(g_connections.load()) +
      " connections, " + std::to_string(g_upstream_failures.load()) +
      " upstream connect failures, " + std::to_string(g_bytes_up.load()) + " bytes up, " +
      std::to_string(g_bytes_down.load()) + " bytes down, " + std::to_string(g_throttle_ms.load()) +
      " ms throttled, " + std::to_string(static_cast<int>(seconds)) + " s; faults:";
  uint64_t total = 0;
  for (int i = 0; i < kKinds; ++i) {
    s += " " + std::string(kKindNames[i]) + "=" + std::to_string(g_counts[i].load());
    total += g_counts[i].load();
  }
  s += " total=" + std::to_string(total);
  Log(s);
  if (g_log != stderr) std::fprintf(stderr, "fault-proxy: %s\n", s.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  const pid_t parent = getppid();
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) return 0;  // the parent died before prctl
  ParseArgs(argc, argv);
  if (!g_cfg.log_file.empty()) {
    g_log = std::fopen(g_cfg.log_file.c_str(), "a");
    if (g_log == nullptr)
      Die("cannot open log file '" + g_cfg.log_file + "': " + std::strerror(errno));
  }
  if (!g_cfg.request_log_file.empty()) {
    g_request_log = std::fopen(g_cfg.request_log_file.c_str(), "a");
    if (g_request_log == nullptr)
      Die("cannot open request log '" + g_cfg.request_log_file + "': " + std::strerror(errno));
  }
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lfd < 0) Die(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(g_cfg.port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    Die("bind 127.0.0.1:" + std::to_string(g_cfg.port) + ": " + std::strerror(errno));
  }
  if (::listen(lfd, 128) != 0) Die(std::string("listen: ") + std::strerror(errno));
  socklen_t len = sizeof a;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  if (!g_cfg.port_file.empty()) {
    std::string tmp = g_cfg.port_file + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (f == nullptr) Die("cannot write '" + tmp + "': " + std::strerror(errno));
    std::fprintf(f, "%d\n", port);
    std::fclose(f);
    if (std::rename(tmp.c_str(), g_cfg.port_file.c_str()) != 0)
      Die("cannot rename to '" + g_cfg.port_file + "'");
  }
  std::printf("listening on 127.0.0.1:%d, upstream 127.0.0.1:%d, seed %llu, %zu fault rules\n",
              port, g_cfg.upstream_port, static_cast<unsigned long long>(g_cfg.seed),
              g_cfg.rules.size());
  std::fflush(stdout);
  {
    std::string rules;
    for (const auto& r : g_cfg.rules) {
      rules += std::string(rules.empty() ? "" : "; ") + kKindNames[static_cast<int>(r.kind)] + "=" +
               std::to_string(r.probability) + " method=" + r.method + " key=" + r.key +
               " query=" + r.query + (IsError(r.kind) ? " burst=" + std::to_string(r.burst) : "");
    }
    Log("start: port " + std::to_string(port) + ", seed " + std::to_string(g_cfg.seed) +
        ", bandwidth " +
        (g_cfg.bandwidth > 0 ? std::to_string(static_cast<uint64_t>(g_cfg.bandwidth)) + " B/s"
                             : "unlimited") +
        ", rules: " + (rules.empty() ? "none" : rules));
  }

  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(g_cfg.max_seconds));
  std::string why = "stopped by a signal";
  while (!g_stop.load()) {
    if (Clock::now() >= deadline) {
      why = "--max-seconds reached";
      break;
    }
    if (getppid() != parent) {
      why = "the parent process exited";
      break;
    }
    {  // at most max_connections served at once: the others wait in the backlog
      std::unique_lock<std::mutex> lock(g_open_mu);
      if (!g_open_cv.wait_for(lock, std::chrono::milliseconds(200),
                              [] { return g_open.load() < g_cfg.max_connections; })) {
        continue;
      }
    }
    pollfd p{lfd, POLLIN, 0};
    int r = ::poll(&p, 1, 200);
    if (r <= 0) continue;
    int cfd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (cfd < 0) continue;
    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    uint64_t conn = g_connections++;
    g_open++;
    std::thread([cfd, conn] {
      Serve(cfd, conn);
      {
        std::lock_guard<std::mutex> lock(g_open_mu);
        g_open--;
      }
      g_open_cv.notify_all();
    }).detach();
  }
  ::close(lfd);
  g_stop.store(true);
  // connections in progress notice g_stop within 0.5 s; give them a moment, then leave
  for (int i = 0; i < 20 && g_open.load() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  Log("exit: " + why);
  Summary(std::chrono::duration<double>(Clock::now() - start).count());
  std::fflush(nullptr);
  std::_Exit(0);
}
