// Copyright EMPI developers.
#include "matchers/name_equivalence.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace empi::embedded {
extern const std::string_view kGivenNameEquivalents;
}  // namespace empi::embedded

namespace empi {
namespace {

std::string_view Strip(std::string_view s) {
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Optimal string alignment distance at most one: equal, or one letter
// replaced, added or dropped, or two adjacent letters swapped.
bool OneSlipApart(std::string_view a, std::string_view b) {
  if (a.size() < b.size()) std::swap(a, b);
  if (a.size() - b.size() > 1) return false;
  size_t i = 0;
  while (i < b.size() && a[i] == b[i]) ++i;
  if (i == b.size()) return true;  // equal, or one letter added at the end
  if (a.size() != b.size()) return a.substr(i + 1) == b.substr(i);
  if (a.substr(i + 1) == b.substr(i + 1)) return true;
  return i + 1 < a.size() && a[i] == b[i + 1] && a[i + 1] == b[i] && a.substr(i + 2) == b.substr(i + 2);
}

}  // namespace

absl::StatusOr<NameEquivalence> NameEquivalence::Parse(std::string_view csv) {
  NameEquivalence result;
  uint32_t group = 0;
  int line_number = 0;
  for (absl::string_view raw_line : absl::StrSplit(absl::string_view(csv.data(), csv.size()), '\n')) {
    std::string_view line(raw_line.data(), raw_line.size());
    ++line_number;
    line = Strip(line);
    if (line.empty() || line.front() == '#') continue;
    ++group;
    size_t members = 0;
    for (absl::string_view raw_name : absl::StrSplit(absl::string_view(line.data(), line.size()), ',')) {
      std::string_view name = Strip(std::string_view(raw_name.data(), raw_name.size()));
      if (name.empty()) continue;
      for (char c : name) {
        if (c < 'a' || c > 'z') {
          return absl::InvalidArgumentError(absl::StrCat("name equivalence table line ", line_number, ": \"",
                                                         std::string(name),
                                                         "\" is not a normalised name (lower-case a-z only)"));
        }
      }
      std::vector<uint32_t>& groups = result.groups_[std::string(name)];
      if (groups.empty() || groups.back() != group) groups.push_back(group);
      result.members_.resize(group + 1);
      result.members_[group].emplace_back(name);
      ++members;
    }
    if (members < 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("name equivalence table line ", line_number, ": a group needs at least two names"));
    }
  }
  return result;
}

const NameEquivalence& NameEquivalence::Default() {
  static const NameEquivalence* const kDefault = [] {
    absl::StatusOr<NameEquivalence> parsed = Parse(embedded::kGivenNameEquivalents);
    if (!parsed.ok()) {
      // The table is part of the build; a broken one is a build defect that
      // the unit tests catch, so failing loudly here is correct.
      std::cerr << "embedded given_name_equivalents.csv: " << parsed.status() << "\n";
      std::abort();
    }
    return new NameEquivalence(*std::move(parsed));
  }();
  return *kDefault;
}

bool NameEquivalence::Equivalent(std::string_view a, std::string_view b) const {
  if (a == b) return true;
  const std::vector<uint32_t>& ga = GroupsOf(a);
  const std::vector<uint32_t>& gb = GroupsOf(b);
  // Both sorted ascending (ids are assigned in file order).
  auto i = ga.begin(), j = gb.begin();
  while (i != ga.end() && j != gb.end()) {
    if (*i == *j) return true;
    if (*i < *j) {
      ++i;
    } else {
      ++j;
    }
  }
  return false;
}

const std::vector<uint32_t>& NameEquivalence::GroupsOf(std::string_view name) const {
  static const std::vector<uint32_t> kNone;
  auto it = groups_.find(absl::string_view(name.data(), name.size()));
  return it == groups_.end() ? kNone : it->second;
}

bool NameEquivalence::SlipOfEquivalent(std::string_view misspelt, std::string_view name) const {
  if (misspelt.size() < kMinSlipLength || Known(misspelt)) return false;
  for (uint32_t g : GroupsOf(name)) {
    for (const std::string& equivalent : members_[g]) {
      if (equivalent.size() >= kMinSlipLength && OneSlipApart(misspelt, equivalent)) return true;
    }
  }
  return false;
}

bool NameEquivalence::MisspeltEquivalent(std::string_view a, std::string_view b) const {
  return SlipOfEquivalent(a, b) || SlipOfEquivalent(b, a);
}

bool NameEquivalence::Misspelt(std::string_view a, std::string_view b) const {
  return a.size() >= kMinSlipLength && b.size() >= kMinSlipLength && OneSlipApart(a, b) && !(Known(a) && Known(b));
}

uint32_t NameEquivalence::CanonicalGroup(std::string_view name) const {
  const std::vector<uint32_t>& g = GroupsOf(name);
  return g.empty() ? 0 : g.front();
}

}  // namespace empi
