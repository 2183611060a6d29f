// Copyright EMPI developers.
//
// number_marks.cc: whose NHS number a record carries, judged among the
// number's holders in memory and in the store (number_marks.h).

#include "engine/linkage/number_marks.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "empi/status_macros.h"
#include "engine/linkage/safety.h"
#include "tbb/parallel_for.h"

namespace empi {
namespace {

// Whether each of `holders` (one number's) holds it as a relative's, judged
// among the others.
std::vector<char> JudgeHolders(const std::vector<const PreparedRecord*>& holders) {
  std::vector<char> marks(holders.size(), 0);
  if (!NumberJudged(holders.size())) return marks;
  std::vector<const PreparedRecord*> others;
  for (size_t h = 0; h < holders.size(); ++h) {
    others.clear();
    for (size_t o = 0; o < holders.size(); ++o) {
      if (o != h) others.push_back(holders[o]);
    }
    marks[h] = NumberIsARelatives(*holders[h], others);
  }
  return marks;
}

// The records stored under `keys` that hold `nhs` (validated), prepared,
// with the index in `keys` of each; `persons` (if given) gets the person of
// every record read.
struct Holders {
  std::vector<PreparedRecord> records;
  std::vector<size_t> at;
};
absl::StatusOr<Holders> ReadHolders(const index::Store& store, const std::vector<std::string>& keys, uint64_t nhs,
                                    const PrepareFn& prepare, absl::flat_hash_set<uint64_t>* persons) {
  EMPI_ASSIGN_OR_RETURN(auto records, store.GetRecords(keys));
  Holders out;
  for (size_t i = 0; i < records.size(); ++i) {
    if (!records[i]) continue;
    if (persons != nullptr) persons->insert(records[i]->person_id);
    PreparedRecord r = prepare(records[i]->record);
    if (!r.nhs_validated || r.nhs != nhs) continue;
    out.records.push_back(std::move(r));
    out.at.push_back(i);
  }
  return out;
}

}  // namespace

void MarkRelativesNumbers(std::vector<PreparedRecord>* prepared) {
  std::vector<PreparedRecord>& recs = *prepared;
  std::vector<uint32_t> holders;
  for (uint32_t i = 0; i < recs.size(); ++i) {
    recs[i].nhs_relatives = false;
    if (recs[i].nhs_validated) holders.push_back(i);
  }
  std::sort(holders.begin(), holders.end(),
            [&](uint32_t x, uint32_t y) { return recs[x].nhs != recs[y].nhs ? recs[x].nhs < recs[y].nhs : x < y; });
  // [from, to) of `holders`: one number's, where a majority can tell.
  std::vector<std::pair<size_t, size_t>> numbers;
  for (size_t from = 0, to = 0; from < holders.size(); from = to) {
    while (to < holders.size() && recs[holders[to]].nhs == recs[holders[from]].nhs) ++to;
    if (NumberJudged(to - from)) numbers.emplace_back(from, to);
  }
  std::vector<char> marked(recs.size(), 0);
  tbb::parallel_for(size_t{0}, numbers.size(), [&](size_t k) {
    const auto [from, to] = numbers[k];
    std::vector<const PreparedRecord*> group;
    for (size_t h = from; h < to; ++h) group.push_back(&recs[holders[h]]);
    const std::vector<char> marks = JudgeHolders(group);
    for (size_t h = from; h < to; ++h) marked[holders[h]] = marks[h - from];
  });
  for (size_t i = 0; i < recs.size(); ++i) recs[i].nhs_relatives = marked[i] != 0;
}

absl::Status MarkAsStored(const index::Store& store, const std::string& key, PreparedRecord* p,
                          const rocksdb::Snapshot* snap) {
  p->nhs_relatives = false;
  if (!p->nhs_validated) return absl::OkStatus();
  EMPI_ASSIGN_OR_RETURN(p->nhs_relatives, store.HoldsAsRelatives(p->nhs, key, snap));
  return absl::OkStatus();
}

absl::Status JudgeStoredNumber(const index::Store& store, uint64_t nhs, const absl::flat_hash_set<std::string>& leaving,
                               const std::vector<Arriving>& arriving, const PrepareFn& prepare, index::ChangeSet* cs,
                               Remarked* out) {
  std::vector<PreparedRecord*> joining;
  absl::flat_hash_set<std::string_view> arriving_keys;
  for (const Arriving& a : arriving) {
    a.record->nhs_relatives = false;
    arriving_keys.insert(a.key);
    if (a.record->nhs_validated && a.record->nhs == nhs) joining.push_back(a.record);
  }
  EMPI_ASSIGN_OR_RETURN(index::Store::NhsHolders held, store.NhsHoldersNow(nhs));
  std::vector<std::string> keys;
  for (std::string& k : held.records) {
    if (!leaving.contains(k) && !arriving_keys.contains(k)) keys.push_back(std::move(k));
  }
  // Judged for none (too few holders to tell, or too many to be anyone's):
  // only marks stored while it was judged have anything to change.
  if (!NumberJudged(keys.size() + joining.size()) &&
      std::none_of(keys.begin(), keys.end(), [&](const std::string& key) { return held.HeldAsRelatives(key); })) {
    return absl::OkStatus();
  }
  absl::flat_hash_set<uint64_t> persons;
  EMPI_ASSIGN_OR_RETURN(const Holders stored, ReadHolders(store, keys, nhs, prepare, &persons));
  std::vector<const PreparedRecord*> holders;
  for (const PreparedRecord& r : stored.records) holders.push_back(&r);
  holders.insert(holders.end(), joining.begin(), joining.end());
  const std::vector<char> marks = JudgeHolders(holders);
  for (size_t j = 0; j < joining.size(); ++j) joining[j]->nhs_relatives = marks[stored.records.size() + j] != 0;
  bool changed = false;
  for (size_t s = 0; s < stored.records.size(); ++s) {
    const std::string& key = keys[stored.at[s]];
    if ((marks[s] != 0) == held.HeldAsRelatives(key)) continue;
    cs->PutNhs(nhs, key, marks[s] != 0);
    out->records.push_back(key);
    changed = true;
  }
  if (changed) out->persons.insert(persons.begin(), persons.end());
  return absl::OkStatus();
}

absl::Status RemarkFromPrepared(const index::Store& store, const std::vector<uint64_t>* numbers,
                                const std::function<Found(std::string_view key)>& find, index::ChangeSet* cs,
                                Remarked* out) {
  auto remark = [&](uint64_t nhs, const index::Store::NhsHolders& held) {
    std::vector<std::pair<const std::string*, Found>> stored;
    for (const std::string& key : held.records) {
      const Found f = find(key);
      if (f.record == nullptr) return;  // judged on part of its holders
      if (f.record->nhs == nhs) stored.emplace_back(&key, f);
    }
    bool changed = false;
    for (const auto& [key, f] : stored) {
      const bool was = held.HeldAsRelatives(*key);
      if (f.written || f.record->nhs_relatives == was) continue;
      cs->PutNhs(nhs, *key, f.record->nhs_relatives);
      out->records.push_back(*key);
      changed = true;
    }
    if (changed) {
      for (const auto& [key, f] : stored) out->persons.insert(f.person);
    }
  };
  if (numbers == nullptr) {
    return store.ForEachNhsHolders([&](uint64_t nhs, const index::Store::NhsHolders& held) {
      remark(nhs, held);
      return true;
    });
  }
  for (uint64_t nhs : *numbers) {
    EMPI_ASSIGN_OR_RETURN(index::Store::NhsHolders held, store.NhsHoldersNow(nhs));
    remark(nhs, held);
  }
  return absl::OkStatus();
}

std::vector<uint64_t> JudgedNumbers(const std::vector<PreparedRecord>& records, size_t brought) {
  absl::flat_hash_map<uint64_t, uint32_t> holders;
  for (const PreparedRecord& r : records) {
    if (r.nhs_validated) ++holders[r.nhs];
  }
  std::vector<uint64_t> out;
  for (size_t i = 0; i < brought; ++i) {
    if (records[i].nhs_validated && holders[records[i].nhs] >= kMinNumberHolders) out.push_back(records[i].nhs);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

absl::Status ForEachMisjudgedMark(const index::Store& store, const PrepareFn& prepare,
                                  const std::function<void(std::string_view record_key)>& fn, uint64_t* judged) {
  *judged = 0;
  absl::Status read;
  EMPI_RETURN_IF_ERROR(store.ForEachNhsHolders([&](uint64_t nhs, const index::Store::NhsHolders& held) {
    if (held.records.size() < kMinNumberHolders && held.relatives.empty()) return true;  // nothing to mark
    ++*judged;
    auto stored = ReadHolders(store, held.records, nhs, prepare, nullptr);
    if (!stored.ok()) {
      read = stored.status();
      return false;
    }
    std::vector<const PreparedRecord*> holders;
    for (const PreparedRecord& r : stored->records) holders.push_back(&r);
    const std::vector<char> marks = JudgeHolders(holders);
    std::vector<char> judged_relatives(held.records.size(), 0);
    for (size_t h = 0; h < marks.size(); ++h) judged_relatives[stored->at[h]] = marks[h];
    for (size_t i = 0; i < held.records.size(); ++i) {
      const std::string& key = held.records[i];
      const bool marked = held.HeldAsRelatives(key);
      if ((judged_relatives[i] != 0) != marked) fn(key);
    }
    return true;
  }));
  return read;
}

void AddJudgedChange(const Remarked& remarked, index::ChangeSet* cs) {
  if (remarked.records.empty()) return;
  std::vector<uint64_t> persons(remarked.persons.begin(), remarked.persons.end());
  std::sort(persons.begin(), persons.end());
  std::vector<std::string> records = remarked.records;
  std::sort(records.begin(), records.end());
  cs->AddChange({.kind = "nhs-judged", .persons = std::move(persons), .records = std::move(records)});
}

}  // namespace empi
