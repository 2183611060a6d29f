// Copyright EMPI developers.
//
// The transport under `empi serve` (engine/server/http.h), served on
// loopback and spoken to over a raw socket, byte by byte where it matters:
// keep-alive, pipelining, 100-continue, limits, malformed requests, query
// decoding and a stop while connections are idle.
#include "engine/server/http.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <utility>

#include "gtest/gtest.h"

namespace empi::server {
namespace {

// An answer that echoes what the transport parsed.
void Echo(HttpRequest* req, int error, HttpResponse* res) {
  if (error > 0) {
    res->status = error;
    res->SetContent("error", "text/plain");
    return;
  }
  if (req->path == "/throw") throw std::runtime_error("handler failed");
  std::string text = req->method + " " + req->path;
  for (const auto& [k, v] : req->params) text += " [" + k + "=" + v + "]";
  text += " x=" + std::string(req->Header("x-test")) + " body=" + req->body;
  res->SetContent(text, "text/plain");
}

class HttpTest : public ::testing::Test {
 protected:
  void Start(HttpOptions o = {}) {
    o.threads = 4;
    auto made = HttpServer::Create(o, Echo, [this](const HttpRequest&, const HttpResponse&) { ++logged_; });
    ASSERT_TRUE(made.ok()) << made.status();
    server_ = *std::move(made);
    auto port = server_->Bind("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
    thread_ = std::thread([this] { served_ = server_->Serve(); });
  }
  void TearDown() override {
    if (thread_.joinable()) {
      server_->Stop();
      thread_.join();
    }
  }

  int Connect() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
  }
  static void Send(int fd, const std::string& bytes) {
    ASSERT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
  }
  // Everything until the peer closes (or 5 s of silence), after what
  // ReadResponse read ahead.
  std::string ReadAll(int fd) {
    std::string out = std::exchange(ahead_, "");
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<size_t>(n));
    return out;
  }
  // One response, read as far as its Content-Length says; what follows it
  // is kept for the next read.
  std::string ReadResponse(int fd) {
    std::string out = std::exchange(ahead_, "");
    char buf[4096];
    for (;;) {
      const size_t head_end = out.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        const size_t cl = out.find("Content-Length: ");
        const size_t end = head_end + 4 + std::stoul(out.substr(cl + 16));
        if (out.size() >= end) {
          ahead_ = out.substr(end);
          return out.substr(0, end);
        }
      }
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return out;
      out.append(buf, static_cast<size_t>(n));
    }
  }

  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  absl::Status served_;
  std::atomic<int> logged_{0};
  int port_ = 0;
  std::string ahead_;  // bytes read past the last response
};

TEST_F(HttpTest, KeepAlivePipeliningAndQueryDecoding) {
  Start();
  const int fd = Connect();
  // Two requests in one send: both answered, in order, on one connection.
  Send(fd,
       "GET /a%24b?x=1%2B1&name=J+Smith&flag HTTP/1.1\r\nHost: h\r\nX-Test: one\r\n\r\n"
       "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello");
  const std::string first = ReadResponse(fd);
  EXPECT_TRUE(first.starts_with("HTTP/1.1 200 OK\r\n")) << first;
  EXPECT_TRUE(first.ends_with("GET /a$b [x=1+1] [name=J Smith] [flag=] x=one body=")) << first;
  EXPECT_EQ(first.find("Connection: close"), std::string::npos);
  const std::string second = ReadResponse(fd);
  EXPECT_TRUE(second.ends_with("POST /p x= body=hello")) << second;
  // A third on the same connection, asking to close it.
  Send(fd, "GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  const std::string third = ReadAll(fd);
  EXPECT_NE(third.find("Connection: close\r\n"), std::string::npos) << third;
  EXPECT_TRUE(third.ends_with("GET /c x= body=")) << third;
  ::close(fd);
}

TEST_F(HttpTest, ExpectContinueChunkedBodiesAndHead) {
  Start();
  const int fd = Connect();
  Send(fd, "POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
  char buf[64];
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "HTTP/1.1 100 Continue\r\n\r\n");
  Send(fd, "abc");
  EXPECT_TRUE(ReadResponse(fd).ends_with("POST /e x= body=abc"));
  Send(fd, "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  EXPECT_TRUE(ReadResponse(fd).ends_with("POST /c x= body=abcde"));
  // HEAD: the length of the body, not the body.
  Send(fd, "HEAD /h HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  const std::string head = ReadAll(fd);
  EXPECT_NE(head.find("Content-Length: 16\r\n"), std::string::npos) << head;
  EXPECT_TRUE(head.ends_with("\r\n\r\n")) << head;
  ::close(fd);
}

TEST_F(HttpTest, OversizeAndMalformedRequestsGetAnErrorAndTheConnectionCloses) {
  HttpOptions o;
  o.max_body_bytes = 100;
  Start(o);
  struct Case {
    std::string request;
    std::string status;
  };
  const Case cases[] = {
      {"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n" + std::string(101, 'x'), "413"},
      {"POST /b HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n", "413"},
      {"POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n" + std::string(101, 'x') +
           "\r\n0\r\n\r\n",
       "413"},
      {"GET /h HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(70 * 1024, 'y') + "\r\n\r\n", "431"},
      {"GET /h HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "400"},
      {"GET /h HTTP/9.9\r\n\r\n", "400"},
      {"G(T /h HTTP/1.1\r\n\r\n", "400"},
      {"GET /h HTTP/1.1\r\nBad Header\r\n\r\n", "400"},
      {"GET /throw HTTP/1.1\r\nHost: h\r\n\r\n", "500"},
  };
  for (const Case& c : cases) {
    const int fd = Connect();
    Send(fd, c.request);
    const std::string got = ReadAll(fd);  // ends: the server closed the connection
    EXPECT_TRUE(got.starts_with("HTTP/1.1 " + c.status + " ")) << c.request.substr(0, 60) << "\n" << got;
    EXPECT_NE(got.find("Connection: close\r\n"), std::string::npos) << got;
    ::close(fd);
  }
  // Bytes that are not HTTP at all, then silence: an answer or a close,
  // never a hang or a crash; the server still serves.
  const int fd = Connect();
  Send(fd, std::string("\x16\x03\x01\x00\xff\x01\x00\x00\r\n\r\n", 12));
  ReadAll(fd);
  ::close(fd);
  const int ok = Connect();
  Send(ok, "GET /still HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(ReadAll(ok).ends_with("GET /still x= body="));
  ::close(ok);
}

// Property: whatever bytes arrive (valid requests mutated at random, the
// client then closing its side), the server answers with a status line or
// closes, never hangs or crashes, and goes on serving.
TEST_F(HttpTest, MutatedRequestsGetAStatusOrACloseAndTheServerGoesOn) {
  HttpOptions o;
  o.max_body_bytes = 64;
  Start(o);
  const std::string valid[] = {
      "GET /a?x=1&y=%41 HTTP/1.1\r\nHost: h\r\nX-Test: t\r\n\r\n",
      "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody",
      "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
  };
  const char specials[] = {'\r', '\n', ':', ' ', '%', '\0', '\x7f', '\xff', '0', 'f'};
  std::mt19937 rng(20261205);
  int answered = 0, refused = 0, closed = 0;
  for (int i = 0; i < 400; ++i) {
    std::string bytes = valid[rng() % 3];
    for (int m = 1 + static_cast<int>(rng() % 4); m > 0; --m) {
      const size_t at = rng() % bytes.size();
      switch (rng() % 4) {
        case 0: bytes[at] = specials[rng() % sizeof specials]; break;
        case 1: bytes.insert(at, 1, specials[rng() % sizeof specials]); break;
        case 2: bytes.erase(at, 1 + rng() % 8); break;
        default: bytes.insert(at, bytes.substr(at / 2, rng() % 16)); break;
      }
      if (bytes.empty()) bytes = "x";
    }
    const int fd = Connect();
    Send(fd, bytes);
    ::shutdown(fd, SHUT_WR);
    const std::string got = ReadAll(fd);
    EXPECT_TRUE(got.empty() || got.starts_with("HTTP/1.1 ")) << i << ": " << got.substr(0, 40);
    answered += got.starts_with("HTTP/1.1 200 ");
    refused += got.starts_with("HTTP/1.1 4");
    closed += got.empty();
    ::close(fd);
  }
  // The mutations reach every outcome.
  EXPECT_GT(answered, 0);
  EXPECT_GT(refused, 0);
  EXPECT_GT(closed, 0);
  const int fd = Connect();
  Send(fd, "GET /after HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(ReadAll(fd).ends_with("GET /after x= body="));
  ::close(fd);
}

TEST_F(HttpTest, IdleConnectionsCloseAndRequestsPerConnectionAreBounded) {
  HttpOptions o;
  o.idle_timeout_seconds = 1;
  o.read_timeout_seconds = 1;
  o.max_requests_per_connection = 2;
  Start(o);
  const int fd = Connect();
  Send(fd, "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(ReadResponse(fd).find("Connection: close"), std::string::npos);
  Send(fd, "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
  const std::string last = ReadAll(fd);
  EXPECT_NE(last.find("Connection: close\r\n"), std::string::npos) << last;
  ::close(fd);

  const int idle = Connect();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(ReadAll(idle), "");
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, std::chrono::milliseconds(900));
  EXPECT_LT(waited, std::chrono::seconds(4));
  ::close(idle);

  // A client sending a header a byte at a time, never silent for the read
  // timeout (1 s), is cut off once the request has taken twice it.
  const int slow = Connect();
  const auto began = std::chrono::steady_clock::now();
  const std::string request = "GET /slow HTTP/1.1\r\nHost: h\r\nX-Test: " + std::string(40, 'z');
  size_t sent = 0;
  for (; sent < request.size(); ++sent) {
    if (::send(slow, &request[sent], 1, MSG_NOSIGNAL) != 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_LT(sent, request.size()) << "the server kept reading a request for 8 s";
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(4));
  ::close(slow);
}

TEST_F(HttpTest, StopClosesIdleConnectionsAndServeReturns) {
  HttpOptions o;
  o.idle_timeout_seconds = 60;
  Start(o);
  int fds[3];
  for (int& fd : fds) {
    fd = Connect();
    Send(fd, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
    ReadResponse(fd);
  }
  const auto start = std::chrono::steady_clock::now();
  server_->Stop();
  thread_.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_TRUE(served_.ok()) << served_;
  for (int fd : fds) {
    EXPECT_EQ(ReadAll(fd), "");
    ::close(fd);
  }
  EXPECT_EQ(logged_.load(), 3);
}

TEST_F(HttpTest, BindRefusesAnAddressInUseAndTlsNeedsBothFiles) {
  Start();
  auto second = HttpServer::Create({}, Echo, [](const HttpRequest&, const HttpResponse&) {});
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(absl::IsUnavailable((*second)->Bind("127.0.0.1", port_).status()));
  HttpOptions half;
  half.tls_cert = "cert.pem";
  EXPECT_TRUE(absl::IsInvalidArgument(HttpServer::Create(half, Echo, {}).status()));
  HttpOptions missing;
  missing.tls_cert = "/nonexistent/cert.pem";
  missing.tls_key = "/nonexistent/key.pem";
  EXPECT_TRUE(absl::IsInvalidArgument(HttpServer::Create(missing, Echo, {}).status()));
}

}  // namespace
}  // namespace empi::server
