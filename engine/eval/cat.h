// Copyright EMPI developers.
//
// cat.h: Cat(...) joins anything fmt can format into one string, for error
// messages. Debian's Abseil has its own absl::string_view, distinct from
// std::string_view, so absl::StrCat does not take our std::string_views.
//
//   Cat(path, ":", line, ": empty record_id")  // "truth.csv:3: empty record_id"
//
// Thread-safety: a pure function.
#ifndef EMPI_ENGINE_EVAL_CAT_H_
#define EMPI_ENGINE_EVAL_CAT_H_

#include <iterator>
#include <string>

#include "fmt/format.h"

namespace empi::eval {

template <typename... Args>
std::string Cat(const Args&... args) {
  std::string out;
  (fmt::format_to(std::back_inserter(out), "{}", args), ...);
  return out;
}

}  // namespace empi::eval

#endif  // EMPI_ENGINE_EVAL_CAT_H_
