// Copyright EMPI developers.
//
// `empi serve` end to end: the real binary on loopback (an ephemeral
// port), a real HTTP client (cpp-httplib's), over plain HTTP and TLS with
// client certificates from a test CA made at test time, bearer JWTs signed
// at test time (RS256 and ES256). Each test reads the audit trail with
// `empi audit person` after the server has stopped on SIGTERM.
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/engine/server/serve_test_util.h"
#include "tests/temp_dir.h"

namespace empi::testing {
namespace {

using nlohmann::json;

constexpr char kNhsSystem[] = "https://fhir.nhs.uk/Id/nhs-number";

std::string Source(const std::string& code) { return "urn:empi:source:" + code; }

struct Person {
  std::string nhs, family, given, dob, postcode, line;
};

json PatientJson(const std::string& source, const std::string& id, const Person& p, bool restricted = false) {
  json patient = {{"resourceType", "Patient"},
                  {"identifier", json::array({{{"system", kNhsSystem}, {"value", p.nhs}},
                                              {{"system", Source(source)}, {"value", id}}})},
                  {"name", json::array({{{"family", p.family}, {"given", json::array({p.given})}}})},
                  {"birthDate", p.dob},
                  {"gender", "female"},
                  {"address", json::array({{{"line", json::array({p.line})}, {"postalCode", p.postcode}}})}};
  if (restricted) {
    patient["meta"] = {
        {"security",
         json::array({{{"system", "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"}, {"code", "R"}}})}};
  }
  return patient;
}

json MatchParams(const json& patient, int count = 10, bool only_certain = false) {
  return {{"resourceType", "Parameters"},
          {"parameter", json::array({{{"name", "resource"}, {"resource", patient}},
                                     {{"name", "count"}, {"valueInteger", count}},
                                     {{"name", "onlyCertainMatches"}, {"valueBoolean", only_certain}}})}};
}

json ResolveParams(const std::string& system, const std::string& value) {
  return {{"resourceType", "Parameters"},
          {"parameter",
           json::array({{{"name", "identifier"}, {"valueIdentifier", {{"system", system}, {"value", value}}}}})}};
}

const json* Param(const json& params, const std::string& name) {
  for (const json& p : params["parameter"]) {
    if (p["name"] == name) return &p;
  }
  return nullptr;
}

// The value of the part `name` of a Parameters parameter.
const json* Part(const json& parameter, const std::string& name) {
  for (const json& p : parameter["part"]) {
    if (p["name"] == name) return &p;
  }
  return nullptr;
}

uint64_t PersonOf(const json& ingest_params) {
  const std::string ref = (*Param(ingest_params, "person"))["valueReference"]["reference"];
  return std::stoull(ref.substr(std::string("Patient/").size()));
}

class ServeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // A TLS handshake the server refuses closes the socket under the
    // client's next SSL_write, which raises SIGPIPE: a client ignores it
    // and sees the error, as httplib's own writes (MSG_NOSIGNAL) do.
    std::signal(SIGPIPE, SIG_IGN);
    keys_dir_ = new TempDir();
    keys_ok_ = static_cast<bool>(MakeKeys(keys_dir_->path()));
  }
  static void TearDownTestSuite() {
    delete keys_dir_;
    keys_dir_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(keys_ok_) << "making the test keys and CA with openssl failed";
    db_ = dir_.path() + "/db";
    clinician_ = SignJwt(Key("ec.key"), Claims("dr.ahmed", "RKB", "direct-care", {"clinician"}));
    integration_ = SignJwt(Key("rsa.key"), Claims("feed.rkb", "RKB", "operations", {"integration"}));
    steward_ = SignJwt(Key("rsa.key"), Claims("ms.steward", "X26", "data-quality", {"steward"}));
    auditor_ = SignJwt(Key("ec.key"), Claims("ms.audit", "X26", "audit", {"auditor"}));
    ASSERT_FALSE(clinician_.empty());
    ASSERT_FALSE(integration_.empty());
  }

  static std::string Key(const std::string& name) { return keys_dir_->path() + "/" + name; }

  std::vector<std::string> BaseArgs() const {
    return {"--db",         db_,     "--listen",       "127.0.0.1:0", "--jwt-keys", Key("jwt-keys.pem"),
            "--jwt-issuer", kIssuer, "--jwt-audience", kAudience,     "--today",    "2026-06-01"};
  }

  void StartPlain(std::vector<std::string> extra = {}) {
    // Shutdown waits for idle keep-alive connections up to the idle timeout.
    if (extra.empty()) extra = {"--idle-timeout", "1"};
    std::vector<std::string> args = BaseArgs();
    args.insert(args.end(), extra.begin(), extra.end());
    ASSERT_TRUE(server_.Start(args, dir_.path() + "/serve.log")) << server_.log();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_.port());
    client_->set_keep_alive(true);
  }

  template <typename C>
  httplib::Result Post(C& c, const std::string& path, const std::string& token, const json& body,
                       httplib::Headers extra = {}) {
    if (!token.empty()) extra.emplace("Authorization", "Bearer " + token);
    return c.Post(path.c_str(), extra, body.dump(), "application/fhir+json");
  }
  template <typename C>
  httplib::Result Put(C& c, const std::string& path, const std::string& token, const json& body) {
    httplib::Headers h = {{"Authorization", "Bearer " + token}};
    return c.Put(path.c_str(), h, body.dump(), "application/fhir+json");
  }
  template <typename C>
  httplib::Result Get(C& c, const std::string& path, const std::string& token, httplib::Headers extra = {}) {
    if (!token.empty()) extra.emplace("Authorization", "Bearer " + token);
    return c.Get(path.c_str(), extra);
  }

  // `empi audit person P` after the server has stopped: one JSON object per event.
  std::vector<json> AuditOf(uint64_t person) {
    const char* bin = std::getenv("EMPI_BINARY_DIR");
    const std::string out = dir_.path() + "/audit.out";
    const std::string cmd = std::string("'") + bin + "/engine/cli/empi' audit person " + std::to_string(person) +
                            " --db '" + db_ + "' --as test-auditor > '" + out + "' 2>/dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    std::vector<json> events;
    std::istringstream in(ReadFile(out));
    for (std::string line; std::getline(in, line);) events.push_back(json::parse(line));
    return events;
  }

  static json Body(const httplib::Result& r) { return json::parse(r->body); }

  // Calls fn with each `link` of every page from `next` on, following
  // `next` links (at most 5 pages); returns the number of pages.
  int ForEachLink(std::string next, const std::function<void(const json&)>& fn) {
    int pages = 0;
    while (!next.empty() && pages < 5) {
      auto page = Get(*client_, next, steward_);
      if (!page || page->status != 200) {
        ADD_FAILURE() << next << ": " << (page ? page->body : "no response");
        break;
      }
      ++pages;
      next.clear();
      const json body = Body(page);
      for (const json& p : body["parameter"]) {
        if (p["name"] == "next") {
          next = "/" + p["valueUri"].get<std::string>();
        } else {
          fn(p);
        }
      }
    }
    return pages;
  }

  // The review pairs (record ids) of every page from `next` on, each pair
  // once, and the number of pages.
  using ReviewPairs = std::set<std::set<std::string>>;
  std::pair<ReviewPairs, int> ReviewPages(std::string next) {
    ReviewPairs pairs;
    const int pages = ForEachLink(std::move(next), [&](const json& p) {
      const std::set<std::string> pair = {(*Part(p, "sourceResourceId"))["valueIdentifier"]["value"],
                                          (*Part(p, "matchedResourceId"))["valueIdentifier"]["value"]};
      EXPECT_TRUE(pairs.insert(pair).second) << "a pair listed twice";
    });
    return {pairs, pages};
  }

  // Starts a plain server and ingests `p` as RKB record A1: its person id,
  // 0 (with a failure recorded) if the ingest did not succeed.
  uint64_t StartWithOnePatient(const Person& p) {
    StartPlain();
    auto r = Post(*client_, "/Patient", integration_, PatientJson("RKB", "A1", p));
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no response");
    return r && r->status == 200 ? PersonOf(Body(r)) : 0;
  }

  // An OperationOutcome with `code` whose diagnostics start with `field`.
  static void ExpectOutcome(const httplib::Result& r, int status, const std::string& code, const std::string& field) {
    ASSERT_TRUE(r) << "no response";
    EXPECT_EQ(r->status, status) << r->body;
    json b = json::parse(r->body);
    EXPECT_EQ(b["resourceType"], "OperationOutcome");
    EXPECT_EQ(b["issue"][0]["code"], code);
    EXPECT_EQ(b["issue"][0]["diagnostics"].get<std::string>().rfind(field, 0), 0u) << b.dump();
  }

  // Ingests `p` as record (source, id) and returns its person, 0 on failure.
  uint64_t IngestAs(const std::string& source, const std::string& id, const Person& p) {
    auto r = Post(*client_, "/Patient", integration_, PatientJson(source, id, p));
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no response");
    return r && r->status == 200 ? PersonOf(Body(r)) : 0;
  }

  // $resolve of a record as the clinician: its person and "SOURCE:id" of
  // each of the person's records.
  std::pair<uint64_t, std::set<std::string>> ResolveRecord(const std::string& source, const std::string& id) {
    return ResolveIdentifier(Source(source), id);
  }
  // The same by any identifier: a record's, or an NHS number (kNhsSystem).
  std::pair<uint64_t, std::set<std::string>> ResolveIdentifier(const std::string& system, const std::string& value) {
    auto r = Post(*client_, "/Patient/$resolve", clinician_, ResolveParams(system, value));
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no response");
    if (!r || r->status != 200) return {0, {}};
    const json b = Body(r);
    std::set<std::string> records;
    for (const json& p : b["parameter"]) {
      if (p["name"] == "record") {
        records.insert(p["part"][0]["valueString"].get<std::string>() + ":" +
                       p["part"][1]["valueString"].get<std::string>());
      }
    }
    const std::string ref = (*Param(b, "person"))["valueReference"]["reference"];
    return {std::stoull(ref.substr(std::string("Patient/").size())), records};
  }

  static TempDir* keys_dir_;
  static bool keys_ok_;
  TempDir dir_;
  std::string db_, clinician_, integration_, steward_, auditor_;
  ServeProcess server_;
  std::unique_ptr<httplib::Client> client_;
};

TempDir* ServeTest::keys_dir_ = nullptr;
bool ServeTest::keys_ok_ = false;

const Person kMaria{"", "Kowalska", "Maria", "1980-04-12", "CV1 2AB", "1 Priory Row"};

Person MariaWithNumber() {
  Person p = kMaria;
  p.nhs = NhsNumber("401023213");
  return p;
}

json Parameters(std::vector<json> parameters) {
  return {{"resourceType", "Parameters"}, {"parameter", std::move(parameters)}};
}
json StringParam(const std::string& name, const std::string& value) { return {{"name", name}, {"valueString", value}}; }
json PersonParam(const std::string& name, uint64_t person) {
  return StringParam(name, "Patient/" + std::to_string(person));
}
json RecordParam(const std::string& name, const std::string& source, const std::string& id) {
  return {{"name", name}, {"valueIdentifier", {{"system", Source(source)}, {"value", id}}}};
}
json MergeBody(uint64_t from, uint64_t to) {
  return Parameters({PersonParam("fromGoldenResourceId", from), PersonParam("toGoldenResourceId", to),
                     StringParam("reason", "same patient: confirmed with the GP practice")});
}

uint64_t PersonRef(const json& params, const std::string& name) {
  const json* p = Param(params, name);
  if (p == nullptr) return 0;
  const std::string ref = (*p)["valueReference"]["reference"];
  return std::stoull(ref.substr(std::string("Patient/").size()));
}

// Maria again under another NHS number: another patient as far as the
// index knows, so another person, in review with hers.
Person MariasTwin() {
  Person p = kMaria;
  p.nhs = NhsNumber("401023221");
  return p;
}

TEST_F(ServeTest, IngestResolveMatchAndGetOverKeepAliveHttp) {
  StartPlain();
  Person maria = kMaria;
  maria.nhs = NhsNumber("943476591");
  ASSERT_FALSE(maria.nhs.empty());

  // Ingest: the GP record starts a person, the hospital's record links to it.
  auto r1 = Post(*client_, "/Patient", integration_, PatientJson("M84001", "G1", maria));
  ASSERT_TRUE(r1);
  ASSERT_EQ(r1->status, 200) << r1->body;
  json b1 = Body(r1);
  EXPECT_EQ((*Param(b1, "outcome"))["valueCode"], "new-person");
  const uint64_t person = PersonOf(b1);
  EXPECT_EQ(r1->get_header_value("Location"), "Patient/" + std::to_string(person));
  auto r2 = Put(*client_, "/Patient/K1", integration_, PatientJson("RKB", "K1", maria));
  ASSERT_TRUE(r2);
  ASSERT_EQ(r2->status, 200) << r2->body;
  EXPECT_EQ((*Param(Body(r2), "outcome"))["valueCode"], "linked");
  EXPECT_EQ(PersonOf(Body(r2)), person);
  // PUT's id is the source identifier's value.
  ExpectOutcome(Put(*client_, "/Patient/K2", integration_, PatientJson("RKB", "K1", maria)), 400, "invalid",
                "Patient.identifier");
  json no_source = PatientJson("RKB", "K3", maria);
  no_source["identifier"].erase(1);
  ExpectOutcome(Post(*client_, "/Patient", integration_, no_source), 400, "invalid", "Patient.identifier");
  json bad_type = PatientJson("RKB", "K3", maria);
  bad_type["birthDate"] = 19800412;
  ExpectOutcome(Post(*client_, "/Patient", integration_, bad_type), 400, "invalid", "Patient.birthDate");
  ExpectOutcome(Post(*client_, "/Patient", integration_, json{{"resourceType", "Observation"}}), 400, "invalid",
                "resourceType");

  // Resolution by NHS number and by source record, with the view decision.
  httplib::Headers ids = {{"X-Request-ID", "req-resolve-1"}, {"X-Correlation-ID", "corr-ed-42"}};
  auto res = Post(*client_, "/Patient/$resolve", clinician_, ResolveParams(kNhsSystem, maria.nhs), ids);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("X-Request-ID"), "req-resolve-1");
  EXPECT_EQ(res->get_header_value("X-Correlation-ID"), "corr-ed-42");
  json rp = Body(res);
  EXPECT_EQ(rp["resourceType"], "Parameters");
  EXPECT_EQ((*Param(rp, "person"))["valueReference"]["reference"], "Patient/" + std::to_string(person));
  std::set<std::string> records;
  for (const json& p : rp["parameter"]) {
    if (p["name"] != "record") continue;
    records.insert(p["part"][0]["valueString"].get<std::string>() + ":" +
                   p["part"][1]["valueString"].get<std::string>() + ":" + p["part"][2]["valueCode"].get<std::string>());
  }
  EXPECT_EQ(records, (std::set<std::string>{"M84001:G1:gp", "RKB:K1:acute"}));
  EXPECT_EQ((*Param(rp, "objection"))["valueBoolean"], false);
  EXPECT_EQ((*Param(rp, "restricted"))["valueBoolean"], false);
  EXPECT_EQ((*Param(rp, "inScope"))["valueBoolean"], true);
  EXPECT_NE((*Param(rp, "scopeReason"))["valueString"].get<std::string>().find("M84001"), std::string::npos);
  EXPECT_EQ((*Param(rp, "viewAllowed"))["valueBoolean"], true);
  EXPECT_EQ((*Param(rp, "viewReason"))["valueString"], "allowed");
  auto by_record = Post(*client_, "/Patient/$resolve", clinician_, ResolveParams(Source("RKB"), "K1"));
  ASSERT_TRUE(by_record);
  ASSERT_EQ(by_record->status, 200) << by_record->body;
  EXPECT_EQ((*Param(Body(by_record), "person"))["valueReference"]["reference"], "Patient/" + std::to_string(person));
  ExpectOutcome(Post(*client_, "/Patient/$resolve", clinician_, ResolveParams(Source("RKB"), "NOPE")), 404, "not-found",
                "identifier");
  ExpectOutcome(Post(*client_, "/Patient/$resolve", clinician_, ResolveParams("urn:other", "1")), 400, "invalid",
                "Parameters.parameter[identifier].valueIdentifier.system");
  auto bad_nhs = Post(*client_, "/Patient/$resolve", clinician_, ResolveParams(kNhsSystem, "1234567890"));
  ExpectOutcome(bad_nhs, 400, "invalid", "nhs_number");
  EXPECT_EQ(bad_nhs->body.find("1234567890"), std::string::npos);

  // GET /Patient/{person}: each record an identifier and a link; the GP.
  auto got = Get(*client_, "/Patient/" + std::to_string(person), clinician_);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->status, 200) << got->body;
  json patient = Body(got);
  EXPECT_EQ(patient["resourceType"], "Patient");
  EXPECT_EQ(patient["id"], std::to_string(person));
  EXPECT_EQ(patient["link"].size(), 2u);
  EXPECT_EQ(patient["identifier"].size(), 2u);
  EXPECT_EQ(patient["generalPractitioner"][0]["identifier"]["value"], "M84001");
  EXPECT_FALSE(patient.contains("meta"));
  ExpectOutcome(Get(*client_, "/Patient/999999", clinician_), 404, "not-found", "Patient");

  // $match: best first, score and grade; nothing found is an empty Bundle.
  Person query = maria;
  query.nhs.clear();
  json q = PatientJson("X", "x", query);
  q.erase("identifier");
  auto m = Post(*client_, "/Patient/$match", clinician_, MatchParams(q));
  ASSERT_TRUE(m);
  ASSERT_EQ(m->status, 200) << m->body;
  json bundle = Body(m);
  EXPECT_EQ(bundle["resourceType"], "Bundle");
  EXPECT_EQ(bundle["type"], "searchset");
  ASSERT_GE(bundle["entry"].size(), 1u);
  const json& e0 = bundle["entry"][0];
  EXPECT_EQ(e0["fullUrl"], "Patient/" + std::to_string(person));
  EXPECT_EQ(e0["resource"]["id"], std::to_string(person));
  EXPECT_EQ(e0["search"]["mode"], "match");
  EXPECT_GT(e0["search"]["score"].get<double>(), 0.5);
  EXPECT_LE(e0["search"]["score"].get<double>(), 1.0);
  EXPECT_EQ(e0["search"]["extension"][0]["url"], "http://hl7.org/fhir/StructureDefinition/match-grade");
  EXPECT_EQ(e0["search"]["extension"][0]["valueCode"], "certain");
  json nobody = q;
  nobody["name"][0]["family"] = "Zzyzx";
  nobody["name"][0]["given"] = json::array({"Quentin"});
  nobody["birthDate"] = "1931-01-01";
  nobody["address"][0]["postalCode"] = "TR1 1AA";
  auto none = Post(*client_, "/Patient/$match", clinician_, MatchParams(nobody));
  ASSERT_TRUE(none);
  ASSERT_EQ(none->status, 200) << none->body;
  EXPECT_EQ(Body(none)["total"], 0);
  EXPECT_TRUE(Body(none)["entry"].empty());
  json too_little = {{"resourceType", "Patient"}, {"name", json::array({{{"given", json::array({"Maria"})}}})}};
  ExpectOutcome(Post(*client_, "/Patient/$match", clinician_, MatchParams(too_little)), 422, "incomplete",
                "Parameters.parameter[resource]");
  json bad_date = q;
  bad_date["birthDate"] = "1980-02-31";
  auto bd = Post(*client_, "/Patient/$match", clinician_, MatchParams(bad_date));
  ExpectOutcome(bd, 400, "invalid", "Patient.birthDate");
  EXPECT_EQ(bd->body.find("1980-02-31"), std::string::npos);
  ExpectOutcome(Post(*client_, "/Patient/$match", clinician_, MatchParams(q, 0)), 400, "invalid",
                "Parameters.parameter[count]");

  // A subject the log must escape: quotes, a backslash, a tab.
  const std::string odd_sub = "dr \"o'neil\" \\ \tlocum";
  const std::string odd = SignJwt(Key("ec.key"), Claims(odd_sub, "RKB", "direct-care", {"clinician"}));
  ASSERT_EQ(Post(*client_, "/Patient/$resolve", odd, ResolveParams(Source("RKB"), "K1"))->status, 200);

  // Many requests went over one keep-alive connection; the log names routes
  // and identities, never a value from a request.
  ASSERT_EQ(server_.Stop(), 0);
  const std::string log = server_.log();
  EXPECT_NE(log.find("\"route\":\"POST /Patient/$resolve\""), std::string::npos);
  EXPECT_NE(log.find("\"sub\":\"dr.ahmed\""), std::string::npos);
  EXPECT_NE(log.find("\"event\":\"stopped\""), std::string::npos);
  // A store begun by the service has no estimated model yet, and says so.
  EXPECT_NE(log.find("{\"event\":\"model\",\"trusted\":false,\"untrusted_reason\":\"not trained (the informed "
                     "default priors)\""),
            std::string::npos)
      << log;
  // Every line is one JSON object, whatever the token's claims hold.
  bool odd_logged = false;
  for (absl::string_view line : absl::StrSplit(absl::string_view(log.data(), log.size()), '\n', absl::SkipEmpty())) {
    const json j = json::parse(line.begin(), line.end(), nullptr, false);
    ASSERT_TRUE(j.is_object()) << "not a JSON line: " << line;
    if (j.value("event", "") == "request" && j.value("sub", "") == odd_sub) {
      odd_logged = true;
      EXPECT_EQ(j["status"], 200);
      EXPECT_GE(j["duration_us"].get<int64_t>(), 0);
      EXPECT_EQ(j["role"], "clinician");
    }
  }
  EXPECT_TRUE(odd_logged);
  // Whole values: a made-up request id (hex) or a duration may hold "1980".
  for (const std::string& value : {maria.nhs, maria.family, maria.postcode, std::string("K1"), maria.dob}) {
    EXPECT_EQ(log.find(value), std::string::npos) << "the request log holds a patient value";
  }

  // Every audit event of this person names the authenticated identity.
  std::vector<json> events = AuditOf(person);
  std::set<std::string> actions;
  bool resolve_with_ids = false;
  for (const json& e : events) {
    if (e["requester"] == "test-auditor") continue;  // `empi audit person` itself
    const std::string who = e["requester"];
    ASSERT_TRUE(who == "dr.ahmed" || who == odd_sub || who == "feed.rkb") << e.dump();
    const bool clinician = who != "feed.rkb";
    EXPECT_EQ(e["organisation"], "RKB");
    EXPECT_EQ(e["role"], clinician ? "clinician" : "integration");
    EXPECT_EQ(e["purpose"], clinician ? "direct-care" : "operations") << e.dump();
    EXPECT_FALSE(e.value("request_id", "").empty()) << e.dump();  // the server makes one when not given
    actions.insert(e["action"]);
    if (e["action"] == "resolve-nhs" && e["request_id"] == "req-resolve-1" && e["correlation_id"] == "corr-ed-42") {
      resolve_with_ids = true;
    }
  }
  EXPECT_TRUE(resolve_with_ids);
  for (const char* a : {"resolve-nhs", "resolve", "view", "resolve-person", "search"}) {
    EXPECT_TRUE(actions.count(a)) << a;
  }
}

// engine/cli/allocator.h: the server runs with glibc's per-thread cache
// enlarged, set by re-executing itself, and a caller's own setting is kept.
TEST_F(ServeTest, RunsWithTheAllocatorTunedForRequests) {
  // The environment the server was executed with (glibc writes a NUL
  // after each tunable it reads, so this is searched whole, not by entry).
  auto tunables = [](pid_t pid) { return ReadFile("/proc/" + std::to_string(pid) + "/environ"); };
  ::unsetenv("GLIBC_TUNABLES");
  StartPlain();
  EXPECT_NE(tunables(server_.pid()).find("glibc.malloc.tcache_count=1024"), std::string::npos);
  ASSERT_EQ(server_.Stop(), 0);

  ::setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=16", 1);
  StartPlain();
  ::unsetenv("GLIBC_TUNABLES");
  const std::string kept = tunables(server_.pid());
  EXPECT_NE(kept.find("glibc.malloc.tcache_count=16"), std::string::npos) << kept;
  EXPECT_EQ(kept.find("tcache_count=1024"), std::string::npos) << kept;
  ASSERT_EQ(server_.Stop(), 0);
}

TEST_F(ServeTest, RefusesWithoutValidTokenOrOutsideRoleAndAuditsBoth) {
  const Person p = MariaWithNumber();
  const uint64_t person = StartWithOnePatient(p);
  ASSERT_NE(person, 0u);
  const std::string path = "/Patient/" + std::to_string(person);

  const int64_t now = std::time(nullptr);
  json expired = Claims("dr.ahmed", "RKB", "direct-care", {"clinician"});
  expired["exp"] = now - 600;
  expired["nbf"] = now - 1200;
  json early = Claims("dr.ahmed", "RKB", "direct-care", {"clinician"});
  early["nbf"] = now + 600;
  json wrong_aud = Claims("dr.ahmed", "RKB", "direct-care", {"clinician"});
  wrong_aud["aud"] = json::array({"another-service"});
  json right_aud_in_list = Claims("dr.ahmed", "RKB", "direct-care", {"clinician"});
  right_aud_in_list["aud"] = json::array({"another-service", kAudience});
  json wrong_iss = Claims("dr.ahmed", "RKB", "direct-care", {"clinician"});
  wrong_iss["iss"] = "https://evil.example";
  json no_roles = Claims("dr.ahmed", "RKB", "direct-care", {});
  json no_org = Claims("dr.ahmed", "RKB", "direct-care", {"clinician"});
  no_org.erase("org");
  const std::string tampered = [&] {
    std::string t = clinician_;
    const size_t dot = t.find('.');
    json c = Claims("dr.ahmed", "RKB", "direct-care", {"clinician", "admin"});
    return t.substr(0, dot + 1) + server::Base64UrlEncode(c.dump()) + t.substr(t.rfind('.'));
  }();
  const std::string unsigned_token =
      server::Base64UrlEncode(R"({"alg":"none"})") + "." +
      server::Base64UrlEncode(Claims("dr.ahmed", "RKB", "direct-care", {"clinician"}).dump()) + ".";
  struct Case {
    const char* name;
    std::string token;
    std::string diagnostic;
  } cases[] = {
      {"no token", "", "Authorization: no bearer token or client certificate"},
      {"expired", SignJwt(Key("rsa.key"), expired), "Authorization: token expired"},
      {"not yet valid", SignJwt(Key("rsa.key"), early), "Authorization: token not yet valid (nbf)"},
      {"audience", SignJwt(Key("ec.key"), wrong_aud), "Authorization: token audience is not accepted"},
      {"issuer", SignJwt(Key("ec.key"), wrong_iss), "Authorization: token issuer is not accepted"},
      {"untrusted key", SignJwt(Key("stranger.key"), Claims("dr.ahmed", "RKB", "direct-care", {"clinician"})),
       "Authorization: signature does not verify"},
      {"RSA key used as ES256",
       SignJwt(Key("rsa.key"), Claims("dr.ahmed", "RKB", "direct-care", {"clinician"}), "ES256"),
       "Authorization: signature does not verify"},
      {"tampered claims", tampered, "Authorization: signature does not verify"},
      {"alg none", unsigned_token, "Authorization: token alg is not RS256 or ES256"},
      {"no roles", SignJwt(Key("rsa.key"), no_roles), "Authorization: token has no roles"},
      {"no org", SignJwt(Key("rsa.key"), no_org), "Authorization: token has no org"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto res = Get(*client_, path, c.token);
    ExpectOutcome(res, 401, "login", c.diagnostic);
    EXPECT_EQ(Body(res)["issue"][0]["diagnostics"], c.diagnostic);
    EXPECT_EQ(res->get_header_value("WWW-Authenticate"), "Bearer error=\"invalid_token\"");
  }
  auto ok = Get(*client_, path, SignJwt(Key("ec.key"), right_aud_in_list));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;

  // Valid identity, wrong role: 403 each way round.
  ExpectOutcome(Get(*client_, path, integration_, {{"X-Request-ID", "req-403"}}), 403, "forbidden", "role");
  ExpectOutcome(Post(*client_, "/Patient", clinician_, PatientJson("RKB", "A2", p)), 403, "forbidden", "role");
  const std::string auditor = SignJwt(Key("rsa.key"), Claims("ms.audit", "X26", "audit", {"auditor"}));
  ExpectOutcome(Post(*client_, "/Patient/$match", auditor, MatchParams(PatientJson("RKB", "A1", p))), 403, "forbidden",
                "role");
  ExpectOutcome(Get(*client_, path, clinician_, {{"X-Request-ID", "bad id with spaces"}}), 400, "invalid",
                "X-Request-ID");
  ASSERT_EQ(server_.Stop(), 0);

  std::vector<json> events = AuditOf(person);
  int refused_401 = 0;
  bool refused_403 = false;
  for (const json& e : events) {
    const std::string outcome = e["outcome"];
    if (outcome.rfind("denied: 401 ", 0) == 0) {
      ++refused_401;
      EXPECT_EQ(e["requester"], "unauthenticated");
      EXPECT_EQ(e["action"], "http GET /Patient/{person}");
    }
    if (outcome.rfind("denied: 403 ", 0) == 0) {
      refused_403 = true;
      EXPECT_EQ(e["requester"], "feed.rkb");
      EXPECT_EQ(e["organisation"], "RKB");
      EXPECT_EQ(e["role"], "integration");
      EXPECT_EQ(e["purpose"], "operations");
      EXPECT_EQ(e["request_id"], "req-403");
    }
  }
  EXPECT_EQ(refused_401, static_cast<int>(std::size(cases)));
  EXPECT_TRUE(refused_403);
}

// A subject access request: the auditor lists every event naming the
// person as FHIR AuditEvents (the clinician's resolve among them, with its
// requester, organisation and purpose); the auditor's read is itself
// audited; a clinician may not read the trail; a missing or malformed
// patient is refused.
TEST_F(ServeTest, AuditorReadsAPersonsTrailAsAuditEventsAndTheReadIsAudited) {
  const uint64_t person = StartWithOnePatient(MariaWithNumber());
  ASSERT_NE(person, 0u);
  auto view = Get(*client_, "/Patient/" + std::to_string(person), clinician_, {{"X-Request-ID", "req-view"}});
  ASSERT_TRUE(view);
  ASSERT_EQ(view->status, 200) << view->body;

  const std::string auditor = SignJwt(Key("rsa.key"), Claims("ms.audit", "X26", "subject-access", {"auditor"}));
  const std::string query = "/AuditEvent?patient=Patient/" + std::to_string(person);
  auto trail = Get(*client_, query, auditor);
  ASSERT_TRUE(trail);
  ASSERT_EQ(trail->status, 200) << trail->body;
  const json bundle = Body(trail);
  EXPECT_EQ(bundle["resourceType"], "Bundle");
  EXPECT_EQ(bundle["type"], "searchset");
  ASSERT_GE(bundle["entry"].size(), 2u);
  EXPECT_EQ(bundle["total"], bundle["entry"].size());
  bool saw_view = false;
  for (const json& entry : bundle["entry"]) {
    const json& e = entry["resource"];
    EXPECT_EQ(e["resourceType"], "AuditEvent");
    EXPECT_NE(e["entity"].dump().find("\"Patient/" + std::to_string(person) + "\""), std::string::npos);
    EXPECT_EQ(e.dump().find("Priory"), std::string::npos);  // no demographics
    if (e["agent"][0]["who"]["identifier"]["value"] == "dr.ahmed") {
      saw_view = true;
      EXPECT_EQ(e["agent"][1]["who"]["identifier"]["value"], "RKB");
      EXPECT_EQ(e["agent"][0]["purposeOfUse"][0]["text"], "direct-care");
      const json request_id = {
          {"what", {{"identifier", {{"value", "req-view"}}}}},
          {"type",
           {{"system", "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType"}, {"code", "XrequestId"}}}};
      EXPECT_NE(std::find(e["entity"].begin(), e["entity"].end(), request_id), e["entity"].end()) << e.dump();
      EXPECT_EQ(e["outcome"], "0");
    }
  }
  EXPECT_TRUE(saw_view);
  // Asked again, the first read is in the trail.
  const json again = Body(Get(*client_, "/AuditEvent?patient=" + std::to_string(person), auditor));
  ASSERT_EQ(again["entry"].size(), bundle["entry"].size() + 1);
  const json& read = again["entry"].back()["resource"];
  EXPECT_EQ(read["subtype"][0]["code"], "audit person");
  EXPECT_EQ(read["agent"][0]["who"]["identifier"]["value"], "ms.audit");
  EXPECT_EQ(read["outcomeDesc"], "ok: " + std::to_string(bundle["entry"].size()) + " events");

  ExpectOutcome(Get(*client_, query, clinician_), 403, "forbidden", "role");
  ExpectOutcome(Get(*client_, "/AuditEvent", auditor), 400, "required", "AuditEvent?patient");
  ExpectOutcome(Get(*client_, "/AuditEvent?patient=Patient/x", auditor), 400, "required", "AuditEvent?patient");
  ASSERT_EQ(server_.Stop(), 0);
}

TEST_F(ServeTest, RestrictedPatientIsRedactedAndNeverFoundByLocation) {
  StartPlain();
  Person hidden{NhsNumber("485777345"), "Okonkwo", "Adaeze", "1975-09-30", "CV8 1JP", "12 Hidden Lane"};
  ASSERT_FALSE(hidden.nhs.empty());
  for (auto [src, id] : {std::pair{"M84002", "G9"}, std::pair{"RKB", "R9"}}) {
    auto r = Post(*client_, "/Patient", integration_, PatientJson(src, id, hidden, /*restricted=*/true));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  auto res = Post(*client_, "/Patient/$resolve", clinician_, ResolveParams(kNhsSystem, hidden.nhs));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  json rp = Body(res);
  EXPECT_EQ((*Param(rp, "restricted"))["valueBoolean"], true);
  const std::string person_ref = (*Param(rp, "person"))["valueReference"]["reference"];
  auto got = Get(*client_, "/" + person_ref, clinician_);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->status, 200) << got->body;
  json patient = Body(got);
  EXPECT_EQ(patient["meta"]["security"][0]["code"], "R");
  EXPECT_FALSE(patient.contains("address"));
  EXPECT_FALSE(patient.contains("telecom"));
  EXPECT_FALSE(patient.contains("generalPractitioner"));
  ASSERT_EQ(patient["identifier"].size(), 1u);  // the hospital record; not the GP's
  EXPECT_EQ(patient["identifier"][0]["value"], "R9");
  // Nothing names where they live or their practice.
  for (const std::string& body : {res->body, got->body}) {
    for (const std::string& v : {hidden.postcode, std::string("CV8"), hidden.line, std::string("M84002")}) {
      EXPECT_EQ(body.find(v), std::string::npos) << v;
    }
  }

  // A search with a postcode never returns a restricted patient; one without does, redacted.
  json q = PatientJson("X", "x", hidden);
  q.erase("identifier");
  q.erase("meta");
  auto by_location = Post(*client_, "/Patient/$match", clinician_, MatchParams(q));
  ASSERT_TRUE(by_location);
  ASSERT_EQ(by_location->status, 200) << by_location->body;
  EXPECT_EQ(Body(by_location)["total"], 0);
  q.erase("address");
  auto by_name = Post(*client_, "/Patient/$match", clinician_, MatchParams(q));
  ASSERT_TRUE(by_name);
  ASSERT_EQ(by_name->status, 200) << by_name->body;
  json bundle = Body(by_name);
  ASSERT_EQ(bundle["total"], 1);
  EXPECT_EQ(bundle["entry"][0]["resource"]["meta"]["security"][0]["code"], "R");
  EXPECT_FALSE(bundle["entry"][0]["resource"].contains("generalPractitioner"));
  EXPECT_EQ(by_name->body.find("M84002"), std::string::npos);
  EXPECT_EQ(server_.Stop(), 0);
}

TEST_F(ServeTest, TlsWithClientCertificates) {
  std::vector<std::string> args = BaseArgs();
  for (const std::string& a :
       {std::string("--tls-cert"), Key("server.pem"), std::string("--tls-key"), Key("server.key"),
        std::string("--client-ca"), Key("ca.pem"), std::string("--idle-timeout"), std::string("1")}) {
    args.push_back(a);
  }
  ASSERT_TRUE(server_.Start(args, dir_.path() + "/serve.log")) << server_.log();
  EXPECT_NE(server_.log().find("\"tls\":true"), std::string::npos);

  httplib::SSLClient tls("127.0.0.1", server_.port(), Key("client.pem"), Key("client.key"));
  tls.set_ca_cert_path(Key("ca.pem").c_str());
  tls.enable_server_certificate_verification(true);
  tls.set_keep_alive(true);
  Person p = kMaria;
  p.nhs = NhsNumber("320667835");
  ASSERT_FALSE(p.nhs.empty());
  auto r = Post(tls, "/Patient", integration_, PatientJson("RKB", "T1", p));
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  ASSERT_EQ(r->status, 200) << r->body;
  const uint64_t person = PersonOf(Body(r));
  auto res = Post(tls, "/Patient/$resolve", clinician_, ResolveParams(Source("RKB"), "T1"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  auto got = Get(tls, "/Patient/" + std::to_string(person), clinician_);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 200);
  ExpectOutcome(Get(tls, "/Patient/" + std::to_string(person), ""), 401, "login", "Authorization");

  // Without a client certificate the handshake fails; plain HTTP gets nothing.
  httplib::SSLClient anonymous("127.0.0.1", server_.port());
  anonymous.set_ca_cert_path(Key("ca.pem").c_str());
  anonymous.enable_server_certificate_verification(true);
  EXPECT_FALSE(Get(anonymous, "/Patient/" + std::to_string(person), clinician_));
  httplib::Client plain("127.0.0.1", server_.port());
  auto p_res = Get(plain, "/Patient/" + std::to_string(person), clinician_);
  EXPECT_TRUE(!p_res || p_res->status >= 400);
  // A client that does not trust the server's CA refuses it.
  httplib::SSLClient distrustful("127.0.0.1", server_.port(), Key("client.pem"), Key("client.key"));
  distrustful.set_ca_cert_path(Key("jwt-keys.pem").c_str());
  distrustful.enable_server_certificate_verification(true);
  EXPECT_FALSE(Get(distrustful, "/Patient/" + std::to_string(person), clinician_));
  ASSERT_EQ(server_.Stop(), 0);

  bool tls_resolve = false;
  for (const json& e : AuditOf(person)) {
    if (e["action"] == "resolve" && e["requester"] == "dr.ahmed" && e["role"] == "clinician") tls_resolve = true;
  }
  EXPECT_TRUE(tls_resolve);
}

// A service authenticated by its client certificate alone: the subject's CN,
// O and OUs are its identity, roles and purpose (client_cert.h); a bearer
// token, when sent, still decides.
TEST_F(ServeTest, ClientCertificateIdentityWithoutABearerToken) {
  std::vector<std::string> args = BaseArgs();
  for (const std::string& a : {std::string("--tls-cert"), Key("server.pem"), std::string("--tls-key"),
                               Key("server.key"), std::string("--client-ca"), Key("ca.pem")}) {
    args.push_back(a);
  }
  ASSERT_TRUE(server_.Start(args, dir_.path() + "/serve.log")) << server_.log();
  httplib::SSLClient service("127.0.0.1", server_.port(), Key("service.pem"), Key("service.key"));
  service.set_ca_cert_path(Key("ca.pem").c_str());
  service.enable_server_certificate_verification(true);
  Person p = kMaria;
  p.nhs = NhsNumber("320667835");
  auto ingested = Post(service, "/Patient", integration_, PatientJson("RKB", "C1", p));
  ASSERT_TRUE(ingested) << httplib::to_string(ingested.error());
  ASSERT_EQ(ingested->status, 200) << ingested->body;
  const uint64_t person = PersonOf(Body(ingested));
  // Its certificate names the role clinician: it may resolve, not ingest.
  auto res = Post(service, "/Patient/$resolve", "", ResolveParams(Source("RKB"), "C1"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  ExpectOutcome(Post(service, "/Patient", "", PatientJson("RKB", "C2", p)), 403, "forbidden",
                "role: this endpoint needs integration");
  // A certificate without an organisation is no identity.
  httplib::SSLClient bare("127.0.0.1", server_.port(), Key("client.pem"), Key("client.key"));
  bare.set_ca_cert_path(Key("ca.pem").c_str());
  bare.enable_server_certificate_verification(true);
  ExpectOutcome(Post(bare, "/Patient/$resolve", "", ResolveParams(Source("RKB"), "C1")), 401, "login",
                "Authorization: no bearer token or client certificate");
  ASSERT_EQ(server_.Stop(), 0);

  bool by_certificate = false, by_token = false;
  for (const json& e : AuditOf(person)) {
    if (e["action"] == "resolve" && e["requester"] == "ed-viewer" && e["organisation"] == "RKB" &&
        e["role"] == "clinician" && e["purpose"] == "direct-care") {
      by_certificate = true;
    }
    if (e["action"] == "ingest" && e["requester"] != "ed-viewer") by_token = true;
  }
  EXPECT_TRUE(by_certificate);
  EXPECT_TRUE(by_token);
}

TEST_F(ServeTest, LimitsOnBodySizeHeaderCountAndIdleTime) {
  StartPlain({"--max-body-bytes", "2000", "--max-headers", "20", "--idle-timeout", "1"});
  json big = PatientJson("RKB", "B1", kMaria);
  big["name"][0]["family"] = std::string(3000, 'x');
  ExpectOutcome(Post(*client_, "/Patient", integration_, big), 413, "too-long", "body");
  httplib::Headers many;
  for (int i = 0; i < 30; ++i) many.emplace("X-Filler-" + std::to_string(i), "1");
  ExpectOutcome(Get(*client_, "/Patient/1", clinician_, many), 431, "too-long", "request");
  ExpectOutcome(Get(*client_, "/nowhere", clinician_), 404, "not-supported", "no such endpoint");

  // An idle connection is closed after --idle-timeout.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server_.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval tv{6, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const auto start = std::chrono::steady_clock::now();
  char buf[16];
  EXPECT_EQ(::recv(fd, buf, sizeof buf, 0), 0) << "the server did not close the idle connection";
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  ::close(fd);
  EXPECT_EQ(server_.Stop(), 0);
}

TEST_F(ServeTest, StartupErrorsUseSysexitsCodes) {
  auto exit_of = [&](std::vector<std::string> args) {
    ServeProcess s;
    EXPECT_FALSE(s.Start(args, dir_.path() + "/bad.log"));
    return s.exit_code();
  };
  std::vector<std::string> a = BaseArgs();
  a[3] = "no-port";
  EXPECT_EQ(exit_of(a), 64);
  a = BaseArgs();
  a.push_back("--tls-cert");
  a.push_back(Key("server.pem"));
  EXPECT_EQ(exit_of(a), 64);  // no --tls-key
  a = BaseArgs();
  a[5] = dir_.path() + "/missing.pem";
  EXPECT_EQ(exit_of(a), 66);
  a = BaseArgs();
  a[5] = Key("ca.key");  // a private key file holds no public key
  EXPECT_EQ(exit_of(a), 65);

  // A second server on the same store: locked, try later.
  StartPlain();
  EXPECT_EQ(exit_of(BaseArgs()), 75);
  EXPECT_EQ(server_.Stop(), 0);
}

// The steward's review queue, merge, unmerge and split, each checked
// through $resolve, and the person's history; the trail names the steward.
TEST_F(ServeTest, StewardReviewsMergesUnmergesAndSplits) {
  const uint64_t maria = StartWithOnePatient(MariaWithNumber());
  ASSERT_NE(maria, 0u);
  const Person twin = MariasTwin();
  ASSERT_FALSE(twin.nhs.empty());
  const uint64_t other = IngestAs("RYA", "B1", twin);
  ASSERT_NE(other, 0u);
  ASSERT_NE(other, maria) << "different NHS numbers keep them apart";

  // The pair is in the review queue, once, naming both records and persons.
  auto queue = Get(*client_, "/$mdm-query-links?matchResult=POSSIBLE_MATCH&_count=10", steward_);
  ASSERT_TRUE(queue);
  ASSERT_EQ(queue->status, 200) << queue->body;
  json links = Body(queue);
  EXPECT_EQ(links["resourceType"], "Parameters");
  ASSERT_EQ(links["parameter"].size(), 1u) << links.dump();
  const json& link = links["parameter"][0];
  EXPECT_EQ(link["name"], "link");
  EXPECT_EQ((*Part(link, "matchResult"))["valueString"], "POSSIBLE_MATCH");
  EXPECT_EQ((*Part(link, "linkSource"))["valueString"], "AUTO");
  std::set<std::string> persons = {(*Part(link, "goldenResourceId"))["valueString"],
                                   (*Part(link, "currentGoldenResourceId"))["valueString"]};
  EXPECT_EQ(persons, (std::set<std::string>{"Patient/" + std::to_string(maria), "Patient/" + std::to_string(other)}));
  std::set<std::string> records = {(*Part(link, "sourceResourceId"))["valueIdentifier"]["value"],
                                   (*Part(link, "matchedResourceId"))["valueIdentifier"]["value"]};
  EXPECT_EQ(records, (std::set<std::string>{"A1", "B1"}));
  const double score = (*Part(link, "score"))["valueDecimal"];
  EXPECT_GE(score, 0.0);
  EXPECT_LE(score, 1.0);
  EXPECT_FALSE((*Part(link, "reason"))["valueString"].get<std::string>().empty());
  for (const std::string& v : {kMaria.family, kMaria.postcode, kMaria.dob, twin.nhs}) {
    EXPECT_EQ(queue->body.find(v), std::string::npos) << "the queue shows a patient value";
  }

  // Merge: B1 resolves to Maria's person, which holds both records.
  auto merged = Post(*client_, "/$mdm-merge-golden-resources", steward_, MergeBody(other, maria));
  ASSERT_TRUE(merged);
  ASSERT_EQ(merged->status, 200) << merged->body;
  const json m = Body(merged);
  EXPECT_EQ(PersonRef(m, "goldenResource"), maria);
  EXPECT_EQ(PersonRef(m, "mergedResource"), other);
  const uint64_t merge_event = (*Param(m, "mergeEvent"))["valueUnsignedInt"];
  EXPECT_EQ(ResolveRecord("RYA", "B1"), std::make_pair(maria, std::set<std::string>{"RKB:A1", "RYA:B1"}));
  EXPECT_TRUE(Body(Get(*client_, "/$mdm-query-links", steward_))["parameter"].empty());

  // The history lists the merge, by the steward, for a steward or an auditor.
  auto history = Get(*client_, "/Patient/" + std::to_string(maria) + "/$empi-history", auditor_);
  ASSERT_TRUE(history);
  ASSERT_EQ(history->status, 200) << history->body;
  bool saw_merge = false;
  const json events = Body(history);
  for (const json& e : events["parameter"]) {
    EXPECT_EQ(e["name"], "event");
    if ((*Part(e, "action"))["valueCode"] != "merge") continue;
    saw_merge = true;
    EXPECT_EQ((*Part(e, "sequence"))["valueUnsignedInt"], merge_event);
    EXPECT_EQ((*Part(e, "by"))["valueString"], "ms.steward");
    EXPECT_EQ((*Part(e, "role"))["valueString"], "steward");
    EXPECT_EQ((*Part(e, "reason"))["valueString"], "same patient: confirmed with the GP practice");
    EXPECT_EQ((*Part(e, "from"))["valueReference"]["reference"], "Patient/" + std::to_string(other));
    EXPECT_EQ((*Part(e, "into"))["valueReference"]["reference"], "Patient/" + std::to_string(maria));
    EXPECT_EQ((*Part(e, "record"))["valueIdentifier"]["value"], "B1");
    EXPECT_FALSE((*Part(e, "time"))["valueInstant"].get<std::string>().empty());
  }
  EXPECT_TRUE(saw_merge) << history->body;
  EXPECT_EQ(Get(*client_, "/Patient/" + std::to_string(maria) + "/$empi-history", steward_)->status, 200);
  ExpectOutcome(Get(*client_, "/Patient/999999/$empi-history", steward_), 404, "not-found", "Patient");

  // Unmerge brings the merged person back under its old id, once.
  const std::string unmerge = "/Patient/" + std::to_string(maria) + "/$empi-unmerge";
  const json event_body = Parameters({{{"name", "mergeEvent"}, {"valueUnsignedInt", merge_event}}});
  auto unmerged = Post(*client_, unmerge, steward_, event_body);
  ASSERT_TRUE(unmerged);
  ASSERT_EQ(unmerged->status, 200) << unmerged->body;
  EXPECT_EQ(PersonRef(Body(unmerged), "goldenResource"), other);
  EXPECT_EQ(ResolveRecord("RYA", "B1"), std::make_pair(other, std::set<std::string>{"RYA:B1"}));
  EXPECT_EQ(ResolveRecord("RKB", "A1"), std::make_pair(maria, std::set<std::string>{"RKB:A1"}));
  ExpectOutcome(Post(*client_, unmerge, steward_, event_body), 409, "conflict", "Parameters.parameter[mergeEvent]");
  ExpectOutcome(Post(*client_, unmerge, steward_, Parameters({{{"name", "mergeEvent"}, {"valueUnsignedInt", 999999}}})),
                404, "not-found", "Parameters.parameter[mergeEvent]");

  // Split ($mdm-update-link NO_MATCH): B1 leaves for a new person.
  ASSERT_EQ(Post(*client_, "/$mdm-merge-golden-resources", steward_, MergeBody(other, maria))->status, 200);
  auto split = Post(*client_, "/$mdm-update-link", steward_,
                    Parameters({PersonParam("goldenResourceId", maria), RecordParam("resourceId", "RYA", "B1"),
                                StringParam("matchResult", "NO_MATCH"), StringParam("reason", "different patients")}));
  ASSERT_TRUE(split);
  ASSERT_EQ(split->status, 200) << split->body;
  const uint64_t parted = PersonRef(Body(split), "goldenResource");
  EXPECT_EQ(PersonRef(Body(split), "fromGoldenResource"), maria);
  EXPECT_NE(parted, maria);
  EXPECT_NE(parted, 0u);
  EXPECT_EQ(ResolveRecord("RYA", "B1"), std::make_pair(parted, std::set<std::string>{"RYA:B1"}));
  EXPECT_EQ(ResolveRecord("RKB", "A1"), std::make_pair(maria, std::set<std::string>{"RKB:A1"}));
  // A person's last record cannot be split off; an unknown person is 404.
  auto last = Post(*client_, "/$mdm-update-link", steward_,
                   Parameters({PersonParam("goldenResourceId", maria), RecordParam("resourceId", "RKB", "A1"),
                               StringParam("matchResult", "NO_MATCH")}));
  ExpectOutcome(last, 400, "invalid", "Parameters.parameter[resourceId]");
  EXPECT_EQ(last->body.find("A1"), std::string::npos);
  ExpectOutcome(Post(*client_, "/$mdm-update-link", steward_,
                     Parameters({PersonParam("goldenResourceId", 999999), RecordParam("resourceId", "RKB", "A1"),
                                 StringParam("matchResult", "NO_MATCH")})),
                404, "not-found", "Parameters.parameter[goldenResourceId]");
  ExpectOutcome(Post(*client_, "/$mdm-merge-golden-resources", steward_, MergeBody(999999, maria)), 404, "not-found",
                "Parameters.parameter[fromGoldenResourceId or toGoldenResourceId]");
  ExpectOutcome(Post(*client_, "/$mdm-merge-golden-resources", steward_, MergeBody(maria, maria)), 400, "invalid",
                "Parameters.parameter[fromGoldenResourceId]");

  // The auditor's view of the trail names the steward for the merge.
  auto trail = Get(*client_, "/AuditEvent?patient=" + std::to_string(other), auditor_);
  ASSERT_TRUE(trail);
  ASSERT_EQ(trail->status, 200) << trail->body;
  std::set<std::string> steward_actions;
  const json bundle = Body(trail);
  for (const json& entry : bundle["entry"]) {
    const json& e = entry["resource"];
    if (e["agent"][0]["who"]["identifier"]["value"] != "ms.steward") continue;
    EXPECT_EQ(e["agent"][0]["role"][0]["text"], "steward");
    EXPECT_EQ(e["agent"][1]["who"]["identifier"]["value"], "X26");
    steward_actions.insert(e["subtype"][0]["code"].get<std::string>());
  }
  for (const char* a : {"merge", "unmerge", "review queue"}) EXPECT_TRUE(steward_actions.count(a)) << a;
  ASSERT_EQ(server_.Stop(), 0);
}

// The review queue a page at a time: each pair once, pages chained by
// the `next` URL, and a bad cursor or count refused.
TEST_F(ServeTest, ReviewQueuePagesByCursor) {
  ASSERT_NE(StartWithOnePatient(MariaWithNumber()), 0u);
  ASSERT_NE(IngestAs("RYA", "B1", MariasTwin()), 0u);
  Person unnumbered = kMaria;
  ASSERT_NE(IngestAs("RXQ", "C1", unnumbered), 0u);  // matches both equally: joins neither

  EXPECT_EQ(ReviewPages("/$mdm-query-links?matchResult=POSSIBLE_MATCH&_count=2"),
            std::pair(ReviewPairs{{"A1", "B1"}, {"A1", "C1"}, {"B1", "C1"}}, 2));

  ExpectOutcome(Get(*client_, "/$mdm-query-links?_cursor=not-a-cursor", steward_), 400, "invalid", "_cursor");
  ExpectOutcome(Get(*client_, "/$mdm-query-links?_count=0", steward_), 400, "invalid", "_count");
  ExpectOutcome(Get(*client_, "/$mdm-query-links?_count=many", steward_), 400, "invalid", "_count");
  ExpectOutcome(Get(*client_, "/$mdm-query-links?matchResult=MATCH", steward_), 400, "not-supported", "matchResult");
  ExpectOutcome(Get(*client_, "/$mdm-query-links?matchResult=POSSIBLE_DUPLICATE", steward_), 400, "not-supported",
                "matchResult");
  ASSERT_EQ(server_.Stop(), 0);
}

// HAPI's MATCH and NO_MATCH links of a person or record: each record in the
// person, AUTO when the engine put it there and MANUAL when a steward did
// (a merge), and the steward's not-duplicate marks; paged by _offset.
TEST_F(ServeTest, MatchAndNoMatchLinksSayWhoPutEachRecordThere) {
  const uint64_t maria = StartWithOnePatient(MariaWithNumber());
  ASSERT_NE(maria, 0u);
  ASSERT_EQ(IngestAs("RKB", "A2", MariaWithNumber()), maria);
  const uint64_t twin = IngestAs("RYA", "B1", MariasTwin());
  ASSERT_NE(twin, 0u);
  ASSERT_NE(twin, maria);
  ASSERT_EQ(Post(*client_, "/$mdm-merge-golden-resources", steward_, MergeBody(twin, maria))->status, 200);
  Person someone = kMaria;
  someone.given = "Zofia";
  someone.dob = "1940-01-01";
  const uint64_t other = IngestAs("RXQ", "C1", someone);
  ASSERT_NE(other, maria);
  ASSERT_EQ(Post(*client_, "/$mdm-not-duplicate", steward_,
                 Parameters({RecordParam("resourceId", "RKB", "A1"), RecordParam("resourceId", "RXQ", "C1"),
                             StringParam("reason", "different patients")}))
                ->status,
            200);

  // (record id, matchResult, linkSource, goldenResourceId) of every page.
  using Links = std::set<std::tuple<std::string, std::string, std::string, std::string>>;
  auto links = [&](std::string next) {
    Links out;
    ForEachLink(std::move(next), [&](const json& p) {
      auto text = [&](const char* name, const char* value) { return (*Part(p, name))[value].get<std::string>(); };
      out.emplace((*Part(p, "sourceResourceId"))["valueIdentifier"]["value"].get<std::string>(),
                  text("matchResult", "valueString"), text("linkSource", "valueString"),
                  text("goldenResourceId", "valueString"));
    });
    return out;
  };
  const std::string m = "Patient/" + std::to_string(maria), o = "Patient/" + std::to_string(other);
  EXPECT_EQ(links("/$mdm-query-links?matchResult=MATCH&goldenResourceId=" + m + "&_count=2"),
            (Links{{"A1", "MATCH", "AUTO", m}, {"A2", "MATCH", "AUTO", m}, {"B1", "MATCH", "MANUAL", m}}));
  EXPECT_EQ(links("/$mdm-query-links?matchResult=MATCH&resourceId=urn:empi:source:RYA%7CB1"),
            (Links{{"B1", "MATCH", "MANUAL", m}}));
  EXPECT_EQ(links("/$mdm-query-links?matchResult=NO_MATCH&goldenResourceId=" + m),
            (Links{{"A1", "NO_MATCH", "MANUAL", o}}));
  EXPECT_EQ(links("/$mdm-query-links?matchResult=NO_MATCH&resourceId=urn:empi:source:RXQ%7CC1"),
            (Links{{"C1", "NO_MATCH", "MANUAL", m}}));
  EXPECT_EQ(
      links("/$mdm-query-links?matchResult=NO_MATCH&goldenResourceId=" + m + "&resourceId=urn:empi:source:RXQ%7CC1"),
      (Links{{"C1", "NO_MATCH", "MANUAL", m}}));
  EXPECT_EQ(links("/$mdm-query-links?matchResult=MATCH&goldenResourceId=" + o + "&resourceId=urn:empi:source:RYA%7CB1"),
            Links{});

  // A split makes B1's new person: the steward put it there too.
  auto split = Post(*client_, "/$mdm-update-link", steward_,
                    Parameters({PersonParam("goldenResourceId", maria), RecordParam("resourceId", "RKB", "A2"),
                                StringParam("matchResult", "NO_MATCH")}));
  ASSERT_TRUE(split && split->status == 200);
  const std::string parted = "Patient/" + std::to_string(PersonRef(Body(split), "goldenResource"));
  EXPECT_EQ(links("/$mdm-query-links?matchResult=MATCH&resourceId=urn:empi:source:RKB%7CA2"),
            (Links{{"A2", "MATCH", "MANUAL", parted}}));

  ExpectOutcome(Get(*client_, "/$mdm-query-links?matchResult=NO_MATCH&goldenResourceId=Patient/999999", steward_), 404,
                "not-found", "");
  ExpectOutcome(Get(*client_, "/$mdm-query-links?matchResult=MATCH&goldenResourceId=" + m, clinician_), 403,
                "forbidden", "role");
  ASSERT_EQ(server_.Stop(), 0);
  bool audited = false;
  for (const json& e : AuditOf(maria)) audited |= e["action"] == "links" && e["requester"] == "ms.steward";
  EXPECT_TRUE(audited);
}

// The administrator's overview: the model that answers (the version
// $resolve reports), the store's records and last change; admin only, and
// admin is not a clinician.
TEST_F(ServeTest, AdminReadsTheOverviewAndOnlyTheAdmin) {
  const uint64_t person = StartWithOnePatient(MariaWithNumber());
  ASSERT_NE(person, 0u);
  ASSERT_EQ(IngestAs("RKB", "A2", MariaWithNumber()), person);
  const json resolved = Body(Post(*client_, "/Patient/$resolve", clinician_, ResolveParams(Source("RKB"), "A2")));
  const std::string admin = SignJwt(Key("rsa.key"), Claims("ops.lead", "X26", "operations", {"admin"}));
  auto got = Get(*client_, "/$empi-overview", admin);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->status, 200) << got->body;
  const json o = Body(got);
  EXPECT_EQ(o["resourceType"], "Parameters");
  EXPECT_EQ((*Param(o, "records"))["valueUnsignedInt"], 2);
  EXPECT_EQ((*Param(o, "lastChange"))["valueString"], (*Param(resolved, "atChange"))["valueString"]);
  const json model = {{"parameter", (*Param(o, "model"))["part"]}};
  EXPECT_EQ((*Param(model, "version"))["valueString"], (*Param(resolved, "modelVersion"))["valueString"]);
  EXPECT_EQ((*Param(model, "origin"))["valueCode"], "default");
  EXPECT_EQ((*Param(model, "trusted"))["valueBoolean"], false);
  EXPECT_NE(Param(model, "untrustedReason"), nullptr);
  EXPECT_NE(Param(o, "nextModelEstimateAt"), nullptr);
  EXPECT_EQ((*Param(o, "writable"))["valueBoolean"], true);
  EXPECT_EQ(Param(o, "writeFailure"), nullptr);

  ExpectOutcome(Get(*client_, "/$empi-overview", clinician_), 403, "forbidden", "role");
  ExpectOutcome(Get(*client_, "/$empi-overview", steward_), 403, "forbidden", "role");
  ExpectOutcome(Get(*client_, "/Patient/" + std::to_string(person), admin), 403, "forbidden", "role");
  ASSERT_EQ(server_.Stop(), 0);
}

// HAPI's filters: the pairs of one person (goldenResourceId) or one record
// (resourceId, a source token), paged by _offset through `next`; a filter
// that is not one is 400, an unknown person 404, and the whole queue's
// cursor and a filter's offset are not mixed.
TEST_F(ServeTest, ReviewQueueOfOnePersonOrRecordPagesByOffset) {
  ASSERT_NE(StartWithOnePatient(MariaWithNumber()), 0u);
  const uint64_t twin = IngestAs("RYA", "B1", MariasTwin());
  ASSERT_NE(twin, 0u);
  ASSERT_NE(IngestAs("RXQ", "C1", kMaria), 0u);  // in review with both

  const std::string twin_ref = "Patient/" + std::to_string(twin);
  EXPECT_EQ(ReviewPages("/$mdm-query-links?goldenResourceId=" + twin_ref),
            std::pair(ReviewPairs{{"A1", "B1"}, {"B1", "C1"}}, 1));
  EXPECT_EQ(ReviewPages("/$mdm-query-links?resourceId=urn:empi:source:RXQ%7CC1&_count=1"),
            std::pair(ReviewPairs{{"A1", "C1"}, {"B1", "C1"}}, 2));
  EXPECT_EQ(ReviewPages("/$mdm-query-links?goldenResourceId=" + twin_ref + "&resourceId=urn:empi:source:RXQ%7CC1"),
            std::pair(ReviewPairs{{"B1", "C1"}}, 1));
  EXPECT_EQ(ReviewPages("/$mdm-query-links?goldenResourceId=" + twin_ref + "&_offset=2"), std::pair(ReviewPairs{}, 1));

  ExpectOutcome(Get(*client_, "/$mdm-query-links?goldenResourceId=Practitioner/1", steward_), 400, "invalid",
                "goldenResourceId");
  ExpectOutcome(Get(*client_, "/$mdm-query-links?resourceId=RXQ", steward_), 400, "invalid", "resourceId");
  ExpectOutcome(Get(*client_, "/$mdm-query-links?resourceId=urn:empi:source:RXQ%7CC1&_offset=-1", steward_), 400,
                "invalid", "_offset");
  ExpectOutcome(Get(*client_, "/$mdm-query-links?_offset=2", steward_), 400, "not-supported", "_offset");
  ExpectOutcome(Get(*client_, "/$mdm-query-links?goldenResourceId=" + twin_ref + "&_cursor=x", steward_), 400,
                "not-supported", "_cursor");
  ExpectOutcome(Get(*client_, "/$mdm-query-links?goldenResourceId=Patient/999999", steward_), 404, "not-found", "");
  ExpectOutcome(Get(*client_, "/$mdm-query-links?goldenResourceId=" + twin_ref, clinician_), 403, "forbidden", "role");
  ASSERT_EQ(server_.Stop(), 0);
}

// GET /metadata: the CapabilityStatement, without a token (FHIR clients
// read it first), naming every endpoint the server routes; not audited.
TEST_F(ServeTest, MetadataIsTheCapabilityStatementOfEveryEndpoint) {
  StartPlain();
  auto r = Get(*client_, "/metadata", "");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type").rfind("application/fhir+json", 0), 0u);
  const json c = Body(r);
  EXPECT_EQ(c["resourceType"], "CapabilityStatement");
  EXPECT_EQ(c["fhirVersion"], "4.0.1");
  EXPECT_EQ(c["kind"], "instance");
  std::set<std::string> patient_ops, system_ops, interactions;
  for (const json& res : c["rest"][0]["resource"]) {
    for (const json& i : res["interaction"])
      interactions.insert(res["type"].get<std::string>() + " " + i["code"].get<std::string>());
    if (res["type"] == "Patient") {
      for (const json& o : res["operation"]) patient_ops.insert(o["name"]);
    }
  }
  for (const json& o : c["rest"][0]["operation"]) system_ops.insert(o["name"]);
  EXPECT_EQ(interactions,
            (std::set<std::string>{"Patient read", "Patient create", "Patient update", "AuditEvent search-type"}));
  EXPECT_EQ(patient_ops, (std::set<std::string>{"match", "resolve", "register-objection", "withdraw-objection",
                                                "empi-unmerge", "empi-history"}));
  EXPECT_EQ(system_ops, (std::set<std::string>{"mdm-query-links", "mdm-merge-golden-resources", "mdm-update-link",
                                               "mdm-not-duplicate", "empi-overview"}));
  // The other endpoints still want a token; /metadata takes only GET.
  ExpectOutcome(Get(*client_, "/Patient/1", ""), 401, "login", "");
  auto post = Post(*client_, "/metadata", clinician_, json::object());
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  ASSERT_EQ(server_.Stop(), 0);
  EXPECT_NE(server_.log().find("\"route\":\"GET /metadata\""), std::string::npos);
}

// A contributor's own identifier system, from the contributor register
// (`--register`, column `system`): ingest, $resolve, $mdm-query-links and
// the steward's operations take it for that contributor's records, and
// every answer names those records with it; urn:empi:source:<code> is
// still taken for every contributor.
TEST_F(ServeTest, ContributorsOwnIdentifierSystemsFromTheRegister) {
  const std::string mrn = "https://fhir.uhcw.example.nhs.uk/Id/mrn";
  const std::string reg = dir_.path() + "/contributors.csv";
  {
    std::ofstream out(reg);
    out << "source,kind,area,system\nM84001,gp,CW,\nRKB,acute,CW," << mrn << "\nRYA,ambulance,CW,\n";
  }
  StartPlain({"--idle-timeout", "1", "--register", reg});
  const Person maria = MariaWithNumber();
  json hospital = PatientJson("RKB", "K1", maria);
  hospital["identifier"][1]["system"] = mrn;
  auto r1 = Post(*client_, "/Patient", integration_, hospital);
  ASSERT_TRUE(r1 && r1->status == 200) << (r1 ? r1->body : "no response");
  const uint64_t person = PersonOf(Body(r1));
  // The same record under urn:empi:source:RKB is the same record, not another.
  EXPECT_EQ(IngestAs("RKB", "K1", maria), person);
  const uint64_t twin = IngestAs("RYA", "B1", MariasTwin());  // in review with her
  ASSERT_NE(twin, 0u);
  ASSERT_NE(twin, person);

  // A system no contributor has is no contributor's record.
  json stranger = PatientJson("RKB", "K2", maria);
  stranger["identifier"][1]["system"] = "https://fhir.elsewhere.example/Id/mrn";
  ExpectOutcome(Post(*client_, "/Patient", integration_, stranger), 400, "invalid", "Patient.identifier");

  auto resolved = Post(*client_, "/Patient/$resolve", clinician_, ResolveParams(mrn, "K1"));
  ASSERT_TRUE(resolved && resolved->status == 200) << (resolved ? resolved->body : "no response");
  EXPECT_EQ(PersonRef(Body(resolved), "person"), person);

  // The review pair names K1 with its system, and is found by it.
  auto pairs = Get(*client_, "/$mdm-query-links?resourceId=" + mrn + "%7CK1", steward_);
  ASSERT_TRUE(pairs && pairs->status == 200) << (pairs ? pairs->body : "no response");
  const json links = Body(pairs);
  ASSERT_EQ(links["parameter"].size(), 1u) << links.dump();
  const json& link = links["parameter"][0];
  std::set<std::string> named;
  for (const char* part : {"sourceResourceId", "matchedResourceId"}) {
    named.insert((*Part(link, part))["valueIdentifier"].dump());
  }
  EXPECT_EQ(named, (std::set<std::string>{json({{"system", mrn}, {"value", "K1"}}).dump(),
                                          json({{"system", Source("RYA")}, {"value", "B1"}}).dump()}));

  // A steward's operation takes it too.
  auto never = Post(*client_, "/$mdm-not-duplicate", steward_,
                    Parameters({{{"name", "resourceId"}, {"valueIdentifier", {{"system", mrn}, {"value", "K1"}}}},
                                RecordParam("resourceId", "RYA", "B1"),
                                StringParam("reason", "twins")}));
  ASSERT_TRUE(never && never->status == 200) << (never ? never->body : "no response");

  EXPECT_EQ(IngestAs("M84001", "G1", maria), person);
  auto got = Get(*client_, "/Patient/" + std::to_string(person), clinician_);
  ASSERT_TRUE(got && got->status == 200);
  const json patient = Body(got);
  std::set<std::pair<std::string, std::string>> identifiers;
  for (const json& id : patient["identifier"]) {
    identifiers.emplace(id["system"].get<std::string>(), id["value"].get<std::string>());
  }
  EXPECT_EQ(identifiers, (std::set<std::pair<std::string, std::string>>{{mrn, "K1"}, {Source("M84001"), "G1"}}))
      << got->body;

  // The auditor's trail names the record with its system.
  auto trail = Get(*client_, "/AuditEvent?patient=Patient/" + std::to_string(person), auditor_);
  ASSERT_TRUE(trail && trail->status == 200);
  EXPECT_NE(trail->body.find("{\"system\":\"" + mrn + "\",\"value\":\"K1\"}"), std::string::npos);
  EXPECT_EQ(trail->body.find(Source("RKB")), std::string::npos) << "K1 written without its registered system";
  ASSERT_EQ(server_.Stop(), 0);

  // A register giving two contributors one system does not start.
  {
    std::ofstream out(reg);
    out << "source,kind,area,system\nRKB,acute,CW," << mrn << "\nRLT,acute,CW," << mrn << "\n";
  }
  ServeProcess bad;
  std::vector<std::string> args = BaseArgs();
  args.insert(args.end(), {"--register", reg});
  EXPECT_FALSE(bad.Start(args, dir_.path() + "/bad.log"));
  EXPECT_EQ(bad.exit_code(), 65);
  EXPECT_NE(bad.log().find("contributors.csv: line 3: system: already the system of RKB"), std::string::npos)
      << bad.log();
}

// Not a duplicate: the two records' persons can no longer be merged;
// records in one person cannot be marked.
TEST_F(ServeTest, NotDuplicateThenMergeIsAConflict) {
  const uint64_t maria = StartWithOnePatient(MariaWithNumber());
  const uint64_t other = IngestAs("RYA", "B1", MariasTwin());
  ASSERT_NE(maria, 0u);
  ASSERT_NE(other, 0u);
  const json pair = Parameters(
      {RecordParam("resourceId", "RKB", "A1"), RecordParam("resourceId", "RYA", "B1"), StringParam("reason", "twins")});
  auto marked = Post(*client_, "/$mdm-not-duplicate", steward_, pair);
  ASSERT_TRUE(marked);
  ASSERT_EQ(marked->status, 200) << marked->body;
  EXPECT_EQ((*Param(Body(marked), "success"))["valueBoolean"], true);
  EXPECT_TRUE(Body(Get(*client_, "/$mdm-query-links", steward_))["parameter"].empty());
  auto merge = Post(*client_, "/$mdm-merge-golden-resources", steward_, MergeBody(other, maria));
  ExpectOutcome(merge, 409, "conflict", "Parameters.parameter[fromGoldenResourceId]");
  EXPECT_EQ(ResolveRecord("RYA", "B1").first, other);

  const Person lukasz{NhsNumber("943476591"), "Nowak", "Lukasz", "1984-03-07", "CV3 4FJ", "2 Far Gosford St"};
  const uint64_t his = IngestAs("RKB", "K1", lukasz);
  ASSERT_EQ(IngestAs("M84001", "G1", lukasz), his);
  ExpectOutcome(Post(*client_, "/$mdm-not-duplicate", steward_,
                     Parameters({RecordParam("resourceId", "RKB", "K1"), RecordParam("resourceId", "M84001", "G1")})),
                409, "conflict", "Parameters.parameter[resourceId]");
  auto unknown = Post(*client_, "/$mdm-not-duplicate", steward_,
                      Parameters({RecordParam("resourceId", "RKB", "A1"), RecordParam("resourceId", "RKB", "ZZ9")}));
  ExpectOutcome(unknown, 404, "not-found", "Parameters.parameter[resourceId]");
  EXPECT_EQ(unknown->body.find("ZZ9"), std::string::npos);
  ExpectOutcome(Post(*client_, "/$mdm-not-duplicate", steward_, Parameters({RecordParam("resourceId", "RKB", "A1")})),
                400, "invalid", "Parameters.parameter[resourceId]");
  ASSERT_EQ(server_.Stop(), 0);
}

// Objections from a steward or an objection feed: by NHS number or by
// demographics, shown by $resolve and denying the view until withdrawn;
// pending when no record holds the number; an ambiguous form refused.
TEST_F(ServeTest, ObjectionsRegisteredAndWithdrawnChangeTheView) {
  const Person p = MariaWithNumber();
  const uint64_t person = StartWithOnePatient(p);
  ASSERT_NE(person, 0u);
  const json by_number =
      Parameters({{{"name", "nhsNumber"}, {"valueIdentifier", {{"system", kNhsSystem}, {"value", p.nhs}}}},
                  {{"name", "method"}, {"valueCode", "letter"}},
                  StringParam("reference", "letter 2026-118"),
                  {{"name", "received"}, {"valueDateTime", "2026-11-30T09:00:00Z"}}});
  // A received time that is not a time, or is in the future, is refused
  // naming the parameter.
  for (const char* bad : {"yesterday", "2999-01-01T00:00:00Z"}) {
    json b = by_number;
    b["parameter"].back()["valueDateTime"] = bad;
    ExpectOutcome(Post(*client_, "/Patient/$register-objection", integration_, b), 400, "invalid",
                  "Parameters.parameter[received]");
  }
  auto objected = Post(*client_, "/Patient/$register-objection", integration_, by_number);
  ASSERT_TRUE(objected);
  ASSERT_EQ(objected->status, 200) << objected->body;
  EXPECT_EQ((*Param(Body(objected), "outcome"))["valueCode"], "applied");
  EXPECT_EQ(PersonRef(Body(objected), "person"), person);
  // (objection, the view is denied for it); Maria has no GP record, so
  // her view is denied anyway (out of scope).
  auto view = [&] {
    json r = Body(Post(*client_, "/Patient/$resolve", clinician_, ResolveParams(kNhsSystem, p.nhs)));
    return std::make_pair((*Param(r, "objection"))["valueBoolean"].get<bool>(),
                          !(*Param(r, "viewAllowed"))["valueBoolean"].get<bool>() &&
                              (*Param(r, "viewReason"))["valueString"] == "objection");
  };
  EXPECT_EQ(view(), std::make_pair(true, true));
  // The objection keeps the time the letter was received, not the request's.
  json resolved = Body(Post(*client_, "/Patient/$resolve", clinician_, ResolveParams(kNhsSystem, p.nhs)));
  ASSERT_NE(Param(resolved, "objectionReceived"), nullptr) << resolved.dump();
  EXPECT_EQ((*Param(resolved, "objectionReceived"))["valueInstant"], "2026-11-30T09:00:00.000000Z");
  auto withdrawn =
      Post(*client_, "/Patient/$withdraw-objection", steward_, Parameters({StringParam("nhsNumber", p.nhs)}));
  ASSERT_TRUE(withdrawn);
  ASSERT_EQ(withdrawn->status, 200) << withdrawn->body;
  EXPECT_EQ((*Param(Body(withdrawn), "outcome"))["valueCode"], "applied");
  EXPECT_EQ(view(), std::make_pair(false, false));

  // By demographics, then withdrawn the same way.
  const json form = Parameters({StringParam("family", p.family),
                                StringParam("given", p.given),
                                {{"name", "birthDate"}, {"valueDate", p.dob}},
                                StringParam("postalCode", p.postcode)});
  auto by_form = Post(*client_, "/Patient/$register-objection", steward_, form);
  ASSERT_TRUE(by_form);
  ASSERT_EQ(by_form->status, 200) << by_form->body;
  EXPECT_EQ(PersonRef(Body(by_form), "person"), person);
  EXPECT_EQ(view(), std::make_pair(true, true));
  ASSERT_EQ(Post(*client_, "/Patient/$withdraw-objection", steward_, form)->status, 200);
  EXPECT_EQ(view(), std::make_pair(false, false));

  // A number no record holds yet: pending.
  auto pending = Post(*client_, "/Patient/$register-objection", integration_,
                      Parameters({StringParam("nhsNumber", NhsNumber("320667835"))}));
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->status, 200) << pending->body;
  EXPECT_EQ((*Param(Body(pending), "outcome"))["valueCode"], "pending");
  EXPECT_EQ(Param(Body(pending), "person"), nullptr);

  // Two persons fit the form equally: refused, saying why, naming no value.
  ASSERT_NE(IngestAs("RYA", "B1", MariasTwin()), 0u);
  auto ambiguous = Post(*client_, "/Patient/$register-objection", steward_, form);
  ExpectOutcome(ambiguous, 422, "processing", "objection refused: ambiguous");
  for (const std::string& v : {p.family, p.postcode, p.dob, p.given}) {
    EXPECT_EQ(ambiguous->body.find(v), std::string::npos) << v;
  }
  EXPECT_EQ(view(), std::make_pair(false, false));

  // Malformed forms name the parameter; a clinician may not register one.
  ExpectOutcome(Post(*client_, "/Patient/$register-objection", steward_, Parameters({StringParam("family", p.family)})),
                400, "invalid", "Parameters.parameter[nhsNumber]");
  ExpectOutcome(Post(*client_, "/Patient/$register-objection", steward_,
                     Parameters({StringParam("nhsNumber", p.nhs), {{"name", "method"}, {"valueCode", "pigeon"}}})),
                400, "invalid", "Parameters.parameter[method]");
  ExpectOutcome(Post(*client_, "/Patient/$register-objection", steward_,
                     Parameters({{{"name", "nhsNumber"}, {"valueInteger", 12}}})),
                400, "invalid", "Parameters.parameter[nhsNumber]");
  ExpectOutcome(Post(*client_, "/Patient/$register-objection", clinician_, by_number), 403, "forbidden", "role");
  ASSERT_EQ(server_.Stop(), 0);
}

// Every new route refuses the wrong role (403) and a malformed body (400,
// naming the field).
TEST_F(ServeTest, StewardRoutesRefuseOtherRolesAndMalformedBodies) {
  const uint64_t person = StartWithOnePatient(MariaWithNumber());
  ASSERT_NE(person, 0u);
  const std::string p = "/Patient/" + std::to_string(person);
  const json empty = Parameters({});
  struct Route {
    std::string method, path;
    std::string wrong_token;
  } routes[] = {
      {"GET", "/$mdm-query-links", auditor_},
      {"POST", "/$mdm-merge-golden-resources", clinician_},
      {"POST", "/$mdm-update-link", integration_},
      {"POST", "/$mdm-not-duplicate", auditor_},
      {"POST", p + "/$empi-unmerge", clinician_},
      {"GET", p + "/$empi-history", clinician_},
      {"POST", "/Patient/$register-objection", auditor_},
      {"POST", "/Patient/$withdraw-objection", clinician_},
  };
  for (const Route& r : routes) {
    SCOPED_TRACE(r.path);
    auto res = r.method == "GET" ? Get(*client_, r.path, r.wrong_token) : Post(*client_, r.path, r.wrong_token, empty);
    ExpectOutcome(res, 403, "forbidden", "role");
    if (r.method == "POST") {
      ExpectOutcome(client_->Post(r.path.c_str(), {{"Authorization", "Bearer " + steward_}}, "{not json",
                                  "application/fhir+json"),
                    400, "structure", "body");
      ExpectOutcome(Post(*client_, r.path, steward_, json{{"resourceType", "Patient"}}), 400, "invalid",
                    "resourceType");
    }
  }
  ExpectOutcome(Post(*client_, "/$mdm-merge-golden-resources", steward_,
                     Parameters({PersonParam("fromGoldenResourceId", person)})),
                400, "required", "Parameters.parameter[toGoldenResourceId]");
  ExpectOutcome(
      Post(*client_, "/$mdm-merge-golden-resources", steward_,
           Parameters({StringParam("fromGoldenResourceId", "Patient/x"), PersonParam("toGoldenResourceId", person)})),
      400, "invalid", "Parameters.parameter[fromGoldenResourceId]");
  ExpectOutcome(Post(*client_, "/$mdm-update-link", steward_,
                     Parameters({PersonParam("goldenResourceId", person), RecordParam("resourceId", "RKB", "A1"),
                                 StringParam("matchResult", "MATCH")})),
                400, "not-supported", "Parameters.parameter[matchResult]");
  ExpectOutcome(
      Post(*client_, "/$mdm-update-link", steward_,
           Parameters({PersonParam("goldenResourceId", person),
                       {{"name", "resourceId"}, {"valueIdentifier", {{"system", "urn:other"}, {"value", "A1"}}}},
                       StringParam("matchResult", "NO_MATCH")})),
      400, "invalid", "Parameters.parameter[resourceId].valueIdentifier");
  ExpectOutcome(Post(*client_, "/$mdm-update-link", steward_, Parameters({PersonParam("goldenResourceId", person)})),
                400, "required", "Parameters.parameter[resourceId]");
  ExpectOutcome(Post(*client_, p + "/$empi-unmerge", steward_, Parameters({StringParam("mergeEvent", "first")})), 400,
                "invalid", "Parameters.parameter[mergeEvent]");
  ExpectOutcome(Post(*client_, p + "/$empi-unmerge", steward_, empty), 400, "required",
                "Parameters.parameter[mergeEvent]");
  ASSERT_EQ(server_.Stop(), 0);

  // The refusals are audited like any other.
  int refused = 0;
  for (const json& e : AuditOf(person)) refused += e["outcome"].get<std::string>().rfind("denied: 403 ", 0) == 0;
  EXPECT_EQ(refused, 2);  // the two routes with {person} in the path
}

// A consumer caching resolutions follows GET /changes (long polls, on its
// own connection) while a steward merges, splits and unmerges and a feed
// adds records; once the steward stops and the consumer has read to the
// last change, its cache equals what $resolve now gives for every record.
TEST_F(ServeTest, ChangeFeedConsumerFollowsMergesAndSplitsToTheIndexState) {
  const uint64_t maria = StartWithOnePatient(MariaWithNumber());
  ASSERT_NE(maria, 0u);
  ExpectOutcome(Get(*client_, "/changes?since=0", auditor_), 403, "forbidden", "role");
  ExpectOutcome(Get(*client_, "/changes", clinician_), 400, "required", "since");
  ExpectOutcome(Get(*client_, "/changes?since=0&_wait=31", clinician_), 400, "invalid", "_wait");

  std::atomic<bool> done{false};
  std::map<std::string, std::pair<uint64_t, std::set<std::string>>> cache;  // "SOURCE:id" -> resolution
  uint64_t since = 0, polls = 0;
  std::string failure;
  std::thread consumer([&] {
    httplib::Client c("127.0.0.1", server_.port());
    c.set_keep_alive(true);
    c.set_read_timeout(10, 0);
    while (failure.empty()) {
      const bool stop = done.load();
      auto r = Get(c, "/changes?since=" + std::to_string(since) + "&_count=7&_wait=1", clinician_);
      if (!r || r->status != 200) {
        failure = r ? r->body : "no response";
        return;
      }
      ++polls;
      const json b = json::parse(r->body);
      for (const json& e : b["changes"]) {
        if (e["sequence"] != since + 1) failure = "gap before change " + e["sequence"].dump();
        since = e["sequence"];
        std::set<uint64_t> persons(e["persons"].begin(), e["persons"].end());
        for (const json& rec : e["records"]) {
          cache.try_emplace(rec["source"].get<std::string>() + ":" + rec["record_id"].get<std::string>());
        }
        for (auto& [key, cached] : cache) {
          const bool named = std::any_of(e["records"].begin(), e["records"].end(), [&](const json& rec) {
            return rec["source"].get<std::string>() + ":" + rec["record_id"].get<std::string>() == key;
          });
          if (!named && !persons.contains(cached.first)) continue;
          const size_t colon = key.find(':');
          auto got = Post(c, "/Patient/$resolve", clinician_,
                          ResolveParams(Source(key.substr(0, colon)), key.substr(colon + 1)));
          if (!got || got->status != 200) {
            failure = got ? got->body : "no response";
            return;
          }
          const json rb = json::parse(got->body);
          cached.second.clear();
          for (const json& p : rb["parameter"]) {
            if (p["name"] == "record") {
              cached.second.insert(p["part"][0]["valueString"].get<std::string>() + ":" +
                                   p["part"][1]["valueString"].get<std::string>());
            }
          }
          const std::string ref = (*Param(rb, "person"))["valueReference"]["reference"];
          cached.first = std::stoull(ref.substr(std::string("Patient/").size()));
        }
      }
      if (stop && b["changes"].empty() && b["since"] == b["last"]) return;
    }
  });

  // The steward's and the feed's work, while the consumer reads.
  const uint64_t twin = IngestAs("RYA", "B1", MariasTwin());
  IngestAs("M84001", "G1", MariaWithNumber());
  auto merged = Post(*client_, "/$mdm-merge-golden-resources", steward_, MergeBody(twin, maria));
  ASSERT_TRUE(merged && merged->status == 200) << (merged ? merged->body : "no response");
  const uint64_t merge_event = Body(merged)["parameter"][2]["valueUnsignedInt"].get<uint64_t>();
  auto unmerged = Post(*client_, "/Patient/" + std::to_string(maria) + "/$empi-unmerge", steward_,
                       Parameters({{{"name", "mergeEvent"}, {"valueUnsignedInt", merge_event}}}));
  EXPECT_TRUE(unmerged && unmerged->status == 200) << (unmerged ? unmerged->body : "no response");
  auto again = Post(*client_, "/$mdm-merge-golden-resources", steward_, MergeBody(twin, maria));
  EXPECT_TRUE(again && again->status == 200) << (again ? again->body : "no response");
  auto split = Post(*client_, "/$mdm-update-link", steward_,
                    Parameters({PersonParam("goldenResourceId", maria), RecordParam("resourceId", "RYA", "B1"),
                                StringParam("matchResult", "NO_MATCH")}));
  EXPECT_TRUE(split && split->status == 200) << (split ? split->body : "no response");
  IngestAs("RLT", "C1", MariaWithNumber());
  done = true;
  consumer.join();
  ASSERT_TRUE(failure.empty()) << failure;
  EXPECT_GT(polls, 1u);
  EXPECT_GE(since, 8u);  // 4 ingests, two merges, an unmerge, a split
  ASSERT_EQ(cache.size(), 4u);
  for (const auto& [key, cached] : cache) {
    const size_t colon = key.find(':');
    EXPECT_EQ(cached, ResolveRecord(key.substr(0, colon), key.substr(colon + 1))) << "stale cache for " << key;
  }
}

// birthDate is a FHIR date: a year, a month or a day that exists. Anything
// else is refused, naming the field, rather than stored as an unknown date.
TEST_F(ServeTest, IngestRefusesABirthDateThatIsNotAFhirDate) {
  StartPlain();
  Person p = kMaria;
  for (const std::string bad : {"12/04/1980", "1980-02-30", "1980-13", "80", "1980-4-12", "19800412"}) {
    p.dob = bad;
    ExpectOutcome(Post(*client_, "/Patient", integration_, PatientJson("RKB", "D1", p)), 400, "invalid",
                  "Patient.birthDate");
  }
  int id = 2;
  for (const std::string partial : {"1980", "1980-04", "1980-04-12"}) {
    p.dob = partial;
    auto r = Post(*client_, "/Patient", integration_, PatientJson("RKB", "D" + std::to_string(id++), p));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << partial << ": " << r->body;
  }
  ASSERT_EQ(server_.Stop(), 0);
}

// A store fed only through POST /Patient is revisited in the background
// (revisitor.h). A record without NHS number or date of birth, placed with
// a father while he was the only one of his name and address, leaves him
// once his son's records are known; and when the server is killed before
// its revisit, the next server does it (the mark is in the store).
TEST_F(ServeTest, RevisitsWhatIngestPlacedEvenAfterAKill) {
  // A trusted model: a generated population linked by `empi link`.
  const char* bin = std::getenv("EMPI_BINARY_DIR");
  ASSERT_NE(bin, nullptr) << "EMPI_BINARY_DIR: the build folder";
  const std::string empi = std::string("'") + bin + "/engine/cli/empi'";
  const std::string gen = dir_.path() + "/gen";
  ASSERT_EQ(std::system((empi + " generate --persons 1500 --seed 7 --quiet --out '" + gen + "' 2>/dev/null").c_str()),
            0);
  ASSERT_EQ(std::system((empi + " link --db '" + db_ + "' '" + gen + "'/[A-Z]*.csv > /dev/null 2>&1").c_str()), 0);
  StartPlain({"--idle-timeout", "1", "--revisit-interval", "3600"});
  const Person father{NhsNumber("777000101"), "Quennell-Abara", "Aurelio", "1951-03-14", "CV8 2QX", "7 Windmill Lane"};
  Person son = father;
  son.nhs = NhsNumber("777000102");
  son.dob = "1981-07-02";
  ASSERT_FALSE(father.nhs.empty());
  ASSERT_FALSE(son.nhs.empty());
  const uint64_t father_person = IngestAs("M84001", "N1", father);
  json unnumbered = PatientJson("RKB", "N2", father);
  unnumbered["identifier"].erase(0);
  unnumbered.erase("birthDate");
  auto r = Post(*client_, "/Patient", integration_, unnumbered);
  ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "no response");
  ASSERT_EQ(PersonOf(Body(r)), father_person) << "placed while the father was the only one";
  const uint64_t son_person = IngestAs("M84002", "N3", son);
  ASSERT_NE(son_person, father_person);
  ASSERT_EQ(IngestAs("RYW", "N4", son), son_person);
  EXPECT_EQ(ResolveRecord("RKB", "N2").first, father_person) << "no revisit yet";

  ::kill(server_.pid(), SIGKILL);
  server_.Stop();
  StartPlain({"--idle-timeout", "1", "--revisit-interval", "1"});
  uint64_t now = father_person;
  for (int i = 0; i < 200 && now == father_person; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    now = ResolveRecord("RKB", "N2").first;
  }
  EXPECT_NE(now, father_person) << server_.log();
  EXPECT_NE(now, son_person);
  EXPECT_EQ(ResolveRecord("M84001", "N1").first, father_person) << "person ids kept";
  EXPECT_EQ(ResolveRecord("RYW", "N4").first, son_person);
  ASSERT_EQ(server_.Stop(), 0);
  std::vector<json> revisits;
  std::istringstream log(server_.log());
  for (std::string line; std::getline(log, line);) {
    if (line.find("\"event\":\"revisit\"") != std::string::npos) revisits.push_back(json::parse(line));
  }
  ASSERT_EQ(revisits.size(), 1u) << server_.log();
  EXPECT_EQ(revisits[0]["placed"], 4) << revisits[0].dump();
  EXPECT_GE(revisits[0]["records_moved"].get<int>(), 1) << revisits[0].dump();
}

// A father's NHS number on his son's social-care record, through POST
// /Patient as contributors send them: $resolve by the number answers with
// the father and his two records (it was a 409 "multiple-matches"), and by
// the care record with the son's person or its own, never the father's.
TEST_F(ServeTest, AFathersNumberOnHisSonsCareRecordResolvesToTheFather) {
  StartPlain();
  const Person father{NhsNumber("777000203"), "Hale", "Trevor", "1962-05-09", "CV7 8PL", "3 Birch Close"};
  Person son = father;
  son.given = "Liam";
  son.nhs = NhsNumber("777000202");
  son.dob = "1991-10-22";
  ASSERT_FALSE(father.nhs.empty());
  ASSERT_FALSE(son.nhs.empty());
  const uint64_t father_person = IngestAs("M84001", "F1", father);
  ASSERT_EQ(IngestAs("RYW", "F2", father), father_person);
  const uint64_t son_person = IngestAs("M84002", "S1", son);
  ASSERT_NE(son_person, father_person);
  IngestAs("RYW", "S2", son);
  Person care = son;
  care.nhs = father.nhs;
  IngestAs("RKB", "S3", care);
  EXPECT_EQ(ResolveIdentifier(kNhsSystem, father.nhs),
            std::make_pair(father_person, std::set<std::string>{"M84001:F1", "RYW:F2"}));
  EXPECT_NE(ResolveRecord("RKB", "S3").first, father_person);
  ASSERT_EQ(server_.Stop(), 0);
}

}  // namespace
// An auditor replays an answer: $resolve names the change it answered at;
// after an objection and a split the present answer differs, and $resolve
// as of the audit event's atChange and recorded time gives the first answer
// again, audited as an as-of read.
TEST_F(ServeTest, AuditorReplaysAnAnswerAsOfItsChange) {
  const Person p = MariaWithNumber();
  const uint64_t person = StartWithOnePatient(p);
  ASSERT_NE(person, 0u);
  ASSERT_EQ(IngestAs("RKB", "A2", p), person);
  auto first = Post(*client_, "/Patient/$resolve", clinician_, ResolveParams(Source("RKB"), "A2"));
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body;
  const json was = Body(first);
  const std::string at = (*Param(was, "atChange"))["valueString"];
  EXPECT_FALSE((*Param(was, "modelVersion"))["valueString"].get<std::string>().empty());
  EXPECT_FALSE((*Param(was, "objection"))["valueBoolean"].get<bool>());
  const json was_by_nhs = Body(Post(*client_, "/Patient/$resolve", clinician_, ResolveParams(kNhsSystem, p.nhs)));
  ASSERT_EQ(PersonRef(was_by_nhs, "person"), person);

  ASSERT_EQ(Post(*client_, "/Patient/$register-objection", integration_, Parameters({StringParam("nhsNumber", p.nhs)}))
                ->status,
            200);
  auto split = Post(*client_, "/$mdm-update-link", steward_,
                    Parameters({PersonParam("goldenResourceId", person),
                                RecordParam("resourceId", "RKB", "A2"),
                                {{"name", "matchResult"}, {"valueString", "NO_MATCH"}}}));
  ASSERT_TRUE(split);
  ASSERT_EQ(split->status, 200) << split->body;
  const json now = Body(Post(*client_, "/Patient/$resolve", clinician_, ResolveParams(Source("RKB"), "A2")));
  EXPECT_NE(PersonRef(now, "person"), person);
  EXPECT_TRUE((*Param(now, "objection"))["valueBoolean"].get<bool>());

  // The auditor finds the first answer's view decision in the trail.
  const std::string auditor = SignJwt(Key("rsa.key"), Claims("ms.audit", "X26", "subject-access", {"auditor"}));
  const json trail = Body(Get(*client_, "/AuditEvent?patient=" + std::to_string(person), auditor));
  std::string recorded;
  for (const json& entry : trail["entry"]) {
    const json& e = entry["resource"];
    if (e["subtype"][0]["code"] != "view") continue;
    const std::string detail = e["entity"].dump();
    if (detail.find("\"valueString\":\"" + at + "\"") != std::string::npos) recorded = e["recorded"];
  }
  ASSERT_FALSE(recorded.empty()) << "no view event at change " << at;
  json replay = ResolveParams(Source("RKB"), "A2");
  replay["parameter"].push_back(StringParam("asOfChange", at));
  replay["parameter"].push_back({{"name", "asOfTime"}, {"valueInstant", recorded}});
  auto again = Post(*client_, "/Patient/$resolve", clinician_, replay);
  ASSERT_TRUE(again);
  ASSERT_EQ(again->status, 200) << again->body;
  json same = Body(again);
  for (const char* name : {"person", "objection", "inScope", "scopeReason", "viewAllowed", "viewReason", "atChange"}) {
    EXPECT_EQ(*Param(same, name), *Param(was, name)) << name;
  }
  auto records = [](const json& params) {
    json out = json::array();
    for (const json& q : params["parameter"]) {
      if (q["name"] == "record") out.push_back(q);
    }
    return out;
  };
  EXPECT_EQ(records(same), records(was));
  EXPECT_EQ(records(same).size(), 2u);

  // An answer by NHS number is replayed through a record its audit event
  // names (the NHS number is not in the trail), or by the number if the
  // asker kept it: the same person, records and view decision as then.
  const std::string nhs_at = (*Param(was_by_nhs, "atChange"))["valueString"];
  std::string nhs_recorded, nhs_record;
  for (const json& entry : trail["entry"]) {
    const json& e = entry["resource"];
    if (e["subtype"][0]["code"] != "resolve-nhs") continue;
    if (e["entity"].dump().find("\"valueString\":\"" + nhs_at + "\"") == std::string::npos) continue;
    nhs_recorded = e["recorded"];
    for (const json& en : e["entity"]) {
      if (en["what"].contains("identifier") && en["what"]["identifier"]["system"] == Source("RKB")) {
        nhs_record = en["what"]["identifier"]["value"];
      }
    }
  }
  ASSERT_FALSE(nhs_record.empty()) << "no resolve-nhs event at change " << nhs_at << " naming an RKB record";
  json via_record = ResolveParams(Source("RKB"), nhs_record);
  via_record["parameter"].push_back(StringParam("asOfChange", nhs_at));
  via_record["parameter"].push_back({{"name", "asOfTime"}, {"valueInstant", nhs_recorded}});
  // What a replay must give again: the answer and view decision of then.
  auto expect_same = [&](const json& params, const json& then) {
    const json again = Body(Post(*client_, "/Patient/$resolve", clinician_, params));
    for (const char* name :
         {"person", "objection", "inScope", "scopeReason", "viewAllowed", "viewReason", "atChange"}) {
      EXPECT_EQ(*Param(again, name), *Param(then, name)) << name;
    }
    EXPECT_EQ(records(again), records(then));
  };
  expect_same(via_record, was_by_nhs);

  // And by the NHS number itself, which since the split two persons hold:
  // today a conflict, as of then the one person and records answered then.
  ExpectOutcome(Post(*client_, "/Patient/$resolve", clinician_, ResolveParams(kNhsSystem, p.nhs)), 409,
                "multiple-matches", "identifier");
  json by_nhs = ResolveParams(kNhsSystem, p.nhs);
  by_nhs["parameter"].push_back(StringParam("asOfChange", nhs_at));
  by_nhs["parameter"].push_back({{"name", "asOfTime"}, {"valueInstant", nhs_recorded}});
  expect_same(by_nhs, was_by_nhs);
  json future = ResolveParams(Source("RKB"), "A2");
  future["parameter"].push_back(StringParam("asOfChange", "999999"));
  ExpectOutcome(Post(*client_, "/Patient/$resolve", clinician_, future), 400, "invalid", "as_of.change");
  json bad = ResolveParams(Source("RKB"), "A2");
  bad["parameter"].push_back(StringParam("asOfChange", "yesterday"));
  ExpectOutcome(Post(*client_, "/Patient/$resolve", clinician_, bad), 400, "invalid",
                "Parameters.parameter[asOfChange]");
  ASSERT_EQ(server_.Stop(), 0);
}

}  // namespace empi::testing
