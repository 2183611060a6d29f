// Copyright EMPI developers.
//
// realtime_bench: latency of the real-time engine under concurrent load, as
// issue 4 asks it to be shown: two reader threads (resolve by source and
// record id, view decision, demographic search, in turn) and one writer
// thread (ingest of one record: matched, linked, durable) run together on an
// existing store for a fixed time; p50/p99 per operation are printed from
// every measured call. Every read is audited (written to audit.log, unsynced,
// before it returns) and every ingest is synced, exactly as in production.
//
// Build the store once, outside the measurement (about 1M records):
//
//   empi generate --persons 310000 --seed 1 --out /tmp/rt2/feeds
//   empi link --db /tmp/rt2/store /tmp/rt2/feeds/[A-Z]*.csv
//   realtime_bench --store /tmp/rt2/store --seconds 30
//
// (or EMPI_RT_BENCH_STORE=/tmp/rt2/store). The writer adds records with
// source RYA and ids BENCH-<pid>-<n> to that store: copies of stored
// patients, so they match and link. Without a store, a 10,000-record store
// is built through Ingest in a temporary directory (a quick check only).
// Flags: --store DIR, --seconds N (30), --warmup N (3, not measured),
// --sample N (20000 stored records the operations pick from), --read-rate N
// and --ingest-rate N (calls per second per thread; default 0: back to back,
// which keeps all three threads busy on two cores), --readers N (2),
// --no-writer, --no-search (readers resolve and decide a view in turn, the
// pair an HTTP $resolve makes; with --no-writer the calls per second are
// the in-process throughput bench/serve/ratio.sh sets against HTTP's),
// --as-of (resolve and view decide as of the last change,
// through the histories), --by-nhs (resolve by the sample's NHS number, or
// by record when it has none; an NHS number several persons hold counts as
// answered), --block-cache-mb N (EngineOptions' default, 1 GiB),
// --writer-nice N (the writer thread's nice value; negative favours it),
// --warm-cache (Store::WarmCache() before measuring, as a service would at
// start: without it the first minutes' calls read and decompress blocks;
// then one resolve and view of each sample, which fills the read cache as a
// service's traffic does: the steady state),
// --breakdown (single-threaded time of each store call a read makes, and of
// its audit commit; then exit; with --read-rate it sleeps 1/rate seconds
// before each call, as a paced caller would), --spin-wait (paced threads
// spin instead of sleeping between calls, which keeps their CPU awake: the
// difference is the cost of waking; meant for --breakdown, as more spinning
// threads than cores take each other's time), --jitter (no store: --readers
// threads spin for --seconds and count the stalls the machine imposes on a
// running thread, the floor under every percentile here).
//
// Per operation it prints p50/p99/p99.9/max; the share of calls preempted
// (another thread took the core mid-call) and the p99 of the rest; how long
// calls waited on the run queue for a core; their CPU time on a core (which
// includes the kernel's, e.g. an fsync's block-layer work); and how often
// they slept (an fsync, a lock).
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "empi/engine.h"
#include "engine/realtime/engine_internal.h"
#include "tests/engine/realtime/test_population.h"

namespace empi {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string store;
  double seconds = 30, warmup = 3;
  size_t sample = 20000;
  double read_rate = 0, ingest_rate = 0;  // calls per second per thread; 0: back to back
  int readers = 2;                        // reader threads
  bool writer = true;                     // the ingest thread
  bool as_of = false;                     // resolve and view as of the last change (ResolveAsOf, ...)
  bool by_nhs = false;                    // resolve by NHS number (ResolveByNhsNumber[AsOf])
  bool search = true;                     // readers search too (else resolve and view decision only)
  bool breakdown = false;                 // time the store calls of a read, one thread, then exit
  bool spin_wait = false;                 // paced threads spin instead of sleeping
  size_t block_cache_mb = 0;              // 0: EngineOptions' default
  bool jitter = false;                    // measure the machine's stalls, then exit
  int writer_nice = 0;                    // nice value of the writer thread (negative: favoured)
  bool warm_cache = false;                // Store::WarmCache() before measuring
};

struct Sample {
  Record record;
  uint64_t person_id = 0;
};

// Latencies in microseconds of one operation, from every thread; of the
// calls during which the kernel switched the thread out involuntarily
// (another runnable thread took its core), those apart; and of each call,
// the time the thread spent runnable but waiting for a core (preempted, or
// woken from a sleep such as an fsync while both cores were busy).
struct Latencies {
  std::vector<double> us, preempted_us, waiting_us, cpu_us;
  size_t errors = 0;
  long sleeps = 0;  // voluntary context switches during the measured calls
};

// Nanoseconds the calling thread has spent waiting on a run queue: the
// second field of /proc/thread-self/schedstat (0 where the kernel lacks it).
uint64_t RunQueueWaitNs() {
  thread_local const int fd = ::open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
  char buf[96];
  const ssize_t n = fd < 0 ? -1 : ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  buf[n] = '\0';
  unsigned long long run = 0, wait = 0;
  return std::sscanf(buf, "%llu %llu", &run, &wait) == 2 ? wait : 0;
}

// Context switches of the calling thread so far: involuntary (another
// runnable thread took its core) and voluntary (it slept: an fsync, a lock).
struct Switches {
  long involuntary = 0, voluntary = 0;
};
Switches ContextSwitches() {
  struct rusage u;
  if (::getrusage(RUSAGE_THREAD, &u) != 0) return {};
  return {u.ru_nivcsw, u.ru_nvcsw};
}

// CPU time the calling thread has used, in nanoseconds.
uint64_t ThreadCpuNs() {
  struct timespec t;
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1000000000 + static_cast<uint64_t>(t.tv_nsec);
}

double Percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  return sorted[std::min(sorted.size() - 1, static_cast<size_t>(q * static_cast<double>(sorted.size())))];
}

// Builds the small fallback store: 5,000 patients with a GP and an acute
// record each.
std::string BuildSmallStore() {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("empi_rt_bench_" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(path);
  EngineOptions o;
  o.sync = false;  // building only
  auto engine = Engine::Open(o, path);
  if (!engine.ok()) {
    std::fprintf(stderr, "realtime_bench: %s\n", std::string(engine.status().message()).c_str());
    std::exit(1);
  }
  auto patients = testing::MakePatients(5000, 3);
  for (size_t i = 0; i < patients.size(); ++i) {
    (void)(*engine)->Ingest(testing::RecordOf(patients[i], "M84001", "G" + std::to_string(i), true), {});
    (void)(*engine)->Ingest(testing::RecordOf(patients[i], "RKB", "K" + std::to_string(i), i % 2), {});
  }
  return path;
}

// Every k-th stored record, spread over all sources.
std::vector<Sample> SampleRecords(index::Store* store, size_t want) {
  uint64_t total = 0;
  if (auto rc = store->GetMeta("record_count"); rc.ok() && *rc) total = std::strtoull((*rc)->c_str(), nullptr, 10);
  const uint64_t stride = std::max<uint64_t>(1, total / std::max<size_t>(want, 1));
  std::vector<Sample> out;
  uint64_t i = 0;
  absl::Status s = store->ForEachRecord([&](const index::StoredRecord& r) {
    if (i++ % stride == 0) out.push_back({r.record, r.person_id});
    return out.size() < want;
  });
  if (!s.ok() || out.empty()) {
    std::fprintf(stderr, "realtime_bench: no records to sample: %s\n", std::string(s.message()).c_str());
    std::exit(1);
  }
  return out;
}

// Waits until `t`, sleeping, or with `spin` reading the clock.
void WaitUntil(Clock::time_point t, bool spin) {
  if (!spin) {
    std::this_thread::sleep_until(t);
    return;
  }
  while (Clock::now() < t) {
  }
}

// Single-threaded cost of each store call a resolve or view decision makes,
// and of the read's audit commit, over the sample: where a read's time goes.
// `rate` > 0: wait 1/rate s before each call (`spin`: spinning).
void Breakdown(Engine* engine, const std::vector<Sample>& samples, double rate, bool spin) {
  index::Store* store = StoreOf(engine);
  const size_t n = std::min<size_t>(samples.size(), 20000);
  std::vector<std::vector<double>> us(6);
  const char* names[] = {"snapshot + release",   "GetRecord",
                         "GetPersonView",        "audit commit (unsynced)",
                         "Resolve (whole call)", "MayAssembleView (whole call)"};
  auto time = [&](int i, auto fn) {
    if (rate > 0) {
      WaitUntil(Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1 / rate)),
                spin);
    }
    const Clock::time_point a = Clock::now();
    fn();
    us[i].push_back(std::chrono::duration<double, std::micro>(Clock::now() - a).count());
  };
  Requester who{"bench", "RKB", "clinician", "direct-care"};
  for (size_t i = 0; i < n; ++i) {
    const Sample& s = samples[i];
    time(0, [&] { store->ReleaseSnapshot(store->GetSnapshot()); });
    time(1, [&] { (void)store->GetRecord(s.record.Key()); });
    time(2, [&] { (void)store->GetPersonView(s.person_id); });
    index::AuditEvent ev;
    ev.requester = "bench";
    ev.action = "resolve";
    ev.persons = {s.person_id};
    ev.records = {s.record.Key()};
    index::ChangeSet none = store->NewChangeSet();
    time(3, [&] { (void)store->Commit(&none, &ev, false); });
    time(4, [&] { (void)engine->Resolve(s.record.source, s.record.record_id, who); });
    time(5, [&] { (void)engine->MayAssembleView(s.person_id, who); });
  }
  std::printf("| store call (1 thread, %zu calls) | p50 | p99 |\n| --- | --- | --- |\n", n);
  for (size_t i = 0; i < us.size(); ++i) {
    std::sort(us[i].begin(), us[i].end());
    std::printf("| %s | %.1f us | %.1f us |\n", names[i], Percentile(us[i], 0.5), Percentile(us[i], 0.99));
  }
}

// The machine's floor: `threads` threads spin reading the clock for
// `seconds`; every gap over 10 us is time the thread was not running
// (interrupts, the hypervisor, other tasks). A call of d us overlaps such a
// gap with probability about rate * d, whatever the engine does.
int Jitter(int threads, double seconds) {
  std::printf(
      "| thread | stalls > 10 us per s | > 50 us per s | > 200 us per s | time lost |\n"
      "| --- | --- | --- | --- | --- |\n");
  std::vector<std::thread> pool;
  std::vector<std::string> rows(threads);
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      uint64_t over10 = 0, over50 = 0, over200 = 0;
      double lost = 0;
      const Clock::time_point start = Clock::now();
      const auto stop = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
      for (Clock::time_point last = start, now; (now = Clock::now()) < stop; last = now) {
        const double gap = std::chrono::duration<double, std::micro>(now - last).count();
        if (gap <= 10) continue;
        ++over10;
        over50 += gap > 50;
        over200 += gap > 200;
        lost += gap;
      }
      char row[160];
      std::snprintf(row, sizeof row, "| %d | %.0f | %.0f | %.1f | %.2f%% |\n", t, over10 / seconds, over50 / seconds,
                    over200 / seconds, lost / (seconds * 1e4));
      rows[t] = row;
    });
  }
  for (auto& t : pool) t.join();
  for (const auto& r : rows) std::fputs(r.c_str(), stdout);
  return 0;
}

// The operations measured, as indices into the per-operation latencies.
namespace op {
inline constexpr int kResolve = 0;
inline constexpr int kView = 1;
inline constexpr int kSearch = 2;
inline constexpr int kIngest = 3;
}  // namespace op
inline constexpr int kNumOps = 4;
constexpr const char* kOpNames[kNumOps] = {"resolve", "view decision", "search", "ingest"};

// What the threads of a measured run recorded.
struct Load {
  // Threads 0 .. readers-1 read; the writer's latencies go in the last slot.
  std::vector<std::vector<Latencies>> per_thread;
  std::atomic<size_t> outcomes[4] = {};  // of ingests, by IngestOutcome
};

// Times one call (`fn` returns whether it succeeded) into *l, unless it
// started before `measure_from` (warm-up; errors are counted all the same).
template <typename Fn>
void Timed(Clock::time_point measure_from, Latencies* l, Fn fn) {
  const Switches switches = ContextSwitches();
  const uint64_t waited = RunQueueWaitNs();
  const uint64_t cpu = ThreadCpuNs();
  const Clock::time_point a = Clock::now();
  const bool ok = fn();
  const Clock::time_point b = Clock::now();
  const double cpu_us = static_cast<double>(ThreadCpuNs() - cpu) / 1000;
  const Switches after = ContextSwitches();
  const bool preempted = after.involuntary != switches.involuntary;
  const double waiting_us = static_cast<double>(RunQueueWaitNs() - waited) / 1000;
  if (!ok) ++l->errors;
  if (a < measure_from) return;
  const double us = std::chrono::duration<double, std::micro>(b - a).count();
  l->us.push_back(us);
  l->waiting_us.push_back(waiting_us);
  l->cpu_us.push_back(cpu_us);
  l->sleeps += after.voluntary - switches.voluntary;
  if (preempted) l->preempted_us.push_back(us);
}

// Paces a loop at `rate` calls per second (none when 0); a late call starts
// at once, without bursts to catch up.
class Pacer {
 public:
  Pacer(double rate, Clock::time_point stop, bool spin)
      : period_(rate > 0 ? std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1 / rate))
                         : Clock::duration(0)),
        stop_(stop),
        spin_(spin) {}
  void Wait() {
    if (period_.count() == 0) return;
    const Clock::time_point now = Clock::now();
    if (next_ > now) WaitUntil(std::min(next_, stop_), spin_);
    next_ = std::max(next_, now) + period_;
  }

 private:
  Clock::duration period_;
  Clock::time_point stop_;
  bool spin_;
  Clock::time_point next_ = Clock::now();
};

// Resolves and views each sample once, as a service that has run for a
// while has, so that the measurement is of the read cache's steady state
// and not of first reads (about 4% of a 20 s run's reads after a 3 s
// warm-up).
void WarmReadCache(Engine* engine, const std::vector<Sample>& samples) {
  const Clock::time_point w0 = Clock::now();
  Requester who{"bench-warm-up", "RYA", "clinician", "direct-care"};
  for (const Sample& s : samples) {
    (void)engine->Resolve(s.record.source, s.record.record_id, who);
    (void)engine->MayAssembleView(s.person_id, who);
  }
  std::printf("read cache warmed: %zu records resolved in %.1f s\n", samples.size(),
              std::chrono::duration<double>(Clock::now() - w0).count());
}

// Reader thread `t`: resolves, view decisions and (unless --no-search)
// searches in turn, on random samples, until `stop`.
void ReadUntil(Engine* engine, const Options& opt, const std::vector<Sample>& samples, int t,
               Clock::time_point measure_from, Clock::time_point stop, std::vector<Latencies>* lat) {
  Pacer pace(opt.read_rate, stop, opt.spin_wait);
  std::mt19937_64 rng(t + 1);
  Requester who{"bench-reader-" + std::to_string(t), "RKB", "clinician", "direct-care"};
  for (uint64_t i = 0; Clock::now() < stop; ++i) {
    pace.Wait();
    if (Clock::now() >= stop) break;
    const Sample& s = samples[rng() % samples.size()];
    switch (i % (opt.search ? 3 : 2)) {
      case 0:
        Timed(measure_from, &(*lat)[op::kResolve], [&] {
          const AsOf now{engine->LastChange(), 0};
          if (opt.by_nhs && !s.record.nhs_number.empty()) {
            const absl::StatusOr<Resolution> r = opt.as_of
                                                     ? engine->ResolveByNhsNumberAsOf(s.record.nhs_number, now, who)
                                                     : engine->ResolveByNhsNumber(s.record.nhs_number, who);
            return r.ok() || absl::IsFailedPrecondition(r.status()) || absl::IsNotFound(r.status());
          }
          return (opt.as_of ? engine->ResolveAsOf(s.record.source, s.record.record_id, now, who)
                            : engine->Resolve(s.record.source, s.record.record_id, who))
              .ok();
        });
        break;
      case 1:
        Timed(measure_from, &(*lat)[op::kView], [&] {
          return (opt.as_of ? engine->MayAssembleViewAsOf(s.person_id, {engine->LastChange(), 0}, who)
                            : engine->MayAssembleView(s.person_id, who))
              .ok();
        });
        break;
      default: {
        const Record& r = s.record;
        Demographics d{"", r.family_name, r.given_names, r.date_of_birth, r.postcode, r.sex};
        Timed(measure_from, &(*lat)[op::kSearch], [&] { return engine->Search(d, who).ok(); });
      }
    }
  }
}

// The writer thread: ingests copies of random samples under new ids, as a
// second contributor, until `stop`.
void IngestUntil(Engine* engine, const Options& opt, const std::vector<Sample>& samples, Clock::time_point measure_from,
                 Clock::time_point stop, Load* load) {
  if (opt.writer_nice != 0 && ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), opt.writer_nice) != 0) {
    std::perror("realtime_bench: setpriority of the writer thread");
  }
  std::mt19937_64 rng(99);
  Requester who{"bench-writer", "RYA", "feed", "direct-care"};
  const std::string prefix = "BENCH-" + std::to_string(::getpid()) + "-";
  Pacer pace(opt.ingest_rate, stop, opt.spin_wait);
  for (uint64_t n = 0; Clock::now() < stop; ++n) {
    pace.Wait();
    if (Clock::now() >= stop) break;
    Record r = samples[rng() % samples.size()].record;
    r.source = "RYA";
    r.record_id = prefix + std::to_string(n);
    Timed(measure_from, &load->per_thread[opt.readers][op::kIngest], [&] {
      auto res = engine->Ingest(r, who);
      if (res.ok()) ++load->outcomes[static_cast<int>(res->outcome)];
      return res.ok();
    });
  }
}

// The readers and the writer, for the warm-up and then the measured time.
void RunLoad(Engine* engine, const Options& opt, const std::vector<Sample>& samples, Load* load) {
  auto after = [](Clock::time_point t, double seconds) {
    return t + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  };
  const Clock::time_point measure_from = after(Clock::now(), opt.warmup);
  const Clock::time_point stop = after(measure_from, opt.seconds);
  load->per_thread.assign(opt.readers + 1, std::vector<Latencies>(kNumOps));
  std::vector<std::thread> threads;
  for (int t = 0; t < opt.readers; ++t) {
    threads.emplace_back([&, t] { ReadUntil(engine, opt, samples, t, measure_from, stop, &load->per_thread[t]); });
  }
  if (opt.writer) threads.emplace_back([&] { IngestUntil(engine, opt, samples, measure_from, stop, load); });
  for (auto& t : threads) t.join();
}

// One row of the latency table: operation `op` over every thread.
void PrintLatencyRow(int op, const Load& load) {
  std::vector<double> all, preempted, waiting, cpu;
  size_t errors = 0;
  long sleeps = 0;
  for (const auto& t : load.per_thread) {
    cpu.insert(cpu.end(), t[op].cpu_us.begin(), t[op].cpu_us.end());
    sleeps += t[op].sleeps;
    all.insert(all.end(), t[op].us.begin(), t[op].us.end());
    preempted.insert(preempted.end(), t[op].preempted_us.begin(), t[op].preempted_us.end());
    waiting.insert(waiting.end(), t[op].waiting_us.begin(), t[op].waiting_us.end());
    errors += t[op].errors;
  }
  std::sort(all.begin(), all.end());
  std::sort(preempted.begin(), preempted.end());
  std::sort(waiting.begin(), waiting.end());
  std::sort(cpu.begin(), cpu.end());
  double waiting_sum = 0;
  for (double w : waiting) waiting_sum += w;
  // The sorted latencies of the calls not preempted: `all` less `preempted`.
  std::vector<double> alone;
  std::set_difference(all.begin(), all.end(), preempted.begin(), preempted.end(), std::back_inserter(alone));
  std::printf(
      "| %s | %zu | %zu | %.1f us | %.1f us | %.1f us | %.1f us | %.2f%% | %.1f us | %.1f / %.1f us | %.1f / %.1f us "
      "| %.2f |\n",
      kOpNames[op], all.size(), errors, Percentile(all, 0.50), Percentile(all, 0.99), Percentile(all, 0.999),
      all.empty() ? 0 : all.back(), 100.0 * preempted.size() / std::max<size_t>(1, all.size()), Percentile(alone, 0.99),
      Percentile(waiting, 0.99), waiting_sum / static_cast<double>(std::max<size_t>(1, waiting.size())),
      Percentile(cpu, 0.50), Percentile(cpu, 0.99),
      static_cast<double>(sleeps) / static_cast<double>(std::max<size_t>(1, all.size())));
}

void PrintResults(Engine* engine, const Options& opt, const Load& load) {
  auto rate = [](double r) {
    return r > 0 ? std::to_string(static_cast<int>(r)) + " calls/s" : std::string("back to back");
  };
  std::printf("%d reader threads (%s each) + %d writer thread (%s), %.0f s measured after %.0f s warm-up\n\n",
              opt.readers, rate(opt.read_rate).c_str(), opt.writer ? 1 : 0, rate(opt.ingest_rate).c_str(), opt.seconds,
              opt.warmup);
  // "not preempted": the calls the kernel let run on their core from start
  // to end, i.e. what the engine costs with a core to itself (interrupts and
  // the hypervisor's stalls, which no count shows, remain in both).
  std::printf(
      "| op | calls | errors | p50 | p99 | p99.9 | max | preempted | p99 not preempted |"
      " waiting for a core p99 / mean | on a core p50 / p99 | sleeps per call |\n"
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
  for (int op = 0; op < kNumOps; ++op) PrintLatencyRow(op, load);
  std::printf("\nthroughput (measured calls per second):");
  for (int op = 0; op < kNumOps; ++op) {
    size_t calls = 0;
    for (const auto& th : load.per_thread) calls += th[op].us.size();
    std::printf("%s %s %.0f", op == 0 ? "" : ",", kOpNames[op], static_cast<double>(calls) / opt.seconds);
  }
  std::printf("\n");
  std::printf("\ningest outcomes (warm-up included): linked %zu, new person %zu, review %zu, unchanged %zu\n",
              load.outcomes[0].load(), load.outcomes[1].load(), load.outcomes[2].load(), load.outcomes[3].load());
  const index::ReadCache::Stats cache = StoreOf(engine)->read_cache_stats();
  std::printf(
      "read cache (warm-up included): %llu lookups hit, %llu missed (%.2f%%); %llu entries refreshed by writes\n",
      static_cast<unsigned long long>(cache.hits), static_cast<unsigned long long>(cache.misses),
      100.0 * static_cast<double>(cache.misses) / static_cast<double>(std::max<uint64_t>(1, cache.hits + cache.misses)),
      static_cast<unsigned long long>(cache.refreshed));
}

// Warms the block cache of the store (--warm-cache); false on failure.
bool WarmBlockCache(Engine* engine) {
  const Clock::time_point w0 = Clock::now();
  auto used = StoreOf(engine)->WarmCache();
  if (!used.ok()) {
    std::fprintf(stderr, "realtime_bench: %s\n", std::string(used.status().message()).c_str());
    return false;
  }
  std::printf("block cache warmed: %.0f MiB in %.1f s\n", static_cast<double>(*used) / (1 << 20),
              std::chrono::duration<double>(Clock::now() - w0).count());
  return true;
}

int Run(const Options& opt) {
  if (opt.jitter) return Jitter(std::max(1, opt.readers), opt.seconds);
  std::string path = opt.store;
  const bool temporary = path.empty();
  if (temporary) path = BuildSmallStore();
  EngineOptions engine_options;  // sync = true: ingests are durable
  if (opt.block_cache_mb > 0) engine_options.block_cache_bytes = opt.block_cache_mb << 20;
  auto opened = Engine::Open(engine_options, path);
  if (!opened.ok()) {
    std::fprintf(stderr, "realtime_bench: %s\n", std::string(opened.status().message()).c_str());
    return 1;
  }
  Engine* engine = opened->get();
  if (opt.warm_cache && !WarmBlockCache(engine)) return 1;
  auto t0 = Clock::now();
  const std::vector<Sample> samples = SampleRecords(StoreOf(engine), opt.sample);
  auto rc = StoreOf(engine)->GetMeta("record_count");
  std::printf("store %s: %s records; sampled %zu in %.1f s\n", path.c_str(), rc.ok() && *rc ? (*rc)->c_str() : "?",
              samples.size(), std::chrono::duration<double>(Clock::now() - t0).count());

  if (opt.breakdown) {
    Breakdown(engine, samples, opt.read_rate, opt.spin_wait);
    return 0;
  }
  if (opt.warm_cache) WarmReadCache(engine, samples);
  Load load;
  RunLoad(engine, opt, samples, &load);
  PrintResults(engine, opt, load);
  opened->reset();
  if (temporary) std::filesystem::remove_all(path);
  return 0;
}

}  // namespace
}  // namespace empi

int main(int argc, char** argv) {
  empi::Options opt;
  if (const char* env = std::getenv("EMPI_RT_BENCH_STORE")) opt.store = env;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--store" && has_value) {
      opt.store = argv[++i];
    } else if (a == "--seconds" && has_value) {
      opt.seconds = std::atof(argv[++i]);
    } else if (a == "--warmup" && has_value) {
      opt.warmup = std::atof(argv[++i]);
    } else if (a == "--read-rate" && has_value) {
      opt.read_rate = std::atof(argv[++i]);
    } else if (a == "--ingest-rate" && has_value) {
      opt.ingest_rate = std::atof(argv[++i]);
    } else if (a == "--readers" && has_value) {
      opt.readers = std::max(0, std::atoi(argv[++i]));
    } else if (a == "--no-writer") {
      opt.writer = false;
    } else if (a == "--no-search") {
      opt.search = false;
    } else if (a == "--as-of") {
      opt.as_of = true;
    } else if (a == "--by-nhs") {
      opt.by_nhs = true;
    } else if (a == "--block-cache-mb" && has_value) {
      opt.block_cache_mb = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--writer-nice" && has_value) {
      opt.writer_nice = std::atoi(argv[++i]);
    } else if (a == "--warm-cache") {
      opt.warm_cache = true;
    } else if (a == "--jitter") {
      opt.jitter = true;
    } else if (a == "--breakdown") {
      opt.breakdown = true;
    } else if (a == "--spin-wait") {
      opt.spin_wait = true;
    } else if (a == "--sample" && has_value) {
      opt.sample = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr,
                   "usage: realtime_bench [--store DIR] [--seconds N] [--warmup N] [--sample N]"
                   " [--read-rate N] [--ingest-rate N] [--readers N] [--no-writer] [--no-search] [--block-cache-mb N]"
                   " [--writer-nice N] [--warm-cache] [--breakdown] [--spin-wait] [--jitter]\n");
      return 64;
    }
  }
  return empi::Run(opt);
}
