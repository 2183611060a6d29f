// Copyright EMPI developers.
//
// objection.h: how a patient's objection to data sharing reached us.
//
// A patient may object to their records being assembled into a shared care
// view (the national data opt-out and local right-to-object forms). Every
// objection EMPI holds records the channel it came through, and results
// (empi::Resolution) report it.
//
//   empi::ObjectionRequest form;
//   form.nhs_number = "9434765919";
//   form.method = empi::ObjectionMethod::kLetter;
//
// Thread-safety: a plain enumeration.
#ifndef EMPI_OBJECTION_H_
#define EMPI_OBJECTION_H_

#include <cstdint>

namespace empi {

// How an objection reached us. Part of the persistent format: the store
// keeps these values. Do not change the values of existing entries.
enum class ObjectionMethod : uint8_t {
  kNone = 0,  // no objection
  kForm = 1,
  kPhone = 2,
  kLetter = 3,
  kOnline = 4,
  kSteward = 5,  // recorded by a data steward (or carried by a merge)
};

}  // namespace empi

#endif  // EMPI_OBJECTION_H_
