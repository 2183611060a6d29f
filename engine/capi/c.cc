// Copyright EMPI developers.
//
// The C interface (empi/c.h): each handle wraps the C++ value it stands
// for; errors become "<code>: <message>" strings, as leveldb's c.cc does.
#include "empi/c.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "empi/engine.h"
#include "empi/link.h"
#include "nlohmann/json.hpp"

using empi::Engine;

extern "C" {

struct empi_options_t {
  empi::EngineOptions rep;
};
struct empi_engine_t {
  std::unique_ptr<Engine> rep;
};
struct empi_requester_t {
  empi::Requester rep;
};
struct empi_record_t {
  empi::Record rep;
};
struct empi_resolution_t {
  empi::Resolution rep;
};
struct empi_candidates_t {
  std::vector<empi::Candidate> rep;
};
struct empi_objection_t {
  empi::ObjectionRequest rep;
};
struct empi_review_page_t {
  empi::ReviewQueuePage rep;
};
struct empi_link_options_t {
  empi::LinkFeedsOptions rep;
};
struct empi_relink_summary_t {
  empi::RelinkSummary rep;
};
struct empi_link_summary_t {
  empi::LinkFeedsSummary rep;
};

}  // extern "C"

namespace {

char* CopyString(std::string_view s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  std::memcpy(out, s.data(), s.size());
  out[s.size()] = '\0';
  return out;
}

void SaveError(char** errptr, const absl::Status& s) {
  std::free(*errptr);
  *errptr = CopyString(absl::StatusCodeToString(s.code()) + ": " + std::string(s.message()));
}

// Saves the error and returns true when `s` is not OK.
bool Failed(char** errptr, const absl::Status& s) {
  if (s.ok()) return false;
  SaveError(errptr, s);
  return true;
}

std::string Str(const char* s) { return s == nullptr ? std::string() : std::string(s); }

// A LinkProgress calling the C callback `fn` (none when it is NULL).
empi::LinkProgress ProgressOf(empi_link_progress_fn fn, void* arg) {
  if (fn == nullptr) return nullptr;
  return [fn, arg](std::string_view stage, uint64_t done, uint64_t total) {
    const std::string name(stage);
    fn(arg, name.c_str(), done, total);
  };
}

// The count of `summary` named `name` in `counts`; *found (if not NULL) says
// whether there is one.
template <typename S, size_t N>
uint64_t CountByName(const S& summary, const std::pair<const char*, uint64_t S::*> (&counts)[N], const char* name,
                     unsigned char* found) {
  for (const auto& [n, member] : counts) {
    if (name != nullptr && std::strcmp(n, name) == 0) {
      if (found != nullptr) *found = 1;
      return summary.*member;
    }
  }
  if (found != nullptr) *found = 0;
  return 0;
}

// The field of `fields` named `name`, or nullptr.
template <typename T>
std::string* Field(T* rep, std::initializer_list<std::pair<const char*, std::string T::*>> fields, const char* name) {
  for (const auto& [n, member] : fields) {
    if (name != nullptr && std::strcmp(n, name) == 0) return &(rep->*member);
  }
  return nullptr;
}

unsigned char UnknownName(const char* what, const char* name, char** errptr) {
  SaveError(errptr, absl::InvalidArgumentError(std::string(what) + ": no field \"" + Str(name) + "\""));
  return 0;
}

}  // namespace

extern "C" {

void empi_free(void* ptr) { std::free(ptr); }

empi_options_t* empi_options_create(void) { return new empi_options_t; }
void empi_options_destroy(empi_options_t* options) { delete options; }
void empi_options_set_today(empi_options_t* options, const char* date) { options->rep.today = Str(date); }
void empi_options_set_contributor_register(empi_options_t* options, const char* path) {
  options->rep.contributor_register = Str(path);
}
void empi_options_add_region(empi_options_t* options, const char* area) { options->rep.region.push_back(Str(area)); }
void empi_options_set_sync(empi_options_t* options, unsigned char sync) { options->rep.sync = sync != 0; }
void empi_options_set_block_cache_bytes(empi_options_t* options, size_t bytes) {
  options->rep.block_cache_bytes = bytes;
}
void empi_options_set_read_cache_persons(empi_options_t* options, size_t persons) {
  options->rep.read_cache_persons = persons;
}

empi_requester_t* empi_requester_create(const char* requester, const char* organisation, const char* role,
                                        const char* purpose) {
  return new empi_requester_t{{Str(requester), Str(organisation), Str(role), Str(purpose)}};
}
void empi_requester_destroy(empi_requester_t* who) { delete who; }

empi_engine_t* empi_open(const empi_options_t* options, const char* path, char** errptr) {
  auto engine = Engine::Open(options->rep, Str(path));
  if (Failed(errptr, engine.status())) return nullptr;
  return new empi_engine_t{std::move(*engine)};
}
void empi_close(empi_engine_t* engine) { delete engine; }

empi_record_t* empi_record_create(void) { return new empi_record_t; }
void empi_record_destroy(empi_record_t* record) { delete record; }
unsigned char empi_record_set(empi_record_t* record, const char* field, const char* value, char** errptr) {
  using R = empi::Record;
  std::string* f = Field<R>(&record->rep,
                            {{"source", &R::source},
                             {"record_id", &R::record_id},
                             {"nhs_number", &R::nhs_number},
                             {"family_name", &R::family_name},
                             {"given_names", &R::given_names},
                             {"date_of_birth", &R::date_of_birth},
                             {"sex", &R::sex},
                             {"postcode", &R::postcode},
                             {"address", &R::address}},
                            field);
  if (f == nullptr) return UnknownName("record", field, errptr);
  *f = Str(value);
  return 1;
}
void empi_record_set_restricted(empi_record_t* record, unsigned char restricted) {
  record->rep.restricted = restricted != 0;
}

uint64_t empi_ingest(empi_engine_t* engine, const empi_record_t* record, const empi_requester_t* who,
                     const char** outcome, char** errptr) {
  auto r = engine->rep->Ingest(record->rep, who->rep);
  if (Failed(errptr, r.status())) return 0;
  // IngestOutcomeName returns views of string literals: NUL-terminated.
  if (outcome != nullptr) *outcome = empi::IngestOutcomeName(r->outcome).data();
  return r->person_id;
}

namespace {
empi_resolution_t* WrapResolution(absl::StatusOr<empi::Resolution> r, char** errptr) {
  if (absl::IsNotFound(r.status())) return nullptr;
  if (Failed(errptr, r.status())) return nullptr;
  return new empi_resolution_t{std::move(*r)};
}
const empi::LinkedRecord* RecordAt(const empi_resolution_t* r, size_t i) {
  return i < r->rep.records.size() ? &r->rep.records[i] : nullptr;
}
}  // namespace

empi_resolution_t* empi_resolve(empi_engine_t* engine, const char* source, const char* record_id,
                                const empi_requester_t* who, char** errptr) {
  return WrapResolution(engine->rep->Resolve(Str(source), Str(record_id), who->rep), errptr);
}
empi_resolution_t* empi_resolve_nhs_number(empi_engine_t* engine, const char* nhs_number, const empi_requester_t* who,
                                           char** errptr) {
  return WrapResolution(engine->rep->ResolveByNhsNumber(Str(nhs_number), who->rep), errptr);
}
empi_resolution_t* empi_resolve_as_of(empi_engine_t* engine, const char* source, const char* record_id,
                                      uint64_t as_of_change, int64_t as_of_time_us, const empi_requester_t* who,
                                      char** errptr) {
  return WrapResolution(
      engine->rep->ResolveAsOf(Str(source), Str(record_id), empi::AsOf{as_of_change, as_of_time_us}, who->rep), errptr);
}
empi_resolution_t* empi_resolve_nhs_number_as_of(empi_engine_t* engine, const char* nhs_number, uint64_t as_of_change,
                                                 int64_t as_of_time_us, const empi_requester_t* who, char** errptr) {
  return WrapResolution(
      engine->rep->ResolveByNhsNumberAsOf(Str(nhs_number), empi::AsOf{as_of_change, as_of_time_us}, who->rep), errptr);
}
void empi_resolution_destroy(empi_resolution_t* resolution) { delete resolution; }
uint64_t empi_resolution_person_id(const empi_resolution_t* r) { return r->rep.person_id; }
uint64_t empi_resolution_at_change(const empi_resolution_t* r) { return r->rep.at_change; }
unsigned char empi_resolution_objection(const empi_resolution_t* r) {
  return r->rep.objection || r->rep.objection_in_review;
}
unsigned char empi_resolution_in_scope(const empi_resolution_t* r) { return r->rep.in_scope; }
size_t empi_resolution_record_count(const empi_resolution_t* r) { return r->rep.records.size(); }
const char* empi_resolution_record_source(const empi_resolution_t* r, size_t i) {
  const empi::LinkedRecord* rec = RecordAt(r, i);
  return rec ? rec->source.c_str() : nullptr;
}
const char* empi_resolution_record_id(const empi_resolution_t* r, size_t i) {
  const empi::LinkedRecord* rec = RecordAt(r, i);
  return rec ? rec->record_id.c_str() : nullptr;
}
const char* empi_resolution_record_contributor(const empi_resolution_t* r, size_t i) {
  const empi::LinkedRecord* rec = RecordAt(r, i);
  return rec ? rec->contributor.c_str() : nullptr;
}

namespace {
unsigned char Decision(absl::StatusOr<empi::ViewDecision> d, char** reason, char** errptr) {
  if (Failed(errptr, d.status())) return 0;
  if (reason != nullptr) {
    std::free(*reason);
    *reason = CopyString(d->reason);
  }
  return d->allowed;
}
}  // namespace

unsigned char empi_may_assemble_view(empi_engine_t* engine, uint64_t person_id, const empi_requester_t* who,
                                     char** reason, char** errptr) {
  return Decision(engine->rep->MayAssembleView(person_id, who->rep), reason, errptr);
}
unsigned char empi_may_assemble_view_for_record(empi_engine_t* engine, const char* source, const char* record_id,
                                                const empi_requester_t* who, char** reason, char** errptr) {
  return Decision(engine->rep->MayAssembleViewForRecord(Str(source), Str(record_id), who->rep), reason, errptr);
}
unsigned char empi_may_assemble_view_as_of(empi_engine_t* engine, uint64_t person_id, uint64_t as_of_change,
                                           int64_t as_of_time_us, const empi_requester_t* who, char** reason,
                                           char** errptr) {
  return Decision(engine->rep->MayAssembleViewAsOf(person_id, empi::AsOf{as_of_change, as_of_time_us}, who->rep),
                  reason, errptr);
}

empi_candidates_t* empi_search(empi_engine_t* engine, const char* nhs_number, const char* family_name,
                               const char* given_names, const char* date_of_birth, const char* postcode,
                               const char* sex, const empi_requester_t* who, size_t limit, char** errptr) {
  empi::Demographics d{Str(nhs_number),    Str(family_name), Str(given_names),
                       Str(date_of_birth), Str(postcode),    Str(sex)};
  auto found = engine->rep->Search(d, who->rep, limit);
  if (Failed(errptr, found.status())) return nullptr;
  return new empi_candidates_t{std::move(*found)};
}
void empi_candidates_destroy(empi_candidates_t* candidates) { delete candidates; }
size_t empi_candidates_count(const empi_candidates_t* c) { return c->rep.size(); }
uint64_t empi_candidates_person_id(const empi_candidates_t* c, size_t i) {
  return i < c->rep.size() ? c->rep[i].person_id : 0;
}
double empi_candidates_match_weight(const empi_candidates_t* c, size_t i) {
  return i < c->rep.size() ? c->rep[i].match_weight : 0;
}
double empi_candidates_match_probability(const empi_candidates_t* c, size_t i) {
  return i < c->rep.size() ? c->rep[i].match_probability : 0;
}
const char* empi_candidates_grade(const empi_candidates_t* c, size_t i) {
  // MatchGradeName returns views of string literals: NUL-terminated.
  return i < c->rep.size() ? empi::MatchGradeName(c->rep[i].grade).data() : nullptr;
}

empi_objection_t* empi_objection_create(void) { return new empi_objection_t; }
void empi_objection_destroy(empi_objection_t* objection) { delete objection; }
unsigned char empi_objection_set(empi_objection_t* objection, const char* field, const char* value, char** errptr) {
  using O = empi::ObjectionRequest;
  if (field != nullptr && std::strcmp(field, "method") == 0) {
    using M = empi::ObjectionMethod;
    for (const auto& [name, method] :
         {std::pair{"form", M::kForm}, std::pair{"phone", M::kPhone}, std::pair{"letter", M::kLetter},
          std::pair{"online", M::kOnline}, std::pair{"steward", M::kSteward}}) {
      if (std::strcmp(name, Str(value).c_str()) == 0) {
        objection->rep.method = method;
        return 1;
      }
    }
    SaveError(errptr, absl::InvalidArgumentError("objection: method \"" + Str(value) +
                                                 "\" is not form, phone, letter, online or steward"));
    return 0;
  }
  std::string* f = Field<O>(&objection->rep,
                            {{"nhs_number", &O::nhs_number},
                             {"family_name", &O::family_name},
                             {"given_names", &O::given_names},
                             {"date_of_birth", &O::date_of_birth},
                             {"postcode", &O::postcode},
                             {"reference", &O::reference}},
                            field);
  if (f == nullptr) return UnknownName("objection", field, errptr);
  *f = Str(value);
  return 1;
}

namespace {
int Outcome(absl::StatusOr<empi::ObjectionResult> r, char** reason, char** errptr) {
  if (Failed(errptr, r.status())) return -1;
  if (reason != nullptr) {
    std::free(*reason);
    *reason = CopyString(r->reason);
  }
  switch (r->outcome) {
    case empi::ObjectionOutcome::kApplied: return EMPI_OBJECTION_APPLIED;
    case empi::ObjectionOutcome::kPending: return EMPI_OBJECTION_PENDING;
    case empi::ObjectionOutcome::kRefused: return EMPI_OBJECTION_REFUSED;
  }
  return EMPI_OBJECTION_REFUSED;
}
}  // namespace

int empi_register_objection(empi_engine_t* engine, const empi_objection_t* objection, const empi_requester_t* who,
                            char** reason, char** errptr) {
  return Outcome(engine->rep->RegisterObjection(objection->rep, who->rep), reason, errptr);
}
int empi_withdraw_objection(empi_engine_t* engine, const empi_objection_t* objection, const empi_requester_t* who,
                            char** reason, char** errptr) {
  return Outcome(engine->rep->WithdrawObjection(objection->rep, who->rep), reason, errptr);
}

empi_review_page_t* empi_review_queue(empi_engine_t* engine, size_t limit, const char* after_cursor,
                                      const empi_requester_t* who, char** errptr) {
  absl::StatusOr<empi::ReviewQueuePage> page = engine->rep->ReviewQueue(limit, Str(after_cursor), who->rep);
  if (Failed(errptr, page.status())) return nullptr;
  return new empi_review_page_t{std::move(*page)};
}
void empi_review_page_destroy(empi_review_page_t* page) { delete page; }
size_t empi_review_page_count(const empi_review_page_t* page) { return page->rep.pairs.size(); }
const char* empi_review_page_next_cursor(const empi_review_page_t* page) { return page->rep.next_cursor.c_str(); }

namespace {
const empi::ReviewQueueEntry* PairAt(const empi_review_page_t* page, size_t i) {
  return i < page->rep.pairs.size() ? &page->rep.pairs[i] : nullptr;
}
const empi::RecordRef* SideOf(const empi_review_page_t* page, size_t i, int side) {
  const empi::ReviewQueueEntry* e = PairAt(page, i);
  if (e == nullptr || (side != 0 && side != 1)) return nullptr;
  return side == 0 ? &e->a : &e->b;
}
}  // namespace

const char* empi_review_page_source(const empi_review_page_t* page, size_t i, int side) {
  const empi::RecordRef* r = SideOf(page, i, side);
  return r ? r->source.c_str() : nullptr;
}
const char* empi_review_page_record_id(const empi_review_page_t* page, size_t i, int side) {
  const empi::RecordRef* r = SideOf(page, i, side);
  return r ? r->record_id.c_str() : nullptr;
}
uint64_t empi_review_page_person_id(const empi_review_page_t* page, size_t i, int side) {
  if (SideOf(page, i, side) == nullptr) return 0;
  const empi::ReviewQueueEntry* e = PairAt(page, i);
  return side == 0 ? e->person_a : e->person_b;
}
double empi_review_page_match_weight(const empi_review_page_t* page, size_t i) {
  const empi::ReviewQueueEntry* e = PairAt(page, i);
  return e ? e->match_weight : 0;
}
double empi_review_page_match_probability(const empi_review_page_t* page, size_t i) {
  const empi::ReviewQueueEntry* e = PairAt(page, i);
  return e ? e->match_probability : 0;
}
const char* empi_review_page_reason(const empi_review_page_t* page, size_t i) {
  const empi::ReviewQueueEntry* e = PairAt(page, i);
  return e ? e->reason.c_str() : nullptr;
}

namespace {
// The id a steward action returned, or 0 with *errptr set.
uint64_t IdOrZero(const absl::StatusOr<uint64_t>& id, char** errptr) { return Failed(errptr, id.status()) ? 0 : *id; }
}  // namespace

uint64_t empi_merge(empi_engine_t* engine, uint64_t into, uint64_t from, const empi_requester_t* who,
                    const char* reason, char** errptr) {
  return IdOrZero(engine->rep->Merge(into, from, who->rep, Str(reason)), errptr);
}
uint64_t empi_split(empi_engine_t* engine, uint64_t person, const char* const* sources, const char* const* record_ids,
                    size_t count, const empi_requester_t* who, const char* reason, char** errptr) {
  std::vector<empi::RecordRef> records;
  for (size_t i = 0; i < count; ++i) records.push_back({Str(sources[i]), Str(record_ids[i])});
  return IdOrZero(engine->rep->Split(person, records, who->rep, Str(reason)), errptr);
}
uint64_t empi_unmerge(empi_engine_t* engine, uint64_t person, uint64_t merge_event, const empi_requester_t* who,
                      char** errptr) {
  return IdOrZero(engine->rep->Unmerge(person, merge_event, who->rep), errptr);
}
unsigned char empi_never_link(empi_engine_t* engine, const char* source_a, const char* record_id_a,
                              const char* source_b, const char* record_id_b, const empi_requester_t* who,
                              const char* reason, char** errptr) {
  return !Failed(errptr, engine->rep->NeverLink({Str(source_a), Str(record_id_a)}, {Str(source_b), Str(record_id_b)},
                                                who->rep, Str(reason)));
}
char* empi_history_json(empi_engine_t* engine, uint64_t person, const empi_requester_t* who, char** errptr) {
  absl::StatusOr<std::vector<empi::HistoryEntry>> history = engine->rep->History(person, who->rep);
  if (Failed(errptr, history.status())) return nullptr;
  nlohmann::json out = nlohmann::json::array();
  for (const empi::HistoryEntry& e : *history) {
    nlohmann::json event = nlohmann::json::parse(e.json, nullptr, false);
    if (event.is_discarded()) event = e.json;  // as stored, if ever unreadable
    out.push_back({{"sequence", e.sequence}, {"event", std::move(event)}});
  }
  return CopyString(out.dump());
}

empi_link_options_t* empi_link_options_create(void) { return new empi_link_options_t; }
void empi_link_options_destroy(empi_link_options_t* options) { delete options; }
unsigned char empi_link_options_set(empi_link_options_t* options, const char* name, const char* value, char** errptr) {
  using L = empi::LinkFeedsOptions;
  std::string* f = Field<L>(&options->rep,
                            {{"mapping", &L::mapping},
                             {"source", &L::source},
                             {"date_format", &L::date_format},
                             {"blocking_rules", &L::blocking_rules},
                             {"quarantine", &L::quarantine}},
                            name);
  if (f == nullptr) return UnknownName("link options", name, errptr);
  *f = Str(value);
  return 1;
}
void empi_link_options_set_requester(empi_link_options_t* options, const empi_requester_t* who) {
  options->rep.requester = who->rep;
}

empi_link_summary_t* empi_link_feeds(const empi_link_options_t* options, const char* db_path, const char* const* feeds,
                                     size_t num_feeds, empi_link_progress_fn progress, void* progress_arg,
                                     char** errptr) {
  std::vector<std::string> paths;
  for (size_t i = 0; i < num_feeds; ++i) paths.push_back(Str(feeds[i]));
  const empi::LinkFeedsOptions defaults;
  auto summary = empi::LinkFeeds(options != nullptr ? options->rep : defaults, Str(db_path), paths,
                                 ProgressOf(progress, progress_arg));
  if (Failed(errptr, summary.status())) return nullptr;
  return new empi_link_summary_t{std::move(*summary)};
}
void empi_link_summary_destroy(empi_link_summary_t* summary) { delete summary; }
uint64_t empi_link_summary_get(const empi_link_summary_t* summary, const char* name, unsigned char* found) {
  using S = empi::LinkFeedsSummary;
  static constexpr std::pair<const char*, uint64_t S::*> kCounts[] = {
      {"feeds", &S::feeds},
      {"records_read", &S::records_read},
      {"quarantined", &S::quarantined},
      {"new_records", &S::new_records},
      {"updated_records", &S::updated_records},
      {"unchanged_records", &S::unchanged_records},
      {"candidate_pairs", &S::candidate_pairs},
      {"links", &S::links},
      {"review_pairs", &S::review_pairs},
      {"persons_new", &S::persons_new},
      {"persons_total", &S::persons_total},
      {"records_total", &S::records_total},
      {"objections_applied", &S::objections_applied},
  };
  return CountByName(summary->rep, kCounts, name, found);
}

empi_relink_summary_t* empi_relink(const char* db_path, unsigned char retrain, unsigned char dry_run,
                                   const empi_requester_t* who, empi_link_progress_fn progress, void* progress_arg,
                                   char** errptr) {
  empi::RelinkOptions options;
  options.retrain = retrain != 0;
  options.dry_run = dry_run != 0;
  if (who != nullptr) options.requester = who->rep;
  auto summary = empi::Relink(options, Str(db_path), ProgressOf(progress, progress_arg));
  if (Failed(errptr, summary.status())) return nullptr;
  return new empi_relink_summary_t{std::move(*summary)};
}
void empi_relink_summary_destroy(empi_relink_summary_t* summary) { delete summary; }
uint64_t empi_relink_summary_get(const empi_relink_summary_t* summary, const char* name, unsigned char* found) {
  using S = empi::RelinkSummary;
  static constexpr std::pair<const char*, uint64_t S::*> kCounts[] = {
      {"records", &S::records},
      {"candidate_pairs", &S::candidate_pairs},
      {"links", &S::links},
      {"review_pairs_before", &S::review_pairs_before},
      {"review_pairs", &S::review_pairs},
      {"persons_before", &S::persons_before},
      {"persons_after", &S::persons_after},
      {"persons_unchanged", &S::persons_unchanged},
      {"persons_pinned", &S::persons_pinned},
      {"persons_new", &S::persons_new},
      {"persons_removed", &S::persons_removed},
      {"objections_inherited", &S::objections_inherited},
  };
  if (name != nullptr && std::strcmp(name, "moves") == 0) {
    if (found != nullptr) *found = 1;
    return summary->rep.moves.size();
  }
  return CountByName(summary->rep, kCounts, name, found);
}
unsigned char empi_relink_summary_move(const empi_relink_summary_t* summary, size_t i, const char** source,
                                       const char** record_id, uint64_t* from_person, uint64_t* to_person) {
  if (i >= summary->rep.moves.size()) return 0;
  const empi::RelinkMove& m = summary->rep.moves[i];
  if (source != nullptr) *source = m.source.c_str();
  if (record_id != nullptr) *record_id = m.record_id.c_str();
  if (from_person != nullptr) *from_person = m.from_person;
  if (to_person != nullptr) *to_person = m.to_person;
  return 1;
}

}  // extern "C"
