// Copyright EMPI developers.
//
// The generator's feeds written for a test (datasets/generator/generator.h
// and engine/feed/feed_reader.h each name a DateFormat, so the generator is
// called from a file of its own).
#include <string>

#include "absl/status/status.h"
#include "datasets/generator/generator.h"

namespace empi::testing {

absl::Status WriteGeneratedFeeds(const std::string& dir, uint64_t persons, uint64_t seed) {
  GeneratorOptions g;
  g.persons = persons;
  g.seed = seed;
  g.progress = false;
  return Generate(g, dir, nullptr);
}

}  // namespace empi::testing
