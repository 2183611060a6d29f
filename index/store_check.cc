// Copyright EMPI developers.
#include "index/store_check.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "empi/status_macros.h"
#include "index/store_impl.h"
#include "rocksdb/db.h"

namespace empi::index {
namespace {

// RocksDB's status of a read of `what`, as the store's own reads map it.
absl::Status ReadStatus(const rocksdb::Status& s, std::string_view what) {
  return FromRocks(s, absl::StrCat("check: reading ", A(what)));
}

class Checker {
 public:
  Checker(const Store& store, const StoreCheckOptions& options, StoreCheckReport* report)
      : store_(store), db_(store.db()), options_(options), report_(report) {}
  ~Checker() {
    if (snapshot_ != nullptr) store_.ReleaseSnapshot(snapshot_);
  }

  absl::Status Run() {
    snapshot_ = store_.GetSnapshot();
    ro_.snapshot = snapshot_;
    EMPI_ASSIGN_OR_RETURN(auto dirty, store_.GetMeta(kMetaReviewObjectionsDirty));
    flags_current_ = !dirty.has_value();
    EMPI_RETURN_IF_ERROR(CheckReview());
    EMPI_RETURN_IF_ERROR(CheckNeverLinks());
    EMPI_RETURN_IF_ERROR(CheckChanges());
    EMPI_RETURN_IF_ERROR(CheckViewHistory());
    EMPI_RETURN_IF_ERROR(CheckRecordHistory());
    EMPI_RETURN_IF_ERROR(CheckNhsHistory());
    // The fast pass: sequential scans only, comparing fingerprints of what
    // must agree; the exact pass (point reads) runs only when they do not,
    // to name the violations.
    exact_ = false;
    EMPI_RETURN_IF_ERROR(CheckPersons());
    EMPI_RETURN_IF_ERROR(CheckRecords());
    if (disagree_ || !(members_ == record_members_) || !(view_facts_ == record_facts_) ||
        (options_.implied_keys && !(block_ == implied_block_ && nhs_ == implied_nhs_))) {
      exact_ = true;
      report_->records = report_->persons = report_->memberships = report_->person_views = 0;
      report_->block_keys = report_->nhs_entries = 0;
      EMPI_RETURN_IF_ERROR(CheckPersons());
      EMPI_RETURN_IF_ERROR(CheckRecords());
    }
    EMPI_RETURN_IF_ERROR(store_.ForEachPendingObjection(
        [&](std::string_view, const ObjectionValue&) {
          ++report_->pending_objections;
          return true;
        },
        snapshot_));
    if (options_.audit) {
      absl::Status s = store_.VerifyAuditChain(&report_->audit_events);
      if (!s.ok()) Violation(absl::StrCat("audit: ", s.message()));
    }
    return absl::OkStatus();
  }

 private:
  // A multiset of byte strings, fingerprinted: its size and two sums of
  // 64-bit hashes. Equal fingerprints of two multisets mean equal
  // multisets, but for a chance of about 2^-128.
  struct Fingerprint {
    uint64_t n = 0, a = 0, b = 0;
    void Add(std::string_view s) {
      ++n;
      a += std::hash<std::string_view>()(s);
      uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a, then a splitmix64 finaliser
      for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
      h ^= h >> 30;
      h *= 0xbf58476d1ce4e5b9ULL;
      h ^= h >> 27;
      h *= 0x94d049bb133111ebULL;
      b += h ^ (h >> 31);
    }
    friend bool operator==(const Fingerprint&, const Fingerprint&) = default;
  };
  static std::string Member(uint64_t pid, std::string_view key) { return absl::StrCat(EncodeU64(pid), A(key)); }
  static std::string Fact(uint64_t pid, std::string_view key, bool restricted, int32_t dob) {
    return absl::StrCat(EncodeU64(pid), A(key), restricted ? "R" : "-", dob);
  }
  static absl::string_view A(std::string_view s) { return absl::string_view(s.data(), s.size()); }

  void Violation(std::string what) {
    if (!exact_) {
      disagree_ = true;
      return;
    }
    if (report_->violations.size() < options_.max_violations) report_->violations.push_back(std::move(what));
    ++report_->violations_total;
  }

  std::unique_ptr<rocksdb::Iterator> Iter(Cf cf) const {
    return std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(ro_, store_.cf(cf)));
  }

  // The person id (or NHS number) a family keyed by it is at (its key's first 8
  // bytes), kNoPerson at the end: the key of the merge-joins.
  static constexpr uint64_t kNoPerson = UINT64_MAX;
  static uint64_t PersonIdAt(rocksdb::Iterator* i) {
    return i->Valid() && i->key().size() >= 8 ? DecodeU64(i->key().ToStringView().substr(0, 8)) : kNoPerson;
  }

  // Whether `key` is present in `cf` at the snapshot.
  absl::StatusOr<bool> Has(Cf cf, std::string_view key, std::string* value = nullptr) const {
    std::string v;
    rocksdb::Status s = db_->Get(ro_, store_.cf(cf), key, value != nullptr ? value : &v);
    if (s.IsNotFound()) return false;
    EMPI_RETURN_IF_ERROR(ReadStatus(s, CfName(cf)));
    return true;
  }

  // The person of a live record, nullopt if there is no such record.
  absl::StatusOr<std::optional<uint64_t>> PersonOf(std::string_view record_key) {
    std::string value;
    EMPI_ASSIGN_OR_RETURN(bool found, Has(Cf::kRecords, record_key, &value));
    if (!found) return std::nullopt;
    uint64_t pid = 0;
    if (!DecodeRecordPersonId(value, &pid)) return std::optional<uint64_t>(0);
    return pid;
  }

  // The change feed: sequences 1..n without a gap, each decoding, and the
  // counter at n + 1.
  absl::Status CheckChanges() {
    auto it = Iter(Cf::kChanges);
    uint64_t expected = 1;
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++expected) {
      const uint64_t seq = it->key().size() == 8 ? DecodeU64(it->key().ToStringView()) : 0;
      Change c;
      if (seq != expected) {
        Violation(absl::StrCat("changes: sequence ", expected, " is missing (next entry: ", seq, ")"));
        expected = seq;
      } else if (!DecodeChange(it->value().ToStringView(), &c)) {
        Violation(absl::StrCat("changes: entry ", seq, " does not decode"));
      }
      ++report_->changes;
    }
    EMPI_RETURN_IF_ERROR(ReadStatus(it->status(), "changes"));
    std::string next;
    EMPI_ASSIGN_OR_RETURN(bool has_next, Has(Cf::kMeta, kMetaNextChange, &next));
    const uint64_t counter = has_next && next.size() == 8 ? DecodeU64(next) : 1;
    if (counter != expected) {
      Violation(absl::StrCat("meta next_change is ", counter, ", the feed ends at ", expected - 1));
    }
    return absl::OkStatus();
  }

  // view_history folded per person equals person_view, merge-joined by
  // person id.
  absl::Status CheckViewHistory() {
    auto history = Iter(Cf::kViewHistory), views = Iter(Cf::kPersonView);
    history->SeekToFirst();
    views->SeekToFirst();
    while (true) {
      const uint64_t pid = std::min(PersonIdAt(history.get()), PersonIdAt(views.get()));
      if (pid == kNoPerson) break;
      PersonView folded;
      bool decodes = true;
      for (; PersonIdAt(history.get()) == pid; history->Next()) {
        ++report_->view_history;
        decodes =
            decodes && history->key().size() == 16 && ApplyPersonViewOps(history->value().ToStringView(), &folded);
      }
      std::optional<std::string> current;
      if (PersonIdAt(views.get()) == pid) {
        PersonView v;
        current = DecodePersonView(views->value().ToStringView(), &v) ? EncodePersonView(v) : "";
        views->Next();
      }
      const bool exists = folded.person || !folded.members.empty();
      if (!decodes) {
        Violation(absl::StrCat("person ", pid, ": view_history does not decode"));
      } else if (current.has_value() != exists || (exists && *current != EncodePersonView(folded))) {
        Violation(absl::StrCat("person ", pid, ": view_history does not give its person_view"));
      }
    }
    EMPI_RETURN_IF_ERROR(ReadStatus(history->status(), "view_history"));
    return ReadStatus(views->status(), "person_view");
  }

  // record_history's last entry of each record names the record's person,
  // merge-joined by record key.
  absl::Status CheckRecordHistory() {
    auto history = Iter(Cf::kRecordHistory), records = Iter(Cf::kRecords);
    history->SeekToFirst();
    records->SeekToFirst();
    auto record_of = [](rocksdb::Iterator* i) {
      std::string_view k = i->key().ToStringView();
      return k.substr(0, k.size() >= 8 ? k.size() - 8 : 0);
    };
    while (history->Valid() || records->Valid()) {
      std::string key = history->Valid() ? std::string(record_of(history.get())) : records->key().ToString();
      if (records->Valid() && records->key().ToStringView() < key) key = records->key().ToString();
      uint64_t last = 0;
      bool any = false, sized = true;
      for (; history->Valid() && record_of(history.get()) == key; history->Next()) {
        ++report_->record_history;
        any = true;
        sized = sized && history->key().size() >= 8 && history->value().size() == 8;
        if (history->value().size() == 8) last = DecodeU64(history->value().ToStringView());
      }
      uint64_t person = 0;
      if (records->Valid() && records->key().ToStringView() == key) {
        if (!DecodeRecordPersonId(records->value().ToStringView(), &person)) person = UINT64_MAX;
        records->Next();
      }
      if (!sized) {
        Violation(absl::StrCat("record ", RecordName(key), ": record_history does not decode"));
      } else if ((person != 0 && !any) || last != person) {
        Violation(
            absl::StrCat("record ", RecordName(key), ": record_history gives person ", last, ", records ", person));
      }
    }
    EMPI_RETURN_IF_ERROR(ReadStatus(history->status(), "record_history"));
    return ReadStatus(records->status(), "records");
  }

  // nhs_history folded per NHS number gives its nhs_index entries and its
  // supersession, merge-joined by number. Names records, never the number.
  absl::Status CheckNhsHistory() {
    absl::flat_hash_map<uint64_t, uint64_t> superseded;
    EMPI_RETURN_IF_ERROR(store_.ForEachSupersession(
        [&](uint64_t old_nhs, uint64_t new_nhs, int64_t) {
          superseded[old_nhs] = new_nhs;
          return true;
        },
        snapshot_));
    auto history = Iter(Cf::kNhsHistory), index = Iter(Cf::kNhsIndex);
    history->SeekToFirst();
    index->SeekToFirst();
    while (true) {
      const uint64_t nhs = std::min(PersonIdAt(history.get()), PersonIdAt(index.get()));
      if (nhs == kNoPerson) break;
      // record key -> its last value: held (as its own or a relative's) or released
      std::map<std::string, std::string, std::less<>> folded;
      uint64_t by = 0;
      bool decodes = true;
      for (; PersonIdAt(history.get()) == nhs; history->Next()) {
        ++report_->nhs_history;
        const std::string_view key = history->key().ToStringView(), value = history->value().ToStringView();
        if (key.size() < 16) {
          decodes = false;
        } else if (const std::string_view record = key.substr(8, key.size() - 16); record.empty()) {
          decodes = decodes && value.size() == 8;
          if (value.size() == 8) by = DecodeU64(value);
        } else {
          decodes = decodes && (value == kNhsHeld || value == kNhsHeldAsRelatives || value == kNhsReleased);
          folded[std::string(record)] = value;
        }
      }
      // Each holding record, and whether it holds the number as a relative's.
      std::vector<std::pair<std::string, bool>> held;
      for (; PersonIdAt(index.get()) == nhs; index->Next()) {
        const std::string_view mark = index->value().ToStringView();
        decodes = decodes && (mark.empty() || mark == kNhsIndexRelatives);
        held.emplace_back(index->key().ToStringView().substr(8), mark == kNhsIndexRelatives);
      }
      std::vector<std::pair<std::string, bool>> from_history;
      for (const auto& [record, value] : folded) {
        if (value != kNhsReleased) from_history.emplace_back(record, value == kNhsHeldAsRelatives);
      }
      const auto it = superseded.find(nhs);
      const uint64_t want_by = it == superseded.end() ? 0 : it->second;
      if (it != superseded.end()) superseded.erase(it);
      if (!decodes) {
        Violation("nhs_history or nhs_index: an entry does not decode");
      } else if (from_history != held) {
        // The first record on which they differ.
        auto [h, i] = std::mismatch(from_history.begin(), from_history.end(), held.begin(), held.end());
        const std::string& record = h == from_history.end()      ? i->first
                                    : i == held.end() || *h < *i ? h->first
                                                                 : i->first;
        Violation(absl::StrCat("record ", RecordName(record), ": nhs_history does not give its nhs_index entry"));
      } else if (by != want_by) {
        Violation("nhs_history: a supersession differs from the one stored");
      }
    }
    if (!superseded.empty()) Violation("nhs_history: a supersession has no entry");
    EMPI_RETURN_IF_ERROR(ReadStatus(history->status(), "nhs_history"));
    return ReadStatus(index->status(), "nhs_index");
  }

  // Review pairs: under both orders with one value, between live records;
  // which persons should carry objection_in_review.
  absl::Status CheckReview() {
    auto it = Iter(Cf::kReview);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++report_->review_entries;
      std::string a, b;
      if (!SplitPairKey(it->key().ToStringView(), &a, &b)) {
        Violation("review: malformed pair key");
        continue;
      }
      std::string reverse;
      EMPI_ASSIGN_OR_RETURN(bool both, Has(Cf::kReview, DirectedPairKey(b, a), &reverse));
      if (!both) {
        Violation(absl::StrCat("review pair ", RecordName(a), " / ", RecordName(b), " is stored under one order only"));
      } else if (reverse != it->value().ToStringView()) {
        Violation(absl::StrCat("review pair ", RecordName(a), " / ", RecordName(b), " has two different values"));
      }
      if (a > b) continue;  // each pair once from here on
      EMPI_ASSIGN_OR_RETURN(auto pa, PersonOf(a));
      EMPI_ASSIGN_OR_RETURN(auto pb, PersonOf(b));
      if (!pa || !pb) {
        Violation(
            absl::StrCat("review pair ", RecordName(a), " / ", RecordName(b), " names a record that is not stored"));
        continue;
      }
      if (*pa == *pb) continue;
      EMPI_ASSIGN_OR_RETURN(auto va, store_.GetPerson(*pa, snapshot_));
      EMPI_ASSIGN_OR_RETURN(auto vb, store_.GetPerson(*pb, snapshot_));
      if (va && va->objection) flagged_.insert(*pb);
      if (vb && vb->objection) flagged_.insert(*pa);
    }
    return ReadStatus(it->status(), "review");
  }

  absl::Status CheckNeverLinks() {
    return store_.ForEachNeverLink(
        [&](std::string_view a, std::string_view b) {
          ++report_->never_links;
          for (std::string_view k : {a, b}) {
            auto p = PersonOf(k);
            if (!p.ok()) {
              error_ = p.status();
              return false;
            }
            if (!p->has_value()) {
              Violation(absl::StrCat("never-link mark ", RecordName(a), " / ", RecordName(b),
                                     " names a record that is not stored"));
            }
          }
          return true;
        },
        snapshot_);
  }

  // persons, person_records and person_view merge-joined by person id; each
  // person's members read from records in one MultiGet.
  absl::Status CheckPersons() {
    EMPI_RETURN_IF_ERROR(error_);
    auto persons = Iter(Cf::kPersons), members = Iter(Cf::kPersonRecords), views = Iter(Cf::kPersonView);
    persons->SeekToFirst();
    members->SeekToFirst();
    views->SeekToFirst();
    while (true) {
      const uint64_t pid = std::min({PersonIdAt(persons.get()), PersonIdAt(members.get()), PersonIdAt(views.get())});
      if (pid == kNoPerson) break;
      std::optional<PersonValue> person;
      std::optional<std::string> person_bytes;
      if (PersonIdAt(persons.get()) == pid) {
        ++report_->persons;
        person_bytes = persons->value().ToString();
        PersonValue v;
        if (persons->key().size() != 8 || !DecodePersonValue(*person_bytes, &v)) {
          Violation(absl::StrCat("person ", pid, ": persons value does not decode"));
        }
        person = v;
        persons->Next();
      }
      std::vector<std::string> keys;
      for (; PersonIdAt(members.get()) == pid; members->Next()) {
        ++report_->memberships;
        keys.emplace_back(members->key().ToStringView().substr(8));
      }
      std::optional<PersonView> view;
      if (PersonIdAt(views.get()) == pid) {
        ++report_->person_views;
        PersonView v;
        if (views->key().size() != 8 || !DecodePersonView(views->value().ToStringView(), &v)) {
          Violation(absl::StrCat("person ", pid, ": person_view value does not decode"));
        } else {
          view = std::move(v);
        }
        views->Next();
      }
      EMPI_RETURN_IF_ERROR(CheckPerson(pid, person, person_bytes, keys, view));
    }
    EMPI_RETURN_IF_ERROR(ReadStatus(persons->status(), "persons"));
    EMPI_RETURN_IF_ERROR(ReadStatus(members->status(), "person_records"));
    return ReadStatus(views->status(), "person_view");
  }

  absl::Status CheckPerson(uint64_t pid, const std::optional<PersonValue>& person,
                           const std::optional<std::string>& person_bytes, const std::vector<std::string>& keys,
                           const std::optional<PersonView>& view) {
    if (!person && !keys.empty()) {
      Violation(absl::StrCat("person ", pid, ": ", keys.size(), " person_records entries but no persons entry"));
    }
    if (person && keys.empty()) Violation(absl::StrCat("person ", pid, " has no records (an empty person)"));
    if (person && !view) Violation(absl::StrCat("person ", pid, " has no person_view"));
    if (!person && view && (view->person || !view->members.empty())) {
      Violation(absl::StrCat("person ", pid, ": person_view entry but no persons entry"));
    }
    if (person && flags_current_ && person->objection_in_review != flagged_.contains(pid)) {
      Violation(absl::StrCat("person ", pid, ": objection_in_review is ", person->objection_in_review,
                             ", the review queue says ", flagged_.contains(pid)));
    }
    if (view && person) {
      if (!view->person || EncodePersonValue(*view->person) != *person_bytes) {
        Violation(absl::StrCat("person ", pid, ": person_view's person value differs from persons"));
      }
      bool same = view->members.size() == keys.size();
      for (size_t i = 0; same && i < keys.size(); ++i) same = view->members[i].record_key == keys[i];
      if (!same) Violation(absl::StrCat("person ", pid, ": person_view's members differ from person_records"));
    }
    if (!exact_) {
      for (const std::string& k : keys) members_.Add(Member(pid, k));
      if (view) {
        for (const PersonViewMember& m : view->members)
          view_facts_.Add(Fact(pid, m.record_key, m.restricted, m.dob_ymd));
      }
      return absl::OkStatus();
    }
    if (keys.empty()) return absl::OkStatus();
    EMPI_ASSIGN_OR_RETURN(auto recs, store_.GetRecords(keys, snapshot_));
    for (size_t i = 0; i < keys.size(); ++i) {
      if (!recs[i]) {
        Violation(
            absl::StrCat("person ", pid, ": person_records lists ", RecordName(keys[i]), ", which is not stored"));
        continue;
      }
      if (recs[i]->person_id != pid) {
        Violation(absl::StrCat("record ", RecordName(keys[i]), " says person ", recs[i]->person_id,
                               ", person_records says person ", pid));
      }
      if (view && view->members.size() == keys.size()) {
        const PersonViewMember& m = view->members[i];
        if (m.restricted != recs[i]->record.restricted || m.dob_ymd != DateOfBirthYmd(recs[i]->record.date_of_birth)) {
          Violation(
              absl::StrCat("person ", pid, ": person_view's facts of ", RecordName(keys[i]), " differ from records"));
        }
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<bool> AllPresent(const ImpliedKeys& keys) {
    const std::vector<std::string>& block = keys.block_keys;
    const std::optional<std::string>& nhs = keys.nhs_key;
    for (const std::string& k : block) {
      EMPI_ASSIGN_OR_RETURN(bool has, Has(Cf::kBlockKeys, k));
      if (!has) return false;
    }
    if (nhs) return Has(Cf::kNhsIndex, *nhs);
    return true;
  }

  // Records in key order: membership entry present, index keys present;
  // then the index families counted against what the records imply.
  absl::Status CheckRecords() {
    uint64_t implied_block = 0, implied_nhs = 0;
    ImpliedKeys keys;
    auto it = Iter(Cf::kRecords);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++report_->records;
      const std::string key = it->key().ToString();
      StoredRecord r;
      if (!DecodeRecordValue(key, it->value().ToStringView(), &r)) {
        Violation(absl::StrCat("record ", RecordName(key), ": value does not decode"));
        continue;
      }
      if (!exact_) {
        record_members_.Add(Member(r.person_id, key));
        record_facts_.Add(Fact(r.person_id, key, r.record.restricted, DateOfBirthYmd(r.record.date_of_birth)));
        if (options_.implied_keys && options_.implied_keys(r.record, 0, &keys)) {
          for (const std::string& k : keys.block_keys) implied_block_.Add(k);
          if (keys.nhs_key) implied_nhs_.Add(*keys.nhs_key);
          implied_block += keys.block_keys.size();
          implied_nhs += keys.nhs_key ? 1 : 0;
        }
        continue;
      }
      EMPI_ASSIGN_OR_RETURN(bool member, Has(Cf::kPersonRecords, PersonRecordKey(r.person_id, key)));
      if (!member) {
        Violation(absl::StrCat("record ", RecordName(key), " says person ", r.person_id,
                               ", which does not list it (a record in no person)"));
      }
      if (!options_.implied_keys) continue;
      bool found = false;
      for (int variant = 0; !found && options_.implied_keys(r.record, variant, &keys); ++variant) {
        EMPI_ASSIGN_OR_RETURN(found, AllPresent(keys));
        if (found) {
          implied_block += keys.block_keys.size();
          implied_nhs += keys.nhs_key ? 1 : 0;
        }
      }
      if (!found) {
        Violation(absl::StrCat("record ", RecordName(key), ": a block_keys or nhs_index entry is missing"));
        if (options_.implied_keys(r.record, 0, &keys)) {
          implied_block += keys.block_keys.size();
          implied_nhs += keys.nhs_key ? 1 : 0;
        }
      }
    }
    EMPI_RETURN_IF_ERROR(ReadStatus(it->status(), "records"));
    if (report_->records != report_->memberships) {
      Violation(absl::StrCat(report_->records, " records but ", report_->memberships, " person_records entries"));
    }
    EMPI_ASSIGN_OR_RETURN(report_->block_keys, Count(Cf::kBlockKeys, exact_ ? nullptr : &block_));
    EMPI_ASSIGN_OR_RETURN(report_->nhs_entries, Count(Cf::kNhsIndex, exact_ ? nullptr : &nhs_));
    if (!options_.implied_keys) {
      // Index families not checked.
    } else if (report_->block_keys != implied_block) {
      Violation(absl::StrCat("block_keys holds ", report_->block_keys, " entries, the records imply ", implied_block));
    }
    if (options_.implied_keys && report_->nhs_entries != implied_nhs) {
      Violation(absl::StrCat("nhs_index holds ", report_->nhs_entries, " entries, the records imply ", implied_nhs));
    }
    EMPI_ASSIGN_OR_RETURN(auto count, store_.GetMeta("record_count"));
    if (count && *count != std::to_string(report_->records)) {
      Violation(absl::StrCat("meta record_count is ", *count, ", the store holds ", report_->records, " records"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> Count(Cf cf, Fingerprint* fingerprint) const {
    uint64_t n = 0;
    auto it = Iter(cf);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++n;
      if (fingerprint != nullptr) fingerprint->Add(it->key().ToStringView());
    }
    EMPI_RETURN_IF_ERROR(ReadStatus(it->status(), CfName(cf)));
    return n;
  }

  const Store& store_;
  rocksdb::DB* db_;
  const StoreCheckOptions& options_;
  StoreCheckReport* report_;
  const rocksdb::Snapshot* snapshot_ = nullptr;
  rocksdb::ReadOptions ro_;
  bool flags_current_ = true;
  bool exact_ = true;                      // the exact pass: violations are reported
  bool disagree_ = false;                  // the fast pass found something
  Fingerprint members_, record_members_;   // (person, record) from person_records, from records
  Fingerprint view_facts_, record_facts_;  // (person, record, facts) from person_view, from records
  Fingerprint block_, implied_block_, nhs_, implied_nhs_;
  absl::flat_hash_set<uint64_t> flagged_;  // persons whose objection_in_review must be set
  absl::Status error_;
};

}  // namespace

absl::StatusOr<StoreCheckReport> CheckStore(const Store& store, const StoreCheckOptions& options) {
  StoreCheckReport report;
  Checker checker(store, options, &report);
  EMPI_RETURN_IF_ERROR(checker.Run());
  return report;
}

}  // namespace empi::index
