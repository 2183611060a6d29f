// Copyright EMPI developers.
#include "engine/linkage/store_check.h"

#include <optional>
#include <string>
#include <vector>

#include "empi/status_macros.h"
#include "engine/linkage/blocking.h"
#include "engine/linkage/linker.h"
#include "engine/linkage/number_marks.h"
#include "engine/linkage/prepared_record.h"
#include "engine/linkage/supersession.h"

namespace empi {

absl::StatusOr<index::StoreCheckReport> CheckLinkedStore(const index::Store& store, index::StoreCheckOptions options) {
  EMPI_ASSIGN_OR_RETURN(const FieldConventions stored, StoredConventions(store));
  EMPI_ASSIGN_OR_RETURN(std::optional<BlockingSettings> blocking, StoredBlocking(store));
  const BlockingRules rules = blocking ? blocking->rules : BlockingRules::Default();
  // Records are indexed under their current NHS numbers.
  EMPI_ASSIGN_OR_RETURN(const NhsSupersessions supersessions, LoadSupersessions(store));
  // The stored conventions first, then the others.
  std::vector<FieldConventions> variants = {stored};
  for (bool nhs : {true, false}) {
    for (PostcodeFormat pc : {PostcodeFormat::kUk, PostcodeFormat::kRaw}) {
      FieldConventions c{nhs, pc};
      if (!(c == stored)) variants.push_back(c);
    }
  }
  options.implied_keys = [&](const Record& r, int variant, index::ImpliedKeys* out) {
    if (variant < 0 || static_cast<size_t>(variant) >= variants.size()) return false;
    out->block_keys.clear();
    out->nhs_key.reset();
    const std::string key = r.Key();
    PreparedRecord p = PrepareRecord(r, variants[static_cast<size_t>(variant)]);
    supersessions.Apply(&p);
    BlockKeys k = ComputeBlockKeys(rules, p);
    for (size_t q = 0; q < rules.rules().size(); ++q) {
      if (k[q] != 0) out->block_keys.push_back(index::BlockKey(rules.rules()[q].id, BlockKeyBytes(k[q]), key));
    }
    if (p.nhs != 0) out->nhs_key = index::NhsIndexKey(p.nhs, key);
    return true;
  };
  EMPI_ASSIGN_OR_RETURN(index::StoreCheckReport report, index::CheckStore(store, options));
  // The NHS index's marks: each the judgement of its number's holders
  // (number_marks.h), once a store's marks have been judged at all.
  EMPI_ASSIGN_OR_RETURN(const std::optional<std::string> pending, store.GetMeta(index::kMetaNhsMarksPending));
  report.nhs_marks_pending = pending.has_value();
  if (report.nhs_marks_pending) return report;
  auto prepare = [&](const Record& r) {
    PreparedRecord p = PrepareRecord(r, stored);
    supersessions.Apply(&p);
    return p;
  };
  auto misjudged = [&](std::string_view key) {
    ++report.violations_total;
    if (report.violations.size() >= options.max_violations) return;
    std::string_view source, id;
    SplitRecordKey(key, &source, &id);
    report.violations.push_back("record " + std::string(source) + "/" + std::string(id) +
                                ": its NHS index mark differs from the judgement of its number's holders");
  };
  EMPI_RETURN_IF_ERROR(ForEachMisjudgedMark(store, prepare, misjudged, &report.nhs_numbers_judged));
  return report;
}

}  // namespace empi
