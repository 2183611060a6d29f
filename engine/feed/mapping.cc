// Copyright EMPI developers.
#include "engine/feed/mapping.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "absl/status/status.h"
#include "base/input_file.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace empi {
namespace {

using Json = nlohmann::json;

absl::Status Bad(std::string_view origin, std::string_view json_path, std::string_view what) {
  return absl::InvalidArgumentError(fmt::format("{}: {}: {}", origin, json_path, what));
}

bool IsMappableField(std::string_view field) {
  if (field == "restricted") return true;
  for (std::string_view c : CanonicalColumns()) {
    if (c == field) return true;
  }
  return false;
}

absl::StatusOr<std::string> NonEmptyString(const Json& v, std::string_view origin, const std::string& path) {
  if (!v.is_string() || v.get_ref<const std::string&>().empty()) {
    return Bad(origin, path, "must be a non-empty string");
  }
  return v.get<std::string>();
}

absl::StatusOr<std::vector<std::string>> StringList(const Json& v, std::string_view origin, const std::string& path) {
  if (!v.is_array()) return Bad(origin, path, "must be a list of column names");
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); ++i) {
    absl::StatusOr<std::string> s = NonEmptyString(v[i], origin, fmt::format("{}[{}]", path, i));
    if (!s.ok()) return s.status();
    out.push_back(*std::move(s));
  }
  return out;
}

// Lower case, spaces and tabs trimmed: how ReadFeed compares column names.
std::string ColumnKey(std::string_view name) {
  while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.remove_prefix(1);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Line and column (1-based, columns in bytes) of byte offset `at`.
std::pair<size_t, size_t> LineColumn(std::string_view text, size_t at) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < at && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

// Offset of the first number token outside strings that overflows a double
// (what nlohmann::json reports as out_of_range 406, without its position),
// or text.size().
size_t FindOverflowingNumber(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\') ++i;
      }
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t end = i;
      while (end < text.size() && std::strchr("0123456789+-.eE", text[end]) != nullptr) ++end;
      const std::string token(text.substr(i, end - i));
      if (std::isinf(std::strtod(token.c_str(), nullptr))) return i;
      i = end - 1;
    }
  }
  return text.size();
}

// Parses `text`, refusing what nlohmann::json would accept silently: a key
// repeated within one object (it keeps the last value). A syntax error
// names the line and column (1-based, columns in bytes).
absl::StatusOr<Json> ParseStrictJson(std::string_view text, std::string_view origin) {
  struct Frame {
    bool object;
    std::vector<std::string> keys;
  };
  std::vector<Frame> stack;
  std::optional<std::string> duplicate;  // JSON path of the first repeated key
  const auto path_of = [&](const std::string& key) {
    std::string path = "$";
    for (size_t i = 0; i + 1 < stack.size(); ++i) {
      if (!stack[i].object) {
        path += "[]";
      } else if (!stack[i].keys.empty()) {
        path += "." + stack[i].keys.back();
      }
    }
    return path + "." + key;
  };
  Json::parser_callback_t check = [&](int, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start: stack.push_back({true, {}}); break;
      case Json::parse_event_t::array_start: stack.push_back({false, {}}); break;
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        if (!stack.empty()) stack.pop_back();
        break;
      case Json::parse_event_t::key: {
        if (stack.empty() || !parsed.is_string()) break;
        const std::string& key = parsed.get_ref<const std::string&>();
        std::vector<std::string>& keys = stack.back().keys;
        if (!duplicate && std::find(keys.begin(), keys.end(), key) != keys.end()) {
          duplicate = path_of(key);
        }
        // The last key is the one whose value is being read (path_of).
        keys.erase(std::remove(keys.begin(), keys.end(), key), keys.end());
        keys.push_back(key);
        break;
      }
      case Json::parse_event_t::value: break;
    }
    return true;
  };
  Json doc;
  try {
    doc = Json::parse(text.begin(), text.end(), check, /*allow_exceptions=*/true);
  } catch (const Json::parse_error& e) {
    // e.byte: 1-based offset of the byte where parsing failed.
    const size_t at = std::min<size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
    const auto [line, column] = LineColumn(text, at);
    std::string what = e.what();
    if (size_t colon = what.find(": "); colon != std::string::npos) what = what.substr(colon + 2);
    return absl::InvalidArgumentError(fmt::format("{}:{}:{}: $: not valid JSON ({})", origin, line, column, what));
  } catch (const Json::out_of_range&) {
    // A number beyond the range of a double (found by fuzz_mapping: it
    // escaped as an exception and ended the process).
    const auto [line, column] = LineColumn(text, FindOverflowingNumber(text));
    return absl::InvalidArgumentError(
        fmt::format("{}:{}:{}: $: not valid JSON (number out of range)", origin, line, column));
  }
  if (duplicate) return Bad(origin, *duplicate, "key appears more than once");
  return doc;
}

absl::StatusOr<bool> Bool(const Json& v, std::string_view origin, const std::string& path) {
  if (!v.is_boolean()) return Bad(origin, path, "must be true or false");
  return v.get<bool>();
}

}  // namespace

const std::vector<std::string_view>& CanonicalColumns() {
  static const std::vector<std::string_view> kColumns = {
      "source", "record_id", "nhs_number", "family_name", "given_names", "date_of_birth", "sex", "postcode", "address"};
  return kColumns;
}

absl::StatusOr<Mapping> ParseMapping(std::string_view text, std::string_view origin) {
  absl::StatusOr<Json> parsed = ParseStrictJson(text, origin);
  if (!parsed.ok()) return parsed.status();
  const Json& doc = *parsed;
  if (!doc.is_object()) return Bad(origin, "$", "must be a JSON object");

  Mapping m;
  for (const auto& [key, v] : doc.items()) {
    const std::string path = "$." + key;
    if (key == "description") {
      if (!v.is_string()) return Bad(origin, path, "must be a string");
    } else if (key == "columns") {
      if (!v.is_object()) return Bad(origin, path, "must be an object");
      for (const auto& [field, column] : v.items()) {
        const std::string fpath = path + "." + field;
        if (!IsMappableField(field)) {
          return Bad(origin, fpath, "unknown canonical field");
        }
        absl::StatusOr<std::string> name = NonEmptyString(column, origin, fpath);
        if (!name.ok()) return name.status();
        m.columns.emplace_back(field, *std::move(name));
      }
    } else if (key == "source") {
      absl::StatusOr<std::string> s = NonEmptyString(v, origin, path);
      if (!s.ok()) return s.status();
      m.source = *std::move(s);
    } else if (key == "date_format") {
      std::optional<DateFormat> f;
      if (v.is_string()) f = DateFormatFromName(v.get_ref<const std::string&>());
      if (!f) {
        return Bad(origin, path, "must be one of \"iso\", \"dd/mm/yyyy\", \"yyyymmdd\", \"auto\"");
      }
      m.date_format = *f;
    } else if (key == "name") {
      if (!v.is_object()) return Bad(origin, path, "must be an object");
      NameColumn name;
      bool has_column = false;
      for (const auto& [nkey, nv] : v.items()) {
        const std::string npath = path + "." + nkey;
        if (nkey == "column") {
          absl::StatusOr<std::string> s = NonEmptyString(nv, origin, npath);
          if (!s.ok()) return s.status();
          name.column = *std::move(s);
          has_column = true;
        } else if (nkey == "order") {
          std::string order = nv.is_string() ? nv.get<std::string>() : "";
          if (order == "given_first") {
            name.order = NameOrder::kGivenFirst;
          } else if (order == "family_first") {
            name.order = NameOrder::kFamilyFirst;
          } else if (order == "family_comma_given") {
            name.order = NameOrder::kFamilyCommaGiven;
          } else {
            return Bad(origin, npath,
                       "must be \"given_first\", \"family_first\" or "
                       "\"family_comma_given\"");
          }
        } else {
          return Bad(origin, npath, "unknown key");
        }
      }
      if (!has_column) return Bad(origin, path + ".column", "missing");
      m.name = std::move(name);
    } else if (key == "address") {
      absl::StatusOr<std::vector<std::string>> list = StringList(v, origin, path);
      if (!list.ok()) return list.status();
      if (list->empty()) return Bad(origin, path, "must name at least one column");
      m.address = *std::move(list);
    } else if (key == "ignore") {
      absl::StatusOr<std::vector<std::string>> list = StringList(v, origin, path);
      if (!list.ok()) return list.status();
      m.ignore = *std::move(list);
    } else if (key == "validate_nhs_number") {
      absl::StatusOr<bool> b = Bool(v, origin, path);
      if (!b.ok()) return b.status();
      m.conventions.validate_nhs_number = *b;
    } else if (key == "postcode_format") {
      std::string f = v.is_string() ? v.get<std::string>() : "";
      if (f == "uk") {
        m.conventions.postcode_format = PostcodeFormat::kUk;
      } else if (f == "raw") {
        m.conventions.postcode_format = PostcodeFormat::kRaw;
      } else {
        return Bad(origin, path, "must be \"uk\" or \"raw\"");
      }
    } else if (key == "trim") {
      absl::StatusOr<bool> b = Bool(v, origin, path);
      if (!b.ok()) return b.status();
      m.trim = *b;
    } else if (key == "delimiter") {
      if (!v.is_string() || v.get_ref<const std::string&>().size() != 1) {
        return Bad(origin, path, "must be a single character");
      }
      char d = v.get_ref<const std::string&>()[0];
      if (d == '"' || d == '\n' || d == '\r' || d == ' ') {
        return Bad(origin, path, "cannot be a quote, a space or a line break");
      }
      m.delimiter = d;
    } else {
      return Bad(origin, path, "unknown key");
    }
  }

  // Contradictions: each canonical field has exactly one origin, and each
  // column feeds one field.
  for (size_t i = 0; i < m.columns.size(); ++i) {
    const auto& [field, column] = m.columns[i];
    for (size_t j = 0; j < i; ++j) {
      if (ColumnKey(m.columns[j].second) == ColumnKey(column)) {
        return Bad(origin, "$.columns." + field,
                   fmt::format("column \"{}\" is already mapped to $.columns.{}", column, m.columns[j].first));
      }
    }
    if (m.name && ColumnKey(m.name->column) == ColumnKey(column)) {
      return Bad(origin, "$.columns." + field, "column is also $.name.column");
    }
  }
  for (const auto& [field, column] : m.columns) {
    const std::string fpath = "$.columns." + field;
    if (m.name && (field == "family_name" || field == "given_names")) {
      return Bad(origin, fpath, "conflicts with $.name");
    }
    if (!m.address.empty() && field == "address") {
      return Bad(origin, fpath, "conflicts with $.address");
    }
    for (const std::string& ignored : m.ignore) {
      if (ignored == column) {
        return Bad(origin, fpath, "column is also listed in $.ignore");
      }
    }
  }
  return m;
}

absl::StatusOr<Mapping> LoadMapping(const std::string& path) {
  absl::StatusOr<std::string> text = ReadInputFile(path, "mapping");
  if (!text.ok()) return text.status();
  return ParseMapping(*text, path);
}

}  // namespace empi
