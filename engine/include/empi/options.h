// Copyright EMPI developers.
//
// options.h: how an empi::Engine is opened.
//
// EngineOptions is a plain struct: every field has an in-class default, so
// `empi::EngineOptions{}` opens a store the way `empi resolve` does.
// Fields are grouped as behaviour (what answers the engine gives) and
// performance (how much memory it may use to give them quickly).
//
//   empi::EngineOptions options;
//   options.contributor_register = "/etc/empi/contributors.csv";
//   options.region = {"CW"};
//   options.block_cache_bytes = size_t{256} << 20;
//   auto engine = empi::Engine::Open(options, "/data/empi");
//
// Thread-safety: a plain value type; the engine copies it when it opens.
#ifndef EMPI_OPTIONS_H_
#define EMPI_OPTIONS_H_

#include <cstddef>
#include <string>
#include <vector>

namespace empi {

struct EngineOptions {
  // Behaviour
  // Contributor register: a CSV file with header `source,kind,area` (kind
  // "gp" for GP practices) or a JSON array of {"source","kind","area"}.
  // Default: empty, meaning a source code of one letter and five digits
  // (M84001) is a GP practice, and the region's practices are those whose
  // code starts with one of `region_prefixes`.
  std::string contributor_register;
  // Areas (register) or practice-code prefixes (default register) that make
  // a GP practice part of the region. Default: Coventry & Warwickshire,
  // {"M84", "M86"}; with a register file, the default is {"CW"}.
  std::vector<std::string> region;
  // The date ages are computed on, YYYY-MM-DD. Default: empty (today, UTC).
  std::string today;
  // Durable before returning (WAL synced). Default: true.
  bool sync = true;
  // While the model that scores is not trusted (a store only Ingest has
  // written, or one whose first link was too small to estimate from), the
  // ingest that brings the store to this many records estimates the model
  // on every stored record and relinks them with it, person ids kept, as
  // `empi relink --retrain` does (that ingest takes as long as a relink).
  // With too little evidence it tries again at twice as many records (tries
  // at 1,000, 2,000, 4,000, ... records: store sizes, so that a feed killed
  // and ingested again tries where it would have). 0: never; the informed
  // default priors then score until `empi link` or `empi relink`.
  // Default: 1,000.
  uint64_t estimate_model_at_records = 1000;
  // A model estimated (by the engine or a link) on half the stored records
  // or fewer is estimated again the same way when an ingest brings the
  // store to twice its records (as a link does), as long as that is at most
  // this many: a model from the first few feeds misjudges the rest (on a
  // population of 20,000 it kept one pair of twins merged that a model of
  // every record parts; 100,000 persons fed through `POST /Patient` kept 19
  // false merges with a model of the first 128,000 of their 321,000
  // records, 12 with one of the first 256,000). Each estimate holds the
  // writer for as long as `empi relink --retrain` takes (5.8 s at 321,000
  // records on 2 cores), and the estimates together relink at most twice
  // the store. Above the limit, run `empi relink --retrain`. An imported
  // model is never replaced. Default: 1,000,000.
  uint64_t reestimate_model_until_records = 1'000'000;

  // Performance
  // Records read per blocking key when matching one record. Default: 300.
  size_t max_block_size = 300;
  // RocksDB block cache (uncompressed blocks). Every real-time read misses
  // it at first; a miss reads and decompresses a block, several times the
  // cost of a hit. 1 GiB holds the whole of a 1M-record store. Default: 1 GiB.
  size_t block_cache_bytes = size_t{1} << 30;
  // Persons whose views the in-memory read cache may hold: resolve and view
  // decisions served from it skip RocksDB. About 300 bytes per person with
  // three records; 0 turns it off. Default: 1,048,576.
  size_t read_cache_persons = size_t{1} << 20;
};

}  // namespace empi

#endif  // EMPI_OPTIONS_H_
