// Copyright EMPI developers.
//
// write_file.h: writes a test input file into GoogleTest's temp directory.
#ifndef EMPI_TESTS_ENGINE_EVAL_WRITE_FILE_H_
#define EMPI_TESTS_ENGINE_EVAL_WRITE_FILE_H_

#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace empi::eval {

// Writes `text` byte for byte to `name` in ::testing::TempDir(); returns the path.
inline std::string WriteFile(const std::string& name, const std::string& text) {
  std::string path = (std::filesystem::path(::testing::TempDir()) / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

}  // namespace empi::eval

#endif  // EMPI_TESTS_ENGINE_EVAL_WRITE_FILE_H_
