// Copyright EMPI developers.
#include "engine/realtime/contributor_register.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "absl/strings/str_split.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace empi {
namespace {

bool LooksLikeGpCode(const std::string& s) {
  return s.size() == 6 && std::isupper(static_cast<unsigned char>(s[0])) &&
         std::all_of(s.begin() + 1, s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ')) s.pop_back();
  size_t b = 0;
  while (b < s.size() && s[b] == ' ') ++b;
  return s.substr(b);
}

}  // namespace

absl::StatusOr<ContributorRegister> ContributorRegister::Load(const std::string& path,
                                                              const std::vector<std::string>& region) {
  ContributorRegister reg;
  if (path.empty()) {
    reg.region_ = region.empty() ? DefaultRegionPrefixes() : region;
    return reg;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(fmt::format("{}: cannot open contributor register", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return Parse(ss.str(), path, region);
}

absl::StatusOr<ContributorRegister> ContributorRegister::Parse(const std::string& text, const std::string& path,
                                                               const std::vector<std::string>& region) {
  ContributorRegister reg;
  reg.from_file_ = true;
  reg.region_ = region.empty() ? std::vector<std::string>{"CW"} : region;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '[') {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_array()) {
      return absl::InvalidArgumentError(fmt::format("{}: not a JSON array of contributors", path));
    }
    for (size_t i = 0; i < j.size(); ++i) {
      const auto& e = j[i];
      if (!e.is_object() || !e.contains("source") || !e["source"].is_string()) {
        return absl::InvalidArgumentError(fmt::format("{}: entry {}: source: missing", path, i + 1));
      }
      // Checked here, not left to json::value(), which throws for a
      // present value of another type.
      Entry entry{"other", ""};
      for (auto [key, value] : {std::pair{"kind", &entry.kind}, std::pair{"area", &entry.area}}) {
        auto it = e.find(key);
        if (it == e.end()) continue;
        if (!it->is_string()) {
          return absl::InvalidArgumentError(fmt::format("{}: entry {}: {}: must be a string", path, i + 1, key));
        }
        *value = it->get<std::string>();
      }
      reg.entries_[e["source"].get<std::string>()] = std::move(entry);
    }
    return reg;
  }
  std::istringstream lines(text);
  std::string line;
  uint64_t n = 0;
  while (std::getline(lines, line)) {
    ++n;
    line = Trim(line);
    if (n == 1) {
      if (line != "source,kind,area") {
        return absl::InvalidArgumentError(fmt::format("{}: line 1: header must be source,kind,area", path));
      }
      continue;
    }
    if (line.empty()) continue;
    std::vector<std::string> f = absl::StrSplit(line, ',');
    if (f.size() != 3) {
      return absl::InvalidArgumentError(fmt::format("{}: line {}: expected 3 fields, found {}", path, n, f.size()));
    }
    if (Trim(f[0]).empty()) return absl::InvalidArgumentError(fmt::format("{}: line {}: source: empty", path, n));
    reg.entries_[Trim(f[0])] = {Trim(f[1]), Trim(f[2])};
  }
  return reg;
}

std::string ContributorRegister::Kind(const std::string& source) const {
  if (auto it = entries_.find(source); it != entries_.end()) return it->second.kind;
  if (from_file_) return "other";
  if (LooksLikeGpCode(source)) return "gp";
  if (source == "RKB" || source == "RLT" || source == "RJC") return "acute";
  if (source == "RYG") return "mental-health";
  if (source == "RYA") return "ambulance";
  if (source.size() > 3 && source.substr(source.size() - 3) == "-SC") return "social-care";
  return "other";
}

bool ContributorRegister::IsRegionGp(const std::string& source) const {
  if (from_file_) {
    auto it = entries_.find(source);
    return it != entries_.end() && it->second.kind == "gp" &&
           std::find(region_.begin(), region_.end(), it->second.area) != region_.end();
  }
  if (!LooksLikeGpCode(source)) return false;
  return std::any_of(region_.begin(), region_.end(),
                     [&](const std::string& p) { return source.compare(0, p.size(), p) == 0; });
}

}  // namespace empi
