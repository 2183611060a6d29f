// Copyright EMPI developers.
#include "engine/linkage/store_events.h"

#include <gtest/gtest.h>

#include "empi/record.h"

namespace empi {
namespace {

TEST(StoreEventsTest, AuditEventNamesTheRequesterAndItsIds) {
  Requester who{"dr.jones", "RKB", "clinician", "direct-care"};
  const int64_t before = NowUs();
  index::AuditEvent e = AuditEventFor(who, "resolve");
  EXPECT_GE(e.time_us, before);
  EXPECT_LE(e.time_us, NowUs());
  EXPECT_EQ(e.requester, "dr.jones");
  EXPECT_EQ(e.organisation, "RKB");
  EXPECT_EQ(e.role, "clinician");
  EXPECT_EQ(e.purpose, "direct-care");
  EXPECT_EQ(e.action, "resolve");

  EXPECT_EQ(e.request_id, "");
  EXPECT_EQ(e.correlation_id, "");

  who.request_id = "r-1";
  who.correlation_id = "c-2";
  const index::AuditEvent ids = AuditEventFor(who, "x");
  EXPECT_EQ(ids.purpose, "direct-care");
  EXPECT_EQ(ids.request_id, "r-1");
  EXPECT_EQ(ids.correlation_id, "c-2");
}

TEST(StoreEventsTest, RecordsJsonSplitsKeysInTheirOrder) {
  Record a, b;
  a.source = "RKB";
  a.record_id = "K1";
  b.source = "GP,1";  // a source with a separator-like byte stays whole
  b.record_id = "7";
  const nlohmann::json j = RecordsJson({b.Key(), a.Key()});
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["source"], "GP,1");
  EXPECT_EQ(j[0]["record_id"], "7");
  EXPECT_EQ(j[1]["source"], "RKB");
  EXPECT_EQ(j[1]["record_id"], "K1");
  EXPECT_TRUE(RecordsJson({}).is_array());
  EXPECT_TRUE(RecordsJson({}).empty());
}

}  // namespace
}  // namespace empi
