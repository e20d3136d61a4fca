// Engine files mapped read-only into memory, so that constants are used in
// place instead of copied out of the file. A weight that a kernel has
// reordered into its own layout (oneDNN's blocked weights, a GPU upload) is
// then given back with release_resident(): its pages leave the process's
// resident set and come back from the file if anything reads it again. On
// memory that is not a registered mapping release_resident() does nothing,
// so callers need not know where a constant came from.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "dynrt/export.h"

namespace dynrt {

class DYNRT_INTERNAL MappedFile {
 public:
  // Maps the whole of a regular, non-empty file; null when it cannot be
  // mapped (a pipe, an empty file, a platform without mmap): callers read it instead.
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  MappedFile(const char* data, size_t size) : data_(data), size_(size) {}
  const char* data_;
  size_t size_;
};

// Drops the whole pages inside [p, p + n) from the resident set when they lie
// in a live MappedFile; anything else is left alone.
DYNRT_INTERNAL void release_resident(const void* p, size_t n);

}  // namespace dynrt
