#include "backends/timing_cache.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "dynrt/error.h"

namespace dynrt {
namespace {

constexpr const char* kHeader = "dynrt timing cache 1";
// A cache is a few hundred lines; these bounds only keep a wrong file from
// taking the build's memory.
constexpr size_t kMaxLine = 4096, kMaxEntries = 1 << 20, kMaxValues = 64;

}  // namespace

bool TimingCache::find(const std::string& key, std::vector<int64_t>* value) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  ++hits_;
  *value = it->second;
  return true;
}

void TimingCache::put(const std::string& key, std::vector<int64_t> value) {
  std::lock_guard lock(mu_);
  ++measured_;
  entries_[key] = std::move(value);
}

size_t TimingCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

// One entry per line: the key, a tab, the values separated by spaces.
void TimingCache::load(const std::string& path) {
  std::ifstream f(path);
  if (!f) return;
  auto bad = [&](size_t line, const std::string& why) {
    return Error(ErrorCode::kInvalidConfig,
                 "timing cache '" + path + "', line " + std::to_string(line) + ": " + why + " (delete the file to start over)");
  };
  std::string line;
  size_t n = 0;
  std::map<std::string, std::vector<int64_t>> read;
  while (std::getline(f, line)) {
    ++n;
    if (line.size() > kMaxLine) throw bad(n, "line too long");
    if (n == 1) {
      if (line != kHeader) throw bad(n, "not a dynrt timing cache");
      continue;
    }
    if (line.empty()) continue;
    size_t tab = line.find('\t');
    if (tab == std::string::npos || tab == 0) throw bad(n, "expected KEY<tab>VALUES");
    std::vector<int64_t> values;
    std::istringstream in(line.substr(tab + 1));
    long long v = 0;
    while (in >> v) values.push_back(v);
    if (!in.eof() || values.empty() || values.size() > kMaxValues) throw bad(n, "expected up to 64 integers after the key");
    if (read.size() >= kMaxEntries) throw bad(n, "too many entries");
    read[line.substr(0, tab)] = std::move(values);
  }
  if (n == 0) throw bad(1, "empty file");
  std::lock_guard lock(mu_);
  for (auto& [k, v] : read) entries_.emplace(k, std::move(v));
}

void TimingCache::save(const std::string& path) const {
  std::ostringstream out;
  out << kHeader << "\n";
  {
    std::lock_guard lock(mu_);
    for (const auto& [k, v] : entries_) {
      out << k << '\t';
      for (size_t i = 0; i < v.size(); ++i) out << (i ? " " : "") << v[i];
      out << '\n';
    }
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << out.str();
    if (!f.flush()) throw Error(ErrorCode::kIo, "cannot write the timing cache '" + tmp + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw Error(ErrorCode::kIo, "cannot replace the timing cache '" + path + "'");
}

}  // namespace dynrt
