// What the builder measured while tuning (BuildConfig::tune): the kernels'
// choices, keyed by a string that names the device, the library version and
// the problem, so equal problems (the layers of a transformer) are measured
// once. Kept in a file between builds (BuildConfig::timing_cache): a rebuild
// of the same model, or of another with the same problems, measures nothing.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "dynrt/export.h"

namespace dynrt {

class DYNRT_INTERNAL TimingCache {
 public:
  // The stored choice for `key`, or null (then the caller measures and put()s).
  bool find(const std::string& key, std::vector<int64_t>* value);
  void put(const std::string& key, std::vector<int64_t> value);
  size_t size() const;
  int64_t hits() const { return hits_; }
  int64_t measured() const { return measured_; }

  // A missing file is an empty cache; a malformed one is kInvalidConfig naming
  // the file and line. save() writes a temporary file and renames it over.
  void load(const std::string& path);
  void save(const std::string& path) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::vector<int64_t>> entries_;
  int64_t hits_ = 0, measured_ = 0;
};

}  // namespace dynrt
