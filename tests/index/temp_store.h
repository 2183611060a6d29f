// Copyright EMPI developers.
//
// temp_store.h: a fresh RocksDB directory per test, removed afterwards.
#ifndef EMPI_TESTS_INDEX_TEMP_STORE_H_
#define EMPI_TESTS_INDEX_TEMP_STORE_H_

#include <cstdlib>
#include <filesystem>
#include <string>

namespace empi::index::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "empi_index_XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace empi::index::testing

#endif  // EMPI_TESTS_INDEX_TEMP_STORE_H_
