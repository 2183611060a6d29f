// Copyright EMPI developers.
//
// server.h: `empi serve`, the engine behind an HTTP/1.1 FHIR R4 service.
//
// Built on the public empi::Engine API only and on the transport in
// http.h (Boost.Beast's parser, OpenSSL for TLS); docs/service.md lists the
// endpoints, the role each needs and why Beast.
//
//   EMPI_ASSIGN_OR_RETURN(auto jwt, JwtVerifier::FromPemFile(keys, issuer, audience));
//   ServerOptions o;
//   o.host = "127.0.0.1";
//   o.port = 8443;
//   o.tls_cert = "cert.pem";
//   o.tls_key = "key.pem";
//   EMPI_ASSIGN_OR_RETURN(auto server, Server::Create(engine.get(), jwt.get(), o));
//   EMPI_ASSIGN_OR_RETURN(int port, server->Bind());
//   std::thread stopper([&] { WaitForSigterm(); server->Stop(); });
//   EMPI_RETURN_IF_ERROR(server->Serve());  // returns once Stop() was called
//
// Every request needs a bearer JWT (jwt.h); one without a valid token gets
// 401, one whose roles do not allow the endpoint 403, both as FHIR
// OperationOutcome and both audited through Engine::AuditRefusal. Every
// audit event names the token's sub, org, the role the request was allowed
// under, its purpose, and the X-Request-ID and X-Correlation-ID headers,
// which are echoed back (a request id is made up when none is sent).
//
// Each request is logged to stderr as one JSON line: time, request id,
// method, route template (never the path or query: they can hold NHS
// numbers or record ids), status, duration, sub, org and role.
//
// Thread-safety: Stop() may be called from any thread; the rest from one.
#ifndef EMPI_ENGINE_SERVER_SERVER_H_
#define EMPI_ENGINE_SERVER_SERVER_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "empi/engine.h"
#include "engine/server/http.h"
#include "engine/server/jwt.h"
#include "nlohmann/json.hpp"

namespace empi::server {

// The transport's options (http.h: TLS, client certificates, body size,
// idle and read timeouts, requests per connection, threads) and the
// service's own.
struct ServerOptions : HttpOptions {
  // Behaviour
  std::string host = "127.0.0.1";  // Default: loopback only
  int port = 8080;                 // 0: any free port (Bind returns it). Default: 8080
  // Limits
  size_t max_headers = 64;  // more header fields get 431. Default: 64
  // Every this many seconds, the records ingested since are revisited with
  // their neighbours (revisitor.h); 0: never (`empi relink` on demand).
  // Default: 5
  int revisit_interval_seconds = 5;
};

// The log line `empi serve` writes at start and whenever an ingest
// estimated the model: {"event":"model","version":...,"trusted":...}, with
// the reason and a warning while it is not trusted.
nlohmann::json ModelLogLine(const ModelInfo& model);

class Server {
 public:
  // InvalidArgument when the TLS files do not load (cert, key, client CA).
  // `engine` and `jwt` must outlive the server.
  static absl::StatusOr<std::unique_ptr<Server>> Create(Engine* engine, const JwtVerifier* jwt,
                                                        const ServerOptions& options);
  virtual ~Server() = default;
  // Binds the listening socket; returns the port (the chosen one for port
  // 0). Unavailable when the address cannot be bound.
  virtual absl::StatusOr<int> Bind() = 0;
  // Serves until Stop(): requests in progress finish, idle keep-alive
  // connections are closed. Call after Bind().
  virtual absl::Status Serve() = 0;
  virtual void Stop() = 0;
};

}  // namespace empi::server

#endif  // EMPI_ENGINE_SERVER_SERVER_H_
