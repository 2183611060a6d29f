// Copyright EMPI developers.
//
// relink.h: every stored record scored and clustered again, person ids
// kept (empi::Relink in empi/link.h is the public call); or only the
// records of some persons, as `empi link` revisits its neighbourhood.
//
// RelinkStore reads every record, blocks, compares and scores them with
// the stored model (or one estimated again), clusters them as one link of
// all of them would (clustering.h), then maps the new groups onto the
// stored persons: a person's id goes to the group holding the largest
// share of its records (ties to the lower id), persons a steward merged,
// split or unmerged first and kept whole; groups left over get new ids and
// persons left over are removed. Every record whose person changes moves
// in one synced write with its history, change-feed entries, the rebuilt
// review queue and one audit event.
//
// Thread-safety: one run per store at a time (the caller holds the store);
// scoring uses the TBB pool.
#ifndef EMPI_LINKAGE_RELINK_H_
#define EMPI_LINKAGE_RELINK_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "empi/link.h"
#include "index/store.h"

namespace empi {

// With `scope`, only the records of those persons are read, scored,
// clustered and moved: the revisit after a link of its stored neighbours
// (LinkSummary::revisit_persons). Pairs with records outside the scope are
// not compared, review pairs with one outside are kept, and no model is
// estimated (FailedPrecondition unless the stored one is trusted).
// Either deletes kMetaRevisitPending; without `scope`, kMetaUnrevisitedFrom
// too (every record was revisited).
absl::StatusOr<RelinkSummary> RelinkStore(index::Store* store, const RelinkOptions& options,
                                          const LinkProgress& progress,
                                          const absl::flat_hash_set<uint64_t>* scope = nullptr);

// Person ids for the groups of a clustering. `group[i]` is record i's
// group (any ids below group.size()), `old_person[i]` its stored person.
// Pinned persons are placed first, then (group, person) by records shared,
// most first; on a tie, by shared records that carry an NHS number of
// their own (`numbered[i]`; empty: none), most first, so that a person
// split in two halves keeps its id with the half its number resolves to
// (twins Mary, numbered, and Marie, not); then persons by lower id. Each
// person and each group is used once. Returns each group's person id, 0
// for a group that needs a new one.
std::vector<uint64_t> KeepPersonIds(const std::vector<uint32_t>& group, const std::vector<uint64_t>& old_person,
                                    const absl::flat_hash_set<uint64_t>& pinned,
                                    const std::vector<bool>& numbered = {});

}  // namespace empi

#endif  // EMPI_LINKAGE_RELINK_H_
