// Copyright EMPI developers.
//
// feed_invariants.h: what every ReadFeedText result promises
// (engine/feed/feed_reader.h), checked by the feed fuzz targets.
#ifndef EMPI_TESTS_FUZZ_FEED_INVARIANTS_H_
#define EMPI_TESTS_FUZZ_FEED_INVARIANTS_H_

#include "absl/status/statusor.h"
#include "engine/feed/feed_reader.h"
#include "tests/fuzz/fuzz_check.h"

namespace empi::fuzz {

inline void CheckFeedResult(const absl::StatusOr<FeedResult>& feed) {
  if (!feed.ok()) {
    FUZZ_CHECK(!feed.status().message().empty());
    return;
  }
  // Every data row is either accepted or quarantined, and counted once.
  FUZZ_CHECK(feed->records.size() == feed->stats.accepted);
  FUZZ_CHECK(feed->lines.size() == feed->records.size());
  FUZZ_CHECK(feed->quarantined.size() == feed->stats.quarantined);
  FUZZ_CHECK(feed->stats.rows == feed->stats.accepted + feed->stats.quarantined);
  for (size_t i = 0; i < feed->lines.size(); ++i) {
    FUZZ_CHECK(feed->lines[i] >= 2);  // line 1 is the header
    if (i > 0) FUZZ_CHECK(feed->lines[i] > feed->lines[i - 1]);
    FUZZ_CHECK(!feed->records[i].record_id.empty());
    FUZZ_CHECK(!feed->records[i].source.empty());
  }
  for (const QuarantinedRow& q : feed->quarantined) {
    FUZZ_CHECK(q.line >= 2);
    FUZZ_CHECK(!q.reason.empty());
  }
}

}  // namespace empi::fuzz

#endif  // EMPI_TESTS_FUZZ_FEED_INVARIANTS_H_
