// Copyright EMPI developers.
//
// feed_test_util.h: writes feed files for the feed tests.
#ifndef EMPI_TESTS_ENGINE_FEED_FEED_TEST_UTIL_H_
#define EMPI_TESTS_ENGINE_FEED_FEED_TEST_UTIL_H_

#include <atomic>
#include <fstream>
#include <string>
#include <string_view>

#include "gtest/gtest.h"
#include "tests/temp_dir.h"

namespace empi::testing_feed {

// Writes `bytes` to a fresh file named after the test and `name` in the
// test binary's files directory (removed at exit); returns its path.
inline std::string WriteTempFile(std::string_view name, std::string_view bytes) {
  static std::atomic<int> counter{0};
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return testing::WriteTestFile(std::string(info->name()) + "_" + std::to_string(counter++) + "_" + std::string(name),
                                bytes);
}

inline std::string ReadFileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline constexpr std::string_view kHeader =
    "source,record_id,nhs_number,family_name,given_names,date_of_birth,sex,"
    "postcode,address\n";

}  // namespace empi::testing_feed

#endif  // EMPI_TESTS_ENGINE_FEED_FEED_TEST_UTIL_H_
