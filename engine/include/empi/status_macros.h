// Copyright EMPI developers.
//
// status_macros.h: early-return helpers for absl::Status / absl::StatusOr.
//
// Debian's Abseil (20220623) ships neither RETURN_IF_ERROR nor
// ASSIGN_OR_RETURN, so EMPI defines its own, once, here.
//
//   absl::Status Load(const std::string& path) {
//     EMPI_RETURN_IF_ERROR(Check(path));
//     EMPI_ASSIGN_OR_RETURN(auto rows, ReadRows(path));
//     ...
//   }
//
// EMPI_RETURN_IF_ERROR(expr) returns the status of `expr` when it is not OK.
// EMPI_ASSIGN_OR_RETURN(lhs, expr) returns the status of the StatusOr
// `expr` when it is not OK, else moves its value into `lhs` (a declaration
// or an lvalue); one use per line.
//
// Thread-safety: macros only; no state.
#ifndef EMPI_STATUS_MACROS_H_
#define EMPI_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define EMPI_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::absl::Status empi_status_ = (expr);        \
    if (!empi_status_.ok()) return empi_status_; \
  } while (0)

#define EMPI_STATUS_CONCAT_INNER_(a, b) a##b
#define EMPI_STATUS_CONCAT_(a, b) EMPI_STATUS_CONCAT_INNER_(a, b)

#define EMPI_ASSIGN_OR_RETURN(lhs, expr) \
  EMPI_ASSIGN_OR_RETURN_IMPL_(EMPI_STATUS_CONCAT_(empi_statusor_, __LINE__), lhs, expr)
#define EMPI_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()

#endif  // EMPI_STATUS_MACROS_H_
