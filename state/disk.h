// Disk: the free space of the state's file system and a write probe, so that
// leadflow refuses to start on a disk it cannot write (instead of failing
// deep inside RocksDB's recovery) and pauses ingest before the disk fills.
//
// Thread safety: pure functions over the file system; callable from any thread.
#ifndef LEADFLOW_STATE_DISK_H_
#define LEADFLOW_STATE_DISK_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "state/status.h"

namespace leadflow::state {

// Bytes available to an unprivileged writer on the file system holding path
// (statvfs f_bavail * f_frsize); nullopt when path cannot be examined.
std::optional<uint64_t> FreeBytes(const std::string& path);

// OK when dir (created if missing) is on a file system with at least
// min_free_bytes available and a probe file of probe_bytes can be written,
// synced and removed there. Otherwise IoError whose message says what is
// wrong ("no space left on device: 1.2 MB free in /data, at least 64.0 MB
// needed"), fit to show an operator.
Status CheckWritable(const std::string& dir, uint64_t min_free_bytes, uint64_t probe_bytes = 1u << 20);

// OK unless the file system holding dir is known to have fewer than need
// bytes available; then IoError "disk nearly full: <free> free in <dir>,
// <why>" (why: what the room was for, for an operator).
Status CheckRoom(const std::string& dir, uint64_t need, std::string_view why);

// "12.3 MB": a byte count for messages.
std::string HumanBytes(uint64_t bytes);

}  // namespace leadflow::state

#endif  // LEADFLOW_STATE_DISK_H_
