// Copyright EMPI developers.
//
// store_upgrade.cc: upgrades of a store written by an earlier format
// version (docs/format/store.md, "Format version").
#include "index/store_impl.h"

namespace empi::index {

absl::Status Store::Impl::UpgradeFromVersion1() {
  rocksdb::ColumnFamilyHandle* view = handle(Cf::kPersonView);
  rocksdb::WriteBatch batch;
  auto flush = [&]() -> absl::Status {
    EMPI_RETURN_IF_ERROR(
        Record(FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "upgrading to format version 2")));
    batch.Clear();
    return absl::OkStatus();
  };
  // No key sorts after 9 bytes of 0xff: person ids are 8 bytes.
  EMPI_RETURN_IF_ERROR(FromRocks(batch.DeleteRange(view, "", std::string(9, '\xff')), "upgrading"));
  absl::Status bad;
  auto visit = [&](Cf cf, auto&& op) -> absl::Status {
    EMPI_RETURN_IF_ERROR(Scan(cf, "", nullptr, [&](std::string_view key, std::string_view value) {
      bad = op(key, value);
      if (bad.ok() && batch.Count() >= 10000) bad = flush();
      return bad.ok();
    }));
    return bad;
  };
  EMPI_RETURN_IF_ERROR(visit(Cf::kPersons, [&](std::string_view key, std::string_view value) -> absl::Status {
    PersonValue p;
    if (key.size() != 8 || !DecodePersonValue(value, &p))
      return absl::DataLossError("persons: a value does not decode");
    return FromRocks(batch.Merge(view, key, PersonViewPersonOp(p)), "upgrading");
  }));
  EMPI_RETURN_IF_ERROR(visit(Cf::kRecords, [&](std::string_view key, std::string_view value) -> absl::Status {
    StoredRecord r;
    if (!DecodeRecordValue(key, value, &r)) {
      return absl::DataLossError(absl::StrCat("records: value of ", RecordName(key), " does not decode"));
    }
    return FromRocks(batch.Merge(view, EncodeU64(r.person_id), PersonViewMemberOp(r)), "upgrading");
  }));
  batch.Put(handle(Cf::kMeta), kMetaFormatVersion, "2").PermitUncheckedError();
  EMPI_RETURN_IF_ERROR(flush());
  EMPI_RETURN_IF_ERROR(SyncWal());
  return CompactPersonView();
}

// Writes each review pair under its second order too, and leaves the
// objection_in_review flags for the engine to compute on its next open.
absl::Status Store::Impl::UpgradeToVersion4() {
  rocksdb::WriteBatch batch;
  absl::Status bad;
  EMPI_RETURN_IF_ERROR(Scan(Cf::kReview, "", nullptr, [&](std::string_view key, std::string_view value) {
    std::string a, b;
    if (!SplitPairKey(key, &a, &b)) {
      bad = absl::DataLossError("review: an entry does not decode");
      return false;
    }
    bad = FromRocks(batch.Put(handle(Cf::kReview), DirectedPairKey(b, a), value), "upgrading to format version 4");
    if (bad.ok() && batch.Count() >= 10000) {
      bad = Record(FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "upgrading to format version 4"));
      batch.Clear();
    }
    return bad.ok();
  }));
  EMPI_RETURN_IF_ERROR(bad);
  batch.Put(handle(Cf::kMeta), kMetaReviewObjectionsDirty, "").PermitUncheckedError();
  batch.Put(handle(Cf::kMeta), kMetaFormatVersion, "6").PermitUncheckedError();
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return Record(FromRocks(db_->Write(wo, &batch), "upgrading to format version 4"));
}

// Starts the view and record histories at the last change so far: every
// person's view and every record's person as of it. Written again whole if
// a crash interrupts it (a view entry replaces the whole view, so writing it
// twice is the same as once).
absl::Status Store::Impl::UpgradeToVersion7() {
  constexpr char kWhat[] = "upgrading to format version 7";
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> next, Get(Cf::kMeta, kMetaNextChange, nullptr));
  const uint64_t from = next.has_value() && next->size() == 8 ? DecodeU64(*next) - 1 : 0;
  rocksdb::WriteBatch batch;
  absl::Status bad;
  auto put = [&](rocksdb::Status s) {
    bad = FromRocks(s, kWhat);
    if (bad.ok() && batch.Count() >= 10000) {
      bad = Record(FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), kWhat));
      batch.Clear();
    }
    return bad.ok();
  };
  EMPI_RETURN_IF_ERROR(Scan(Cf::kPersonView, "", nullptr, [&](std::string_view key, std::string_view value) {
    PersonView view;
    if (key.size() != 8 || !DecodePersonView(value, &view)) {
      bad = absl::DataLossError("person_view: a value does not decode");
      return false;
    }
    return put(batch.Merge(handle(Cf::kViewHistory), HistoryKey(DecodeU64(key), from), PersonViewSetOp(view)));
  }));
  EMPI_RETURN_IF_ERROR(bad);
  EMPI_RETURN_IF_ERROR(Scan(Cf::kRecords, "", nullptr, [&](std::string_view key, std::string_view value) {
    uint64_t person = 0;
    if (!DecodeRecordPersonId(value, &person)) {
      bad = absl::DataLossError(absl::StrCat("records: value of ", RecordName(key), " does not decode"));
      return false;
    }
    return put(batch.Put(handle(Cf::kRecordHistory), RecordHistoryKey(key, from), EncodeU64(person)));
  }));
  EMPI_RETURN_IF_ERROR(bad);
  batch.Put(handle(Cf::kMeta), kMetaHistoryFrom, EncodeU64(from)).PermitUncheckedError();
  batch.Put(handle(Cf::kMeta), kMetaFormatVersion, std::to_string(kFormatVersion)).PermitUncheckedError();
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return Record(FromRocks(db_->Write(wo, &batch), kWhat));
}

}  // namespace empi::index
