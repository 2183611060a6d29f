// Copyright EMPI developers.
//
// fault_injection_fs.h: a RocksDB FileSystem that fails chosen operations,
// for tests (RocksDB's own FaultInjectionTestFS is not in Debian's
// librocksdb). It wraps the default (real) file system and, while armed,
// fails the Nth call of one kind of operation and every later one, with
// ENOSPC (IOStatus::NoSpace, retryable, as PosixFileSystem reports a full
// disk) or EIO, as a disk that fills up or goes bad does.
//
//   FaultInjectionFs fs;
//   std::unique_ptr<rocksdb::Env> env = fs.NewEnv();
//   index::StoreOptions options;
//   options.env = env.get();
//   fs.Arm(FaultInjectionFs::Op::kAppend, FaultInjectionFs::Error::kNoSpace, /*nth=*/3);
//
// Thread-safe: RocksDB calls it from its background threads.
#ifndef EMPI_TESTS_INDEX_FAULT_INJECTION_FS_H_
#define EMPI_TESTS_INDEX_FAULT_INJECTION_FS_H_

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"

namespace empi::testing {

class FaultInjectionFs : public rocksdb::FileSystemWrapper {
 public:
  // Append covers Append and PositionedAppend of every writable file (WAL,
  // SST, MANIFEST, OPTIONS); Sync covers Sync, Fsync and RangeSync; Create
  // is NewWritableFile; Rename is RenameFile.
  enum class Op { kAppend = 0, kSync = 1, kCreate = 2, kRename = 3 };
  static constexpr int kNumOps = 4;
  enum class Error { kNoSpace, kIo };

  FaultInjectionFs() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "FaultInjectionFs"; }

  // An Env over this file system; the file system must outlive it.
  std::unique_ptr<rocksdb::Env> NewEnv() {
    return rocksdb::NewCompositeEnv(std::shared_ptr<rocksdb::FileSystem>(this, [](rocksdb::FileSystem*) {}));
  }

  // From now on, the `nth` call of `op` (counting from this call, 1-based)
  // and every later one fail with `error`, until Disarm.
  void Arm(Op op, Error error, uint64_t nth) {
    error_ = error;
    fail_from_ = calls_[static_cast<int>(op)].load() + nth;
    armed_op_ = static_cast<int>(op);
  }
  void Disarm() { armed_op_ = -1; }
  uint64_t calls(Op op) const { return calls_[static_cast<int>(op)].load(); }
  uint64_t injected() const { return injected_.load(); }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    if (rocksdb::IOStatus s = Check(Op::kCreate, name); !s.ok()) return s;
    rocksdb::IOStatus s = target()->NewWritableFile(name, options, result, dbg);
    if (s.ok()) *result = std::make_unique<File>(std::move(*result), this, name);
    return s;
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override {
    if (rocksdb::IOStatus s = Check(Op::kCreate, name); !s.ok()) return s;
    rocksdb::IOStatus s = target()->ReopenWritableFile(name, options, result, dbg);
    if (s.ok()) *result = std::make_unique<File>(std::move(*result), this, name);
    return s;
  }
  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& target_name,
                               const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (rocksdb::IOStatus s = Check(Op::kRename, target_name); !s.ok()) return s;
    return target()->RenameFile(src, target_name, options, dbg);
  }

  // Counts the call and fails it if armed for it.
  rocksdb::IOStatus Check(Op op, const std::string& name) {
    const uint64_t n = ++calls_[static_cast<int>(op)];
    if (armed_op_.load() != static_cast<int>(op) || n < fail_from_.load()) return rocksdb::IOStatus::OK();
    ++injected_;
    if (error_.load() == Error::kNoSpace) {
      rocksdb::IOStatus s = rocksdb::IOStatus::NoSpace("injected", name + ": No space left on device");
      s.SetRetryable(true);
      return s;
    }
    return rocksdb::IOStatus::IOError("injected", name + ": Input/output error");
  }

 private:
  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> target, FaultInjectionFs* fs, std::string name)
        : FSWritableFileOwnerWrapper(std::move(target)), fs_(fs), name_(std::move(name)) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* d) override {
      if (rocksdb::IOStatus s = fs_->Check(Op::kAppend, name_); !s.ok()) return s;
      return target()->Append(data, o, d);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                             const rocksdb::DataVerificationInfo& v, rocksdb::IODebugContext* d) override {
      if (rocksdb::IOStatus s = fs_->Check(Op::kAppend, name_); !s.ok()) return s;
      return target()->Append(data, o, v, d);
    }
    rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset, const rocksdb::IOOptions& o,
                                       rocksdb::IODebugContext* d) override {
      if (rocksdb::IOStatus s = fs_->Check(Op::kAppend, name_); !s.ok()) return s;
      return target()->PositionedAppend(data, offset, o, d);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* d) override {
      if (rocksdb::IOStatus s = fs_->Check(Op::kSync, name_); !s.ok()) return s;
      return target()->Sync(o, d);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* d) override {
      if (rocksdb::IOStatus s = fs_->Check(Op::kSync, name_); !s.ok()) return s;
      return target()->Fsync(o, d);
    }
    rocksdb::IOStatus RangeSync(uint64_t offset, uint64_t nbytes, const rocksdb::IOOptions& o,
                                rocksdb::IODebugContext* d) override {
      if (rocksdb::IOStatus s = fs_->Check(Op::kSync, name_); !s.ok()) return s;
      return target()->RangeSync(offset, nbytes, o, d);
    }

   private:
    FaultInjectionFs* fs_;
    std::string name_;
  };

  std::array<std::atomic<uint64_t>, kNumOps> calls_{};
  std::atomic<int> armed_op_{-1};
  std::atomic<uint64_t> fail_from_{0};
  std::atomic<Error> error_{Error::kNoSpace};
  std::atomic<uint64_t> injected_{0};
};

// A parameterised fault case: the operation, the error, and the call from
// which it fails.
using FaultCase = std::tuple<FaultInjectionFs::Op, FaultInjectionFs::Error, int>;

// "AppendNoSpaceAt4": a case's name in test output.
inline std::string FaultCaseName(const ::testing::TestParamInfo<FaultCase>& info) {
  static const char* kOps[] = {"Append", "Sync", "Create", "Rename"};
  const auto [op, error, nth] = info.param;
  return absl::StrCat(kOps[static_cast<int>(op)], error == FaultInjectionFs::Error::kNoSpace ? "NoSpace" : "Eio", "At",
                      nth);
}

// Every operation and both errors, failing from each of `nths`.
template <typename... Nth>
auto EveryFault(Nth... nths) {
  return ::testing::Combine(::testing::Values(FaultInjectionFs::Op::kAppend, FaultInjectionFs::Op::kSync,
                                              FaultInjectionFs::Op::kCreate, FaultInjectionFs::Op::kRename),
                            ::testing::Values(FaultInjectionFs::Error::kNoSpace, FaultInjectionFs::Error::kIo),
                            ::testing::Values(nths...));
}

}  // namespace empi::testing

#endif  // EMPI_TESTS_INDEX_FAULT_INJECTION_FS_H_
