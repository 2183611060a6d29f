// Copyright EMPI developers.
//
// `empi serve`: the index as an HTTP/1.1 FHIR R4 service
// (engine/server/server.h, docs/service.md). Runs until SIGTERM or SIGINT,
// then lets requests in progress finish and exits 0.
#include <pthread.h>
#include <signal.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include "absl/strings/numbers.h"
#include "empi/engine.h"
#include "empi/status_macros.h"
#include "engine/cli/command.h"
#include "engine/server/jwt.h"
#include "engine/server/server.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace empi::cli {
namespace {

struct ServeFlags {
  std::string db, listen, tls_cert, tls_key, client_ca, jwt_keys, jwt_issuer, jwt_audience, register_file, today;
  server::ServerOptions options;
};

absl::Status ParseListen(const std::string& listen, server::ServerOptions* o) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || !absl::SimpleAtoi(listen.substr(colon + 1), &o->port) ||
      o->port < 0 || o->port > 65535) {
    return absl::InvalidArgumentError("--listen: expected ADDRESS:PORT, such as 127.0.0.1:8443");
  }
  o->host = listen.substr(0, colon);
  if (o->host.size() > 2 && o->host.front() == '[' && o->host.back() == ']')
    o->host = o->host.substr(1, o->host.size() - 2);
  return absl::OkStatus();
}

absl::Status CheckReadable(const std::string& path, const char* flag) {
  if (!path.empty() && !std::filesystem::is_regular_file(path)) {
    return absl::NotFoundError(fmt::format("{}: no such file", flag));
  }
  return absl::OkStatus();
}

// Flag values that do not fit together: a usage error (64), not bad data.
absl::Status CheckFlags(ServeFlags* f) {
  EMPI_RETURN_IF_ERROR(ParseListen(f->listen, &f->options));
  if (f->tls_cert.empty() != f->tls_key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key: give both or neither");
  }
  if (!f->client_ca.empty() && f->tls_cert.empty()) {
    return absl::InvalidArgumentError("--client-ca: needs --tls-cert and --tls-key");
  }
  if (f->options.max_body_bytes == 0 || f->options.max_headers == 0 || f->options.threads == 0 ||
      f->options.idle_timeout_seconds <= 0 || f->options.read_timeout_seconds <= 0 ||
      f->options.revisit_interval_seconds < 0) {
    return absl::InvalidArgumentError(
        "--max-body-bytes, --max-headers, --threads and the timeouts must be positive, --revisit-interval not "
        "negative");
  }
  return absl::OkStatus();
}

absl::Status RunServe(ServeFlags f) {
  EMPI_RETURN_IF_ERROR(CheckReadable(f.jwt_keys, "--jwt-keys"));
  EMPI_RETURN_IF_ERROR(CheckReadable(f.tls_cert, "--tls-cert"));
  EMPI_RETURN_IF_ERROR(CheckReadable(f.tls_key, "--tls-key"));
  EMPI_RETURN_IF_ERROR(CheckReadable(f.client_ca, "--client-ca"));
  EMPI_RETURN_IF_ERROR(CheckDbPath(f.db));
  f.options.tls_cert = f.tls_cert;
  f.options.tls_key = f.tls_key;
  f.options.client_ca = f.client_ca;
  EMPI_ASSIGN_OR_RETURN(auto jwt, server::JwtVerifier::FromPemFile(f.jwt_keys, f.jwt_issuer, f.jwt_audience));

  // SIGTERM and SIGINT are taken by one thread (sigwait), so they must be
  // blocked in every thread, which inherit the mask from this one.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);  // a client that hangs up must not end the server

  EngineOptions eo;
  eo.contributor_register = f.register_file;
  eo.today = f.today;
  EMPI_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::Open(eo, f.db));
  EMPI_ASSIGN_OR_RETURN(auto server, server::Server::Create(engine.get(), jwt.get(), f.options));
  EMPI_ASSIGN_OR_RETURN(int port, server->Bind());
  std::cerr << nlohmann::json{{"event", "listening"},
                              {"address", f.options.host},
                              {"port", port},
                              {"tls", !f.tls_cert.empty()},
                              {"client_certificates", !f.client_ca.empty()},
                              {"jwt_keys", jwt->key_count()}}
                   .dump()
            << std::endl;
  std::cerr << server::ModelLogLine(engine->CurrentModel()).dump() << std::endl;
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    std::cerr << nlohmann::json{{"event", "stopping"}, {"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}}.dump()
              << std::endl;
    server->Stop();
  });
  absl::Status served = server->Serve();
  // Serve returned by itself (a failed socket): wake the signal thread.
  if (!served.ok()) ::kill(::getpid(), SIGTERM);
  stopper.join();
  server.reset();
  engine.reset();  // closes the store: everything acknowledged is on disk
  std::cerr << nlohmann::json{{"event", "stopped"}}.dump() << std::endl;
  return served;
}

}  // namespace

void RegisterServeCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<ServeFlags>();
  CLI::App* c = app.add_subcommand("serve", "Serve the index over HTTP/1.1 (FHIR R4, JWT bearer tokens, TLS)");
  c->add_option("--db", f->db, "Database directory")->required();
  c->add_option("--listen", f->listen, "ADDRESS:PORT to listen on (port 0: any free port)")->required();
  c->add_option("--tls-cert", f->tls_cert, "Server certificate chain (PEM); with --tls-key, serve HTTPS");
  c->add_option("--tls-key", f->tls_key, "Server private key (PEM)");
  c->add_option("--client-ca", f->client_ca, "Require client certificates signed by this CA (PEM)");
  c->add_option("--jwt-keys", f->jwt_keys, "PEM public keys (RSA, EC P-256) that sign bearer tokens")->required();
  c->add_option("--jwt-issuer", f->jwt_issuer, "Required iss claim")->required();
  c->add_option("--jwt-audience", f->jwt_audience, "Required aud claim")->required();
  c->add_option("--register", f->register_file, "Contributor register (CSV source,kind,area or JSON)");
  c->add_option("--today", f->today, "Date ages are computed on, YYYY-MM-DD (default today)");
  c->add_option("--max-body-bytes", f->options.max_body_bytes, "Largest request body")->capture_default_str();
  c->add_option("--max-headers", f->options.max_headers, "Most request header fields")->capture_default_str();
  c->add_option("--idle-timeout", f->options.idle_timeout_seconds, "Seconds a keep-alive connection may idle")
      ->capture_default_str();
  c->add_option("--read-timeout", f->options.read_timeout_seconds, "Seconds to read one request")
      ->capture_default_str();
  c->add_option("--threads", f->options.threads, "Worker threads (also the most open connections)")
      ->capture_default_str();
  c->add_option("--revisit-interval", f->options.revisit_interval_seconds,
                "Seconds between revisits of the records ingested since (0: never)")
      ->capture_default_str();
  c->callback([f, exit_code] {
    if (absl::Status s = CheckFlags(f.get()); !s.ok()) {
      std::cerr << "empi serve: " << s.message() << "\n";
      *exit_code = kExitUsage;
      return;
    }
    absl::Status s = RunServe(*f);
    *exit_code = s.ok() ? kExitOk : ReportError("serve", s);
  });
}

}  // namespace empi::cli
