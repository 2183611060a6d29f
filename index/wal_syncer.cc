// Copyright EMPI developers.
#include "index/wal_syncer.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"

namespace empi::index {
namespace {

// Asks the scheduler for a short slice for the calling thread (Linux's
// EEVDF scheduler, 6.12 and later: a task with a shorter slice preempts the
// running one when it wakes). Keeps the thread's policy and nice value.
// Best effort: older kernels reject it and nothing changes.
void RequestShortSlice() {
#if defined(__linux__) && defined(SYS_sched_setattr)
  struct {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
  } attr{};
  attr.size = sizeof attr;
  attr.policy = 0;  // SCHED_OTHER
  errno = 0;
  const int nice = ::getpriority(PRIO_PROCESS, 0);
  if (errno != 0) return;
  attr.nice = nice;
  attr.runtime = 100'000;  // ns; the kernel's default slice is 0.7-3 ms
  (void)::syscall(SYS_sched_setattr, 0, &attr, 0);
#endif
}

}  // namespace

WalSyncer::WalSyncer(rocksdb::DB* db)
    : WalSyncer([db]() -> absl::Status {
        const rocksdb::Status s = db->SyncWAL();
        if (s.ok()) return absl::OkStatus();
        return absl::UnavailableError(s.ToString());
      }) {}

WalSyncer::WalSyncer(std::function<absl::Status()> sync) : sync_(std::move(sync)), thread_([this] { Run(); }) {}

WalSyncer::~WalSyncer() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

absl::Status WalSyncer::Sync() {
  absl::MutexLock lock(&mu_);
  struct Waiter {
    const WalSyncer* syncer;
    uint64_t ticket;
    bool Done() const ABSL_NO_THREAD_SAFETY_ANALYSIS { return syncer->done_ >= ticket || !syncer->failure_.ok(); }
  } waiter{this, ++requested_};
  mu_.Await(absl::Condition(&waiter, &Waiter::Done));
  return failure_;
}

uint64_t WalSyncer::syncs() const {
  absl::MutexLock lock(&mu_);
  return syncs_;
}

void WalSyncer::Run() {
  RequestShortSlice();
  absl::MutexLock lock(&mu_);
  while (true) {
    mu_.Await(absl::Condition(
        +[](WalSyncer* w) ABSL_NO_THREAD_SAFETY_ANALYSIS { return w->stop_ || w->requested_ > w->done_; }, this));
    if (requested_ == done_ && stop_) return;
    // Every ticket handed out so far was for a write already in the WAL.
    const uint64_t target = requested_;
    mu_.Unlock();
    const absl::Status s = sync_();
    mu_.Lock();
    ++syncs_;
    if (!s.ok()) {
      failure_ = absl::Status(s.code(), absl::StrCat("sync of the write-ahead log failed: ", s.message()));
      // Fail every waiter, now and later.
      done_ = requested_;
      if (stop_) return;
      continue;
    }
    done_ = target;
  }
}

}  // namespace empi::index
