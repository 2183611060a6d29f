// Copyright EMPI developers.
//
// WalSyncer: makes a RocksDB write-ahead log durable on a thread of its own.
//
// Why a thread: a WAL sync on ext4 sleeps three times (data writeback, the
// inode's new size, the disk's cache flush), and each time the syncing
// thread wakes it must get a core back. A caller that has just spent its
// share of a core matching a record waits behind busy readers after every
// one of those wake-ups (docs/benchmarks.md, session 8). The syncer thread
// uses almost no CPU, so the scheduler runs it as soon as it wakes; it asks
// for a short time slice as well (Linux 6.12+, sched_setattr's
// sched_runtime, no privilege needed; ignored elsewhere), so it preempts a
// busy reader instead of waiting for the reader's slice to end. The caller
// then sleeps once, until its sync is done.
//
// Concurrent callers share syncs: one sync covers every caller that asked
// before it started. A failed sync fails every caller from then on, since
// after a failed fsync nothing later can be trusted to be on disk.
#ifndef EMPI_INDEX_WAL_SYNCER_H_
#define EMPI_INDEX_WAL_SYNCER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "rocksdb/db.h"

namespace empi::index {

class WalSyncer {
 public:
  // Syncs with db->SyncWAL(); `db` must outlive the syncer.
  explicit WalSyncer(rocksdb::DB* db);
  // Syncs with `sync`, which must stay callable for the syncer's life:
  // index::Store::SyncWal, which refuses to sync a store after a failed
  // write.
  explicit WalSyncer(std::function<absl::Status()> sync);
  ~WalSyncer();
  WalSyncer(const WalSyncer&) = delete;
  WalSyncer& operator=(const WalSyncer&) = delete;

  // Returns when everything written to the WAL before the call is durable.
  absl::Status Sync();

  // Syncs done so far (for tests: callers share them).
  uint64_t syncs() const;

 private:
  void Run();

  const std::function<absl::Status()> sync_;
  mutable absl::Mutex mu_;
  uint64_t requested_ ABSL_GUARDED_BY(mu_) = 0;  // tickets handed out
  uint64_t done_ ABSL_GUARDED_BY(mu_) = 0;       // tickets durable
  uint64_t syncs_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace empi::index

#endif  // EMPI_INDEX_WAL_SYNCER_H_
