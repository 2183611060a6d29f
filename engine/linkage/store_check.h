// Copyright EMPI developers.
//
// store_check.h: CheckLinkedStore, index::CheckStore (index/store_check.h) with the block_keys
// and nhs_index entries checked too: the keys each record implies are
// recomputed under the database's stored blocking rules (StoredBlocking)
// and field conventions (StoredConventions); when those keys are not all
// present, the other field conventions are tried, because a feed mapping's
// own conventions may have written them (linker.h). What `empi check` runs.
//
//   EMPI_ASSIGN_OR_RETURN(index::StoreCheckReport r, CheckLinkedStore(*store, {}));
//
// Thread-safety: as index::CheckStore; reads only.
#ifndef EMPI_LINKAGE_STORE_CHECK_H_
#define EMPI_LINKAGE_STORE_CHECK_H_

#include "absl/status/statusor.h"
#include "index/store.h"
#include "index/store_check.h"

namespace empi {

// `options.implied_keys` is replaced. DataLoss if the stored blocking
// settings do not decode.
absl::StatusOr<index::StoreCheckReport> CheckLinkedStore(const index::Store& store, index::StoreCheckOptions options);

}  // namespace empi

#endif  // EMPI_LINKAGE_STORE_CHECK_H_
