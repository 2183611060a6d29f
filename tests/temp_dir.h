// Copyright EMPI developers.
//
// temp_dir.h: test directories and files that are removed afterwards.
#ifndef EMPI_TESTS_TEMP_DIR_H_
#define EMPI_TESTS_TEMP_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace empi::testing {

// A fresh directory under the system temp directory, removed with
// everything in it when the object is destroyed.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "empi_test_XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// One directory for the files a test binary writes, removed at exit.
inline const std::string& TestFilesDir() {
  static const TempDir dir;
  return dir.path();
}

// Writes `bytes` to `name` in TestFilesDir(), replacing any earlier file of
// that name; returns its path.
inline std::string WriteTestFile(std::string_view name, std::string_view bytes) {
  std::string path = (std::filesystem::path(TestFilesDir()) / name).string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

}  // namespace empi::testing

#endif  // EMPI_TESTS_TEMP_DIR_H_
