// Copyright EMPI developers.
//
// ReadInputFile and OpenInputFile on what a user may name: a file, a
// missing path, a directory, an unreadable file, a pipe.
#include "base/input_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/temp_dir.h"

namespace empi {
namespace {

using ::empi::testing::TempDir;
using ::testing::HasSubstr;

TEST(InputFileTest, ReadsAFileWhole) {
  TempDir dir;
  const std::string path = dir.path() + "/feed.csv";
  std::string bytes = "a,b\n";
  for (int i = 0; i < 50'000; ++i) bytes += std::to_string(i) + ",x\n";
  std::ofstream(path, std::ios::binary) << bytes;
  absl::StatusOr<std::string> text = ReadInputFile(path, "feed");
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, bytes);
}

TEST(InputFileTest, AMissingPathIsNotFoundAndNamed) {
  TempDir dir;
  absl::StatusOr<std::string> text = ReadInputFile(dir.path() + "/none.csv", "feed");
  EXPECT_EQ(text.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(text.status().message(), HasSubstr("none.csv: cannot open feed"));
}

TEST(InputFileTest, ADirectoryIsNotFoundNotAnAllocationOfItsSize) {
  TempDir dir;
  absl::StatusOr<std::string> text = ReadInputFile(dir.path(), "mapping");
  EXPECT_EQ(text.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(text.status().message(), HasSubstr("cannot open mapping: Is a directory"));
  EXPECT_EQ(OpenInputFile(dir.path(), "CSV file").status().code(), absl::StatusCode::kNotFound);
}

TEST(InputFileTest, AnUnreadableFileIsNotFound) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads a file of any mode";
  TempDir dir;
  const std::string path = dir.path() + "/locked.csv";
  std::ofstream(path) << "a\n";
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  EXPECT_EQ(ReadInputFile(path, "feed").status().code(), absl::StatusCode::kNotFound);
}

TEST(InputFileTest, APipeReadsLikeAFile) {
  TempDir dir;
  const std::string path = dir.path() + "/fifo";
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  const std::string bytes(200'000, 'x');
  std::thread writer([&] { std::ofstream(path, std::ios::binary) << bytes; });
  absl::StatusOr<std::string> text = ReadInputFile(path, "feed");
  writer.join();
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(text->size(), bytes.size());
}

}  // namespace
}  // namespace empi
