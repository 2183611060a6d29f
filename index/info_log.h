// Copyright EMPI developers.
//
// info_log.h: RocksDB's diagnostic log (the LOG file in the store directory)
// written with plain write(2) calls whose failures are ignored.
//
// Why not RocksDB's own logger: Debian's librocksdb is built with
// assertions, and its file logger asserts (SIGABRT) on the first line
// written after a failed one (WritableFileWriter's
// `sync_without_flush_called_`): on a full disk every command died on a
// diagnostic line instead of reporting the error. A line that cannot be
// written here is dropped; the error that matters reaches the caller through
// the failed RocksDB operation itself.
//
//   db_options.info_log = InfoLog::Open(path + "/LOG");
//
// Thread-safe: each line is one write(2) to a file opened with O_APPEND.
#ifndef EMPI_INDEX_INFO_LOG_H_
#define EMPI_INDEX_INFO_LOG_H_

#include <memory>
#include <string>

#include "rocksdb/env.h"

namespace empi::index {

class InfoLog : public rocksdb::Logger {
 public:
  // Opens (creating) `path` for appending; a LOG past 16 MiB is first
  // renamed to LOG.old (replacing the previous one). Never fails: if the
  // file cannot be opened (a read-only or full file system) lines are
  // dropped.
  static std::shared_ptr<InfoLog> Open(const std::string& path);
  ~InfoLog() override;

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override;

 private:
  explicit InfoLog(int fd) : fd_(fd) {}
  rocksdb::Status CloseImpl() override;
  int fd_;
};

}  // namespace empi::index

#endif  // EMPI_INDEX_INFO_LOG_H_
