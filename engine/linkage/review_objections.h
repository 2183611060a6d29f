// Copyright EMPI developers.
//
// review_objections.h: an objection holds while there is doubt. Engine
// policy over the store's PersonValue::objection_in_review: every writer
// (batch link, relink, the real-time engine) applies it through here.
//
// A review pair says the engine could not decide whether two records are
// one patient. When one of them belongs to a person who objected, the other
// person may hold records of the objecting patient, so the objection covers
// them too until a steward decides: a merge brings the objection with it, a
// never-link (or a split that ends the pair) lifts it. PersonValue's
// objection_in_review is that rule, kept in the store so that a resolution
// reads it with the person value:
//
//   objection_in_review(P) = some record of P is in a review pair with a
//                            record of another person Q, and Q objected.
//
// Only a person's own objection spreads: an objection held through review
// does not spread again.
//
// A writer changing records, review pairs or objections marks the flags
// dirty (index::kMetaReviewObjectionsDirty) in its change, then brings them
// up to date. A batch writer puts the marker empty, "every flag", and its
// caller runs RecomputeReviewObjectionsIfDirty. A writer that knows the
// persons it touched calls MarkReviewObjectionsDirty, commits, then calls
// UpdateReviewObjections with those persons, as one writer (the caller
// serialises writes). A crash between the two leaves the marker; the next
// read-write open of the engine recomputes every flag. A marker left by an
// earlier change is never taken for the present one's: the present change
// then recomputes every flag.
#ifndef EMPI_ENGINE_LINKAGE_REVIEW_OBJECTIONS_H_
#define EMPI_ENGINE_LINKAGE_REVIEW_OBJECTIONS_H_

#include <cstdint>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "index/store.h"

namespace empi {

// Puts the marker in `cs`, the change about to be committed: "persons"
// (only the persons this change touches are stale) when the store has no
// marker, otherwise empty (every flag: an earlier change's are stale too).
absl::Status MarkReviewObjectionsDirty(const index::Store& store, index::ChangeSet* cs);

// After a change marked by MarkReviewObjectionsDirty: sets the flag of
// `persons` and of every person now in review with one of them as the
// store now is, and deletes the marker, in one commit. When the marker
// says every flag is stale, recomputes every flag instead
// (RecomputeReviewObjections).
absl::Status UpdateReviewObjections(index::Store* store, const absl::flat_hash_set<uint64_t>& persons);

// Sets every person's flag from all review pairs and deletes the marker.
// Returns how many flags changed.
absl::StatusOr<uint64_t> RecomputeReviewObjections(index::Store* store);

// Runs RecomputeReviewObjections when the marker is present.
absl::Status RecomputeReviewObjectionsIfDirty(index::Store* store);

}  // namespace empi

#endif  // EMPI_ENGINE_LINKAGE_REVIEW_OBJECTIONS_H_
