// Copyright EMPI developers.
//
// http.h: the HTTP/1.1 transport under `empi serve`: Boost.Beast's request
// parser over blocking sockets, one worker thread per open connection, TLS
// through OpenSSL. It knows nothing of FHIR, routes or tokens; server.cc
// gives it one function that answers every parsed request.
//
//   HttpOptions o;  // limits, threads, TLS files
//   EMPI_ASSIGN_OR_RETURN(auto http, HttpServer::Create(o, answer, log));
//   EMPI_ASSIGN_OR_RETURN(int port, http->Bind("127.0.0.1", 0));
//   http->Serve();  // until Stop()
//
// Why not cpp-httplib, which served until 2026-12: it polls the socket
// before every read and write and between keep-alive requests, and builds
// a stream object per request; a fifth of the server's time per
// resolution went to the polls alone (docs/benchmarks.md, "The service on
// Boost.Beast"). Here a keep-alive request costs one recv and one send: the
// idle and read timeouts are the socket's own (SO_RCVTIMEO), set again
// only when a request does not arrive whole.
//
// Limits: a body over max_body_bytes gets 413 and the connection is
// closed; a header section over 64 KiB gets 431; a malformed request 400;
// a connection idle for idle_timeout_seconds, silent for
// read_timeout_seconds within a request, or still sending one request
// after twice that, is closed.
//
// Thread-safety: Stop() may be called from any thread; Bind and Serve from
// one. `answer` and `log` are called concurrently from the workers.
#ifndef EMPI_ENGINE_SERVER_HTTP_H_
#define EMPI_ENGINE_SERVER_HTTP_H_

#include <openssl/ssl.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace empi::server {

struct HttpRequest {
  std::string method;
  std::string path;  // percent-decoded, without the query
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::pair<std::string, std::string>> params;  // the query, decoded
  std::string body;
  std::vector<std::string> matches;  // the route's regex groups, [0] the path
  std::string remote_addr;
  const SSL* ssl = nullptr;  // the connection's TLS session, if any

  // The first header field of that name (case-insensitive); "" if none.
  std::string_view Header(std::string_view name) const;
  bool HasParam(std::string_view name) const;
  // The first query parameter of that name; "" if none.
  std::string Param(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string body, content_type;
  std::vector<std::pair<std::string, std::string>> headers;

  void SetHeader(std::string name, std::string value) { headers.emplace_back(std::move(name), std::move(value)); }
  void SetContent(std::string content, std::string type) {
    body = std::move(content);
    content_type = std::move(type);
  }
};

struct HttpOptions {
  // TLS when both are set (PEM files). Default: plain HTTP.
  std::string tls_cert, tls_key;
  // Require client certificates signed by this CA (PEM). Default: none.
  std::string client_ca;
  size_t max_body_bytes = size_t{1} << 20;     // larger bodies get 413. Default: 1 MiB
  int idle_timeout_seconds = 5;                // keep-alive connection idle. Default: 5
  int read_timeout_seconds = 10;               // one request's headers and body. Default: 10
  size_t max_requests_per_connection = 10000;  // Default: 10,000
  // Worker threads; a keep-alive connection holds one while it is open, so
  // this is also the most concurrent connections. Default: 64.
  size_t threads = 64;
};

class HttpServer {
 public:
  // Fills the response to a parsed request (and may fill its `matches`).
  // `error` > 0 when the request could not be read whole (400, 413, 431)
  // or answering it threw (500): the response is that error's, `request`
  // holds what was parsed, and the connection closes after it.
  using Answer = std::function<void(HttpRequest* request, int error, HttpResponse* response)>;
  // Called after the response was written (or failed to be).
  using Log = std::function<void(const HttpRequest& request, const HttpResponse& response)>;

  // InvalidArgument when the TLS files do not load.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Create(const HttpOptions& options, Answer answer, Log log);
  virtual ~HttpServer() = default;
  // Returns the port bound (the chosen one for port 0); Unavailable when
  // the address cannot be bound.
  virtual absl::StatusOr<int> Bind(const std::string& host, int port) = 0;
  // Accepts and serves until Stop(): requests in progress are answered,
  // idle keep-alive connections closed, then it returns.
  virtual absl::Status Serve() = 0;
  virtual void Stop() = 0;
};

}  // namespace empi::server

#endif  // EMPI_ENGINE_SERVER_HTTP_H_
