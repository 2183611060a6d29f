// Copyright EMPI developers.
//
// The C interface (empi/c.h) end to end on a real store: open, ingest,
// resolve, view decision, search, objections, the steward's queue and
// actions, batch linking, and the error string convention.
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "empi/c.h"
#include "engine/linkage/model.h"
#include "gtest/gtest.h"
#include "index/store.h"
#include "nlohmann/json.hpp"
#include "tests/temp_dir.h"

namespace {

using empi::testing::TempDir;

// A record of one patient, from `source`.
empi_record_t* Patient(const char* source, const char* record_id) {
  empi_record_t* r = empi_record_create();
  char* err = nullptr;
  for (auto [field, value] :
       {std::pair{"source", source}, std::pair{"record_id", record_id}, std::pair{"nhs_number", "9434765919"},
        std::pair{"family_name", "Nowak"}, std::pair{"given_names", "Anna Maria"},
        std::pair{"date_of_birth", "1984-03-07"}, std::pair{"sex", "F"}, std::pair{"postcode", "CV1 2AB"}}) {
    EXPECT_EQ(empi_record_set(r, field, value, &err), 1);
  }
  EXPECT_EQ(err, nullptr);
  return r;
}

class CApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_ = empi_options_create();
    empi_options_set_today(options_, "2026-01-01");
    empi_options_set_sync(options_, 0);
    who_ = empi_requester_create("dr.jones", "RKB", "clinician", "direct-care");
    engine_ = empi_open(options_, (dir_.path() + "/db").c_str(), &err_);
    ASSERT_EQ(err_, nullptr) << err_;
    ASSERT_NE(engine_, nullptr);
  }
  void TearDown() override {
    empi_close(engine_);
    empi_requester_destroy(who_);
    empi_options_destroy(options_);
    empi_free(err_);
  }

  TempDir dir_;
  empi_options_t* options_ = nullptr;
  empi_requester_t* who_ = nullptr;
  empi_engine_t* engine_ = nullptr;
  char* err_ = nullptr;
};

TEST_F(CApiTest, IngestResolveDecideSearchObject) {
  empi_record_t* gp = Patient("M84001", "G1");
  empi_record_t* acute = Patient("RKB", "K1");
  const char* outcome = nullptr;
  uint64_t p1 = empi_ingest(engine_, gp, who_, &outcome, &err_);
  ASSERT_EQ(err_, nullptr) << err_;
  EXPECT_STREQ(outcome, "new person");
  uint64_t p2 = empi_ingest(engine_, acute, who_, &outcome, &err_);
  ASSERT_EQ(err_, nullptr) << err_;
  EXPECT_STREQ(outcome, "linked");
  EXPECT_EQ(p1, p2);
  empi_record_destroy(gp);
  empi_record_destroy(acute);

  empi_resolution_t* r = empi_resolve(engine_, "RKB", "K1", who_, &err_);
  ASSERT_NE(r, nullptr) << err_;
  EXPECT_EQ(empi_resolution_person_id(r), p1);
  ASSERT_EQ(empi_resolution_record_count(r), 2u);
  EXPECT_EQ(empi_resolution_record_source(r, 2), nullptr);
  EXPECT_EQ(empi_resolution_objection(r), 0);
  empi_resolution_destroy(r);

  r = empi_resolve_nhs_number(engine_, "9434765919", who_, &err_);
  ASSERT_NE(r, nullptr) << err_;
  EXPECT_EQ(empi_resolution_person_id(r), p1);
  const uint64_t at = empi_resolution_at_change(r);
  empi_resolution_destroy(r);
  // As of the first change, only the GP record held the number.
  r = empi_resolve_nhs_number_as_of(engine_, "9434765919", 1, 0, who_, &err_);
  ASSERT_NE(r, nullptr) << err_;
  EXPECT_EQ(empi_resolution_person_id(r), p1);
  EXPECT_EQ(empi_resolution_record_count(r), 1u);
  EXPECT_EQ(empi_resolution_at_change(r), 1u);
  empi_resolution_destroy(r);
  EXPECT_EQ(empi_resolve_nhs_number_as_of(engine_, "9434765919", at + 1, 0, who_, &err_), nullptr);
  ASSERT_NE(err_, nullptr);
  EXPECT_NE(std::string(err_).find("after the last change"), std::string::npos) << err_;
  empi_free(err_);
  err_ = nullptr;

  // Not found: NULL and no error.
  EXPECT_EQ(empi_resolve(engine_, "RKB", "nobody", who_, &err_), nullptr);
  EXPECT_EQ(err_, nullptr);

  char* reason = nullptr;
  empi_may_assemble_view(engine_, p1, who_, &reason, &err_);
  ASSERT_EQ(err_, nullptr) << err_;
  ASSERT_NE(reason, nullptr);
  EXPECT_STRNE(reason, "objection");
  EXPECT_EQ(empi_may_assemble_view(engine_, 999999, who_, &reason, &err_), 0);
  EXPECT_STREQ(reason, "not found");

  empi_candidates_t* c =
      empi_search(engine_, nullptr, "Nowak", "Anna", "1984-03-07", "CV1 2AB", nullptr, who_, 5, &err_);
  ASSERT_NE(c, nullptr) << err_;
  ASSERT_GE(empi_candidates_count(c), 1u);
  EXPECT_EQ(empi_candidates_person_id(c, 0), p1);
  EXPECT_GT(empi_candidates_match_probability(c, 0), 0.5);
  EXPECT_STREQ(empi_candidates_grade(c, 0), "certain");
  EXPECT_EQ(empi_candidates_grade(c, 99), nullptr);
  empi_candidates_destroy(c);

  empi_objection_t* form = empi_objection_create();
  ASSERT_EQ(empi_objection_set(form, "nhs_number", "9434765919", &err_), 1);
  ASSERT_EQ(empi_objection_set(form, "method", "letter", &err_), 1);
  EXPECT_EQ(empi_register_objection(engine_, form, who_, nullptr, &err_), EMPI_OBJECTION_APPLIED);
  ASSERT_EQ(err_, nullptr) << err_;
  EXPECT_EQ(empi_may_assemble_view_for_record(engine_, "M84001", "G1", who_, &reason, &err_), 0);
  EXPECT_STREQ(reason, "objection");
  r = empi_resolve(engine_, "M84001", "G1", who_, &err_);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(empi_resolution_objection(r), 1);
  empi_resolution_destroy(r);
  EXPECT_EQ(empi_withdraw_objection(engine_, form, who_, nullptr, &err_), EMPI_OBJECTION_APPLIED);
  empi_may_assemble_view(engine_, p1, who_, &reason, &err_);
  ASSERT_EQ(err_, nullptr) << err_;
  EXPECT_STRNE(reason, "objection");
  empi_objection_destroy(form);
  empi_free(reason);
}

// Anna's twin: her name, date of birth and postcode under another NHS
// number, so another person in review with hers.
empi_record_t* Twin(const char* source, const char* record_id) {
  empi_record_t* r = Patient(source, record_id);
  char* err = nullptr;
  EXPECT_EQ(empi_record_set(r, "nhs_number", "4010232137", &err), 1);
  return r;
}

TEST_F(CApiTest, StewardReadsTheQueueMergesUnmergesSplitsAndMarksNeverLink) {
  empi_requester_t* steward = empi_requester_create("ms.steward", "X26", "steward", "data-quality");
  uint64_t anna = 0, twin = 0;
  for (auto [make, source, id, out] :
       {std::tuple{&Patient, "M84001", "G1", &anna}, std::tuple{&Patient, "RKB", "K1", &anna},
        std::tuple{&Twin, "RYA", "B1", &twin}}) {
    empi_record_t* r = make(source, id);
    *out = empi_ingest(engine_, r, who_, nullptr, &err_);
    ASSERT_EQ(err_, nullptr) << err_;
    empi_record_destroy(r);
  }
  ASSERT_NE(anna, twin);

  // The queue: the twin's record beside one of Anna's, one pair per pair of persons.
  empi_review_page_t* page = empi_review_queue(engine_, 10, nullptr, steward, &err_);
  ASSERT_NE(page, nullptr) << err_;
  ASSERT_EQ(empi_review_page_count(page), 1u);
  EXPECT_STREQ(empi_review_page_next_cursor(page), "");
  std::set<uint64_t> persons = {empi_review_page_person_id(page, 0, 0), empi_review_page_person_id(page, 0, 1)};
  EXPECT_EQ(persons, (std::set<uint64_t>{anna, twin}));
  std::set<std::string> sources = {empi_review_page_source(page, 0, 0), empi_review_page_source(page, 0, 1)};
  EXPECT_TRUE(sources.count("RYA")) << *sources.begin();
  EXPECT_NE(empi_review_page_reason(page, 0), nullptr);
  EXPECT_GT(empi_review_page_match_probability(page, 0), 0.0);
  EXPECT_EQ(empi_review_page_source(page, 0, 2), nullptr);
  EXPECT_EQ(empi_review_page_record_id(page, 1, 0), nullptr);
  EXPECT_EQ(empi_review_page_person_id(page, 1, 0), 0u);
  EXPECT_EQ(empi_review_page_reason(page, 1), nullptr);
  empi_review_page_destroy(page);
  EXPECT_EQ(empi_review_queue(engine_, 0, nullptr, steward, &err_), nullptr);
  ASSERT_NE(err_, nullptr);
  EXPECT_EQ(std::string(err_).rfind("INVALID_ARGUMENT: ", 0), 0u) << err_;
  empi_free(err_);
  err_ = nullptr;

  // Merge, and the merge undone.
  const uint64_t merge = empi_merge(engine_, anna, twin, steward, "same patient: checked with the GP", &err_);
  ASSERT_NE(merge, 0u) << err_;
  empi_resolution_t* r = empi_resolve(engine_, "RYA", "B1", who_, &err_);
  ASSERT_NE(r, nullptr) << err_;
  EXPECT_EQ(empi_resolution_person_id(r), anna);
  empi_resolution_destroy(r);
  EXPECT_EQ(empi_unmerge(engine_, anna, merge, steward, &err_), twin) << err_;
  EXPECT_EQ(empi_merge(engine_, anna, anna, steward, nullptr, &err_), 0u);
  ASSERT_NE(err_, nullptr);
  EXPECT_EQ(std::string(err_).rfind("INVALID_ARGUMENT: ", 0), 0u) << err_;
  empi_free(err_);
  err_ = nullptr;

  // Never link the twins' records; then a merge of their persons is refused.
  EXPECT_EQ(empi_never_link(engine_, "RKB", "K1", "RYA", "B1", steward, "twins", &err_), 1) << err_;
  EXPECT_EQ(empi_merge(engine_, anna, twin, steward, nullptr, &err_), 0u);
  ASSERT_NE(err_, nullptr);
  EXPECT_EQ(std::string(err_).rfind("FAILED_PRECONDITION: ", 0), 0u) << err_;
  empi_free(err_);
  err_ = nullptr;

  // Split the hospital's record off Anna.
  const char* split_sources[] = {"RKB"};
  const char* split_ids[] = {"K1"};
  const uint64_t split = empi_split(engine_, anna, split_sources, split_ids, 1, steward, "another patient", &err_);
  ASSERT_NE(split, 0u) << err_;
  EXPECT_NE(split, anna);
  r = empi_resolve(engine_, "RKB", "K1", who_, &err_);
  ASSERT_NE(r, nullptr) << err_;
  EXPECT_EQ(empi_resolution_person_id(r), split);
  empi_resolution_destroy(r);

  // Anna's history: her links, the merge, the unmerge, the mark and the split, in order.
  char* history = empi_history_json(engine_, anna, steward, &err_);
  ASSERT_NE(history, nullptr) << err_;
  const nlohmann::json h = nlohmann::json::parse(history);
  empi_free(history);
  std::vector<std::string> events;
  uint64_t last = 0;
  for (const nlohmann::json& e : h) {
    EXPECT_GT(e["sequence"].get<uint64_t>(), last);
    last = e["sequence"];
    events.push_back(e["event"]["event"]);
  }
  EXPECT_EQ(events, (std::vector<std::string>{"link", "link", "merge", "unmerge", "never-link", "split"})) << h.dump();
  EXPECT_EQ(h[2]["sequence"], merge);
  history = empi_history_json(engine_, 999999, steward, &err_);  // no such person: no history
  ASSERT_NE(history, nullptr) << err_;
  EXPECT_STREQ(history, "[]");
  empi_free(history);
  empi_requester_destroy(steward);
}

TEST_F(CApiTest, ErrorsAreStringsWithTheStatusCode) {
  empi_record_t* r = empi_record_create();
  EXPECT_EQ(empi_record_set(r, "favourite_colour", "blue", &err_), 0);
  ASSERT_NE(err_, nullptr);
  EXPECT_EQ(std::string(err_).rfind("INVALID_ARGUMENT: ", 0), 0u) << err_;
  // A second error replaces (and frees) the first.
  EXPECT_EQ(empi_ingest(engine_, r, who_, nullptr, &err_), 0u);  // empty key
  ASSERT_NE(err_, nullptr);
  EXPECT_NE(std::string(err_).find("source and record_id"), std::string::npos) << err_;
  empi_record_destroy(r);
  empi_free(err_);
  err_ = nullptr;

  empi_objection_t* form = empi_objection_create();
  EXPECT_EQ(empi_objection_set(form, "method", "pigeon", &err_), 0);
  ASSERT_NE(err_, nullptr);
  empi_free(err_);
  err_ = nullptr;
  EXPECT_EQ(empi_register_objection(engine_, form, who_, nullptr, &err_), -1);  // nothing identifies the patient
  EXPECT_NE(err_, nullptr);
  empi_objection_destroy(form);
  empi_free(err_);
  err_ = nullptr;

  // The store is held by this engine: a second open fails.
  char* second = nullptr;
  EXPECT_EQ(empi_open(options_, (dir_.path() + "/db").c_str(), &second), nullptr);
  EXPECT_NE(second, nullptr);
  empi_free(second);
}

void CountProgress(void* arg, const char* stage, uint64_t, uint64_t) {
  if (std::strcmp(stage, "read feeds") == 0) ++*static_cast<int*>(arg);
}

TEST(CApiLinkTest, LinksFeedsAndReportsTheSummary) {
  TempDir dir;
  const std::string feed = dir.path() + "/feed.csv";
  std::ofstream(feed) << "source,record_id,nhs_number,family_name,given_names,date_of_birth,sex,postcode,address\n"
                      << "M84001,G1,9434765919,Nowak,Anna,1984-03-07,F,CV1 2AB,\n"
                      << "RKB,K1,9434765919,Nowak,Anna,1984-03-07,F,CV1 2AB,\n"
                      << "RKB,K2,,Smith,John,1950-11-30,M,CV3 4DE,\n";
  empi_link_options_t* options = empi_link_options_create();
  char* err = nullptr;
  ASSERT_EQ(empi_link_options_set(options, "date_format", "iso", &err), 1);
  EXPECT_EQ(empi_link_options_set(options, "colour", "x", &err), 0);
  ASSERT_NE(err, nullptr);
  empi_free(err);
  err = nullptr;
  const char* feeds[] = {feed.c_str()};
  int calls = 0;
  const std::string db = dir.path() + "/db";
  empi_link_summary_t* s = empi_link_feeds(options, db.c_str(), feeds, 1, CountProgress, &calls, &err);
  ASSERT_NE(s, nullptr) << err;
  unsigned char found = 0;
  EXPECT_EQ(empi_link_summary_get(s, "records_read", &found), 3u);
  EXPECT_EQ(found, 1);
  EXPECT_EQ(empi_link_summary_get(s, "records_total", nullptr), 3u);
  // Two patients; whether a model estimated from three records links the
  // pair is the linker's business (tests/engine/linkage/).
  const uint64_t persons = empi_link_summary_get(s, "persons_total", nullptr);
  EXPECT_GE(persons, 2u);
  EXPECT_LE(persons, 3u);
  EXPECT_EQ(empi_link_summary_get(s, "no_such_count", &found), 0u);
  EXPECT_EQ(found, 0);
  EXPECT_GE(calls, 2);
  empi_link_summary_destroy(s);

  const char* missing[] = {"/nonexistent/feed.csv"};
  EXPECT_EQ(empi_link_feeds(nullptr, db.c_str(), missing, 1, nullptr, nullptr, &err), nullptr);
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(std::string(err).rfind("NOT_FOUND: ", 0), 0u) << err;
  empi_free(err);
  empi_link_options_destroy(options);

  // Three records are too few for a trusted model: a relink is refused,
  // naming why; a store that does not exist is NOT_FOUND.
  err = nullptr;
  EXPECT_EQ(empi_relink(db.c_str(), 0, 1, nullptr, nullptr, nullptr, &err), nullptr);
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(std::string(err).rfind("FAILED_PRECONDITION: ", 0), 0u) << err;
  EXPECT_NE(std::string(err).find("no trusted model"), std::string::npos) << err;
  empi_free(err);
  err = nullptr;
  EXPECT_EQ(empi_relink((dir.path() + "/none").c_str(), 0, 0, nullptr, nullptr, nullptr, &err), nullptr);
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(std::string(err).rfind("NOT_FOUND: ", 0), 0u) << err;
  empi_free(err);
  err = nullptr;

  // With a model the store trusts (the informed priors, imported), the
  // store relinks to itself: the three records scored again, none moved.
  {
    empi::index::StoreOptions o;
    o.create_if_missing = false;
    auto store = empi::index::Store::Open(db, o);
    ASSERT_TRUE(store.ok()) << store.status();
    empi::Model m = empi::Model::Informed();
    m.provenance.origin = "imported";
    empi::index::ChangeSet cs = (*store)->NewChangeSet();
    cs.PutModel(m.ToJson().dump());
    ASSERT_TRUE((*store)->Commit(&cs, nullptr, true).ok());
  }
  empi_requester_t* who = empi_requester_create("c-relink", "local", "operator", "operations");
  empi_relink_summary_t* r = empi_relink(db.c_str(), 0, 0, who, nullptr, nullptr, &err);
  ASSERT_NE(r, nullptr) << err;
  EXPECT_EQ(empi_relink_summary_get(r, "records", &found), 3u);
  EXPECT_EQ(found, 1);
  EXPECT_EQ(empi_relink_summary_get(r, "moves", nullptr), 0u);
  EXPECT_EQ(empi_relink_summary_get(r, "persons_after", nullptr),
            empi_relink_summary_get(r, "persons_before", nullptr));
  EXPECT_EQ(empi_relink_summary_move(r, 0, nullptr, nullptr, nullptr, nullptr), 0);
  empi_relink_summary_destroy(r);
  empi_requester_destroy(who);
}

}  // namespace
