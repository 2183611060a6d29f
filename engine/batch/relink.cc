// Copyright EMPI developers.
//
// Relink (empi/link.h): the store opened, relinked in one write
// (engine/linkage/relink.h), and the objection-in-review flags brought up
// to date with the rebuilt review queue (a crash between the two leaves
// them marked out of date, which the next open of the store finishes).
#include "engine/linkage/relink.h"

#include <memory>

#include "empi/link.h"
#include "empi/status_macros.h"
#include "engine/linkage/review_objections.h"
#include "index/store.h"

namespace empi {

absl::StatusOr<RelinkSummary> Relink(const RelinkOptions& options, const std::string& db_path,
                                     const LinkProgress& progress) {
  index::StoreOptions store_options;
  store_options.create_if_missing = false;
  EMPI_ASSIGN_OR_RETURN(std::unique_ptr<index::Store> store, index::Store::Open(db_path, store_options));
  EMPI_ASSIGN_OR_RETURN(RelinkSummary summary, RelinkStore(store.get(), options, progress));
  if (summary.applied) EMPI_RETURN_IF_ERROR(RecomputeReviewObjectionsIfDirty(store.get()));
  return summary;
}

}  // namespace empi
