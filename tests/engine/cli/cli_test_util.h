// Copyright EMPI developers.
//
// Runs the real `empi` binary in a temp directory: the fixture the CLI
// tests share.
#ifndef EMPI_TESTS_ENGINE_CLI_CLI_TEST_UTIL_H_
#define EMPI_TESTS_ENGINE_CLI_CLI_TEST_UTIL_H_

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/temp_dir.h"

namespace empi::testing {

struct RunResult {
  int code = -1;
  std::string out, err;
};

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Set by empi_cc_test for every test ctest runs; to run this binary
    // directly, set it to the build directory.
    const char* bin = std::getenv("EMPI_BINARY_DIR");
    ASSERT_NE(bin, nullptr) << "EMPI_BINARY_DIR is not set";
    empi_ = std::string(bin) + "/engine/cli/empi";
    db_ = dir_.path() + "/db";
  }

  // Runs `empi ARGS` through the shell (so ARGS may redirect stdin).
  RunResult Run(const std::string& args) {
    std::string out = dir_.path() + "/stdout", err = dir_.path() + "/stderr";
    std::string cmd = "'" + empi_ + "' " + args + " >'" + out + "' 2>'" + err + "'";
    int status = std::system(cmd.c_str());
    RunResult r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = ReadText(out);
    r.err = ReadText(err);
    return r;
  }

  std::string Write(const std::string& name, const std::string& bytes) {
    std::string path = dir_.path() + "/" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  TempDir dir_;
  std::string empi_, db_;
};

}  // namespace empi::testing

#endif  // EMPI_TESTS_ENGINE_CLI_CLI_TEST_UTIL_H_
