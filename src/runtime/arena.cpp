#include "runtime/arena.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <utility>

namespace dynrt {

Arena::~Arena() {
  if (mapped_) munmap(mapped_, mapped_bytes_);
}

void Arena::swap(Arena& o) noexcept {
  std::swap(block_, o.block_);
  std::swap(mapped_, o.mapped_);
  std::swap(mapped_bytes_, o.mapped_bytes_);
}

void Arena::grow(const ExecutionProvider* p, size_t bytes) {
  if (bytes <= size() && (mapped_ || block_.data())) return;
  if (!p->host_memory()) {
    block_ = DeviceBuffer();  // free first: device memory is the scarcer
    block_ = DeviceBuffer(p, bytes);
    return;
  }
  const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t want = (std::max<size_t>(bytes, 1) + page - 1) / page * page;
  void* m = mapped_ ? mremap(mapped_, mapped_bytes_, want, MREMAP_MAYMOVE)
                    : mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED)
    throw Error(ErrorCode::kOutOfMemory, "out of " + p->name() + " memory growing the arena to " +
                                             std::to_string(bytes) + " bytes");
  mapped_ = m;
  mapped_bytes_ = want;
}

}  // namespace dynrt
