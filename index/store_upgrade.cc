// Copyright EMPI developers.
//
// store_upgrade.cc: upgrades of a store written by an earlier format
// version (docs/format/store.md, "Format version").
#include "index/store_impl.h"

namespace empi::index {

// Writes an upgrade's puts in batches of 10,000, each recorded as the
// store's failure if it fails; Finish writes the last one, synced, which
// carries the new format version.
class Store::Impl::UpgradeBatches {
 public:
  UpgradeBatches(Store::Impl* impl, std::string what) : impl_(impl), what_(std::move(what)) {}
  // Adds one put (or merge) and writes the batch when it is full; false
  // once anything has failed (status() says what).
  bool Add(rocksdb::Status s) {
    bad_ = FromRocks(s, what_);
    if (bad_.ok() && batch_.Count() >= 10000) {
      bad_ = impl_->Record(FromRocks(impl_->db_->Write(rocksdb::WriteOptions(), &batch_), what_));
      batch_.Clear();
    }
    return bad_.ok();
  }
  void Fail(absl::Status s) { bad_ = std::move(s); }
  const absl::Status& status() const { return bad_; }
  rocksdb::WriteBatch* batch() { return &batch_; }
  absl::Status Finish() {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return impl_->Record(FromRocks(impl_->db_->Write(wo, &batch_), what_));
  }

 private:
  Store::Impl* impl_;
  std::string what_;
  rocksdb::WriteBatch batch_;
  absl::Status bad_;
};

absl::Status Store::Impl::UpgradeFromVersion1() {
  rocksdb::ColumnFamilyHandle* view = handle(Cf::kPersonView);
  UpgradeBatches out(this, "upgrading to format version 2");
  // No key sorts after 9 bytes of 0xff: person ids are 8 bytes.
  out.Add(out.batch()->DeleteRange(view, "", std::string(9, '\xff')));
  EMPI_RETURN_IF_ERROR(out.status());
  EMPI_RETURN_IF_ERROR(Scan(Cf::kPersons, "", nullptr, [&](std::string_view key, std::string_view value) {
    PersonValue p;
    if (key.size() != 8 || !DecodePersonValue(value, &p)) {
      out.Fail(absl::DataLossError("persons: a value does not decode"));
      return false;
    }
    return out.Add(out.batch()->Merge(view, key, PersonViewPersonOp(p)));
  }));
  EMPI_RETURN_IF_ERROR(out.status());
  EMPI_RETURN_IF_ERROR(Scan(Cf::kRecords, "", nullptr, [&](std::string_view key, std::string_view value) {
    StoredRecord r;
    if (!DecodeRecordValue(key, value, &r)) {
      out.Fail(absl::DataLossError(absl::StrCat("records: value of ", RecordName(key), " does not decode")));
      return false;
    }
    return out.Add(out.batch()->Merge(view, EncodeU64(r.person_id), PersonViewMemberOp(r)));
  }));
  EMPI_RETURN_IF_ERROR(out.status());
  out.batch()->Put(handle(Cf::kMeta), kMetaFormatVersion, "2").PermitUncheckedError();
  EMPI_RETURN_IF_ERROR(out.Finish());
  return CompactPersonView();
}

// Writes each review pair under its second order too, and leaves the
// objection_in_review flags for the engine to compute on its next open.
absl::Status Store::Impl::UpgradeToVersion4() {
  UpgradeBatches out(this, "upgrading to format version 4");
  EMPI_RETURN_IF_ERROR(Scan(Cf::kReview, "", nullptr, [&](std::string_view key, std::string_view value) {
    std::string a, b;
    if (!SplitPairKey(key, &a, &b)) {
      out.Fail(absl::DataLossError("review: an entry does not decode"));
      return false;
    }
    return out.Add(out.batch()->Put(handle(Cf::kReview), DirectedPairKey(b, a), value));
  }));
  EMPI_RETURN_IF_ERROR(out.status());
  out.batch()->Put(handle(Cf::kMeta), kMetaReviewObjectionsDirty, "").PermitUncheckedError();
  out.batch()->Put(handle(Cf::kMeta), kMetaFormatVersion, "6").PermitUncheckedError();
  return out.Finish();
}

absl::StatusOr<uint64_t> Store::Impl::LastChangeBeforeUpgrade() {
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> next, Get(Cf::kMeta, kMetaNextChange, nullptr));
  return next.has_value() && next->size() == 8 ? DecodeU64(*next) - 1 : 0;
}

// Starts the view and record histories at the last change so far: every
// person's view and every record's person as of it. Written again whole if
// a crash interrupts it (a view entry replaces the whole view, so writing it
// twice is the same as once). Leaves format version 8, which the upgrade to
// 9 follows.
absl::Status Store::Impl::UpgradeToVersion7() {
  EMPI_ASSIGN_OR_RETURN(const uint64_t from, LastChangeBeforeUpgrade());
  UpgradeBatches out(this, "upgrading to format version 7");
  EMPI_RETURN_IF_ERROR(Scan(Cf::kPersonView, "", nullptr, [&](std::string_view key, std::string_view value) {
    PersonView view;
    if (key.size() != 8 || !DecodePersonView(value, &view)) {
      out.Fail(absl::DataLossError("person_view: a value does not decode"));
      return false;
    }
    return out.Add(
        out.batch()->Merge(handle(Cf::kViewHistory), HistoryKey(DecodeU64(key), from), PersonViewSetOp(view)));
  }));
  EMPI_RETURN_IF_ERROR(out.status());
  EMPI_RETURN_IF_ERROR(Scan(Cf::kRecords, "", nullptr, [&](std::string_view key, std::string_view value) {
    uint64_t person = 0;
    if (!DecodeRecordPersonId(value, &person)) {
      out.Fail(absl::DataLossError(absl::StrCat("records: value of ", RecordName(key), " does not decode")));
      return false;
    }
    return out.Add(out.batch()->Put(handle(Cf::kRecordHistory), RecordHistoryKey(key, from), EncodeU64(person)));
  }));
  EMPI_RETURN_IF_ERROR(out.status());
  out.batch()->Put(handle(Cf::kMeta), kMetaHistoryFrom, EncodeU64(from)).PermitUncheckedError();
  out.batch()->Put(handle(Cf::kMeta), kMetaFormatVersion, "8").PermitUncheckedError();
  return out.Finish();
}

// Starts nhs_history at the last change so far: every nhs_index entry and
// every supersession as of it. Idempotent, like the upgrade to 7.
absl::Status Store::Impl::UpgradeToVersion9() {
  EMPI_ASSIGN_OR_RETURN(const uint64_t from, LastChangeBeforeUpgrade());
  UpgradeBatches out(this, "upgrading to format version 9");
  EMPI_RETURN_IF_ERROR(Scan(Cf::kNhsIndex, "", nullptr, [&](std::string_view key, std::string_view) {
    return out.Add(out.batch()->Put(handle(Cf::kNhsHistory), absl::StrCat(A(key), A(EncodeU64(from))), kNhsHeld));
  }));
  EMPI_RETURN_IF_ERROR(out.status());
  EMPI_RETURN_IF_ERROR(
      Scan(Cf::kManual, kSupersedePrefix, nullptr, [&](std::string_view old_nhs, std::string_view value) {
        if (old_nhs.size() != 8 || value.size() != 16) {
          out.Fail(absl::DataLossError("manual: a supersession entry does not decode"));
          return false;
        }
        return out.Add(
            out.batch()->Put(handle(Cf::kNhsHistory), NhsHistoryKey(DecodeU64(old_nhs), "", from), value.substr(0, 8)));
      }));
  EMPI_RETURN_IF_ERROR(out.status());
  out.batch()->Put(handle(Cf::kMeta), kMetaNhsHistoryFrom, EncodeU64(from)).PermitUncheckedError();
  out.batch()->Put(handle(Cf::kMeta), kMetaFormatVersion, "9").PermitUncheckedError();
  return out.Finish();
}

}  // namespace empi::index
