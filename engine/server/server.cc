// Copyright EMPI developers.
#include "engine/server/server.h"

#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <regex>
#include <span>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/server/client_cert.h"
#include "engine/server/fhir.h"
#include "engine/server/http.h"
#include "engine/server/revisitor.h"
#include "nlohmann/json.hpp"

namespace empi::server {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr char kFhirJson[] = "application/fhir+json";

// What the request log line says about the request the current thread
// serves: set by PreRoute and the route, written by LogRequest, which the
// transport calls after the response (on the same thread).
struct RequestLog {
  bool active = false;
  std::string route = "-", sub = "-", org = "-", role = "-", request_id;
  Clock::time_point start;
};
thread_local RequestLog tl_log;

// Request and correlation ids are echoed and audited: a short token, so
// they cannot carry free text (or patient data) into the audit trail.
bool ValidId(std::string_view v) {
  if (v.empty() || v.size() > 128) return false;
  for (char c : v) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != ':' && c != '-') {
      return false;
    }
  }
  return true;
}

// 24 hex digits: a random prefix drawn once per process, then a counter, so
// unique within the process and, but for odds of 2^-64, across restarts.
// Request ids name requests; they are not secrets.
std::string NewRequestId() {
  static const uint64_t prefix = [] {
    uint64_t v = 0;
    RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v);
    return v;
  }();
  static std::atomic<uint32_t> counter{0};
  return absl::StrCat(absl::Hex(prefix, absl::kZeroPad16), absl::Hex(counter.fetch_add(1), absl::kZeroPad8));
}

// `s` as a JSON string, appended to `out`. What the request log holds is
// valid UTF-8: ids checked by ValidId, a verified token's claims (parsed as
// JSON), the route, and what the transport parsed as a method (an HTTP
// token) and address.
void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (u < 0x20) {
      absl::StrAppend(out, "\\u00", absl::Hex(u, absl::kZeroPad2));
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

void SendJson(HttpResponse& res, int status, const json& body) {
  res.status = status;
  res.SetContent(body.dump(), kFhirJson);
}

void SendOutcome(HttpResponse& res, int status, const std::string& code, const std::string& diagnostics) {
  SendJson(res, status, OperationOutcome(code, diagnostics));
}

// What an operation says, naming its parameters, for the engine errors
// whose messages are not passed on; an empty text keeps the default.
struct ErrorText {
  std::string invalid = "";    // replaces InvalidArgument's message (400)
  std::string not_found = "";  // 404
  std::string conflict = "";   // FailedPrecondition: 409
};

// An engine error as HTTP. Only InvalidArgument's message is passed on (when
// `text` does not replace it): the engine promises it names the field and
// not the value. Other messages can name a record ("record RKB:K1 not
// found"), so they are replaced.
void SendEngineError(HttpResponse& res, const absl::Status& s, const ErrorText& text = {}) {
  auto or_default = [](const std::string& given, std::string fallback) { return given.empty() ? fallback : given; };
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
      return SendOutcome(res, 400, "invalid", or_default(text.invalid, std::string(s.message())));
    case absl::StatusCode::kNotFound:
      return SendOutcome(res, 404, "not-found", or_default(text.not_found, "no such patient or record"));
    case absl::StatusCode::kFailedPrecondition:
      return SendOutcome(
          res, 409, "conflict",
          or_default(text.conflict, "the request conflicts with the index's state (see the review queue)"));
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kResourceExhausted:
      // The store's messages name files and operations, never patient data:
      // the operator learns why (a full disk) from the log.
      std::cerr << json{{"event", "unavailable"}, {"request_id", tl_log.request_id}, {"error", s.ToString()}}.dump()
                << "\n";
      return SendOutcome(res, 503, "transient", "the index is unavailable; try again later");
    default:
      std::cerr << json{{"event", "internal-error"},
                        {"request_id", tl_log.request_id},
                        {"code", absl::StatusCodeToString(s.code())}}
                       .dump()
                << "\n";
      return SendOutcome(res, 500, "exception", "internal error");
  }
}

// The body as a JSON resource of `type`; false (response sent) otherwise.
bool ParseBody(const HttpRequest& req, HttpResponse& res, const std::string& type, json* out) {
  *out = json::parse(req.body, nullptr, false);
  if (out->is_discarded() || !out->is_object()) {
    SendOutcome(res, 400, "structure", "body: not a JSON object");
    return false;
  }
  if (!out->contains("resourceType") || (*out)["resourceType"] != type) {
    SendOutcome(res, 400, "invalid", absl::StrCat("resourceType: must be ", type));
    return false;
  }
  return true;
}

// A Parameters resource that does not parse (fhir.h's readers): 400,
// "required" for a missing parameter.
void SendParameterError(HttpResponse& res, const absl::Status& s) {
  const std::string message(s.message());
  SendOutcome(res, 400, message.ends_with(": required") ? "required" : "invalid", message);
}

// False (400 sent) when a parameter did not parse.
bool Parsed(const absl::Status& s, HttpResponse& res) {
  if (!s.ok()) SendParameterError(res, s);
  return s.ok();
}
template <typename T>
bool Parsed(const absl::StatusOr<T>& v, HttpResponse& res) {
  return Parsed(v.status(), res);
}

// The person id of a path /Patient/{person}/...; 0 for none.
uint64_t PathPerson(const HttpRequest& req) {
  uint64_t person = 0;
  return req.matches.size() > 1 && absl::SimpleAtoi(req.matches[1], &person) ? person : 0;
}

std::string_view GradeCode(MatchGrade g) { return MatchGradeName(g); }

}  // namespace

json ModelLogLine(const ModelInfo& model) {
  json line{{"event", "model"}, {"version", model.version}, {"trusted", model.trusted()}};
  if (model.trusted()) {
    line["records"] = model.records;
  } else {
    line["untrusted_reason"] = model.untrusted_reason;
    line["warning"] =
        "ingests are placed with the informed default priors until one brings the store to 1,000 records with "
        "enough evidence to estimate the model (or `empi relink`)";
  }
  return line;
}

namespace {

class ServerImpl final : public Server {
 public:
  ServerImpl(Engine* engine, const JwtVerifier* jwt, ServerOptions options)
      : engine_(engine), systems_(engine->ContributorSystems()), jwt_(jwt), options_(std::move(options)) {
    AddRoutes();
  }

  // The transport under the routes; InvalidArgument when the TLS files do
  // not load.
  absl::Status Init() {
    absl::StatusOr<std::unique_ptr<HttpServer>> http = HttpServer::Create(
        options_, [this](HttpRequest* req, int error, HttpResponse* res) { Answer(req, error, *res); }, LogRequest);
    if (!http.ok()) return http.status();
    http_ = *std::move(http);
    return absl::OkStatus();
  }

  absl::StatusOr<int> Bind() override { return http_->Bind(options_.host, options_.port); }

  absl::Status Serve() override {
    std::optional<Revisitor> revisits;
    if (options_.revisit_interval_seconds > 0) {
      revisits.emplace(engine_, std::chrono::seconds(options_.revisit_interval_seconds));
    }
    return http_->Serve();
  }

  void Stop() override { http_->Stop(); }

 private:
  using Handler = std::function<void(const HttpRequest&, HttpResponse&, const Requester&)>;
  struct RouteEntry {
    std::string method;
    std::regex pattern;
    std::function<void(const HttpRequest&, HttpResponse&)> handle;
  };

  void Answer(HttpRequest* req, int error, HttpResponse& res) {
    if (error > 0) return SendTransportError(res, error);
    if (!PreRoute(*req, res)) return;
    bool path_known = false;
    for (const RouteEntry& r : routes_) {
      std::smatch m;
      if (!std::regex_match(req->path, m, r.pattern)) continue;
      path_known = true;
      if (r.method != req->method) continue;
      req->matches.assign(m.begin(), m.end());
      return r.handle(*req, res);
    }
    SendTransportError(res, path_known ? 405 : 404);
  }

  // A request with an error of its own or no route.
  void SendTransportError(HttpResponse& res, int status) {
    switch (status) {
      case 404: return SendOutcome(res, 404, "not-supported", "no such endpoint");
      case 405: return SendOutcome(res, 405, "not-supported", "method not allowed");
      case 413:
        return SendOutcome(res, 413, "too-long", absl::StrCat("body: larger than ", options_.max_body_bytes, " bytes"));
      case 431: return SendOutcome(res, 431, "too-long", "request: header fields larger than 64 KiB");
      case 500: return SendOutcome(res, 500, "exception", "internal error");
      default: return SendOutcome(res, 400, "invalid", "malformed request");
    }
  }

  // The request's ids and header count; false when refused (sent).
  bool PreRoute(const HttpRequest& req, HttpResponse& res) {
    tl_log = RequestLog{};
    tl_log.active = true;
    tl_log.start = Clock::now();
    std::string rid(req.Header("X-Request-ID"));
    const std::string_view cid = req.Header("X-Correlation-ID");
    const bool rid_ok = rid.empty() || ValidId(rid);
    if (rid.empty() || !rid_ok) rid = NewRequestId();
    tl_log.request_id = rid;
    res.SetHeader("X-Request-ID", rid);
    if (!rid_ok) {
      SendOutcome(res, 400, "invalid", "X-Request-ID: must be 1 to 128 of A-Z a-z 0-9 . _ : -");
      return false;
    }
    if (!cid.empty() && !ValidId(cid)) {
      SendOutcome(res, 400, "invalid", "X-Correlation-ID: must be 1 to 128 of A-Z a-z 0-9 . _ : -");
      return false;
    }
    if (!cid.empty()) res.SetHeader("X-Correlation-ID", std::string(cid));
    if (req.headers.size() > options_.max_headers) {
      SendOutcome(res, 431, "too-long", absl::StrCat("request: more than ", options_.max_headers, " header fields"));
      return false;
    }
    return true;
  }

  // One JSON line per request on stderr, built by hand: nlohmann's tree
  // cost about a tenth of the server's time per resolution.
  static void LogRequest(const HttpRequest& req, const HttpResponse& res) {
    const RequestLog& l = tl_log;
    std::string line = "{";
    auto field = [&line](std::string_view name, std::string_view value) {
      if (line.size() > 1) line.push_back(',');
      AppendJsonString(&line, name);
      line.push_back(':');
      AppendJsonString(&line, value);
    };
    field("time", absl::FormatTime(absl::RFC3339_full, absl::Now(), absl::UTCTimeZone()));
    field("event", "request");
    field("request_id", l.active ? l.request_id : "");
    field("remote", req.remote_addr);
    field("method", req.method);
    field("route", l.active ? l.route : "-");
    const int64_t duration_us =
        l.active ? std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - l.start).count() : 0;
    absl::StrAppend(&line, R"(,"status":)", res.status, R"(,"duration_us":)", duration_us);
    field("sub", l.sub);
    field("org", l.org);
    field("role", l.role);
    line += "}\n";
    static std::mutex mu;
    std::lock_guard<std::mutex> lock(mu);
    std::fwrite(line.data(), 1, line.size(), stderr);
    tl_log.active = false;
  }

  // Registers a route: authenticates the bearer token, checks that one of
  // the token's roles is in `roles`, and calls `fn` with the requester the
  // engine audits. `person_group` > 0: the path's regex group holding a
  // person id, named in the audit event of a refusal.
  void Route(const std::string& method, const std::string& pattern, std::string route, std::vector<std::string> roles,
             int person_group, Handler fn) {
    endpoints_.push_back({method, route, roles});
    auto h = [this, method, route = std::move(route), roles = std::move(roles), person_group, fn = std::move(fn)](
                 const HttpRequest& req, HttpResponse& res) {
      tl_log.route = absl::StrCat(method, " ", route);
      Requester who;
      who.request_id = tl_log.request_id;
      who.correlation_id = std::string(req.Header("X-Correlation-ID"));
      uint64_t person = 0;
      if (person_group > 0 && static_cast<size_t>(person_group) < req.matches.size() &&
          !absl::SimpleAtoi(req.matches[person_group], &person)) {
        person = 0;
      }
      const std::string action = absl::StrCat("http ", method, " ", route);
      const std::string auth = std::string(req.Header("Authorization"));
      // A bearer token, when given, decides (a service authenticated by its
      // certificate may act for a user with the user's token); otherwise a
      // verified client certificate (client_cert.h).
      absl::StatusOr<Identity> id = absl::UnauthenticatedError("no bearer token or client certificate");
      if (auth.size() > 7 && absl::AsciiStrToLower(auth.substr(0, 7)) == "bearer ") {
        id = jwt_->Verify(std::string_view(auth).substr(7), std::time(nullptr));
      } else if (auth.empty()) {
        if (std::optional<Identity> cert = ClientCertificateIdentity(req.ssl)) id = *std::move(cert);
      }
      if (!id.ok()) {
        who.requester = "unauthenticated";
        who.organisation = "unknown";
        who.role = "none";
        who.purpose = "none";
        if (absl::Status s = engine_->AuditRefusal(
                action, absl::StrCat("denied: 401 ", std::string(id.status().message())), person, who);
            !s.ok()) {
          return SendEngineError(res, s);
        }
        res.SetHeader("WWW-Authenticate", "Bearer error=\"invalid_token\"");
        return SendOutcome(res, 401, "login", absl::StrCat("Authorization: ", std::string(id.status().message())));
      }
      who.requester = id->subject;
      who.organisation = id->organisation;
      who.purpose = id->purpose;
      tl_log.sub = id->subject;
      tl_log.org = id->organisation;
      // Requester's role has a default ("operator"): the allowed role is
      // found apart from it, so that no role means no access.
      const auto allowed = std::find_first_of(id->roles.begin(), id->roles.end(), roles.begin(), roles.end());
      if (allowed == id->roles.end()) {
        who.role = absl::StrJoin(id->roles, ",");
        tl_log.role = who.role;
        const std::string why = absl::StrCat("role: this endpoint needs ", absl::StrJoin(roles, " or "));
        if (absl::Status s = engine_->AuditRefusal(action, absl::StrCat("denied: 403 ", why), person, who); !s.ok()) {
          return SendEngineError(res, s);
        }
        return SendOutcome(res, 403, "forbidden", why);
      }
      who.role = *allowed;
      tl_log.role = who.role;
      fn(req, res, who);
    };
    routes_.push_back({method, std::regex(pattern), std::move(h)});
  }

  void AddRoutes() {
    const std::vector<std::string> clinical = {"clinician"};
    Route("POST", R"(/Patient/\$match)", "/Patient/$match", clinical, 0,
          [this](const auto& req, auto& res, const Requester& who) { Match(req, res, who); });
    Route("POST", R"(/Patient/\$resolve)", "/Patient/$resolve", clinical, 0,
          [this](const auto& req, auto& res, const Requester& who) { ResolveIdentifier(req, res, who); });
    Route("GET", R"(/Patient/(\d{1,20}))", "/Patient/{person}", clinical, 1,
          [this](const auto& req, auto& res, const Requester& who) { GetPerson(req, res, who); });
    Route("GET", "/AuditEvent", "/AuditEvent", {"auditor"}, 0,
          [this](const auto& req, auto& res, const Requester& who) { AuditEvents(req, res, who); });
    Route("POST", "/Patient", "/Patient", {"integration"}, 0,
          [this](const auto& req, auto& res, const Requester& who) { Ingest(req, res, who, ""); });
    Route("PUT", R"(/Patient/([A-Za-z0-9\-\.]{1,64}))", "/Patient/{id}", {"integration"}, 0,
          [this](const auto& req, auto& res, const Requester& who) { Ingest(req, res, who, req.matches[1]); });
    // The change feed, for services that cache what they were answered.
    Route("GET", "/changes", "/changes", {"clinician", "integration"}, 0,
          [this](const auto& req, auto& res, const Requester& who) { Changes(req, res, who); });
    AddStewardRoutes();
    Route("GET", R"(/\$empi-overview)", "/$empi-overview", {"admin"}, 0,
          [this](const auto& req, auto& res, const Requester& who) { Overview(res, who); });

    // FHIR's capabilities interaction: public, as FHIR clients read it
    // before their first request; it names no patient, so it is logged
    // and not audited.
    capability_statement_ =
        CapabilityStatement(endpoints_, absl::FormatTime("%Y-%m-%d", absl::Now(), absl::UTCTimeZone()));
    routes_.push_back({"GET", std::regex("/metadata"), [this](const HttpRequest&, HttpResponse& res) {
                         tl_log.route = "GET /metadata";
                         SendJson(res, 200, capability_statement_);
                       }});
  }

  // GET /$empi-overview: the model, the store's size and last change.
  void Overview(HttpResponse& res, const Requester& who) {
    absl::StatusOr<EngineOverview> o = engine_->Overview(who);
    if (!o.ok()) return SendEngineError(res, o.status());
    SendJson(res, 200, OverviewParameters(*o));
  }

  // Objections come from stewards and from an objection feed (integration);
  // the rest is the steward's: review queue, merge, split, unmerge,
  // not-a-match, and a person's history (also an auditor's).
  void AddStewardRoutes() {
    const std::vector<std::string> objections = {"steward", "integration"}, steward = {"steward"};
    Route("POST", R"(/Patient/\$register-objection)", "/Patient/$register-objection", objections, 0,
          [this](const auto& req, auto& res, const Requester& who) { Objection(req, res, who, /*object=*/true); });
    Route("POST", R"(/Patient/\$withdraw-objection)", "/Patient/$withdraw-objection", objections, 0,
          [this](const auto& req, auto& res, const Requester& who) { Objection(req, res, who, /*object=*/false); });
    Route("GET", R"(/\$mdm-query-links)", "/$mdm-query-links", steward, 0,
          [this](const auto& req, auto& res, const Requester& who) { QueryLinks(req, res, who); });
    Route("POST", R"(/\$mdm-merge-golden-resources)", "/$mdm-merge-golden-resources", steward, 0,
          [this](const auto& req, auto& res, const Requester& who) { MergePersons(req, res, who); });
    Route("POST", R"(/\$mdm-update-link)", "/$mdm-update-link", steward, 0,
          [this](const auto& req, auto& res, const Requester& who) { SplitRecords(req, res, who); });
    Route("POST", R"(/\$mdm-not-duplicate)", "/$mdm-not-duplicate", steward, 0,
          [this](const auto& req, auto& res, const Requester& who) { NotDuplicate(req, res, who); });
    Route("POST", R"(/Patient/(\d{1,20})/\$empi-unmerge)", "/Patient/{person}/$empi-unmerge", steward, 1,
          [this](const auto& req, auto& res, const Requester& who) { UnmergePerson(req, res, who); });
    Route("GET", R"(/Patient/(\d{1,20})/\$empi-history)", "/Patient/{person}/$empi-history", {"steward", "auditor"}, 1,
          [this](const auto& req, auto& res, const Requester& who) { PersonHistory(req, res, who); });
  }

  // GET /changes?since=N&_count=C&_wait=S: the change feed after N, at most
  // C changes (default 100, up to 1,000); with _wait, a long poll that
  // answers as soon as there is a change, or empty after S seconds (up to
  // 30).
  void Changes(const HttpRequest& req, HttpResponse& res, const Requester& who) {
    uint64_t since = 0, count = 100, wait = 0;
    if (!req.HasParam("since") || !absl::SimpleAtoi(req.Param("since"), &since)) {
      return SendOutcome(res, 400, "required", "since: required, the last sequence handled (0 for the start)");
    }
    if (req.HasParam("_count") && (!absl::SimpleAtoi(req.Param("_count"), &count) || count < 1 || count > 1000)) {
      return SendOutcome(res, 400, "invalid", "_count: must be from 1 to 1000");
    }
    if (req.HasParam("_wait") && (!absl::SimpleAtoi(req.Param("_wait"), &wait) || wait > 30)) {
      return SendOutcome(res, 400, "invalid", "_wait: must be from 0 to 30 seconds");
    }
    absl::StatusOr<std::vector<ChangeEvent>> changes = engine_->Changes(since, count, std::chrono::seconds(wait), who);
    if (!changes.ok()) return SendEngineError(res, changes.status());
    json list = json::array();
    for (const ChangeEvent& e : *changes) list.push_back(ChangeEventJson(e));
    const uint64_t next = changes->empty() ? since : changes->back().sequence;
    SendJson(res, 200, {{"changes", list}, {"since", next}, {"last", engine_->LastChange()}});
  }

  // POST /Patient, PUT /Patient/{id}: {id} is the record id of the source
  // identifier (the contributor's own id for the record).
  void Ingest(const HttpRequest& req, HttpResponse& res, const Requester& who, const std::string& put_id) {
    json body;
    if (!ParseBody(req, res, "Patient", &body)) return;
    absl::StatusOr<Record> rec = PatientToRecord(body, /*need_source=*/true, systems_);
    if (!rec.ok()) return SendOutcome(res, 400, "invalid", std::string(rec.status().message()));
    if (!put_id.empty()) {
      if (body.contains("id") && body["id"] != put_id) {
        return SendOutcome(res, 400, "invalid", "Patient.id: does not match the id in the URL");
      }
      if (rec->record_id != put_id) {
        return SendOutcome(res, 400, "invalid",
                           "Patient.identifier: the source identifier's value does not match the id in the URL");
      }
    }
    absl::StatusOr<IngestResult> r = engine_->Ingest(*rec, who);
    if (!r.ok()) return SendEngineError(res, r.status());
    if (r->model_estimated) {
      json line = ModelLogLine(engine_->CurrentModel());
      line["records_moved"] = r->records_moved;
      std::cerr << line.dump() << std::endl;
    }
    res.SetHeader("Location", absl::StrCat("Patient/", r->person_id));
    SendJson(res, 200, IngestParameters(*r));
  }

  // POST /Patient/$match (FHIR R4 Patient-match).
  void Match(const HttpRequest& req, HttpResponse& res, const Requester& who) {
    json body;
    if (!ParseBody(req, res, "Parameters", &body)) return;
    const json* resource = FindParameter(body, "resource");
    if (resource == nullptr || !resource->contains("resource")) {
      return SendOutcome(res, 400, "required", "Parameters.parameter[resource]: required");
    }
    absl::StatusOr<Record> rec = PatientToRecord((*resource)["resource"], /*need_source=*/false, systems_);
    if (!rec.ok()) return SendOutcome(res, 400, "invalid", std::string(rec.status().message()));
    bool only_certain = false;
    if (const json* p = FindParameter(body, "onlyCertainMatches")) {
      if (!p->contains("valueBoolean") || !(*p)["valueBoolean"].is_boolean()) {
        return SendOutcome(res, 400, "invalid", "Parameters.parameter[onlyCertainMatches]: must be a valueBoolean");
      }
      only_certain = (*p)["valueBoolean"];
    }
    int64_t count = 10;
    if (const json* p = FindParameter(body, "count")) {
      if (!p->contains("valueInteger") || !(*p)["valueInteger"].is_number_integer() || (*p)["valueInteger"] < 1 ||
          (*p)["valueInteger"] > 100) {
        return SendOutcome(res, 400, "invalid", "Parameters.parameter[count]: must be a valueInteger from 1 to 100");
      }
      count = (*p)["valueInteger"];
    }
    if (rec->nhs_number.empty() && (rec->family_name.empty() || rec->date_of_birth.empty())) {
      return SendOutcome(res, 422, "incomplete",
                         "Parameters.parameter[resource]: give an NHS number identifier, or name.family and birthDate");
    }
    Demographics d{rec->nhs_number, rec->family_name, rec->given_names, rec->date_of_birth, rec->postcode, rec->sex};
    absl::StatusOr<std::vector<Candidate>> found = engine_->Search(d, who, static_cast<size_t>(count));
    if (!found.ok()) return SendEngineError(res, found.status());
    json entries = json::array();
    for (const Candidate& c : *found) {
      if (only_certain && c.grade != MatchGrade::kCertain) continue;
      if (c.grade == MatchGrade::kCertainlyNot) continue;
      absl::StatusOr<Resolution> person = engine_->ResolvePerson(c.person_id, who);
      if (absl::IsNotFound(person.status())) continue;  // merged away since the search
      if (!person.ok()) return SendEngineError(res, person.status());
      entries.push_back(
          {{"fullUrl", absl::StrCat("Patient/", c.person_id)},
           {"resource", PersonPatient(*person, systems_)},
           {"search",
            {{"mode", "match"},
             {"score", c.match_probability},
             {"extension", json::array({{{"url", kMatchGradeUrl}, {"valueCode", GradeCode(c.grade)}}})}}}});
    }
    const size_t total = entries.size();
    SendJson(res, 200, {{"resourceType", "Bundle"}, {"type", "searchset"}, {"total", total}, {"entry", entries}});
  }

  // POST /Patient/$resolve: Parameters with `identifier` (a valueIdentifier:
  // the NHS number, or a source system and record id).
  void ResolveIdentifier(const HttpRequest& req, HttpResponse& res, const Requester& who) {
    json body;
    if (!ParseBody(req, res, "Parameters", &body)) return;
    const json* p = FindParameter(body, "identifier");
    constexpr char kField[] = "Parameters.parameter[identifier].valueIdentifier";
    if (p == nullptr || !p->contains("valueIdentifier") || !(*p)["valueIdentifier"].is_object()) {
      return SendOutcome(res, 400, "required", absl::StrCat(kField, ": required"));
    }
    const json& id = (*p)["valueIdentifier"];
    if (!id.contains("system") || !id["system"].is_string() || !id.contains("value") || !id["value"].is_string()) {
      return SendOutcome(res, 400, "required", absl::StrCat(kField, ": system and value are required strings"));
    }
    const std::string system = id["system"], value = id["value"];
    absl::StatusOr<std::optional<AsOf>> as_of = AsOfParameters(body);
    if (!Parsed(as_of, res)) return;
    absl::StatusOr<Resolution> r = absl::UnknownError("");
    if (system == kNhsNumberSystem) {
      r = as_of->has_value() ? engine_->ResolveByNhsNumberAsOf(value, **as_of, who)
                             : engine_->ResolveByNhsNumber(value, who);
    } else if (std::optional<std::string> source = systems_.SourceOf(system)) {
      r = as_of->has_value() ? engine_->ResolveAsOf(*source, value, **as_of, who)
                             : engine_->Resolve(*source, value, who);
    } else {
      return SendOutcome(res, 400, "invalid",
                         absl::StrCat(kField, ".system: neither ", std::string(kNhsNumberSystem), " nor ",
                                      IdentifierSystems::kExpected));
    }
    // FailedPrecondition: before the history begins (the engine's message
    // names as_of), or the NHS number in several persons.
    if (absl::IsFailedPrecondition(r.status()) && absl::StartsWith(r.status().message(), "as_of")) {
      return SendOutcome(res, 409, "conflict", "asOfChange, asOfTime: before this store's history begins");
    }
    if (absl::IsFailedPrecondition(r.status())) {
      return SendOutcome(res, 409, "multiple-matches",
                         "identifier: the NHS number is held by several persons as their own (a pair awaiting "
                         "review, or a relative's number its holders cannot tell apart); resolve by record");
    }
    if (absl::IsNotFound(r.status())) return SendOutcome(res, 404, "not-found", "identifier: no person holds it");
    if (!r.ok()) return SendEngineError(res, r.status());
    absl::StatusOr<ViewDecision> view = as_of->has_value() ? engine_->MayAssembleViewAsOf(r->person_id, **as_of, who)
                                                           : engine_->MayAssembleView(r->person_id, who);
    if (!view.ok()) return SendEngineError(res, view.status());
    res.status = 200;
    res.SetContent(ResolutionParametersText(*r, *view), kFhirJson);
  }

  // GET /Patient/{person}
  void GetPerson(const HttpRequest& req, HttpResponse& res, const Requester& who) {
    uint64_t person = 0;
    if (!absl::SimpleAtoi(req.matches[1], &person) || person == 0) {
      return SendOutcome(res, 404, "not-found", "Patient: no such person");
    }
    absl::StatusOr<Resolution> r = engine_->ResolvePerson(person, who);
    if (absl::IsNotFound(r.status())) return SendOutcome(res, 404, "not-found", "Patient: no such person");
    if (!r.ok()) return SendEngineError(res, r.status());
    SendJson(res, 200, PersonPatient(*r, systems_));
  }

  // GET /AuditEvent?patient={person} (or Patient/{person}): every audit
  // event naming the person, oldest first, for an auditor answering a
  // subject access request; the read itself is audited.
  void AuditEvents(const HttpRequest& req, HttpResponse& res, const Requester& who) {
    std::string patient = req.Param("patient");
    if (patient.starts_with("Patient/")) patient.erase(0, std::string_view("Patient/").size());
    uint64_t person = 0;
    if (!absl::SimpleAtoi(patient, &person) || person == 0) {
      return SendOutcome(res, 400, "required", "AuditEvent?patient: required, a person id (Patient/{person})");
    }
    absl::StatusOr<std::vector<AuditEvent>> events = engine_->ReadAuditTrail(person, who);
    if (!events.ok()) return SendEngineError(res, events.status());
    json entries = json::array();
    for (const AuditEvent& e : *events) {
      entries.push_back({{"fullUrl", absl::StrCat("AuditEvent/", e.sequence)},
                         {"resource", AuditEventResource(e, systems_)},
                         {"search", {{"mode", "match"}}}});
    }
    SendJson(res, 200,
             {{"resourceType", "Bundle"}, {"type", "searchset"}, {"total", events->size()}, {"entry", entries}});
  }

  // POST /Patient/$register-objection and $withdraw-objection. A refusal
  // (the form identifies no one person, or nothing to withdraw) is 422
  // with the engine's reason, which names no patient value.
  void Objection(const HttpRequest& req, HttpResponse& res, const Requester& who, bool object) {
    json body;
    if (!ParseBody(req, res, "Parameters", &body)) return;
    absl::StatusOr<ObjectionRequest> form = ObjectionRequestOf(body);
    if (!Parsed(form, res)) return;
    absl::StatusOr<ObjectionResult> r =
        object ? engine_->RegisterObjection(*form, who) : engine_->WithdrawObjection(*form, who);
    if (!r.ok()) return SendEngineError(res, r.status());
    if (r->outcome == ObjectionOutcome::kRefused) {
      return SendOutcome(res, 422, "processing", absl::StrCat("objection refused: ", r->reason));
    }
    SendJson(res, 200, ObjectionParameters(*r));
  }

  // GET /$mdm-query-links?matchResult=POSSIBLE_MATCH&_count=N&_cursor=C:
  // the review queue, a page at a time; with goldenResourceId or resourceId,
  // the pairs of that person or record, paged by _offset.
  void QueryLinks(const HttpRequest& req, HttpResponse& res, const Requester& who) {
    const std::string kind = req.HasParam("matchResult") ? req.Param("matchResult") : "POSSIBLE_MATCH";
    if (kind != "POSSIBLE_MATCH" && kind != "MATCH" && kind != "NO_MATCH") {
      return SendOutcome(res, 400, "not-supported", "matchResult: must be POSSIBLE_MATCH, MATCH or NO_MATCH");
    }
    size_t count = 20;
    if (req.HasParam("_count") && (!absl::SimpleAtoi(req.Param("_count"), &count) || count < 1 || count > 100)) {
      return SendOutcome(res, 400, "invalid", "_count: must be from 1 to 100");
    }
    const bool filtered = req.HasParam("goldenResourceId") || req.HasParam("resourceId");
    if (kind != "POSSIBLE_MATCH" && !filtered) {
      return SendOutcome(res, 400, "not-supported",
                         absl::StrCat("matchResult: ", kind,
                                      " only with goldenResourceId or resourceId (the whole index's links are "
                                      "its persons; follow GET /changes to keep them)"));
    }
    if (filtered) return QueryLinksOf(req, res, kind, count, who);
    if (req.HasParam("_offset")) {
      return SendOutcome(res, 400, "not-supported",
                         "_offset: only with goldenResourceId or resourceId; the whole queue pages with _cursor");
    }
    absl::StatusOr<ReviewQueuePage> page = engine_->ReviewQueue(count, req.Param("_cursor"), who);
    if (!page.ok())
      return SendEngineError(res, page.status(), {.invalid = "_cursor: not a cursor from a previous page"});
    const std::string next = page->next_cursor.empty()
                                 ? ""
                                 : absl::StrCat("$mdm-query-links?matchResult=POSSIBLE_MATCH&_count=", count,
                                                "&_cursor=", page->next_cursor);
    SendJson(res, 200, ReviewQueueParameters(page->pairs, next, systems_));
  }

  void QueryLinksOf(const HttpRequest& req, HttpResponse& res, const std::string& kind, size_t count,
                    const Requester& who) {
    if (req.HasParam("_cursor")) {
      return SendOutcome(res, 400, "not-supported", "_cursor: not with goldenResourceId or resourceId; use _offset");
    }
    uint64_t person = 0;
    if (req.HasParam("goldenResourceId") && (person = PersonIdOf(req.Param("goldenResourceId"))) == 0) {
      return SendOutcome(res, 400, "invalid", "goldenResourceId: must be Patient/{person}");
    }
    std::optional<RecordRef> record;
    if (req.HasParam("resourceId") && !(record = RecordOfToken(req.Param("resourceId"), systems_))) {
      return SendOutcome(
          res, 400, "invalid",
          absl::StrCat("resourceId: must be <system>|<record id>, the system ", IdentifierSystems::kExpected));
    }
    size_t offset = 0;
    if (req.HasParam("_offset") && !absl::SimpleAtoi(req.Param("_offset"), &offset)) {
      return SendOutcome(res, 400, "invalid", "_offset: must be a whole number from 0");
    }
    json links = json::array();
    if (kind == "POSSIBLE_MATCH") {
      absl::StatusOr<std::vector<ReviewQueueEntry>> pairs = engine_->ReviewPairsOf(person, record, who);
      if (!pairs.ok()) return SendEngineError(res, pairs.status());
      for (const ReviewQueueEntry& e : *pairs) links.push_back(ReviewLink(e, systems_));
    } else {
      absl::StatusOr<PersonLinks> got = engine_->LinksOf(person, record, who);
      if (!got.ok()) return SendEngineError(res, got.status());
      if (kind == "MATCH") {
        for (const PersonLink& l : got->matches) links.push_back(MatchLink(l, systems_));
      } else {
        for (const NoMatchLink& l : got->no_matches) links.push_back(NoMatchLinkJson(l, systems_));
      }
    }
    const size_t from = std::min(offset, links.size()), to = std::min(from + count, links.size());
    std::string next;
    if (to < links.size()) {
      next = absl::StrCat("$mdm-query-links?matchResult=", kind);
      if (person != 0) absl::StrAppend(&next, "&goldenResourceId=Patient/", person);
      if (record) {
        absl::StrAppend(&next, "&resourceId=",
                        QueryEscape(absl::StrCat(systems_.SystemOf(record->source), "|", record->record_id)));
      }
      absl::StrAppend(&next, "&_count=", count, "&_offset=", to);
    }
    SendJson(res, 200, LinksParameters(json(links.begin() + from, links.begin() + to), next));
  }

  // POST /$mdm-merge-golden-resources: fromGoldenResourceId joins
  // toGoldenResourceId, which survives.
  void MergePersons(const HttpRequest& req, HttpResponse& res, const Requester& who) {
    json body;
    if (!ParseBody(req, res, "Parameters", &body)) return;
    absl::StatusOr<uint64_t> from = PersonParameter(body, "fromGoldenResourceId");
    if (!Parsed(from, res)) return;
    absl::StatusOr<uint64_t> to = PersonParameter(body, "toGoldenResourceId");
    if (!Parsed(to, res)) return;
    std::string reason;
    if (!Parsed(StringParameter(body, "reason", {"valueString"}, &reason), res)) return;
    absl::StatusOr<uint64_t> event = engine_->Merge(*to, *from, who, reason);
    if (!event.ok()) {
      return SendEngineError(
          res, event.status(),
          {.invalid = "Parameters.parameter[fromGoldenResourceId]: must differ from toGoldenResourceId",
           .not_found = "Parameters.parameter[fromGoldenResourceId or toGoldenResourceId]: no such person",
           .conflict = "Parameters.parameter[fromGoldenResourceId]: the persons hold records marked as not "
                       "duplicates ($mdm-not-duplicate)"});
    }
    SendJson(res, 200, MergeParameters(*to, *from, *event));
  }

  // POST /$mdm-update-link with matchResult NO_MATCH: the records
  // (resourceId, one or more) leave goldenResourceId for a new person.
  void SplitRecords(const HttpRequest& req, HttpResponse& res, const Requester& who) {
    json body;
    if (!ParseBody(req, res, "Parameters", &body)) return;
    absl::StatusOr<uint64_t> person = PersonParameter(body, "goldenResourceId");
    if (!Parsed(person, res)) return;
    absl::StatusOr<std::vector<RecordRef>> records = RecordParameters(body, "resourceId", systems_);
    if (!Parsed(records, res)) return;
    std::string match, reason;
    if (!Parsed(StringParameter(body, "matchResult", {"valueString", "valueCode"}, &match), res)) return;
    if (match != "NO_MATCH") {
      return SendOutcome(res, 400, "not-supported",
                         "Parameters.parameter[matchResult]: must be NO_MATCH (to join persons, "
                         "$mdm-merge-golden-resources)");
    }
    if (!Parsed(StringParameter(body, "reason", {"valueString"}, &reason), res)) return;
    absl::StatusOr<uint64_t> split = engine_->Split(*person, *records, who, reason);
    if (!split.ok()) {
      return SendEngineError(res, split.status(),
                             {.invalid = "Parameters.parameter[resourceId]: each must be a record of goldenResourceId, "
                                         "and at least one of its records must stay",
                              .not_found = "Parameters.parameter[goldenResourceId]: no such person"});
    }
    SendJson(res, 200, PersonsParameters({{"goldenResource", *split}, {"fromGoldenResource", *person}}));
  }

  // POST /$mdm-not-duplicate: two records (resourceId twice) never to be
  // linked.
  void NotDuplicate(const HttpRequest& req, HttpResponse& res, const Requester& who) {
    json body;
    if (!ParseBody(req, res, "Parameters", &body)) return;
    absl::StatusOr<std::vector<RecordRef>> records = RecordParameters(body, "resourceId", systems_);
    if (!Parsed(records, res)) return;
    if (records->size() != 2)
      return SendOutcome(res, 400, "invalid", "Parameters.parameter[resourceId]: give two records");
    std::string reason;
    if (!Parsed(StringParameter(body, "reason", {"valueString"}, &reason), res)) return;
    if (absl::Status s = engine_->NeverLink((*records)[0], (*records)[1], who, reason); !s.ok()) {
      return SendEngineError(res, s,
                             {.invalid = "Parameters.parameter[resourceId]: the two records must differ",
                              .not_found = "Parameters.parameter[resourceId]: no such record",
                              .conflict = "Parameters.parameter[resourceId]: both records are in one person; split "
                                          "one off first ($mdm-update-link)"});
    }
    SendJson(
        res, 200,
        {{"resourceType", "Parameters"}, {"parameter", json::array({{{"name", "success"}, {"valueBoolean", true}}})}});
  }

  // POST /Patient/{person}/$empi-unmerge with mergeEvent (the merge's
  // history sequence): the merged person comes back under its old id.
  void UnmergePerson(const HttpRequest& req, HttpResponse& res, const Requester& who) {
    json body;
    if (!ParseBody(req, res, "Parameters", &body)) return;
    absl::StatusOr<uint64_t> event = UnsignedParameter(body, "mergeEvent");
    if (!Parsed(event, res)) return;
    const uint64_t person = PathPerson(req);
    absl::StatusOr<uint64_t> restored = engine_->Unmerge(person, *event, who);
    if (!restored.ok()) {
      return SendEngineError(res, restored.status(),
                             {.not_found = "Parameters.parameter[mergeEvent]: no merge into this person",
                              .conflict = "Parameters.parameter[mergeEvent]: cannot be undone: the merged person "
                                          "exists again, or none of its records is still in this person"});
    }
    SendJson(res, 200, PersonsParameters({{"goldenResource", *restored}, {"fromGoldenResource", person}}));
  }

  // GET /Patient/{person}/$empi-history: the person's events, oldest first.
  void PersonHistory(const HttpRequest& req, HttpResponse& res, const Requester& who) {
    absl::StatusOr<std::vector<HistoryEntry>> history = engine_->History(PathPerson(req), who);
    if (!history.ok()) return SendEngineError(res, history.status());
    if (history->empty()) return SendOutcome(res, 404, "not-found", "Patient: no history for this person");
    SendJson(res, 200, HistoryParameters(*history, systems_));
  }

  Engine* engine_;
  const IdentifierSystems systems_;
  const JwtVerifier* jwt_;
  ServerOptions options_;
  std::vector<RouteEntry> routes_;
  std::vector<Endpoint> endpoints_;  // what Route added, for GET /metadata
  json capability_statement_;
  std::unique_ptr<HttpServer> http_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Create(Engine* engine, const JwtVerifier* jwt,
                                                       const ServerOptions& options) {
  auto server = std::make_unique<ServerImpl>(engine, jwt, options);
  if (absl::Status s = server->Init(); !s.ok()) return s;
  return server;
}

}  // namespace empi::server
