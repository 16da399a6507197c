#include "app/allocator.h"

#ifdef LEADFLOW_JEMALLOC
#include <jemalloc/jemalloc.h>

// Read by jemalloc at its first allocation, before main; MALLOC_CONF in
// the environment is applied after it and wins (jemalloc's documented
// order), so an operator can still override it.
extern "C" {
const char* malloc_conf = "thp:always";
}
#endif

namespace leadflow::app {

void AllocatorBatchMode() {
#ifdef LEADFLOW_JEMALLOC
  ssize_t never = -1;
  // The default for arenas made from now on, then every arena made so far
  // (MALLCTL_ARENAS_ALL). Failures leave the defaults: only slower.
  for (const char* name : {"arenas.dirty_decay_ms", "arenas.muzzy_decay_ms"}) {
    (void)mallctl(name, nullptr, nullptr, &never, sizeof(never));
  }
  // Each arena by its index: jemalloc refuses `arena.<MALLCTL_ARENAS_ALL>`
  // for the decay times (EFAULT), which left arena 0, the main thread's,
  // returning pages after 10 s: with one worker it purged ~130 MB of the
  // medium stream's heap that was then faulted in and zeroed again (7.8%
  // of the run's CPU in clear_page_erms; session 38). An index not in use
  // yet fails here and takes the default set above when it is made.
  unsigned narenas = 0;
  size_t size = sizeof(narenas);
  if (mallctl("arenas.narenas", &narenas, &size, nullptr, 0) != 0) return;
  for (unsigned i = 0; i < narenas; ++i) {
    for (const char* what : {"dirty_decay_ms", "muzzy_decay_ms"}) {
      const std::string name = "arena." + std::to_string(i) + "." + what;
      (void)mallctl(name.c_str(), nullptr, nullptr, &never, sizeof(never));
    }
  }
#endif
}

std::string AllocatorDescription() {
  // Options are fixed at the first allocation: read once.
  static const std::string description = [] {
#ifdef LEADFLOW_JEMALLOC
    const char* thp = nullptr;
    size_t size = sizeof(thp);
    if (mallctl("opt.thp", &thp, &size, nullptr, 0) == 0 && thp) return std::string("jemalloc (thp: ") + thp + ")";
    return std::string("jemalloc");
#else
    return std::string("system malloc");
#endif
  }();
  return description;
}

}  // namespace leadflow::app
