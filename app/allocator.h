// The allocator's tuning (jemalloc, when leadflow is linked with it;
// app/CMakeLists.txt).
//
// - Transparent huge pages for the heap, in every command: the applier's
//   lead records, sets and maps are touched all over a heap of 1-3 GiB,
//   and with 4 KiB pages a catch-up spent ~10% of its CPU in page faults,
//   TLB misses and, at exit, unmapping (session 36, `ingest --file` of the
//   medium stream: 17.7 -> 16.4 s with one worker, 11.2 -> 9.9 s with
//   two; the kernel's THP mode here is `madvise`, so jemalloc asks for them
//   with madvise(MADV_HUGEPAGE): `thp:always`).
// - For a batch command (`leadflow ingest --file`), freed pages are kept
//   instead of returned to the kernel after 10 s and faulted in again
//   (AllocatorBatchMode); the process returns them all when it exits. The service
//   keeps jemalloc's decay, so its memory follows its caches' budget.
//   jemalloc still purges an arena, whatever its decay, when the last
//   thread using it exits: hence one long-lived writer thread
//   (views/detail/task_thread.h), not a thread per write.
//
// Without jemalloc both are no-ops.
#ifndef LEADFLOW_APP_ALLOCATOR_H_
#define LEADFLOW_APP_ALLOCATOR_H_

#include <string>

namespace leadflow::app {

// Keeps freed pages for the rest of the process (every arena, the ones
// made later included). Call before the batch's work starts.
void AllocatorBatchMode();

// "jemalloc (thp: always)" or "system malloc": for the startup log.
std::string AllocatorDescription();

}  // namespace leadflow::app

#endif  // LEADFLOW_APP_ALLOCATOR_H_
