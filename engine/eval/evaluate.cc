// Copyright EMPI developers.
#include "engine/eval/evaluate.h"

#include <algorithm>
#include <bit>

#include "absl/container/flat_hash_map.h"
#include "empi/status_macros.h"
#include "engine/eval/cat.h"
#include "engine/eval/csv_reader.h"
#include "fmt/format.h"
#include "fmt/ranges.h"

namespace empi::eval {
namespace {

constexpr uint32_t kNone = Interner::kNotFound;

uint64_t Pairs(uint64_t n) { return n * (n - (n > 0)) / 2; }

double Ratio(uint64_t num, uint64_t den) {
  return den == 0 ? 1.0 : static_cast<double>(num) / static_cast<double>(den);
}

double F1(double p, double r) { return p + r == 0 ? 0 : 2 * p * r / (p + r); }

// "source/record_id" for a key made as source \0 record_id.
std::string DisplayKey(std::string_view key) {
  std::string s(key);
  std::replace(s.begin(), s.end(), '\0', '/');
  return s;
}

std::string Key(std::string_view source, std::string_view record_id) {
  return Cat(source, std::string_view("\0", 1), record_id);
}

absl::Status AtLine(const CsvReader& csv, std::string_view what) {
  return absl::InvalidArgumentError(Cat(csv.Where(), ": ", what));
}

absl::Status AtLine(std::string_view path, int64_t line, std::string_view what) {
  return absl::InvalidArgumentError(Cat(path, ":", line, ": ", what));
}

// Rows read and prefetched together (see Interner::Prefetch).
constexpr size_t kBatchRows = 32;

absl::StatusOr<Truth> LoadRecordTruth(CsvReader& csv, const std::vector<std::string_view>& header) {
  int source_col = -1, id_col = -1, person_col = -1;
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == "source") source_col = i;
    if (header[i] == "record_id") id_col = i;
    if (header[i] == "person" || header[i] == "person_id") person_col = i;
  }
  size_t needed = std::max({source_col, id_col, person_col}) + 1;
  Truth truth;
  truth.path = csv.path();
  std::string last_person;
  uint32_t last_person_id = 0;
  RowBatch batch;
  std::vector<std::string> keys(kBatchRows);
  while (true) {
    EMPI_ASSIGN_OR_RETURN(bool more, batch.Fill(csv, kBatchRows));
    if (!more) break;
    if (truth.person_of_record.empty()) {
      // Reserving for the whole file spares rehashing ten million keys.
      const int64_t rows = csv.EstimatedRows();
      truth.records.Reserve(rows + rows / 8);
      truth.persons.Reserve(rows);
      truth.person_of_record.reserve(rows + rows / 8);
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch.num_fields(i) < needed) {
        return AtLine(csv.path(), batch.line(i),
                      Cat("expected at least ", needed, " fields, found ", batch.num_fields(i)));
      }
      keys[i] = Key(batch.field(i, source_col), batch.field(i, id_col));
      truth.records.Prefetch(keys[i]);
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      const std::string_view id = batch.field(i, id_col), person = batch.field(i, person_col);
      if (id.empty()) return AtLine(csv.path(), batch.line(i), "empty record_id");
      if (person.empty()) return AtLine(csv.path(), batch.line(i), "empty person");
      bool added;
      truth.records.Intern(keys[i], &added);
      if (!added) {
        return AtLine(csv.path(), batch.line(i), Cat("record ", batch.field(i, source_col), "/", id, " listed twice"));
      }
      // Truth files usually list a person's records together.
      if (person != last_person) {
        last_person.assign(person);
        last_person_id = truth.persons.Intern(last_person);
      }
      truth.person_of_record.push_back(last_person_id);
    }
  }
  return truth;
}

absl::StatusOr<Truth> LoadPairTruth(CsvReader& csv, const TruthOptions& options) {
  Truth truth;
  truth.kind = Truth::Kind::kPairs;
  truth.path = csv.path();
  truth.keyed_by_source = !options.source_a.empty();
  std::vector<uint32_t> parent;
  auto find = [&parent](uint32_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  };
  auto intern = [&](std::string_view source, std::string_view id) {
    uint32_t r = truth.keyed_by_source ? truth.records.Intern(Key(source, id)) : truth.records.Intern(id);
    if (r == parent.size()) parent.push_back(r);
    return r;
  };
  std::vector<std::string_view> f;
  while (true) {
    EMPI_ASSIGN_OR_RETURN(bool more, csv.Next(&f));
    if (!more) break;
    if (f.size() < 2) return AtLine(csv, Cat("expected 2 fields, found ", f.size()));
    if (f[0].empty() || f[1].empty()) return AtLine(csv, "empty record id");
    uint32_t a = find(intern(options.source_a, f[0]));
    uint32_t b = find(intern(options.source_b, f[1]));
    if (a != b) parent[std::max(a, b)] = std::min(a, b);
  }
  // Persons are the union-find roots, labelled by their root record's key.
  truth.person_of_record.resize(parent.size());
  for (uint32_t r = 0; r < parent.size(); ++r) {
    truth.person_of_record[r] = truth.persons.Intern(DisplayKey(truth.records.Get(find(r))));
  }
  return truth;
}

}  // namespace

absl::StatusOr<Truth> LoadTruth(const std::string& path, const TruthOptions& options) {
  if (options.source_a.empty() != options.source_b.empty()) {
    return absl::InvalidArgumentError("give both --source-a and --source-b, or neither");
  }
  EMPI_ASSIGN_OR_RETURN(auto csv, CsvReader::Open(path));
  std::vector<std::string_view> header;
  EMPI_ASSIGN_OR_RETURN(bool any, csv->Next(&header));
  if (!any) return absl::InvalidArgumentError(Cat(path, ": empty truth file"));
  bool has_source = std::find(header.begin(), header.end(), "source") != header.end();
  bool has_id = std::find(header.begin(), header.end(), "record_id") != header.end();
  bool has_person = std::find(header.begin(), header.end(), "person") != header.end() ||
                    std::find(header.begin(), header.end(), "person_id") != header.end();
  if (has_source && has_id && has_person) {
    if (!options.source_a.empty()) {
      return absl::InvalidArgumentError(Cat(path, ": --source-a/--source-b apply only to pair truth"));
    }
    return LoadRecordTruth(*csv, header);
  }
  if (header.size() >= 2 &&
      ((header[0] == "rec_id_a" && header[1] == "rec_id_b") || (header[0] == "rec_id_1" && header[1] == "rec_id_2"))) {
    return LoadPairTruth(*csv, options);
  }
  return AtLine(*csv,
                "unrecognised truth header; expected source,record_id,person or "
                "rec_id_a,rec_id_b or rec_id_1,rec_id_2");
}

absl::StatusOr<Truth> TruthFromAssignments(absl::Span<const Assignment> assignments) {
  Truth truth;
  for (size_t i = 0; i < assignments.size(); ++i) {
    const Assignment& a = assignments[i];
    bool added;
    truth.records.Intern(Key(a.source, a.record_id), &added);
    if (!added) {
      return absl::InvalidArgumentError(Cat("truth record ", a.source, "/", a.record_id, " listed twice"));
    }
    truth.person_of_record.push_back(truth.persons.Intern(a.cluster));
  }
  return truth;
}

absl::StatusOr<HardCases> LoadHardCases(const std::string& path, const Truth& truth) {
  EMPI_ASSIGN_OR_RETURN(auto csv, CsvReader::Open(path));
  if (truth.kind != Truth::Kind::kRecords) {
    return absl::InvalidArgumentError(Cat(path, ": hard cases name persons, which only truth.csv-style truth has"));
  }
  std::vector<std::string_view> f;
  EMPI_ASSIGN_OR_RETURN(bool any, csv->Next(&f));
  if (!any || f.size() < 2 || f[0] != "person" || f[1] != "hard_case") {
    return AtLine(*csv, "expected header person,hard_case");
  }
  HardCases cases;
  Interner names;
  absl::flat_hash_map<uint32_t, uint64_t> masks;
  while (true) {
    EMPI_ASSIGN_OR_RETURN(bool more, csv->Next(&f));
    if (!more) break;
    if (f.size() < 2) return AtLine(*csv, Cat("expected 2 fields, found ", f.size()));
    if (f[1].empty()) return AtLine(*csv, "empty hard_case");
    uint32_t person = truth.persons.Find(f[0]);
    if (person == kNone) return AtLine(*csv, Cat("person ", f[0], " is not in the truth"));
    bool added;
    uint32_t c = names.Intern(f[1], &added);
    if (c >= 64) return AtLine(*csv, "more than 64 hard case types");
    if (added) cases.case_names.emplace_back(f[1]);
    masks[person] |= uint64_t{1} << c;
  }
  cases.person_cases.assign(masks.begin(), masks.end());
  std::sort(cases.person_cases.begin(), cases.person_cases.end());
  return cases;
}

Evaluator::Evaluator(const Truth& truth, const HardCases* hard_cases, size_t max_listed)
    : truth_(truth), hard_cases_(hard_cases), max_listed_(max_listed), cluster_of_record_(truth.records.size(), kNone) {
  if (!truth.keyed_by_source) source_of_record_.resize(truth.records.size(), kNone);
  clusters_.Reserve(truth.persons.size() + truth.persons.size() / 8);
}

void Evaluator::Prefetch(std::string_view source, std::string_view record_id) {
  if (truth_.keyed_by_source) {
    key_.assign(source);
    key_.push_back('\0');
    key_.append(record_id);
    truth_.records.Prefetch(key_);
  } else {
    truth_.records.Prefetch(record_id);
  }
}

absl::Status Evaluator::Add(std::string_view source, std::string_view record_id, std::string_view cluster) {
  if (record_id.empty()) return absl::InvalidArgumentError("empty record_id");
  if (cluster.empty()) {
    return absl::InvalidArgumentError(Cat("record ", source, "/", record_id, " has an empty person_id"));
  }
  const bool keyed = truth_.keyed_by_source;
  if (keyed) {
    key_.assign(source);
    key_.push_back('\0');
    key_.append(record_id);
  } else {
    key_.assign(record_id);
  }
  // Clusters files usually list a person's records together.
  if (cluster != last_cluster_) {
    last_cluster_.assign(cluster);
    last_cluster_id_ = clusters_.Intern(cluster);
  }
  const uint32_t c = last_cluster_id_;
  uint32_t s = keyed ? 0 : sources_.Intern(source);
  uint32_t previous_source = s;
  uint32_t r = truth_.records.Find(key_);
  if (r != kNone) {
    if (cluster_of_record_[r] == kNone) {
      cluster_of_record_[r] = c;
      if (!keyed) source_of_record_[r] = s;
      return absl::OkStatus();
    }
    if (!keyed) previous_source = source_of_record_[r];
  } else {
    bool added;
    uint32_t x = extras_.Intern(key_, &added);
    if (added) {
      cluster_of_extra_.push_back(c);
      if (!keyed) source_of_extra_.push_back(s);
      return absl::OkStatus();
    }
    if (!keyed) previous_source = source_of_extra_[x];
  }
  if (previous_source != s) {
    return absl::InvalidArgumentError(
        Cat("record_id ", record_id, " appears under sources ", sources_.Get(previous_source), " and ", source,
            ", but the truth file ", truth_.path,
            " has no sources, so records are matched by record_id alone (give --source-a and "
            "--source-b to say which source each truth column is)"));
  }
  return absl::InvalidArgumentError(Cat("record ", source, "/", record_id, " appears twice"));
}

Evaluation Evaluator::Finish() {
  Evaluation e;
  const bool keyed = truth_.keyed_by_source;
  const bool extras_scored = truth_.kind == Truth::Kind::kPairs;
  const size_t nt = truth_.records.size();
  const size_t nx = extras_.size();
  e.extra_records = nx;
  e.extra_records_are_errors = !extras_scored;
  for (size_t x = 0; x < nx && x < max_listed_; ++x) {
    e.extra_examples.push_back(keyed ? DisplayKey(extras_.Get(x))
                                     : Cat(sources_.Get(source_of_extra_[x]), "/", extras_.Get(x)));
  }

  // Every evaluated record as (true person, predicted person). Missing
  // records get a predicted singleton each; scored extras a true singleton.
  const size_t n = nt + (extras_scored ? nx : 0);
  const uint32_t num_true = truth_.persons.size() + (extras_scored ? nx : 0);
  std::vector<uint32_t> true_of(n), pred_of(n);
  std::vector<bool> used(clusters_.size());
  uint32_t num_pred = clusters_.size();
  for (size_t r = 0; r < nt; ++r) {
    true_of[r] = truth_.person_of_record[r];
    uint32_t c = cluster_of_record_[r];
    if (c == kNone) {
      if (e.missing_examples.size() < max_listed_) {
        e.missing_examples.push_back(DisplayKey(truth_.records.Get(r)));
      }
      ++e.missing_records;
      c = num_pred++;
    } else {
      used[c] = true;
    }
    pred_of[r] = c;
  }
  if (extras_scored) {
    for (size_t x = 0; x < nx; ++x) {
      true_of[nt + x] = truth_.persons.size() + x;
      pred_of[nt + x] = cluster_of_extra_[x];
      used[cluster_of_extra_[x]] = true;
    }
  }
  e.records = n;
  e.true_persons = num_true;
  e.predicted_persons = std::count(used.begin(), used.end(), true);
  used = {};

  std::vector<uint32_t> true_size(num_true), start(num_pred + 1);
  for (size_t r = 0; r < n; ++r) {
    ++true_size[true_of[r]];
    ++start[pred_of[r] + 1];
  }
  for (uint32_t p = 0; p < num_pred; ++p) start[p + 1] += start[p];
  // members[start[p], start[p+1]) holds the true persons of predicted p's records.
  std::vector<uint32_t> members(n);
  {
    std::vector<uint32_t> fill(start.begin(), start.end() - 1);
    for (size_t r = 0; r < n; ++r) members[fill[pred_of[r]]++] = true_of[r];
  }
  true_of = {};
  pred_of = {};

  std::vector<uint64_t> mask_of_true;
  std::vector<HardCaseFigures> hard;
  if (hard_cases_ != nullptr) {
    mask_of_true.resize(num_true);
    for (const auto& [person, mask] : hard_cases_->person_cases) mask_of_true[person] = mask;
    hard.resize(hard_cases_->case_names.size());
  }

  std::vector<uint32_t> preds_of_true(num_true);
  double bcubed_p = 0, bcubed_r = 0;
  for (uint32_t p = 0; p < num_pred; ++p) {
    uint32_t* begin = members.data() + start[p];
    uint32_t* end = members.data() + start[p + 1];
    if (begin == end) continue;
    std::sort(begin, end);
    const uint64_t size = end - begin;
    const uint64_t pairs = Pairs(size);
    e.predicted_pairs += pairs;
    int distinct = 0;
    uint64_t tp = 0, mask = 0;
    for (uint32_t* run = begin; run != end;) {
      const uint32_t t = *run;
      uint32_t* run_end = run;
      while (run_end != end && *run_end == t) ++run_end;
      const uint64_t n_ij = run_end - run;
      run = run_end;
      ++distinct;
      ++preds_of_true[t];
      tp += Pairs(n_ij);
      const double sq = static_cast<double>(n_ij) * n_ij;
      bcubed_p += sq / size;
      bcubed_r += sq / true_size[t];
      if (!mask_of_true.empty() && mask_of_true[t] != 0) {
        mask |= mask_of_true[t];
        for (uint64_t m = mask_of_true[t]; m != 0; m &= m - 1) {
          hard[std::countr_zero(m)].true_positive_pairs += Pairs(n_ij);
        }
      }
    }
    e.true_positive_pairs += tp;
    const bool false_merge = distinct > 1;
    if (false_merge) {
      ++e.false_merges;
      e.false_merge_records += size;
    }
    for (uint64_t m = mask; m != 0; m &= m - 1) {
      HardCaseFigures& h = hard[std::countr_zero(m)];
      ++h.touching_clusters;
      h.touching_predicted_pairs += pairs;
      h.touching_true_positive_pairs += tp;
      if (false_merge) {
        ++h.false_merges;
        h.false_merge_records += size;
      }
    }
  }
  for (uint32_t t = 0; t < num_true; ++t) {
    e.true_pairs += Pairs(true_size[t]);
    if (preds_of_true[t] > 1) ++e.split_persons;
    if (mask_of_true.empty()) continue;
    for (uint64_t m = mask_of_true[t]; m != 0; m &= m - 1) {
      HardCaseFigures& h = hard[std::countr_zero(m)];
      ++h.persons;
      h.records += true_size[t];
      h.true_pairs += Pairs(true_size[t]);
      if (preds_of_true[t] > 1) ++h.split_persons;
    }
  }

  e.precision = Ratio(e.true_positive_pairs, e.predicted_pairs);
  e.recall = Ratio(e.true_positive_pairs, e.true_pairs);
  e.f1 = F1(e.precision, e.recall);
  e.false_merges_per_10k_persons = num_true == 0 ? 0 : 10000.0 * static_cast<double>(e.false_merges) / num_true;
  e.bcubed_precision = n == 0 ? 1 : bcubed_p / n;
  e.bcubed_recall = n == 0 ? 1 : bcubed_r / n;
  for (size_t i = 0; i < hard.size(); ++i) {
    HardCaseFigures& h = hard[i];
    h.recall = Ratio(h.true_positive_pairs, h.true_pairs);
    h.precision = Ratio(h.touching_true_positive_pairs, h.touching_predicted_pairs);
    e.hard_cases.emplace_back(hard_cases_->case_names[i], h);
  }
  return e;
}

absl::StatusOr<Evaluation> Evaluate(const Truth& truth, absl::Span<const Assignment> predictions,
                                    const HardCases* hard_cases) {
  Evaluator evaluator(truth, hard_cases);
  for (size_t i = 0; i < predictions.size(); ++i) {
    const Assignment& a = predictions[i];
    absl::Status s = evaluator.Add(a.source, a.record_id, a.cluster);
    if (!s.ok()) {
      return absl::InvalidArgumentError(Cat("prediction ", i + 1, ": ", std::string(s.message())));
    }
  }
  return evaluator.Finish();
}

absl::Status ReadClustersFile(const std::string& path, Evaluator* evaluator) {
  EMPI_ASSIGN_OR_RETURN(auto csv, CsvReader::Open(path));
  std::vector<std::string_view> f;
  EMPI_ASSIGN_OR_RETURN(bool any, csv->Next(&f));
  if (!any || f.size() < 3 || f[0] != "source" || f[1] != "record_id" ||
      (f[2] != "person_id" && f[2] != "cluster_id")) {
    return absl::InvalidArgumentError(Cat(csv->Where(), ": expected a header starting source,record_id,person_id"));
  }
  RowBatch batch;
  while (true) {
    EMPI_ASSIGN_OR_RETURN(bool more, batch.Fill(*csv, kBatchRows));
    if (!more) return absl::OkStatus();
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch.num_fields(i) >= 3) evaluator->Prefetch(batch.field(i, 0), batch.field(i, 1));
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch.num_fields(i) < 3) {
        return AtLine(path, batch.line(i), Cat("expected at least 3 fields, found ", batch.num_fields(i)));
      }
      absl::Status s = evaluator->Add(batch.field(i, 0), batch.field(i, 1), batch.field(i, 2));
      if (!s.ok()) return AtLine(path, batch.line(i), std::string(s.message()));
    }
  }
}

std::string FormatEvaluation(const Evaluation& e) {
  std::string out;
  auto row = [&out](std::string_view label, std::string value) { out += fmt::format("  {:<26}{}\n", label, value); };
  out += "Evaluation\n";
  row("records", fmt::format("{}", e.records));
  row("true persons", fmt::format("{}", e.true_persons));
  row("predicted persons", fmt::format("{}", e.predicted_persons));
  row("pairwise precision", fmt::format("{:.6f}  ({} of {} predicted pairs are true)", e.precision,
                                        e.true_positive_pairs, e.predicted_pairs));
  row("pairwise recall",
      fmt::format("{:.6f}  ({} of {} true pairs found)", e.recall, e.true_positive_pairs, e.true_pairs));
  row("pairwise F1", fmt::format("{:.6f}", e.f1));
  row("B-cubed precision", fmt::format("{:.6f}", e.bcubed_precision));
  row("B-cubed recall", fmt::format("{:.6f}", e.bcubed_recall));
  row("false merges", fmt::format("{}  ({} records; {:.2f} per 10,000 true persons)", e.false_merges,
                                  e.false_merge_records, e.false_merges_per_10k_persons));
  row("split persons", fmt::format("{}", e.split_persons));
  row("missing records", fmt::format("{}{}", e.missing_records,
                                     e.missing_records ? "  (ERROR: in truth, not in predictions; "
                                                         "scored as singletons)"
                                                       : ""));
  if (!e.missing_examples.empty()) {
    out += fmt::format("    e.g. {}\n", fmt::join(e.missing_examples, ", "));
  }
  row("extra records",
      fmt::format("{}{}", e.extra_records,
                  e.extra_records == 0         ? ""
                  : e.extra_records_are_errors ? "  (ERROR: not in truth; left out of the figures)"
                                               : "  (not in the pair truth; scored as true singletons)"));
  if (!e.extra_examples.empty()) {
    out += fmt::format("    e.g. {}\n", fmt::join(e.extra_examples, ", "));
  }
  if (!e.hard_cases.empty()) {
    out += fmt::format("\nHard cases\n  {:<26}{:>9}{:>11}{:>10}{:>10}{:>11}{:>8}{:>10}{:>7}\n", "case", "persons",
                       "true pairs", "recall", "clusters", "precision", "merges", "(records)", "split");
    for (const auto& [name, h] : e.hard_cases) {
      out += fmt::format("  {:<26}{:>9}{:>11}{:>10.4f}{:>10}{:>11.4f}{:>8}{:>10}{:>7}\n", name, h.persons, h.true_pairs,
                         h.recall, h.touching_clusters, h.precision, h.false_merges, h.false_merge_records,
                         h.split_persons);
    }
  }
  return out;
}

nlohmann::json ToJson(const Evaluation& e) {
  nlohmann::json hard = nlohmann::json::object();
  for (const auto& [name, h] : e.hard_cases) {
    hard[name] = {{"persons", h.persons},
                  {"records", h.records},
                  {"true_pairs", h.true_pairs},
                  {"true_positive_pairs", h.true_positive_pairs},
                  {"recall", h.recall},
                  {"touching_clusters", h.touching_clusters},
                  {"touching_predicted_pairs", h.touching_predicted_pairs},
                  {"touching_true_positive_pairs", h.touching_true_positive_pairs},
                  {"precision", h.precision},
                  {"false_merges", h.false_merges},
                  {"false_merge_records", h.false_merge_records},
                  {"split_persons", h.split_persons}};
  }
  return {{"records", e.records},
          {"true_persons", e.true_persons},
          {"predicted_persons", e.predicted_persons},
          {"precision", e.precision},
          {"recall", e.recall},
          {"f1", e.f1},
          {"true_positive_pairs", e.true_positive_pairs},
          {"predicted_pairs", e.predicted_pairs},
          {"true_pairs", e.true_pairs},
          {"false_merges", e.false_merges},
          {"false_merge_records", e.false_merge_records},
          {"false_merges_per_10k_persons", e.false_merges_per_10k_persons},
          {"split_persons", e.split_persons},
          {"missing_records", e.missing_records},
          {"missing_examples", e.missing_examples},
          {"extra_records", e.extra_records},
          {"extra_records_are_errors", e.extra_records_are_errors},
          {"extra_examples", e.extra_examples},
          {"bcubed_precision", e.bcubed_precision},
          {"bcubed_recall", e.bcubed_recall},
          {"hard_cases", hard}};
}

}  // namespace empi::eval
