// Copyright EMPI developers.
//
// Crash test: a child process runs a stream of ingests, merges and
// objections through the engine and writes the id of every acknowledged
// operation to a pipe; the parent kills it with SIGKILL at a random moment,
// reopens the store, and checks that every acknowledged operation is present
// and the invariants hold. 50 cycles on one store. Patients 40-59 arrive
// late (from cycle 26 on), after objection forms (name, date of birth and
// postcode, no NHS number) that must wait for them.
//
// The child is this test binary executed afresh (fork, then exec), told
// what to do by EMPI_CRASH_CHILD. A forked copy of the parent would inherit
// RocksDB's background threads as memory only, with any lock one of them
// held at the instant of the fork held for ever: once in a few hundred
// runs such a child hung while opening the store.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <random>

#include "empi/engine.h"
#include "engine/realtime/engine_internal.h"
#include "gtest/gtest.h"
#include "tests/engine/realtime/test_population.h"
#include "tests/temp_dir.h"

namespace empi {
namespace {

using testing::MakePatients;
using testing::RecordOf;
using testing::TempDir;

enum class OpType : uint32_t { kReady = 0, kIngest = 1, kObject = 2, kMerge = 3, kForm = 4 };
struct Ack {
  OpType type;
  uint32_t cycle;
  uint64_t a, b;  // ingest: record number, patient; object, form: patient; merge: kept, absorbed
};

constexpr int kPatients = 60, kEarlyPatients = 40;
constexpr uint32_t kLateFromCycle = 26;

[[noreturn]] void Child(const std::string& path, int fd, uint32_t cycle) {
  auto engine = Engine::Open({}, path);  // sync = true: acknowledged means durable
  if (!engine.ok()) _exit(2);
  // The parent's random moment starts once the store is open, so that every
  // cycle kills a stream of operations however slow the open (sanitizers).
  const Ack ready{OpType::kReady, cycle, 0, 0};
  if (write(fd, &ready, sizeof ready) != sizeof ready) _exit(6);
  auto patients = MakePatients(kPatients, 7);
  std::mt19937_64 rng(cycle);
  const size_t arrived = cycle >= kLateFromCycle ? kPatients : kEarlyPatients;
  Requester who{"crash", "test", "steward", "testing"};
  for (uint64_t i = 0;; ++i) {
    int kind = static_cast<int>(rng() % 10);
    Ack ack{OpType::kReady, cycle, 0, 0};
    if (kind < 7) {
      const uint64_t pt = rng() % arrived;
      Record r = RecordOf(patients[pt], "RKB", "C" + std::to_string(cycle) + "_" + std::to_string(i), rng() % 2);
      if (!(*engine)->Ingest(r, who).ok()) _exit(3);
      ack = {OpType::kIngest, cycle, i, pt};
    } else if (kind == 7 && cycle < kLateFromCycle) {
      const uint64_t pt = kEarlyPatients + rng() % (kPatients - kEarlyPatients);
      const auto& p = patients[pt];
      auto res = (*engine)->RegisterObjection({"", p.family, p.given, p.dob, p.postcode}, who);
      if (!res.ok() || res->outcome != ObjectionOutcome::kPending) _exit(7);
      ack = {OpType::kForm, cycle, pt, 0};
    } else if (kind < 9) {
      uint64_t pt = rng() % patients.size();
      ObjectionRequest req;
      req.nhs_number = patients[pt].nhs;
      if (!(*engine)->RegisterObjection(req, who).ok()) _exit(4);
      ack = {OpType::kObject, cycle, pt, 0};
    } else {
      // Merge two persons of the same patient, found by NHS number.
      const auto& p = patients[rng() % patients.size()];
      auto keys = StoreOf(engine->get())->RecordsWithNhs(*ParseNhsNumber(p.nhs));
      if (!keys.ok()) _exit(5);
      std::vector<uint64_t> persons;
      for (const auto& k : *keys) {
        auto got = StoreOf(engine->get())->GetRecord(k);
        if (got.ok() && *got && std::find(persons.begin(), persons.end(), (**got).person_id) == persons.end()) {
          persons.push_back((**got).person_id);
        }
      }
      if (persons.size() < 2) continue;
      if (!(*engine)->Merge(persons[0], persons[1], who, "crash test").ok()) continue;
      ack = {OpType::kMerge, cycle, persons[0], persons[1]};
    }
    if (write(fd, &ack, sizeof ack) != sizeof ack) _exit(6);
  }
}

constexpr char kChildVariable[] = "EMPI_CRASH_CHILD";

// Starts the child for `cycle`: this binary again, running only this test,
// with the store, the pipe's write end and the cycle in its environment.
// Everything exec needs is built before the fork.
pid_t StartChild(const std::string& path, int fd, uint32_t cycle) {
  std::vector<std::string> env = {std::string(kChildVariable) + "=" + std::to_string(fd) + " " + std::to_string(cycle) +
                                  " " + path};
  for (char** e = environ; *e != nullptr; ++e) {
    if (!std::string_view(*e).starts_with(kChildVariable)) env.emplace_back(*e);
  }
  std::string self = "/proc/self/exe", filter = "--gtest_filter=RealtimeCrashTest.AcknowledgedOperationsSurviveKill9";
  std::vector<char*> argv = {self.data(), filter.data(), nullptr}, envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int null = open("/dev/null", O_WRONLY);  // the child's test banner
    if (null >= 0) dup2(null, STDOUT_FILENO);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  return pid;
}

// The child's side, when this process was started by StartChild.
void RunChildIfAsked() {
  const char* asked = std::getenv(kChildVariable);
  if (asked == nullptr) return;
  int fd = -1;
  uint32_t cycle = 0;
  int consumed = 0;
  if (std::sscanf(asked, "%d %u %n", &fd, &cycle, &consumed) != 2) _exit(8);
  Child(asked + consumed, fd, cycle);
}

TEST(RealtimeCrashTest, AcknowledgedOperationsSurviveKill9) {
  RunChildIfAsked();
  TempDir dir;
  auto patients = MakePatients(kPatients, 7);
  std::mt19937_64 rng(12345);
  std::vector<Ack> acked;
  constexpr int kCycles = 50;
  size_t forms = 0;
  for (uint32_t cycle = 1; cycle <= kCycles; ++cycle) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = StartChild(dir.path(), fds[1], cycle);
    ASSERT_GE(pid, 0);
    close(fds[1]);
    // Opening a store after a kill takes well under a second; two minutes
    // without a word is a hang, reported as one rather than waited out.
    pollfd ready{fds[0], POLLIN, 0};
    if (poll(&ready, 1, 120'000) != 1) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      FAIL() << "cycle " << cycle << ": the child did not open the store within two minutes";
    }
    Ack ack;
    ASSERT_EQ(read(fds[0], &ack, sizeof ack), static_cast<ssize_t>(sizeof ack)) << "child died opening the store";
    ASSERT_EQ(ack.type, OpType::kReady);
    usleep(static_cast<useconds_t>(30'000 + rng() % 150'000));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);
    while (read(fds[0], &ack, sizeof ack) == sizeof ack) acked.push_back(ack);
    close(fds[0]);

    auto engine = Engine::Open({}, dir.path());
    ASSERT_TRUE(engine.ok()) << engine.status();
    index::Store* store = StoreOf(engine->get());
    testing::CheckMembership(store);
    uint64_t events = 0;
    ASSERT_TRUE(store->VerifyAuditChain(&events).ok());
    absl::flat_hash_set<uint64_t> objected, by_form;
    std::vector<std::pair<std::string, uint64_t>> ingested;  // record key, patient
    for (const Ack& a : acked) {
      if (a.type == OpType::kForm) by_form.insert(a.a);
      if (a.type == OpType::kIngest) {
        Record r;
        r.source = "RKB";
        r.record_id = "C" + std::to_string(a.cycle) + "_" + std::to_string(a.a);
        auto got = store->GetRecord(r.Key());
        ASSERT_TRUE(got.ok() && got->has_value()) << "acknowledged ingest lost: " << r.record_id;
        ingested.emplace_back(r.Key(), a.b);
      } else if (a.type == OpType::kObject) {
        objected.insert(a.a);
      } else if (a.type == OpType::kMerge) {
        auto absorbed = store->GetPerson(a.b);
        ASSERT_TRUE(absorbed.ok());
        bool found_event = false;
        ASSERT_TRUE(store
                        ->ForEachHistory(a.a,
                                         [&](uint64_t, std::string_view json) {
                                           found_event |= json.find("\"event\":\"merge\"") != std::string_view::npos;
                                           return true;
                                         })
                        .ok());
        EXPECT_TRUE(found_event) << "acknowledged merge lost";
      }
    }
    // Every objecting patient's NHS number is either pending or held only by
    // objecting persons.
    for (uint64_t pt : objected) {
      auto keys = store->RecordsWithNhs(*ParseNhsNumber(patients[pt].nhs));
      ASSERT_TRUE(keys.ok());
      for (const auto& k : *keys) {
        auto got = store->GetRecord(k);
        auto pv = store->GetPerson((**got).person_id);
        ASSERT_TRUE(pv.ok() && pv->has_value());
        EXPECT_TRUE((**pv).objection) << "acknowledged objection lost for patient " << pt;
      }
    }
    // A form acknowledged pending covers every record of its patient that
    // arrived after it, with or without the NHS number.
    for (const auto& [key, pt] : ingested) {
      if (!by_form.contains(pt)) continue;
      auto got = store->GetRecord(key);
      auto pv = store->GetPerson((**got).person_id);
      ASSERT_TRUE(pv.ok() && pv->has_value());
      EXPECT_TRUE((**pv).objection || (**pv).objection_in_review)
          << "acknowledged pending form lost for patient " << pt;
    }
    forms = by_form.size();
    if (HasFailure()) return;
  }
  EXPECT_GT(forms, 0u) << "no form was acknowledged pending";
  std::printf("acknowledged operations: %zu\n", acked.size());
  EXPECT_GT(acked.size(), 50u) << "the child should have acknowledged operations";
}

}  // namespace
}  // namespace empi
