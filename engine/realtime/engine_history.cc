// Copyright EMPI developers.
//
// engine_history.cc: EngineImpl's reads of what happened: the change
// feed, a person's history, the review queue, and the audit trail.

#include <algorithm>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "empi/status_macros.h"
#include "engine/linkage/store_events.h"
#include "engine/realtime/engine_impl.h"

namespace empi::realtime {
namespace {

constexpr size_t kMaxReviewPage = 1000;

// A review queue cursor: the pair key of the last pair on a page, web-safe
// base64 so that it can travel in a URL.
bool DecodeReviewCursor(const std::string& cursor, std::string* pair_key) {
  std::string a, b;
  return absl::WebSafeBase64Unescape(cursor, pair_key) && index::SplitPairKey(*pair_key, &a, &b) && !a.empty() &&
         !b.empty();
}

ReviewQueueEntry ReviewEntryOf(std::string_view a, std::string_view b, const index::ReviewValue& v) {
  ReviewQueueEntry p;
  p.a = RefOf(a);
  p.b = RefOf(b);
  p.match_weight = v.match_weight;
  p.match_probability = v.match_probability;
  p.reason = v.reason;
  return p;
}

// Names each pair's persons (as `keys`, a and b of each pair, stand at
// `snap`) in the pairs and in the audit event `ev`, with the records.
absl::Status PlacePairs(const index::Store& store, const rocksdb::Snapshot* snap, std::vector<std::string> keys,
                        std::vector<ReviewQueueEntry>* pairs, index::AuditEvent* ev) {
  EMPI_ASSIGN_OR_RETURN(auto records, store.GetRecords(keys, snap));
  for (size_t i = 0; i < pairs->size(); ++i) {
    ReviewQueueEntry& p = (*pairs)[i];
    p.person_a = records[2 * i] ? records[2 * i]->person_id : 0;
    p.person_b = records[2 * i + 1] ? records[2 * i + 1]->person_id : 0;
    for (uint64_t person : {p.person_a, p.person_b}) {
      if (person != 0 && std::find(ev->persons.begin(), ev->persons.end(), person) == ev->persons.end()) {
        ev->persons.push_back(person);
      }
    }
  }
  ev->records = std::move(keys);
  ev->outcome = absl::StrCat("ok: ", pairs->size(), " pairs");
  return absl::OkStatus();
}

// The records of `person` that a steward put there. The last event of the
// person's history that brought each record in decides: a merge into it, or
// a split or unmerge that made it, is a steward's; a link or relink is the
// engine's (a batch link writes no event: the engine's too).
absl::StatusOr<absl::flat_hash_set<std::string>> ManuallyPlaced(const index::Store& store, uint64_t person,
                                                                const rocksdb::Snapshot* snap) {
  absl::flat_hash_map<std::string, bool> manual;
  absl::Status bad;
  EMPI_RETURN_IF_ERROR(store.ForEachHistory(
      person,
      [&](uint64_t, std::string_view text) {
        const nlohmann::json h = nlohmann::json::parse(text, nullptr, false);
        if (!h.is_object() || !h.contains("event") || !h["event"].is_string()) {
          bad = absl::DataLossError(absl::StrCat("history of person ", person, ": an event does not decode"));
          return false;
        }
        const std::string& event = h["event"].get_ref<const std::string&>();
        const bool into = h.contains("into") && h["into"].is_number_unsigned() && h["into"].get<uint64_t>() == person;
        const bool steward = into && (event == "merge" || event == "split" || event == "unmerge");
        const char* field = steward || event == "link" ? "records" : event == "relink" ? "records_in" : nullptr;
        if (field == nullptr || !h.contains(field)) return true;
        for (std::string& key : RecordKeysOf(h[field])) manual[std::move(key)] = steward;
        return true;
      },
      snap));
  EMPI_RETURN_IF_ERROR(bad);
  absl::flat_hash_set<std::string> out;
  for (const auto& [key, steward] : manual) {
    if (steward) out.insert(key);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<ChangeEvent>> EngineImpl::Changes(uint64_t since, size_t limit,
                                                             std::chrono::milliseconds wait, const Requester& who) {
  if (limit == 0) return absl::InvalidArgumentError("changes: limit must be at least 1");
  if (wait.count() > 0 && store_->last_change() <= since) {
    store_->WaitForChange(since, absl::FromChrono(wait));
  }
  std::vector<ChangeEvent> out;
  EMPI_RETURN_IF_ERROR(store_->ForEachChange(since, [&](const index::StoredChange& c) {
    ChangeEvent e{c.sequence, c.change.time_us, c.change.kind, c.change.persons, {}};
    for (const std::string& key : c.change.records) e.records.push_back(RefOf(key));
    out.push_back(std::move(e));
    return out.size() < limit;
  }));
  index::AuditEvent ev = AuditEventFor(who, "changes");
  ev.outcome = out.empty()
                   ? absl::StrCat("ok: none after ", since)
                   : absl::StrCat("ok: ", out.size(), " changes, ", out.front().sequence, " to ", out.back().sequence);
  EMPI_RETURN_IF_ERROR(CommitAudit(ev));
  return out;
}

absl::StatusOr<std::vector<HistoryEntry>> EngineImpl::History(uint64_t person, const Requester& who) {
  std::vector<HistoryEntry> out;
  {
    SnapshotHolder snap(store_.get());
    EMPI_RETURN_IF_ERROR(store_->ForEachHistory(
        person,
        [&](uint64_t seq, std::string_view json) {
          out.push_back({seq, std::string(json)});
          return true;
        },
        snap.get()));
  }
  index::AuditEvent ev = AuditEventFor(who, "history");
  ev.persons = {person};
  ev.outcome = absl::StrCat("ok: ", out.size(), " events");
  EMPI_RETURN_IF_ERROR(CommitAudit(ev));
  return out;
}

absl::StatusOr<ReviewQueuePage> EngineImpl::ReviewQueue(size_t limit, const std::string& after_cursor,
                                                        const Requester& who) {
  if (limit == 0 || limit > kMaxReviewPage) {
    return absl::InvalidArgumentError(absl::StrCat("limit: must be from 1 to ", kMaxReviewPage));
  }
  std::string after;
  if (!after_cursor.empty() && !DecodeReviewCursor(after_cursor, &after)) {
    return absl::InvalidArgumentError("cursor: not a review queue cursor");
  }
  ReviewQueuePage page;
  index::AuditEvent ev = AuditEventFor(who, "review queue");
  {
    SnapshotHolder snap(store_.get());
    std::vector<std::string> keys;  // a, b of each pair on the page
    EMPI_RETURN_IF_ERROR(store_->ForEachReview(
        [&](std::string_view a, std::string_view b, const index::ReviewValue& v) {
          if (page.pairs.size() == limit) {
            page.next_cursor = absl::WebSafeBase64Escape(index::DirectedPairKey(keys[keys.size() - 2], keys.back()));
            return false;
          }
          page.pairs.push_back(ReviewEntryOf(a, b, v));
          keys.emplace_back(a);
          keys.emplace_back(b);
          return true;
        },
        snap.get(), after));
    EMPI_RETURN_IF_ERROR(PlacePairs(*store_, snap.get(), std::move(keys), &page.pairs, &ev));
  }
  EMPI_RETURN_IF_ERROR(CommitAudit(ev));
  return page;
}

absl::StatusOr<std::vector<ReviewQueueEntry>> EngineImpl::ReviewPairsOf(uint64_t person,
                                                                        const std::optional<RecordRef>& record,
                                                                        const Requester& who) {
  if (person == 0 && !record) return absl::InvalidArgumentError("review pairs: a person or a record is required");
  index::AuditEvent ev = AuditEventFor(who, "review queue");
  std::vector<ReviewQueueEntry> pairs;
  {
    SnapshotHolder snap(store_.get());
    std::vector<std::string> of_person;  // key order
    if (person != 0) {
      EMPI_ASSIGN_OR_RETURN(std::optional<index::PersonView> view, store_->GetPersonView(person, snap.get()));
      if (!view || !view->person) return absl::NotFoundError("person: not in the index");
      for (const index::PersonViewMember& m : view->members) of_person.push_back(m.record_key);
    }
    std::vector<std::string> listed = of_person;
    if (record) {
      const std::string key = RecordKey(record->source, record->record_id);
      EMPI_ASSIGN_OR_RETURN(auto found, store_->GetRecords({key}, snap.get()));
      if (!found[0]) return absl::NotFoundError("record: not in the index");
      listed = {key};
    }
    auto in_person = [&](std::string_view key) {
      return person == 0 || std::binary_search(of_person.begin(), of_person.end(), key);
    };
    std::map<std::string, ReviewQueueEntry> by_key;  // the queue's order
    for (const std::string& key : listed) {
      EMPI_RETURN_IF_ERROR(store_->ForEachReviewOf(
          key,
          [&](std::string_view partner, const index::ReviewValue& v) {
            if (!in_person(key) && !in_person(partner)) return true;
            const std::string_view a = std::min<std::string_view>(key, partner);
            const std::string_view b = std::max<std::string_view>(key, partner);
            by_key.try_emplace(index::PairKey(a, b), ReviewEntryOf(a, b, v));
            return true;
          },
          snap.get()));
    }
    std::vector<std::string> keys;
    for (auto& [pair_key, entry] : by_key) {
      std::string a, b;
      index::SplitPairKey(pair_key, &a, &b);
      keys.push_back(std::move(a));
      keys.push_back(std::move(b));
      pairs.push_back(std::move(entry));
    }
    EMPI_RETURN_IF_ERROR(PlacePairs(*store_, snap.get(), std::move(keys), &pairs, &ev));
  }
  EMPI_RETURN_IF_ERROR(CommitAudit(ev));
  return pairs;
}

absl::StatusOr<PersonLinks> EngineImpl::LinksOf(uint64_t person, const std::optional<RecordRef>& record,
                                                const Requester& who) {
  if (person == 0 && !record) return absl::InvalidArgumentError("links: a person or a record is required");
  index::AuditEvent ev = AuditEventFor(who, "links");
  PersonLinks out;
  {
    SnapshotHolder snap(store_.get());
    // The records whose links are listed (in key order), and the person
    // holding them.
    std::vector<std::string> keys;
    uint64_t holder = person;
    if (person != 0) {
      EMPI_ASSIGN_OR_RETURN(std::optional<index::PersonView> view, store_->GetPersonView(person, snap.get()));
      if (!view || !view->person) return absl::NotFoundError("person: not in the index");
      for (index::PersonViewMember& m : view->members) keys.push_back(std::move(m.record_key));
    }
    if (record) {
      const std::string key = RecordKey(record->source, record->record_id);
      EMPI_ASSIGN_OR_RETURN(auto found, store_->GetRecords({key}, snap.get()));
      if (!found[0]) return absl::NotFoundError("record: not in the index");
      holder = found[0]->person_id;
      keys = {key};
    }
    EMPI_ASSIGN_OR_RETURN(const absl::flat_hash_set<std::string> manual, ManuallyPlaced(*store_, holder, snap.get()));
    if (person == 0 || holder == person) {
      for (const std::string& key : keys) out.matches.push_back({RefOf(key), holder, manual.contains(key)});
    }
    // Never-link marks are few (a steward's): one scan finds those on `keys`.
    std::vector<std::pair<std::string, std::string>> marks;  // (ours, other)
    EMPI_RETURN_IF_ERROR(store_->ForEachNeverLink(
        [&](std::string_view a, std::string_view b) {
          if (std::binary_search(keys.begin(), keys.end(), a)) marks.emplace_back(a, b);
          if (std::binary_search(keys.begin(), keys.end(), b)) marks.emplace_back(b, a);
          return true;
        },
        snap.get()));
    std::vector<std::string> others;
    for (const auto& m : marks) others.push_back(m.second);
    EMPI_ASSIGN_OR_RETURN(auto other_records, store_->GetRecords(others, snap.get()));
    for (size_t i = 0; i < marks.size(); ++i) {
      const uint64_t other_person = other_records[i] ? other_records[i]->person_id : 0;
      if (record && person != 0 && other_person != person) continue;  // both filters: marks against the person
      out.no_matches.push_back({RefOf(marks[i].first), RefOf(marks[i].second), holder, other_person});
    }
  }
  for (const PersonLink& l : out.matches) {
    ev.persons.push_back(l.person);
    ev.records.push_back(RecordKey(l.record.source, l.record.record_id));
  }
  for (const NoMatchLink& l : out.no_matches) {
    ev.persons.insert(ev.persons.end(), {l.person, l.other_person});
    ev.records.push_back(RecordKey(l.record.source, l.record.record_id));
    ev.records.push_back(RecordKey(l.other.source, l.other.record_id));
  }
  std::sort(ev.persons.begin(), ev.persons.end());
  ev.persons.erase(std::unique(ev.persons.begin(), ev.persons.end()), ev.persons.end());
  std::erase(ev.persons, uint64_t{0});
  ev.outcome = absl::StrCat("ok: ", out.matches.size(), " match, ", out.no_matches.size(), " no-match links");
  EMPI_RETURN_IF_ERROR(CommitAudit(ev));
  return out;
}

absl::Status EngineImpl::AuditRefusal(const std::string& action, const std::string& outcome, uint64_t person_id,
                                      const Requester& who) {
  index::AuditEvent ev = AuditEventFor(who, action);
  if (person_id != 0) ev.persons = {person_id};
  ev.outcome = outcome;
  return CommitAudit(ev);
}

absl::StatusOr<std::vector<AuditEvent>> EngineImpl::AuditForPerson(uint64_t person) {
  std::vector<AuditEvent> out;
  EMPI_RETURN_IF_ERROR(store_->ForEachAuditEvent([&](const index::StoredAuditEvent& e) {
    if (std::find(e.event.persons.begin(), e.event.persons.end(), person) == e.event.persons.end()) {
      return true;
    }
    AuditEvent a;
    a.sequence = e.sequence;
    a.time_us = e.event.time_us;
    a.requester = e.event.requester;
    a.organisation = e.event.organisation;
    a.role = e.event.role;
    a.purpose = e.event.purpose;
    a.action = e.event.action;
    a.outcome = e.event.outcome;
    a.persons = e.event.persons;
    for (const std::string& key : e.event.records) a.records.push_back(RefOf(key));
    a.at_change = e.event.at_change;
    a.model_version = e.event.model_version;
    a.as_of = e.event.as_of;
    a.request_id = e.event.request_id;
    a.correlation_id = e.event.correlation_id;
    out.push_back(std::move(a));
    return true;
  }));
  return out;
}

absl::StatusOr<std::vector<AuditEvent>> EngineImpl::ReadAuditTrail(uint64_t person, const Requester& who) {
  EMPI_ASSIGN_OR_RETURN(std::vector<AuditEvent> events, AuditForPerson(person));
  index::AuditEvent ev = AuditEventFor(who, "audit person");
  ev.persons = {person};
  ev.outcome = absl::StrCat("ok: ", events.size(), " events");
  EMPI_RETURN_IF_ERROR(CommitAudit(ev));
  return events;
}

}  // namespace empi::realtime
