#include "state/disk.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

namespace leadflow::state {

std::optional<uint64_t> FreeBytes(const std::string& path) {
  struct statvfs st{};
  if (statvfs(path.c_str(), &st) != 0) return std::nullopt;
  return static_cast<uint64_t>(st.f_bavail) * static_cast<uint64_t>(st.f_frsize);
}

std::string HumanBytes(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f MB", static_cast<double>(bytes) / 1e6);
  return buf;
}

Status CheckRoom(const std::string& dir, uint64_t need, std::string_view why) {
  const std::optional<uint64_t> free = FreeBytes(dir);
  if (!free || *free >= need) return Status::Ok();
  return Status::IoError("disk nearly full: " + HumanBytes(*free) + " free in " + dir + ", " + std::string(why));
}

Status CheckWritable(const std::string& dir, uint64_t min_free_bytes, uint64_t probe_bytes) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create " + dir + ": " + ec.message());
  const std::optional<uint64_t> free = FreeBytes(dir);
  if (!free) return Status::IoError("cannot examine the file system of " + dir + ": " + std::strerror(errno));
  if (*free < min_free_bytes) {
    return Status::IoError("no space left on device: " + HumanBytes(*free) + " free in " + dir + ", at least " +
                           HumanBytes(min_free_bytes) + " needed (--min-free-disk-mb)");
  }
  // The probe: a file written in full and synced, as RocksDB's WAL and
  // MANIFEST will be. A read-only mount or a quota shows up here.
  const std::string probe = dir + "/.leadflow-write-probe";
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError("cannot write in " + dir + ": " + std::strerror(errno));
  std::vector<char> block(64 * 1024, 0);
  uint64_t written = 0;
  int err = 0;
  while (written < probe_bytes) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(block.size(), probe_bytes - written));
    ssize_t w = ::write(fd, block.data(), n);
    if (w < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    written += static_cast<uint64_t>(w);
  }
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  ::close(fd);
  ::unlink(probe.c_str());
  if (err != 0) return Status::IoError("cannot write in " + dir + ": " + std::strerror(err));
  return Status::Ok();
}

}  // namespace leadflow::state
