// Copyright EMPI developers.
//
// Kept apart from evaluate.cc so that programs evaluating CSV files do not
// link the store.
#include <filesystem>
#include <memory>

#include "engine/eval/cat.h"
#include "empi/status_macros.h"
#include "engine/eval/evaluate.h"
#include "index/store.h"
#include "rocksdb/iterator.h"

namespace empi::eval {

absl::Status ReadStore(const std::string& dir, Evaluator* evaluator) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return absl::NotFoundError(Cat(dir, ": no such store directory"));
  }
  index::StoreOptions options;
  options.create_if_missing = false;
  options.read_only = true;
  EMPI_ASSIGN_OR_RETURN(std::unique_ptr<index::Store> store, index::Store::Open(dir, options));
  std::unique_ptr<rocksdb::Iterator> it(
      store->db()->NewIterator(rocksdb::ReadOptions(), store->cf(index::Cf::kRecords)));
  index::StoredRecord stored;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view key(it->key().data(), it->key().size());
    std::string_view value(it->value().data(), it->value().size());
    if (!index::DecodeRecordValue(key, value, &stored)) {
      std::string_view source, record_id;
      SplitRecordKey(key, &source, &record_id);
      return absl::DataLossError(Cat(dir, ": record ", source, "/", record_id,
                                              " in column family records does not decode"));
    }
    absl::Status s = evaluator->Add(stored.record.source, stored.record.record_id,
                                    Cat(stored.person_id));
    if (!s.ok()) return absl::InvalidArgumentError(Cat(dir, ": ", std::string(s.message())));
  }
  if (!it->status().ok()) {
    return absl::UnavailableError(Cat(dir, ": reading records: ", it->status().ToString()));
  }
  return absl::OkStatus();
}

}  // namespace empi::eval
