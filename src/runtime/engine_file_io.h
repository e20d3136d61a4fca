// The byte-level reader and writer of engine files (engine_file.cpp, and
// engine_variants_file.cpp for engines with variants).
#pragma once

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/checked.h"
#include "core/expr.h"
#include "core/mapped_file.h"
#include "dynrt/error.h"
#include "dynrt/types.h"
#include "runtime/engine_impl.h"

namespace dynrt::engine_io {

constexpr char kMagic[8] = {'D', 'Y', 'N', 'R', 'T', 'E', 'N', 'G'};
// 2: execution providers, value layouts; 3: tuned choices, CPU attention layouts; 4: aligned constants
constexpr uint32_t kVersion = 5;  // 5: value kinds (sequences, optionals)
constexpr size_t kHeaderBytes = 8 + 4 + 4 + 8 + 4;
constexpr size_t kAlign = 64;  // constants' file offsets: cache lines, and every element type

// Zero bytes that bring file offset `pos` to a multiple of kAlign.
inline size_t align_pad(size_t pos) { return (kAlign - pos % kAlign) % kAlign; }

class Writer {
 public:
  std::string buf;
  template <class T> void pod(T v) { buf.append(reinterpret_cast<const char*>(&v), sizeof(T)); }
  void str(const std::string& s) { pod(static_cast<uint32_t>(s.size())); buf += s; }
  void exprs(const std::vector<Expr>& es) {
    std::vector<int64_t> code;
    for (const Expr& e : es) e.serialize(code);
    pod(static_cast<uint32_t>(es.size()));
    pod(static_cast<uint32_t>(code.size()));
    if (!code.empty()) buf.append(reinterpret_cast<const char*>(code.data()), code.size() * 8);
  }
  void i64s(const std::vector<int64_t>& v) {
    pod(static_cast<uint32_t>(v.size()));
    if (!v.empty()) buf.append(reinterpret_cast<const char*>(v.data()), v.size() * 8);
  }
  void tensor(const Tensor& t) {
    pod(static_cast<int32_t>(t.dtype()));
    i64s(t.shape());
    pod(static_cast<uint64_t>(t.nbytes()));
    buf.append(align_pad(kHeaderBytes + buf.size()), '\0');
    buf.append(static_cast<const char*>(t.data()), t.nbytes());
  }
};

class Reader {
 public:
  // `owner`, when given, keeps `data` alive (a mapped file): constants are then views of it, not copies.
  Reader(std::string_view data, size_t pos, const std::string& path, std::shared_ptr<const MappedFile> owner = nullptr)
      : d_(data), pos_(pos), path_(path), owner_(std::move(owner)) {}
  [[noreturn]] void corrupt(const std::string& why) const {
    throw Error(ErrorCode::kInvalidEngine, "engine file '" + path_ + "' is corrupt: " + why);
  }
  void need(size_t n) const {
    if (d_.size() - pos_ < n) corrupt("unexpected end of data");
  }
  template <class T> T pod() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, d_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string str() {
    auto n = pod<uint32_t>();
    need(n);
    std::string s(d_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  std::vector<int64_t> i64s() {
    auto n = pod<uint32_t>();
    need(static_cast<size_t>(n) * 8);
    std::vector<int64_t> v(n);
    if (n) std::memcpy(v.data(), d_.data() + pos_, static_cast<size_t>(n) * 8);
    pos_ += static_cast<size_t>(n) * 8;
    return v;
  }
  std::vector<Expr> exprs() {
    auto count = pod<uint32_t>();
    auto n = pod<uint32_t>();
    need(static_cast<size_t>(n) * 8);
    std::vector<int64_t> code(n);
    if (n) std::memcpy(code.data(), d_.data() + pos_, static_cast<size_t>(n) * 8);
    pos_ += static_cast<size_t>(n) * 8;
    std::vector<Expr> out;
    size_t p = 0;
    for (uint32_t i = 0; i < count; ++i) out.push_back(Expr::deserialize(code, p));
    if (p != code.size()) corrupt("bad expression block");
    return out;
  }
  Tensor tensor() {
    auto dtype = static_cast<DType>(pod<int32_t>());
    if (!dtype_is_supported(dtype)) corrupt("bad tensor type");
    std::vector<int64_t> shape = i64s();
    auto bytes = pod<uint64_t>();
    int64_t expected = 0;
    try {
      expected = checked_bytes(dtype, shape, "a constant", ErrorCode::kInvalidEngine);
    } catch (const Error&) {
      corrupt("a constant has impossible dims");
    }
    if (bytes != static_cast<uint64_t>(expected)) corrupt("tensor size mismatch");
    const size_t pad = align_pad(pos_);
    need(pad);
    pos_ += pad;
    need(bytes);  // before allocating: the bytes must be there
    if (owner_ && bytes > 0) {  // in place: a view that keeps the mapping alive
      auto* p = reinterpret_cast<std::byte*>(const_cast<char*>(d_.data() + pos_));
      pos_ += bytes;
      return Tensor(dtype, std::move(shape), std::shared_ptr<std::byte[]>(std::shared_ptr<const MappedFile>(owner_), p));
    }
    Tensor t(dtype, shape);
    if (bytes) std::memcpy(t.data(), d_.data() + pos_, bytes);
    pos_ += bytes;
    return t;
  }
  bool done() const { return pos_ == d_.size(); }
  size_t pos() const { return pos_; }
  void skip(size_t n) {
    need(n);
    pos_ += n;
  }

 private:
  std::string_view d_;
  size_t pos_;
  std::string path_;
  std::shared_ptr<const MappedFile> owner_;
};

// CRC32 of a payload of any size, releasing a mapped file's pages behind it.
uint32_t payload_crc(std::string_view payload);

// An engine with variants: "DYNRTVAR", the same header, then the interface,
// the variants' table, and each variant's whole engine file at a multiple of
// kAlign (engine_variants_file.cpp).
constexpr char kVariantsMagic[8] = {'D', 'Y', 'N', 'R', 'T', 'V', 'A', 'R'};
constexpr uint32_t kVariantsVersion = 1;

std::string file_header(const char (&magic)[8], uint32_t version, std::string_view payload);
// What both kinds of payload begin with: opset, providers, symbols, profiles.
void write_head(Writer& w, const EngineImpl& e);
void read_head(Reader& r, EngineImpl& e);
std::string engine_payload(const EngineImpl& e);  // a plain engine's payload
std::string variants_payload(const EngineImpl& e);
// A whole engine file (either kind); `mapped`, when given, owns `data`.
std::shared_ptr<EngineImpl> parse_engine(std::string_view data, const std::string& path,
                                         std::shared_ptr<const MappedFile> mapped);
// The payload of a "DYNRTVAR" file whose header was checked.
std::shared_ptr<EngineImpl> parse_variants(std::string_view data, const std::string& path,
                                           std::shared_ptr<const MappedFile> mapped);

}  // namespace dynrt::engine_io
