// Copyright EMPI developers.
//
// Kept apart from evaluate.cc so that programs evaluating CSV files only do
// not pull in the store.
#include <filesystem>
#include <memory>

#include "empi/status_macros.h"
#include "engine/eval/cat.h"
#include "engine/eval/evaluate.h"
#include "index/store.h"

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
  absl::Status added;
  EMPI_RETURN_IF_ERROR(store->ForEachRecord([&](const index::StoredRecord& stored) {
    added = evaluator->Add(stored.record.source, stored.record.record_id, Cat(stored.person_id));
    return added.ok();
  }));
  if (!added.ok()) return absl::InvalidArgumentError(Cat(dir, ": ", std::string(added.message())));
  return absl::OkStatus();
}

}  // namespace empi::eval
