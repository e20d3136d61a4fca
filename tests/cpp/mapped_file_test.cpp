// Mapped engine files: pages given back with release_resident() read the
// same bytes again, and memory that is not a mapping is never touched.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <vector>

#include "core/mapped_file.h"

namespace {

std::vector<char> pattern(size_t n) {
  std::vector<char> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<char>((i * 131 + i / 4096) & 0xff);
  return v;
}

TEST(MappedFile, ReleasedPagesReadTheFileAgain) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE)), n = 5 * page + 123;
  const std::vector<char> bytes = pattern(n);
  const std::string path = ::testing::TempDir() + "/mapped_file_test.bin";
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(n));
  auto m = dynrt::MappedFile::open(path);
  std::remove(path.c_str());  // the mapping keeps the file
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(m->size(), n);
  ASSERT_EQ(std::vector<char>(m->data(), m->data() + n), bytes);
  dynrt::release_resident(m->data() + 100, 3 * page);  // partial pages at both ends stay
  dynrt::release_resident(m->data(), n);
  EXPECT_EQ(std::vector<char>(m->data(), m->data() + n), bytes);
}

TEST(MappedFile, OtherMemoryIsLeftAlone) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  std::vector<char> heap = pattern(8 * page);
  const std::vector<char> copy = heap;
  dynrt::release_resident(heap.data(), heap.size());  // MADV_DONTNEED here would zero it
  EXPECT_EQ(heap, copy);
}

TEST(MappedFile, WhatCannotBeMappedIsNull) {
  EXPECT_EQ(dynrt::MappedFile::open(::testing::TempDir() + "/no_such_file.engine"), nullptr);
  const std::string empty = ::testing::TempDir() + "/mapped_file_empty.bin";
  std::ofstream(empty).close();
  EXPECT_EQ(dynrt::MappedFile::open(empty), nullptr);
  std::remove(empty.c_str());
  EXPECT_EQ(dynrt::MappedFile::open(::testing::TempDir()), nullptr);  // a directory
}

}  // namespace
