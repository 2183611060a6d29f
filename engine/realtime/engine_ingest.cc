// Copyright EMPI developers.
//
// engine_ingest.cc: EngineImpl::Ingest: a record's candidates, the
// no-chaining rules that may refuse a join, and the one commit that links
// the record, queues its review pairs and applies objections that reach it.

#include <algorithm>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "empi/status_macros.h"
#include "engine/linkage/comparisons.h"
#include "engine/linkage/linker.h"
#include "engine/linkage/relink.h"
#include "engine/linkage/review_objections.h"
#include "engine/linkage/store_events.h"
#include "engine/realtime/engine_impl.h"

namespace empi::realtime {
namespace {

// A person with more records than this is not compared record by record
// when a record would join it ("weak group": it goes to review).
constexpr size_t kMaxJoinComparisons = 10'000;

}  // namespace

absl::StatusOr<IngestResult> EngineImpl::Ingest(const Record& rec, const Requester& who) {
  if (rec.source.empty() || rec.record_id.empty()) {
    return absl::InvalidArgumentError("ingest: source and record_id must not be empty");
  }
  if (std::string problem = FieldProblem(rec); !problem.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("ingest: ", problem));
  }
  IngestResult result;
  {
    absl::MutexLock lock(&write_mu_);
    EMPI_ASSIGN_OR_RETURN(result, IngestLocked(rec, who));
    EMPI_RETURN_IF_ERROR(EstimateModelIfDue(rec.Key(), &result));
  }
  EMPI_RETURN_IF_ERROR(Sync());
  return result;
}

absl::StatusOr<RevisitResult> EngineImpl::Revisit(const std::vector<RecordRef>& records, const Requester& who) {
  std::vector<std::string> keys;
  keys.reserve(records.size());
  for (const RecordRef& r : records) keys.push_back(RecordKey(r.source, r.record_id));
  absl::MutexLock lock(&write_mu_);
  EMPI_RETURN_IF_ERROR(RevisitableModel());
  return RevisitLocked(keys, who);
}

absl::Status EngineImpl::RevisitableModel() const {
  if (const std::string why = UntrustedReason(live_.load()->stored); !why.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("revisit: no trusted stored model (", why, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<RevisitResult> EngineImpl::RevisitIngested(const Requester& who, uint64_t max_placed) {
  absl::MutexLock lock(&write_mu_);
  if (unrevisited_from_ == 0) return RevisitResult{};
  EMPI_RETURN_IF_ERROR(RevisitableModel());  // before the change feed is read
  // The records of every change an ingest makes (a moved record may also be
  // a steward's, a relink's or an earlier revisit's: revisiting it again
  // changes nothing).
  static constexpr std::string_view kPlaced[] = {"new-person", "record-linked", "record-moved", "record-updated"};
  absl::flat_hash_set<std::string> seen;
  std::vector<std::string> keys;
  std::optional<uint64_t> next_from;  // the first change left unread
  EMPI_RETURN_IF_ERROR(store_->ForEachChange(unrevisited_from_ - 1, [&](const index::StoredChange& c) {
    if (max_placed > 0 && keys.size() >= max_placed) {
      next_from = c.sequence;
      return false;
    }
    if (std::find(std::begin(kPlaced), std::end(kPlaced), c.change.kind) == std::end(kPlaced)) return true;
    for (const std::string& k : c.change.records) {
      if (seen.insert(k).second) keys.push_back(k);
    }
    return true;
  }));
  EMPI_ASSIGN_OR_RETURN(RevisitResult out, RevisitLocked(keys, who));
  out.placed = keys.size();
  out.more = next_from.has_value();
  // After the revisit's synced commit: a crash in between revisits again.
  index::ChangeSet cs = store_->NewChangeSet();
  if (next_from) {
    cs.PutMeta(kMetaUnrevisitedFrom, absl::StrCat(*next_from));
  } else {
    cs.DeleteMeta(kMetaUnrevisitedFrom);
  }
  EMPI_RETURN_IF_ERROR(store_->Commit(&cs, nullptr, /*sync=*/false));
  unrevisited_from_ = next_from.value_or(0);
  return out;
}

absl::StatusOr<RevisitResult> EngineImpl::RevisitLocked(const std::vector<std::string>& keys, const Requester& who) {
  absl::flat_hash_set<uint64_t> scope;
  absl::flat_hash_set<std::string> neighbours;
  for (const std::string& key : keys) {
    EMPI_ASSIGN_OR_RETURN(auto got, store_->GetRecord(key));
    if (!got) continue;
    scope.insert(got->person_id);
    EMPI_ASSIGN_OR_RETURN(std::vector<std::string> near, CandidateKeys(Prepare(got->record), key, nullptr));
    neighbours.insert(near.begin(), near.end());
  }
  EMPI_ASSIGN_OR_RETURN(std::vector<uint64_t> persons,
                        PersonsOf(std::vector<std::string>(neighbours.begin(), neighbours.end()), nullptr));
  scope.insert(persons.begin(), persons.end());
  RevisitResult out;
  out.persons = scope.size();
  if (scope.empty()) return out;
  RelinkOptions options;
  options.requester = who;
  EMPI_ASSIGN_OR_RETURN(RelinkSummary s, RelinkStore(store_.get(), options, nullptr, &scope));
  if (s.applied) EMPI_RETURN_IF_ERROR(RecomputeReviewObjectionsIfDirty(store_.get()));
  out.records = s.records;
  out.records_moved = s.moves.size();
  out.persons_new = s.persons_new;
  out.persons_removed = s.persons_removed;
  out.review_pairs_before = s.review_pairs_before;
  out.review_pairs = s.review_pairs;
  return out;
}

uint64_t EngineImpl::NextEstimateAt(const ModelProvenance& stored, uint64_t records) const {
  constexpr uint64_t kGrowth = 2;  // as a link does (LinkRun::DecideTraining)
  const bool trusted = UntrustedReason(stored).empty();
  if (options_.estimate_model_at_records == 0 || (trusted && stored.origin != "trained")) {
    return 0;  // never; or imported, or stored before provenance was
  }
  uint64_t at = trusted ? kGrowth * std::max<uint64_t>(stored.records, 1) : options_.estimate_model_at_records;
  while (at <= records) at *= 2;
  return !trusted || at <= options_.reestimate_model_until_records ? at : 0;
}

absl::StatusOr<uint64_t> EngineImpl::RecordCount() const {
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> count, store_->GetMeta("record_count"));
  return count ? std::strtoull(count->c_str(), nullptr, 10) : 0;
}

absl::Status EngineImpl::LoadUnrevisitedFrom() {
  absl::MutexLock lock(&write_mu_);
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> from, store_->GetMeta(kMetaUnrevisitedFrom));
  if (from && (!absl::SimpleAtoi(*from, &unrevisited_from_) || unrevisited_from_ == 0)) {
    return absl::DataLossError("store: meta unrevisited_from is not a change sequence");
  }
  return absl::OkStatus();
}

absl::Status EngineImpl::PlanModelEstimate() {
  absl::MutexLock lock(&write_mu_);
  EMPI_ASSIGN_OR_RETURN(const uint64_t records, RecordCount());
  // A store of exactly a try's size may have been killed during the try:
  // the next ingest tries again.
  next_estimate_at_ = NextEstimateAt(live_.load()->stored, records == 0 ? 0 : records - 1);
  return absl::OkStatus();
}

absl::Status EngineImpl::EstimateModelIfDue(const std::string& key, IngestResult* result) {
  if (next_estimate_at_ == 0) return absl::OkStatus();
  EMPI_ASSIGN_OR_RETURN(const uint64_t records, RecordCount());
  if (records < next_estimate_at_) return absl::OkStatus();
  const bool trusted = UntrustedReason(live_.load()->stored).empty();
  RelinkOptions options;
  options.retrain = true;
  options.requester = {"empi engine", "local", "system", "operations"};
  options.reason = trusted ? "the model estimated again on the stored records, twice those it was estimated on"
                           : "the model estimated on the stored records, placed until now with the informed priors";
  absl::StatusOr<RelinkSummary> relinked = RelinkStore(store_.get(), options, nullptr);
  if (absl::IsFailedPrecondition(relinked.status())) {
    next_estimate_at_ = NextEstimateAt(live_.load()->stored, records);  // too little evidence yet
    return absl::OkStatus();
  }
  auto failed = [&](const absl::Status& s) {
    return absl::Status(s.code(), absl::StrCat("ingest: the record was stored, but estimating the model on the ",
                                               records, " stored records failed: ", s.message()));
  };
  if (!relinked.ok()) return failed(relinked.status());
  if (absl::Status s = RecomputeReviewObjectionsIfDirty(store_.get()); !s.ok()) return failed(s);
  absl::StatusOr<Model> estimated = LoadModel(*store_);
  if (!estimated.ok()) return failed(estimated.status());
  ModelProvenance provenance = estimated->provenance;
  next_estimate_at_ = NextEstimateAt(provenance, records);
  UseModel(*std::move(estimated), std::move(provenance));
  unrevisited_from_ = 0;  // every record was relinked (kMetaUnrevisitedFrom deleted)
  result->model_estimated = true;
  result->records_moved = relinked->moves.size();
  EMPI_ASSIGN_OR_RETURN(auto now, store_->GetRecord(key));
  if (now) result->person_id = now->person_id;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> EngineImpl::CandidateKeys(const PreparedRecord& p, const std::string& self_key,
                                                                   const rocksdb::Snapshot* snap) const {
  const BlockKeys keys = ComputeBlockKeys(rules_, p);
  absl::flat_hash_set<std::string> seen;
  std::vector<std::string> candidates;
  for (size_t q = 0; q < rules_.rules().size(); ++q) {
    if (keys[q] == 0) continue;
    bool truncated = false;
    EMPI_ASSIGN_OR_RETURN(auto members, store_->BlockMembers(rules_.rules()[q].id, BlockKeyBytes(keys[q]),
                                                             options_.max_block_size, &truncated, snap));
    for (auto& k : members) {
      if (k != self_key && seen.insert(k).second) candidates.push_back(std::move(k));
    }
  }
  return candidates;
}

absl::StatusOr<std::vector<EngineImpl::Scored>> EngineImpl::Candidates(const PreparedRecord& p,
                                                                       const std::string& self_key,
                                                                       const rocksdb::Snapshot* snap) const {
  EMPI_ASSIGN_OR_RETURN(std::vector<std::string> candidates, CandidateKeys(p, self_key, snap));
  EMPI_ASSIGN_OR_RETURN(auto records, store_->GetRecords(candidates, snap));
  absl::flat_hash_map<uint64_t, Scored> best;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (!records[i]) continue;
    const index::StoredRecord& got = *records[i];
    PreparedRecord o = Prepare(got.record);
    ScoredPair sp = model().Score(p, o);
    // A number that differs and would alone keep the pair out of review:
    // is it the candidate's own?
    if (p.OwnNumber() && GammaOf(sp.pattern, comparison::kNhsNumber) == kNhsDifferent &&
        model().Weight(WithGamma(sp.pattern, comparison::kNhsNumber, 0), p, o) >= model().review_weight()) {
      EMPI_RETURN_IF_ERROR(MarkAsStored(*store_, candidates[i], &o, snap));
      if (o.nhs_relatives) sp = model().Score(p, o);
    }
    auto it = best.find(got.person_id);
    if (it == best.end() || sp.match_weight > it->second.weight) {
      best[got.person_id] = Scored{got.person_id, candidates[i],    sp.match_weight,
                                   std::move(o),  sp.safety.reason, sp.safety.names_overridden};
    }
  }
  std::vector<Scored> out;
  for (auto& [pid, s] : best) out.push_back(std::move(s));
  std::sort(out.begin(), out.end(), BetterCandidate);
  return out;
}

absl::Status EngineImpl::JudgeNumbers(const index::StoredRecord* old, const std::string& key, PreparedRecord* p,
                                      index::ChangeSet* cs, Remarked* out) const {
  const absl::flat_hash_set<std::string> leaving = {key};
  auto prepare = [this](const Record& r) { return Prepare(r); };
  p->nhs_relatives = false;
  if (p->nhs_validated) {
    EMPI_RETURN_IF_ERROR(JudgeStoredNumber(*store_, p->nhs, leaving, {{key, p}}, prepare, cs, out));
  }
  if (old != nullptr) {
    const PreparedRecord op = Prepare(old->record);
    if (op.nhs_validated && op.nhs != p->nhs) {
      EMPI_RETURN_IF_ERROR(JudgeStoredNumber(*store_, op.nhs, leaving, {}, prepare, cs, out));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> EngineImpl::NumberIsSomeoneElses(uint64_t nhs, const std::vector<const PreparedRecord*>& holders,
                                                      size_t join_own, const std::string& key, uint64_t person) const {
  EMPI_ASSIGN_OR_RETURN(auto keys, store_->RecordsWithNhs(nhs));
  absl::flat_hash_map<uint64_t, std::vector<PreparedRecord>> by_person;
  for (const std::string& k : keys) {
    if (k == key) continue;
    EMPI_ASSIGN_OR_RETURN(auto got, store_->GetRecord(k));
    if (got && got->person_id != person) by_person[got->person_id].push_back(Prepare(got->record));
  }
  for (const auto& [other, theirs] : by_person) {
    if (!NumberOutnumbered(holders.size(), theirs.size(), join_own)) continue;
    std::vector<const PreparedRecord*> owners;
    for (const PreparedRecord& z : theirs) owners.push_back(&z);
    if (std::all_of(holders.begin(), holders.end(),
                    [&](const PreparedRecord* h) { return RelativeOfEach(model(), *h, owners); })) {
      return true;
    }
  }
  return false;
}

absl::StatusOr<std::string> EngineImpl::JoinRefusal(const PreparedRecord& p, const std::string& key, uint64_t person,
                                                    bool* number_theirs) const {
  *number_theirs = false;
  EMPI_ASSIGN_OR_RETURN(auto members, store_->PersonRecords(person));
  if (members.size() > kMaxJoinComparisons) return std::string("weak group");
  std::vector<PreparedRecord> others;
  for (const auto& m : members) {
    if (m == key) continue;
    EMPI_ASSIGN_OR_RETURN(bool never, store_->IsNeverLink(key, m));
    if (never) return std::string("never link");
    EMPI_ASSIGN_OR_RETURN(auto got, store_->GetRecord(m));
    if (!got) continue;
    others.push_back(Prepare(got->record));
    if (p.OwnNumber() && others.back().OwnNumber() && others.back().nhs != p.nhs) {
      EMPI_RETURN_IF_ERROR(MarkAsStored(*store_, m, &others.back()));
    }
  }
  // The person's records and the new one: the records of the join.
  std::vector<const PreparedRecord*> joined = {&p};
  for (const PreparedRecord& o : others) joined.push_back(&o);
  // Two numbers in the join: either may be a relative's, p's or one the
  // person already carries beside its own.
  absl::flat_hash_map<uint64_t, bool> someone_elses;
  auto is_someone_elses = [&](uint64_t nhs) -> absl::StatusOr<bool> {
    if (auto it = someone_elses.find(nhs); it != someone_elses.end()) return it->second;
    std::vector<const PreparedRecord*> holders;
    size_t join_own = 0;
    for (const PreparedRecord* r : joined) {
      if (r->OwnNumber() && r->nhs == nhs) {
        holders.push_back(r);
      } else if (r->OwnNumber()) {
        ++join_own;
      }
    }
    EMPI_ASSIGN_OR_RETURN(const bool theirs, NumberIsSomeoneElses(nhs, holders, join_own, key, person));
    return someone_elses[nhs] = theirs;
  };
  for (const PreparedRecord& o : others) {
    if (p.OwnNumber() && o.OwnNumber() && p.nhs != o.nhs) {
      EMPI_ASSIGN_OR_RETURN(bool theirs, is_someone_elses(p.nhs));
      *number_theirs = theirs;
      if (!theirs) {
        EMPI_ASSIGN_OR_RETURN(theirs, is_someone_elses(o.nhs));
      }
      if (!theirs) return std::string("nhs conflict");
    }
    if (const char* reason = CrossPairRefusal(model(), o, p, joined)) return std::string(reason);
  }
  return std::string();
}

absl::StatusOr<std::optional<index::PersonValue>> EngineImpl::UnlinkOldVersion(const index::StoredRecord& old,
                                                                               const std::string& key,
                                                                               uint64_t history_seq,
                                                                               const Requester& who,
                                                                               index::ChangeSet* cs) {
  const PreparedRecord op = Prepare(old.record);
  const BlockKeys k = ComputeBlockKeys(rules_, op);
  for (size_t q = 0; q < rules_.rules().size(); ++q) {
    if (k[q] != 0) cs->DeleteBlockKey(rules_.rules()[q].id, BlockKeyBytes(k[q]), key);
  }
  if (op.nhs != 0) cs->DeleteNhs(op.nhs, key);
  cs->RemoveMembership(old.person_id, key);
  EMPI_ASSIGN_OR_RETURN(auto members, store_->PersonRecords(old.person_id));
  nlohmann::json h = HistoryJson("record-changed", who, "record updated by its contributor; relinked");
  h["records"] = RecordsJson({key});
  cs->AppendHistory(old.person_id, history_seq, h.dump());
  if (members.size() <= 1) cs->DeletePerson(old.person_id);
  EMPI_ASSIGN_OR_RETURN(auto opv, store_->GetPerson(old.person_id));
  if (opv && opv->objection) return opv;
  return std::nullopt;
}

absl::StatusOr<uint64_t> EngineImpl::ChooseTarget(const PreparedRecord& p, const std::string& key, index::ChangeSet* cs,
                                                  absl::flat_hash_set<uint64_t>* involved, IngestResult* result) {
  EMPI_ASSIGN_OR_RETURN(auto scored, Candidates(p, key, nullptr));
  uint64_t target = 0;
  bool number_theirs = false;  // p's number is a relative's in the target (JoinRefusal)
  // A record with only household evidence, or whose best match is held
  // only by its number against conflicting given names, is contested by a
  // second person at the review threshold (Model::ContestFloor), as in
  // ClusterRecords.
  const bool best_overridden =
      !scored.empty() && scored[0].weight >= model().link_weight() && scored[0].names_overridden;
  const bool contested = Contested(p, scored, model().ContestFloor(p, best_overridden));
  // A changed record's old person, if it holds other records, is a
  // candidate like any other (the record's membership is being removed).
  for (size_t i = 0; i < scored.size(); ++i) {
    const Scored& s = scored[i];
    if (s.weight < model().review_weight()) break;
    std::string why;
    if (i == 0 && s.weight >= model().link_weight() && contested) {
      why = "ambiguous: matches more than one person";
    } else if (i == 0 && s.weight >= model().link_weight()) {
      EMPI_ASSIGN_OR_RETURN(why, JoinRefusal(p, key, s.person, &number_theirs));
      if (why.empty()) {
        target = s.person;
        result->match_probability = Model::Probability(s.weight);
        continue;
      }
    } else if (s.weight >= model().link_weight()) {
      why = "another person also matches";
    } else if ((s.held_by == kGivenConflictOnNumber &&
                RelativesNumber(p, s.prepared, {PairSafety::kReview, kGivenConflictOnNumber})) ||
               (s.held_by == kGenerationApartOnNumber && target != 0 && number_theirs)) {
      continue;  // a relative's number: two members of one family (clustering.h)
    } else {
      why = s.held_by.empty() ? "between thresholds" : std::string(s.held_by);
    }
    if (i == 0) {
      result->match_probability = Model::Probability(s.weight);
      result->reason = why;
    }
    cs->PutReview(key, s.key, {s.weight, Model::Probability(s.weight), why});
    involved->insert(s.person);
    result->outcome = IngestOutcome::kReview;
  }
  if (target == 0 && !scored.empty() && result->match_probability == 0) {
    result->match_probability = Model::Probability(scored[0].weight);
  }
  return target;
}

absl::Status EngineImpl::PutLinkedRecord(const index::StoredRecord& sr, const PreparedRecord& p, const std::string& key,
                                         bool is_new, index::ChangeSet* cs) {
  cs->PutRecord(sr);
  cs->AddMembership(sr.person_id, key);
  const BlockKeys keys = ComputeBlockKeys(rules_, p);
  for (size_t q = 0; q < rules_.rules().size(); ++q) {
    if (keys[q] != 0) cs->PutBlockKey(rules_.rules()[q].id, BlockKeyBytes(keys[q]), key);
  }
  if (p.nhs != 0) cs->PutNhs(p.nhs, key, p.nhs_relatives);
  if (is_new) {
    EMPI_ASSIGN_OR_RETURN(const uint64_t n, RecordCount());
    cs->PutMeta("record_count", std::to_string(n + 1));
  }
  return absl::OkStatus();
}

absl::StatusOr<IngestResult> EngineImpl::IngestLocked(const Record& rec, const Requester& who) {
  IngestResult result;
  const std::string key = rec.Key();
  index::ChangeSet cs = store_->NewChangeSet();
  index::AuditEvent ev = AuditEventFor(who, "ingest");
  ev.records = {key};
  EMPI_ASSIGN_OR_RETURN(auto old, store_->GetRecord(key));
  if (old && old->record == rec) {
    result.outcome = IngestOutcome::kUnchanged;
    result.person_id = old->person_id;
    ev.persons = {old->person_id};
    ev.outcome = "unchanged";
    EMPI_RETURN_IF_ERROR(store_->Commit(&cs, &ev, false));
    return result;
  }
  // Marks where the records to revisit begin (RevisitIngested).
  const uint64_t mark = unrevisited_from_ == 0 ? store_->last_change() + 1 : 0;
  if (mark != 0) cs.PutMeta(kMetaUnrevisitedFrom, std::to_string(mark));
  if (!model_stored_) {
    cs.PutModel(model().ToJson().dump());
    cs.PutMeta("field_conventions", "nhs=validated;postcode=uk");
  }
  std::optional<index::PersonValue> inherited;  // objection of the old person
  EMPI_ASSIGN_OR_RETURN(uint64_t hseq, NextHistory(&cs));
  if (old) {
    EMPI_ASSIGN_OR_RETURN(inherited, UnlinkOldVersion(*old, key, hseq, who, &cs));
  }
  PreparedRecord p = Prepare(rec);
  Remarked remarked;
  EMPI_RETURN_IF_ERROR(JudgeNumbers(old ? &*old : nullptr, key, &p, &cs, &remarked));
  // Persons whose objection_in_review this ingest may change: those it
  // puts in review with the record, and the record's person when the
  // record moved or the person's objection changed.
  absl::flat_hash_set<uint64_t> involved;
  EMPI_ASSIGN_OR_RETURN(uint64_t target, ChooseTarget(p, key, &cs, &involved, &result));
  index::PersonValue pv;
  bool write_person = false;
  if (target != 0) {
    result.outcome = IngestOutcome::kLinked;
    EMPI_ASSIGN_OR_RETURN(auto tv, store_->GetPerson(target));
    pv = tv.value_or(index::PersonValue{});
  } else {
    if (result.outcome != IngestOutcome::kReview) result.outcome = IngestOutcome::kNewPerson;
    target = store_->AllocatePersonIds(1, &cs);
    pv.created_time_us = NowUs();
    write_person = true;
  }
  result.person_id = target;
  EMPI_ASSIGN_OR_RETURN(const std::vector<std::string> forms_applied,
                        ObjectionsOnArrival(p, key, target, inherited, &pv, &write_person, &cs, &result));
  if (write_person) cs.PutPerson(target, pv);
  if (!involved.empty() || (old && old->person_id != target) || (write_person && pv.objection)) {
    involved.insert(target);
    if (old) involved.insert(old->person_id);
  }
  const index::StoredRecord sr{rec, target};
  EMPI_RETURN_IF_ERROR(PutLinkedRecord(sr, p, key, /*is_new=*/!old, &cs));
  nlohmann::json h =
      HistoryJson("link", who,
                  result.outcome == IngestOutcome::kLinked ? "match at or above the link threshold"
                                                           : "no person matched well enough: new person");
  h["by"] = absl::StrCat("rule (", who.requester, ")");
  h["records"] = RecordsJson({key});
  h["match_probability"] = result.match_probability;
  if (result.objection_applied) h["objection"] = "pending objection applied";
  cs.AppendHistory(target, hseq, h.dump());
  index::AddRecordChanges(old ? &*old : nullptr, sr, result.outcome != IngestOutcome::kLinked, &cs);
  if (result.objection_applied) cs.AddChange({.kind = "objection-registered", .persons = {target}, .records = {}});
  AddJudgedChange(remarked, &cs);
  ev.persons = {target};
  if (old && old->person_id != target) ev.persons.push_back(old->person_id);
  ev.outcome = std::string(IngestOutcomeName(result.outcome));
  EMPI_RETURN_IF_ERROR(CommitWithReviewObjections(&cs, &ev, involved));
  for (const std::string& k : forms_applied) forms_.erase(k);
  model_stored_ = true;
  if (mark != 0) unrevisited_from_ = mark;
  return result;
}

}  // namespace empi::realtime
