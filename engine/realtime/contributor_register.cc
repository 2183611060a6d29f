// Copyright EMPI developers.
#include "engine/realtime/contributor_register.h"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "absl/strings/str_split.h"
#include "base/input_file.h"
#include "empi/record.h"
#include "empi/status_macros.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace empi {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ')) s.pop_back();
  size_t b = 0;
  while (b < s.size() && s[b] == ' ') ++b;
  return s.substr(b);
}

// Systems the service writes itself, which no contributor may claim.
bool IsReservedSystem(std::string_view system) {
  return system.starts_with("urn:empi:") || system == "https://fhir.nhs.uk/Id/nhs-number" ||
         system == "https://fhir.nhs.uk/Id/ods-organization-code";
}

// An absolute URI as an identifier system is written (RFC 3986: a scheme,
// ':', and no space, '|' or control character).
bool LooksLikeAbsoluteUri(std::string_view s) {
  const size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size()) return false;
  if (!std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (size_t i = 0; i < colon; ++i) {
    const unsigned char c = s[i];
    if (!std::isalnum(c) && c != '+' && c != '-' && c != '.') return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f && c != '|'; });
}

}  // namespace

absl::Status ContributorRegister::Add(const std::string& source, Entry entry, const std::string& where) {
  if (!entry.system.empty()) {
    if (!LooksLikeAbsoluteUri(entry.system)) {
      return absl::InvalidArgumentError(fmt::format("{}: system: not an absolute URI", where));
    }
    if (IsReservedSystem(entry.system)) {
      return absl::InvalidArgumentError(fmt::format("{}: system: reserved by EMPI", where));
    }
    for (const auto& [other, e] : entries_) {
      if (e.system == entry.system && other != source) {
        return absl::InvalidArgumentError(fmt::format("{}: system: already the system of {}", where, other));
      }
    }
  }
  entries_[source] = std::move(entry);
  return absl::OkStatus();
}

absl::StatusOr<ContributorRegister> ContributorRegister::Load(const std::string& path,
                                                              const std::vector<std::string>& region) {
  ContributorRegister reg;
  if (path.empty()) {
    reg.region_ = region.empty() ? DefaultRegionPrefixes() : region;
    return reg;
  }
  EMPI_ASSIGN_OR_RETURN(const std::string text, ReadInputFile(path, "contributor register"));
  return Parse(text, path, region);
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
      Entry entry{"other", "", ""};
      for (auto [key, value] :
           {std::pair{"kind", &entry.kind}, std::pair{"area", &entry.area}, std::pair{"system", &entry.system}}) {
        auto it = e.find(key);
        if (it == e.end()) continue;
        if (!it->is_string()) {
          return absl::InvalidArgumentError(fmt::format("{}: entry {}: {}: must be a string", path, i + 1, key));
        }
        *value = it->get<std::string>();
      }
      EMPI_RETURN_IF_ERROR(
          reg.Add(e["source"].get<std::string>(), std::move(entry), fmt::format("{}: entry {}", path, i + 1)));
    }
    return reg;
  }
  std::istringstream lines(text);
  std::string line;
  uint64_t n = 0;
  size_t fields = 3;
  while (std::getline(lines, line)) {
    ++n;
    line = Trim(line);
    if (n == 1) {
      if (line != "source,kind,area" && line != "source,kind,area,system") {
        return absl::InvalidArgumentError(
            fmt::format("{}: line 1: header must be source,kind,area or source,kind,area,system", path));
      }
      fields = line.ends_with(",system") ? 4 : 3;
      continue;
    }
    if (line.empty()) continue;
    std::vector<std::string> f = absl::StrSplit(line, ',');
    if (f.size() != fields) {
      return absl::InvalidArgumentError(
          fmt::format("{}: line {}: expected {} fields, found {}", path, n, fields, f.size()));
    }
    if (Trim(f[0]).empty()) return absl::InvalidArgumentError(fmt::format("{}: line {}: source: empty", path, n));
    EMPI_RETURN_IF_ERROR(reg.Add(Trim(f[0]), {Trim(f[1]), Trim(f[2]), fields == 4 ? Trim(f[3]) : ""},
                                 fmt::format("{}: line {}", path, n)));
  }
  return reg;
}

std::string ContributorRegister::Kind(const std::string& source) const {
  if (auto it = entries_.find(source); it != entries_.end()) return it->second.kind;
  if (from_file_) return "other";
  if (IsGpPracticeCode(source)) return "gp";
  if (source == "RKB" || source == "RLT" || source == "RJC") return "acute";
  if (source == "RYG") return "mental-health";
  if (source == "RYA") return "ambulance";
  if (source.size() > 3 && source.substr(source.size() - 3) == "-SC") return "social-care";
  return "other";
}

std::vector<ContributorSystem> ContributorRegister::Systems() const {
  std::vector<ContributorSystem> out;
  for (const auto& [source, e] : entries_) {
    if (!e.system.empty()) out.push_back({source, e.system});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.source < b.source; });
  return out;
}

bool ContributorRegister::IsRegionGp(const std::string& source) const {
  if (from_file_) {
    auto it = entries_.find(source);
    return it != entries_.end() && it->second.kind == "gp" &&
           std::find(region_.begin(), region_.end(), it->second.area) != region_.end();
  }
  if (!IsGpPracticeCode(source)) return false;
  return std::any_of(region_.begin(), region_.end(),
                     [&](const std::string& p) { return source.compare(0, p.size(), p) == 0; });
}

}  // namespace empi
