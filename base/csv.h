// Copyright EMPI developers.
//
// csv.h: writing CSV fields (RFC 4180).
//
//   std::string line;
//   empi::AppendCsvField("12, High Street", &line);  // "\"12, High Street\""
//
// Thread-safety: pure function.
#ifndef EMPI_BASE_CSV_H_
#define EMPI_BASE_CSV_H_

#include <string>
#include <string_view>

namespace empi {

// Appends `field` to *out, quoted (with inner quotes doubled) only when it
// holds a comma, a quote or a line break.
void AppendCsvField(std::string_view field, std::string* out);

}  // namespace empi

#endif  // EMPI_BASE_CSV_H_
