// Copyright EMPI developers.
//
// tables.h: the reference lists behind the synthetic population: surnames
// and given names by community and birth cohort (ranked, most common first;
// the generator draws them with Zipf-like weights), real postcode districts
// of Coventry & Warwickshire, Birmingham & Solihull, Herefordshire &
// Worcestershire and Dudley with their post towns, street names, GP
// practices, and the generator's own nickname/transliteration table (kept
// apart from the matchers' table so evaluation stays fair).
//
// Thread-safety: every accessor returns immutable static data, built on
// first use (thread-safe static initialisation).
#ifndef EMPI_DATASETS_GENERATOR_TABLES_H_
#define EMPI_DATASETS_GENERATOR_TABLES_H_

#include <string>
#include <string_view>
#include <vector>

namespace empi::generator_internal {

enum class Community {
  kBritish,
  kIrish,
  kWelsh,
  kSouthAsianMuslim,
  kSikh,
  kHindu,
  kPolish,
  kAfrican,
  kCaribbean,
  kChinese,
};
inline constexpr int kNumCommunities = 10;

enum class Region { kCoventryWarwickshire, kBirminghamSolihull, kHerefordWorcester };
inline constexpr int kNumRegions = 3;

struct District {
  std::string code;  // "CV32"
  std::string town;  // "Leamington Spa"
  Region region;
  double weight;  // relative population
  bool coventry;  // inside Coventry City Council's area
};

struct Practice {
  std::string code;  // "M84001"
  Region region;
};

// Ranked surnames of a community.
const std::vector<std::string>& Surnames(Community c);
// Ranked given names for a community, sex ('M'/'F') and birth year; British
// names depend on the birth cohort, others change less and use one list.
const std::vector<std::string>& GivenNames(Community c, char sex, int birth_year);
// Syllables for the synthetic rare-surname tail.
const std::vector<std::string>& SurnamePrefixes();
const std::vector<std::string>& SurnameMiddles();
const std::vector<std::string>& SurnameSuffixes();

const std::vector<District>& Districts();
const std::vector<std::string>& StreetNames();
const std::vector<std::string>& CareHomeNames();
const std::vector<Practice>& Practices();

// Informal forms and spelling variants of a given name (Bill for William,
// Muhammad for Mohammed); empty when there are none.
const std::vector<std::string>& NameVariants(std::string_view given);
// Pairs of similar names for twins ("Jack", "Jake").
const std::vector<std::pair<std::string, std::string>>& SimilarNamePairs(char sex);

}  // namespace empi::generator_internal

#endif  // EMPI_DATASETS_GENERATOR_TABLES_H_
