#include "core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <mutex>

namespace dynrt {
namespace {

// Live mappings by start address: release_resident() may only advise pages
// of a file mapping (on anonymous memory MADV_DONTNEED would zero them).
// Never destroyed: an Engine in a global may unmap after other statics are gone.
std::mutex& registry_mutex() {
  static auto* m = new std::mutex;
  return *m;
}
std::map<uintptr_t, uintptr_t>& registry() {  // start -> end
  static auto* r = new std::map<uintptr_t, uintptr_t>;
  return *r;
}

}  // namespace

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path) {
  // Only regular files: opening a FIFO here would consume (or wait for) its writer, and the
  // caller's own read of it would then find nothing.
  struct stat before {};
  if (::stat(path.c_str(), &before) != 0 || !S_ISREG(before.st_mode)) return nullptr;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return nullptr;
  struct stat st {};
  void* p = MAP_FAILED;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
    p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);  // the mapping keeps the file
  if (p == MAP_FAILED) return nullptr;
  const size_t size = static_cast<size_t>(st.st_size);
  {
    std::lock_guard<std::mutex> lock(registry_mutex());
    registry()[reinterpret_cast<uintptr_t>(p)] = reinterpret_cast<uintptr_t>(p) + size;
  }
  return std::shared_ptr<MappedFile>(new MappedFile(static_cast<const char*>(p), size));
}

MappedFile::~MappedFile() {
  {
    std::lock_guard<std::mutex> lock(registry_mutex());
    registry().erase(reinterpret_cast<uintptr_t>(data_));
  }
  munmap(const_cast<char*>(data_), size_);
}

void release_resident(const void* p, size_t n) {
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(p);
  uintptr_t end = 0;
  if (n == 0 || __builtin_add_overflow(begin, n, &end)) return;
  std::lock_guard<std::mutex> lock(registry_mutex());  // held: the mapping cannot go away meanwhile
  auto it = registry().upper_bound(begin);
  if (it == registry().begin()) return;
  --it;
  if (begin < it->first || end > it->second) return;  // not (wholly) inside a mapping
  const uintptr_t first = (begin + page - 1) / page * page, last = end / page * page;
  if (first < last) madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

}  // namespace dynrt
