// Copyright EMPI developers.
#include "engine/server/http.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cerrno>
#include <chrono>
#include <deque>
#include <exception>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"

namespace empi::server {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;

namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view View(boost::beast::string_view s) { return {s.data(), s.size()}; }

}  // namespace

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (EqualsIgnoreCase(n, name)) return v;
  }
  return {};
}

bool HttpRequest::HasParam(std::string_view name) const {
  for (const auto& [n, v] : params) {
    if (n == name) return true;
  }
  return false;
}

std::string HttpRequest::Param(std::string_view name) const {
  for (const auto& [n, v] : params) {
    if (n == name) return v;
  }
  return {};
}

namespace {

constexpr size_t kHeaderLimit = 64 * 1024;

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX decoded (a malformed escape is kept as it is); '+' is a space in a
// query, itself in a path.
std::string Decode(std::string_view s, bool query) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexDigit(s[i + 1]) >= 0 && HexDigit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexDigit(s[i + 1]) * 16 + HexDigit(s[i + 2])));
      i += 2;
    } else {
      out.push_back(query && s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

void ParseTarget(std::string_view target, HttpRequest* req) {
  const size_t q = target.find('?');
  req->path = Decode(target.substr(0, q), /*query=*/false);
  if (q == std::string_view::npos) return;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    req->params.emplace_back(Decode(pair.substr(0, eq), true),
                             eq == std::string_view::npos ? std::string() : Decode(pair.substr(eq + 1), true));
  }
}

// One accepted connection, plain or TLS, read by Beast as a
// SyncReadStream. The socket blocks; its receive timeout is the idle one
// while waiting for a request's first bytes and the read one after.
class Connection {
 public:
  Connection(int fd, int idle_seconds, int read_seconds) : fd_(fd), idle_(idle_seconds), read_(read_seconds) {
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const timeval send_timeout{read_, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
  }
  ~Connection() {
    if (ssl_ != nullptr) {
      SSL_shutdown(ssl_);
      SSL_free(ssl_);
    }
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The TLS handshake, within the read timeout; false when it failed.
  bool Handshake(SSL_CTX* ctx) {
    ssl_ = SSL_new(ctx);
    if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1) return false;
    SetReceiveTimeout(read_);
    const bool ok = SSL_accept(ssl_) == 1;
    ERR_clear_error();
    return ok;
  }
  const SSL* ssl() const { return ssl_; }

  // A request begins: with its first bytes already read (pipelined), its
  // read deadline starts now; otherwise the idle timeout applies until
  // they come.
  void BeginRequest(bool buffered) {
    awaiting_request_ = !buffered;
    if (buffered) deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(read_);
  }

  // Within a request, each wait is bounded by the read timeout and the
  // whole request by twice it (a client sending a byte at a time cannot
  // hold its worker for longer).
  template <class MutableBuffers>
  size_t read_some(const MutableBuffers& buffers, beast::error_code& ec) {
    auto it = net::buffer_sequence_begin(buffers);
    const auto end = net::buffer_sequence_end(buffers);
    while (it != end && net::buffer(*it).size() == 0) ++it;
    if (it == end) return 0;
    ec = {};
    if (!awaiting_request_ && std::chrono::steady_clock::now() >= deadline_) {
      ec = net::error::make_error_code(net::error::timed_out);
      return 0;
    }
    SetReceiveTimeout(awaiting_request_ ? idle_ : read_);
    const size_t n = Receive(*it, ec);
    if (n > 0 && awaiting_request_) BeginRequest(/*buffered=*/true);
    return n;
  }
  template <class MutableBuffers>
  size_t read_some(const MutableBuffers& buffers) {
    beast::error_code ec;
    const size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

  // All of `data`, or false.
  bool WriteAll(std::string_view data) {
    if (ssl_ != nullptr) {
      const bool ok = data.empty() || SSL_write(ssl_, data.data(), static_cast<int>(data.size())) > 0;
      ERR_clear_error();
      return ok;
    }
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

 private:
  size_t Receive(net::mutable_buffer b, beast::error_code& ec) {
    if (ssl_ != nullptr) {
      const int n = SSL_read(ssl_, b.data(), static_cast<int>(std::min<size_t>(b.size(), 1 << 30)));
      if (n > 0) return static_cast<size_t>(n);
      const int why = SSL_get_error(ssl_, n);
      ERR_clear_error();
      ec = why == SSL_ERROR_ZERO_RETURN ? net::error::make_error_code(net::error::eof)
                                        : net::error::make_error_code(net::error::timed_out);
      return 0;
    }
    for (;;) {
      const ssize_t n = ::recv(fd_, b.data(), b.size(), 0);
      if (n > 0) return static_cast<size_t>(n);
      if (n == 0) {
        ec = net::error::eof;
      } else if (errno == EINTR) {
        continue;
      } else {
        ec = beast::error_code(errno, boost::system::system_category());
      }
      return 0;
    }
  }

  void SetReceiveTimeout(int seconds) {
    if (seconds == receive_timeout_) return;
    const timeval tv{seconds, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    receive_timeout_ = seconds;
  }

  const int fd_;
  const int idle_, read_;
  int receive_timeout_ = 0;  // 0: none (the socket's default)
  bool awaiting_request_ = true;
  std::chrono::steady_clock::time_point deadline_;  // of the request being read
  SSL* ssl_ = nullptr;
};

// The status a request that could not be read gets: 0 for a connection
// that closed or went silent (nothing to answer).
int ReadErrorStatus(const beast::error_code& ec) {
  if (ec == http::error::body_limit) return 413;
  if (ec == http::error::header_limit) return 431;
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return 0;
  return ec.category() == http::make_error_code(http::error::bad_method).category() ? 400 : 0;
}

std::string Serialize(const HttpRequest& req, const HttpResponse& res, bool keep_alive) {
  std::string out;
  out.reserve(160 + res.body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(res.status);
  out += ' ';
  out += View(http::obsolete_reason(static_cast<http::status>(res.status)));
  out += "\r\n";
  auto header = [&out](std::string_view name, std::string_view value) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  };
  if (!res.content_type.empty()) header("Content-Type", res.content_type);
  header("Content-Length", std::to_string(res.body.size()));
  for (const auto& [name, value] : res.headers) header(name, value);
  if (!keep_alive) header("Connection", "close");
  out += "\r\n";
  if (req.method != "HEAD") out += res.body;
  return out;
}

class HttpServerImpl final : public HttpServer {
 public:
  HttpServerImpl(const HttpOptions& options, SSL_CTX* ctx, Answer answer, Log log)
      : options_(options), ctx_(ctx), answer_(std::move(answer)), log_(std::move(log)) {}
  ~HttpServerImpl() override {
    if (listen_fd_ >= 0) ::close(listen_fd_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  }

  absl::StatusOr<int> Bind(const std::string& host, int port) override {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    if (::getaddrinfo(host.c_str(), service.c_str(), &hints, &found) != 0) {
      return absl::UnavailableError("--listen: cannot resolve the address");
    }
    for (addrinfo* a = found; a != nullptr && listen_fd_ < 0; a = a->ai_next) {
      const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) continue;
      const int one = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, SOMAXCONN) == 0) {
        listen_fd_ = fd;
      } else {
        ::close(fd);
      }
    }
    ::freeaddrinfo(found);
    if (listen_fd_ < 0) return absl::UnavailableError("--listen: cannot bind the address");
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
    return ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                             : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  }

  absl::Status Serve() override {
    if (listen_fd_ < 0) return absl::FailedPreconditionError("Serve before Bind");
    std::vector<std::thread> workers;
    for (size_t i = 0; i < std::max<size_t>(options_.threads, 1); ++i) workers.emplace_back([this] { Work(); });
    bool failed = false;
    for (;;) {
      sockaddr_storage peer{};
      socklen_t len = sizeof peer;
      const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
      if (Stopping()) {
        if (fd >= 0) ::close(fd);
        break;
      }
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));  // out of descriptors: let some close
          continue;
        }
        failed = true;
        break;
      }
      absl::MutexLock lock(&mu_);
      pending_.push_back({fd, PeerAddress(peer)});
    }
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      for (int fd : open_) ::shutdown(fd, SHUT_RD);  // idle keep-alive connections end now
    }
    for (std::thread& t : workers) t.join();
    absl::MutexLock lock(&mu_);
    for (const Pending& p : pending_) ::close(p.fd);  // accepted, never served
    pending_.clear();
    if (failed) return absl::UnavailableError("the listening socket failed");
    return absl::OkStatus();
  }

  void Stop() override {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (listen_fd_ >= 0) ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept
  }

 private:
  struct Pending {
    int fd;
    std::string remote;
  };

  static std::string PeerAddress(const sockaddr_storage& peer) {
    char text[INET6_ADDRSTRLEN] = "";
    if (peer.ss_family == AF_INET) {
      ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&peer)->sin_addr, text, sizeof text);
    } else if (peer.ss_family == AF_INET6) {
      ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&peer)->sin6_addr, text, sizeof text);
    }
    return text;
  }

  bool Stopping() const { return stopping_.load(std::memory_order_acquire); }

  // A worker: takes accepted connections until the server stops.
  void Work() {
    for (;;) {
      Pending p;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](HttpServerImpl* s)
                 ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) { return s->Stopping() || !s->pending_.empty(); },
            this));
        if (Stopping()) return;
        p = std::move(pending_.front());
        pending_.pop_front();
        open_.insert(p.fd);
      }
      ServeConnection(p.fd, p.remote);
      {
        absl::MutexLock lock(&mu_);
        open_.erase(p.fd);
      }
      ::close(p.fd);
    }
  }

  void ServeConnection(int fd, const std::string& remote) {
    Connection conn(fd, options_.idle_timeout_seconds, options_.read_timeout_seconds);
    if (ctx_ != nullptr && !conn.Handshake(ctx_)) return;
    beast::flat_buffer buffer;
    for (size_t served = 0; served < options_.max_requests_per_connection && !Stopping(); ++served) {
      HttpRequest req;
      req.remote_addr = remote;
      req.ssl = conn.ssl();
      bool keep_alive = false;
      int error = ReadRequest(&conn, &buffer, &req, &keep_alive);
      if (error == 0 && req.method.empty()) return;  // closed or silent
      HttpResponse res;
      try {
        answer_(&req, error, &res);
      } catch (const std::exception&) {
        error = 500;
        res = HttpResponse{};
        answer_(&req, error, &res);
      }
      keep_alive = keep_alive && error == 0 && served + 1 < options_.max_requests_per_connection && !Stopping();
      const bool sent = conn.WriteAll(Serialize(req, res, keep_alive));
      log_(req, res);
      if (!sent || !keep_alive) return;
    }
  }

  // Reads one request into `req`. Returns 0 when it was read whole (or,
  // with req->method empty, when the connection closed or went silent
  // first), else the error status to answer with.
  int ReadRequest(Connection* conn, beast::flat_buffer* buffer, HttpRequest* req, bool* keep_alive) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(options_.max_body_bytes);
    conn->BeginRequest(/*buffered=*/buffer->size() > 0);
    beast::error_code ec;
    http::read_header(*conn, *buffer, parser, ec);
    if (!ec) {
      const auto& head = parser.get();
      req->method = std::string(View(head.method_string()));
      ParseTarget(View(head.target()), req);
      for (const auto& field : head) req->headers.emplace_back(View(field.name_string()), View(field.value()));
      if (EqualsIgnoreCase(req->Header("Expect"), "100-continue") && !parser.is_done()) {
        if (parser.content_length() && *parser.content_length() > options_.max_body_bytes) return 413;
        conn->WriteAll("HTTP/1.1 100 Continue\r\n\r\n");
      }
      http::read(*conn, *buffer, parser, ec);
    }
    if (ec) {
      const int status = ReadErrorStatus(ec);
      if (status == 0) req->method.clear();
      return status;
    }
    req->body = std::move(parser.get().body());
    *keep_alive = parser.get().keep_alive();
    return 0;
  }

  const HttpOptions options_;
  SSL_CTX* const ctx_;
  const Answer answer_;
  const Log log_;
  int listen_fd_ = -1;
  absl::Mutex mu_;
  // Set under mu_, so that a connection taken before Stop is shut down by
  // Serve's sweep of open_ and one taken after sees it; read without.
  std::atomic<bool> stopping_{false};
  std::deque<Pending> pending_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<int> open_ ABSL_GUARDED_BY(mu_);
};

// The server's TLS context: TLS 1.2 or later; with a client CA, every
// client must present a certificate it signed.
absl::StatusOr<SSL_CTX*> TlsContext(const HttpOptions& o) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return absl::InternalError("TLS: cannot create a context");
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // Read what the socket holds, not a record header and then its body:
  // one recv per request instead of two (the sockets are blocking and
  // never polled, so bytes OpenSSL holds back are not missed).
  SSL_CTX_set_read_ahead(ctx, 1);
  bool ok = SSL_CTX_use_certificate_chain_file(ctx, o.tls_cert.c_str()) == 1 &&
            SSL_CTX_use_PrivateKey_file(ctx, o.tls_key.c_str(), SSL_FILETYPE_PEM) == 1 &&
            SSL_CTX_check_private_key(ctx) == 1;
  if (ok && !o.client_ca.empty()) {
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.client_ca.c_str());
    ok = names != nullptr && SSL_CTX_load_verify_locations(ctx, o.client_ca.c_str(), nullptr) == 1;
    if (names != nullptr) SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  ERR_clear_error();
  if (!ok) {
    SSL_CTX_free(ctx);
    return absl::InvalidArgumentError("--tls-cert, --tls-key, --client-ca: cannot load them (PEM expected)");
  }
  return ctx;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(const HttpOptions& options, Answer answer, Log log) {
  SSL_CTX* ctx = nullptr;
  if (!options.tls_cert.empty() || !options.tls_key.empty()) {
    if (options.tls_cert.empty() || options.tls_key.empty()) {
      return absl::InvalidArgumentError("--tls-cert and --tls-key: give both or neither");
    }
    absl::StatusOr<SSL_CTX*> made = TlsContext(options);
    if (!made.ok()) return made.status();
    ctx = *made;
  } else if (!options.client_ca.empty()) {
    return absl::InvalidArgumentError("--client-ca: needs --tls-cert and --tls-key");
  }
  return std::unique_ptr<HttpServer>(new HttpServerImpl(options, ctx, std::move(answer), std::move(log)));
}

}  // namespace empi::server
