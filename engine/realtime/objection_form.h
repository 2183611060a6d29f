// Copyright EMPI developers.
//
// objection_form.h: reads an objection form file (`empi object --file`,
// `empi withdraw --file`) into ObjectionRequests, one per data row.
//
// The file is CSV whose first line starts with the header
//   nhs_number,family_name,given_names,date_of_birth,postcode
// and whose rows hold those five fields (double quotes as in RFC 4180).
// LF, CRLF or CR line ends, mixed or not. Lines of spaces and tabs only are
// skipped. A row that is wrong (a NUL byte, not five fields) is returned
// with `refused` saying why, so every other row is still processed; only a
// wrong header fails the whole file.
//
//   EMPI_ASSIGN_OR_RETURN(std::vector<empi::ObjectionFormRow> rows,
//                         empi::ParseObjectionForm(text, "forms.csv",
//                                                  ObjectionMethod::kForm, ""));
//
// Thread-safety: a pure function.
#ifndef EMPI_REALTIME_OBJECTION_FORM_H_
#define EMPI_REALTIME_OBJECTION_FORM_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "empi/engine.h"

namespace empi {

// One row of an objection form file: the request, or why the row was
// refused before reaching the engine.
struct ObjectionFormRow {
  uint64_t line = 0;  // 1-based line of the row; 0: the request came from flags
  ObjectionRequest request;
  std::string refused;  // empty: `request` is to be processed; never quotes a value
};

// Parses the whole text of a form file; `origin` names it in errors and in
// the default reference ("origin:line"). Every request gets `method`, and
// `reference` when it is not empty. Returns InvalidArgument naming the file
// when line 1 is not the header.
absl::StatusOr<std::vector<ObjectionFormRow>> ParseObjectionForm(std::string_view text, std::string_view origin,
                                                                 ObjectionMethod method, std::string_view reference);

}  // namespace empi

#endif  // EMPI_REALTIME_OBJECTION_FORM_H_
