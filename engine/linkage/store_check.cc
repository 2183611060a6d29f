// Copyright EMPI developers.
#include "engine/linkage/store_check.h"

#include <vector>

#include "empi/status_macros.h"
#include "engine/linkage/blocking.h"
#include "engine/linkage/linker.h"
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
  return index::CheckStore(store, options);
}

}  // namespace empi
