// Copyright EMPI developers.
//
// allocator.h: the glibc allocator tuned for a process that builds and
// frees gigabytes of vectors and RocksDB write batches (docs/benchmarks.md,
// "The allocator"). Called first thing in main(); the library never calls
// it, an embedding service tunes its own process.
#ifndef EMPI_ENGINE_CLI_ALLOCATOR_H_
#define EMPI_ENGINE_CLI_ALLOCATOR_H_

namespace empi::cli {

// 1. For the commands that work on a whole store or population (link,
//    relink, generate, evaluate, export, check, check-objections, compact,
//    ingest, serve): transparent huge pages for malloc (glibc's tunable
//    glibc.malloc.hugetlb=1). glibc reads tunables only when a process
//    starts, so the first time through the process executes its own binary
//    again (the same pid, name, arguments and descriptors) with the
//    tunable added to GLIBC_TUNABLES. Not done when GLIBC_TUNABLES already
//    names glibc.malloc.hugetlb, when EMPI_HUGEPAGES=0, in a secure
//    (setuid) process, or when the exec fails (the command then runs as it
//    is).
// 2. Memory freed stays with the process for the next batch instead of
//    going back to the kernel and being faulted in again (mallopt
//    M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD).
// 3. For `serve`: no fastbins (M_MXFAST 0), whose consolidation each
//    request's 4 KiB read buffer set off, and a per-thread cache of 1,024
//    blocks per size (glibc.malloc.tcache_count, by the same exec as 1;
//    kept when GLIBC_TUNABLES names it).
void TuneAllocator(int argc, char** argv);

}  // namespace empi::cli

#endif  // EMPI_ENGINE_CLI_ALLOCATOR_H_
