// The engine file: one file with a versioned header, the plan (graph with
// symbolic shapes, profiles, guards) and the weights, protected by a CRC32.
//
//   "DYNRTENG" | u32 version | u32 reserved | u64 payload bytes | u32 crc32 | payload
//
// A constant's bytes start at a file offset that is a multiple of kAlign, so
// that a memory-mapped file serves them in place (core/mapped_file.h).
#include "runtime/engine_file.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string_view>

#include "core/checked.h"
#include "core/mapped_file.h"
#include "runtime/engine_file_io.h"
#include "runtime/engine_validate.h"

namespace dynrt {

namespace engine_io {

// CRC32 of a payload of any size (zlib takes 32-bit lengths), in pieces; the
// pieces of a mapped file are released behind it, so that checking the file
// does not leave all of it resident.
uint32_t payload_crc(std::string_view payload) {
  constexpr size_t kPiece = size_t{8} << 20;
  uLong crc = crc32(0L, Z_NULL, 0);
  for (size_t at = 0; at < payload.size(); at += kPiece) {
    const size_t n = std::min(kPiece, payload.size() - at);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(payload.data() + at), static_cast<uInt>(n));
    release_resident(payload.data() + at, n);
  }
  return static_cast<uint32_t>(crc);
}


}  // namespace engine_io

using namespace engine_io;

namespace {


void write_attr(Writer& w, const ir::Attribute& a) {
  w.pod(static_cast<uint8_t>(a.type));
  switch (a.type) {
    case ir::Attribute::Type::kInt: w.pod(a.i); break;
    case ir::Attribute::Type::kFloat: w.pod(a.f); break;
    case ir::Attribute::Type::kString: w.str(a.s); break;
    case ir::Attribute::Type::kInts: w.i64s(a.ints); break;
    case ir::Attribute::Type::kFloats:
      w.pod(static_cast<uint32_t>(a.floats.size()));
      for (float f : a.floats) w.pod(f);
      break;
    case ir::Attribute::Type::kStrings:
      w.pod(static_cast<uint32_t>(a.strings.size()));
      for (const std::string& s : a.strings) w.str(s);
      break;
    case ir::Attribute::Type::kTensor: w.tensor(a.t); break;
    case ir::Attribute::Type::kGraph: break;
  }
}

ir::Attribute read_attr(Reader& r) {
  ir::Attribute a;
  a.type = static_cast<ir::Attribute::Type>(r.pod<uint8_t>());
  switch (a.type) {
    case ir::Attribute::Type::kInt: a.i = r.pod<int64_t>(); break;
    case ir::Attribute::Type::kFloat: a.f = r.pod<float>(); break;
    case ir::Attribute::Type::kString: a.s = r.str(); break;
    case ir::Attribute::Type::kInts: a.ints = r.i64s(); break;
    case ir::Attribute::Type::kFloats: {
      auto n = r.pod<uint32_t>();
      r.need(static_cast<size_t>(n) * 4);
      for (uint32_t i = 0; i < n; ++i) a.floats.push_back(r.pod<float>());
      break;
    }
    case ir::Attribute::Type::kStrings: {
      auto n = r.pod<uint32_t>();
      for (uint32_t i = 0; i < n; ++i) a.strings.push_back(r.str());
      break;
    }
    case ir::Attribute::Type::kTensor: a.t = r.tensor(); break;
    case ir::Attribute::Type::kGraph: break;
    default: r.corrupt("bad attribute type");
  }
  return a;
}

// The umask, for the mode a new file gets (read, not set: umask() would change it for every thread).
mode_t current_umask() {
  std::ifstream f("/proc/self/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("Umask:", 0) == 0) return static_cast<mode_t>(std::stoul(line.substr(6), nullptr, 8));
  return 022;
}

bool write_all(int fd, const std::string& bytes) {
  for (size_t at = 0; at < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + at, bytes.size() - at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    at += static_cast<size_t>(n);
  }
  return true;
}

// An engine goes to a new file beside the target, renamed over it once complete: a process
// that has the old engine loaded (mapped) keeps reading the old file, and a failed write
// leaves no half engine. A symlink is followed (the file it names is replaced); devices and
// pipes (/dev/stdout, a FIFO) are written directly.
void write_engine_file(const std::string& path, const std::string& head, const std::string& body) {
  namespace fs = std::filesystem;
  auto fail = [&](const std::string& why) {
    throw Error(ErrorCode::kIo, "cannot write engine file '" + path + "': " + why);
  };
  std::error_code ec;
  auto in_dev_or_proc = [](const std::string& p) { return p.rfind("/dev/", 0) == 0 || p.rfind("/proc/", 0) == 0; };
  fs::path target = path;
  if (!in_dev_or_proc(path) && fs::is_symlink(target, ec))
    if (fs::path resolved = fs::canonical(target, ec); !ec) target = resolved;
  const std::string t = target.string();
  // /dev/stdout is written as the caller's descriptor, whatever file it is (never replaced by a rename).
  const bool special = in_dev_or_proc(path) || in_dev_or_proc(t) ||
                       (fs::exists(target, ec) && !fs::is_regular_file(target, ec));
  if (special) {
    std::ofstream f(path, std::ios::binary);
    f.write(head.data(), static_cast<std::streamsize>(head.size()));
    f.write(body.data(), static_cast<std::streamsize>(body.size()));
    f.close();
    if (!f) fail("write failed");
    return;
  }
  std::string tmp = t + ".tmpXXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) fail(std::strerror(errno));
  struct stat old {};
  const mode_t mode = ::stat(t.c_str(), &old) == 0 ? (old.st_mode & 07777) : (0666 & ~current_umask());
  bool ok = ::fchmod(fd, mode) == 0 && write_all(fd, head) && write_all(fd, body) && ::fsync(fd) == 0;
  const int err = errno;
  ok = ::close(fd) == 0 && ok;
  if (ok && std::rename(tmp.c_str(), t.c_str()) == 0) return;
  const std::string why = std::strerror(ok ? errno : err);
  ::unlink(tmp.c_str());
  fail(why);
}

}  // namespace

namespace engine_io {

std::string file_header(const char (&magic)[8], uint32_t version, std::string_view payload) {
  Writer h;
  h.buf.append(magic, 8);
  h.pod(version);
  h.pod(uint32_t{0});
  h.pod(static_cast<uint64_t>(payload.size()));
  h.pod(payload_crc(payload));
  return h.buf;
}

void write_head(Writer& w, const EngineImpl& e) {
  const ir::Graph& g = e.graph;
  w.pod(g.opset);
  w.pod(static_cast<uint32_t>(g.providers.size()));
  for (const std::string& p : g.providers) w.str(p);
  w.pod(static_cast<uint32_t>(g.symbols.size()));
  for (int s = 0; s < g.symbols.size(); ++s) {
    w.str(g.symbols[s].name);
    w.pod(static_cast<uint8_t>(g.symbols[s].kind));
    w.pod(g.symbols[s].min);
    w.pod(g.symbols[s].max);
    w.pod(g.symbols[s].opt);
  }
  w.pod(static_cast<uint32_t>(e.profiles.size()));
  for (const ProfileBox& p : e.profiles) {
    w.i64s(p.min);
    w.i64s(p.opt);
    w.i64s(p.max);
  }
}

void read_head(Reader& r, EngineImpl& e) {
  ir::Graph& g = e.graph;
  g.opset = r.pod<int64_t>();
  auto nprov = r.pod<uint32_t>();
  if (nprov == 0 || nprov > 16) r.corrupt("bad execution provider count");
  g.providers.clear();
  for (uint32_t i = 0; i < nprov; ++i) g.providers.push_back(r.str());
  auto nsym = r.pod<uint32_t>();
  for (uint32_t i = 0; i < nsym; ++i) {
    ir::Symbol s;
    s.name = r.str();
    auto kind = r.pod<uint8_t>();
    if (kind > static_cast<uint8_t>(ir::SymbolKind::kDataDependent)) r.corrupt("bad symbol kind");
    s.kind = static_cast<ir::SymbolKind>(kind);
    s.min = r.pod<int64_t>();
    s.max = r.pod<int64_t>();
    s.opt = r.pod<int64_t>();
    g.symbols.add(s);
  }
  auto nprof = r.pod<uint32_t>();
  for (uint32_t i = 0; i < nprof; ++i) {
    ProfileBox p;
    p.min = r.i64s();
    p.opt = r.i64s();
    p.max = r.i64s();
    if (p.min.size() != nsym || p.opt.size() != nsym || p.max.size() != nsym) r.corrupt("bad profile");
    e.profiles.push_back(std::move(p));
  }
}

std::string engine_payload(const EngineImpl& e) {
  const ir::Graph& g = e.graph;
  Writer w;
  write_head(w, e);
  w.pod(static_cast<uint32_t>(g.values.size()));
  for (const ir::Value& v : g.values) {
    w.str(v.name);
    w.pod(static_cast<uint8_t>(v.kind));
    w.pod(static_cast<int32_t>(v.elem_rank));
    w.pod(static_cast<int32_t>(v.dtype));
    w.pod(static_cast<uint8_t>(v.rank_known));
    w.exprs(v.shape);
    w.pod(static_cast<uint8_t>(v.constant.has_value()));
    if (v.constant) w.tensor(*v.constant);
    w.pod(static_cast<uint8_t>(v.sym_value.has_value()));
    if (v.sym_value) w.exprs(*v.sym_value);
    w.pod(static_cast<uint32_t>(v.provider));
    w.pod(static_cast<uint8_t>(v.layout));
  }
  w.pod(static_cast<uint32_t>(g.nodes.size()));
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const ir::Node& n = g.nodes[k];
    w.str(n.op);
    w.str(n.domain);
    w.str(n.name);
    w.pod(static_cast<uint32_t>(n.provider));
    w.i64s(std::vector<int64_t>(n.inputs.begin(), n.inputs.end()));
    w.i64s(std::vector<int64_t>(n.outputs.begin(), n.outputs.end()));
    w.pod(static_cast<uint32_t>(n.attrs.size()));
    for (const auto& [name, a] : n.attrs) {
      w.str(name);
      // A loaded engine keeps its subgraph engines loaded, not as bytes
      // (EngineImpl::finalize): written out from them again.
      const int sub = subgraph_engine_index(name);
      if (sub >= 0 && k < e.subgraphs.size() && static_cast<size_t>(sub) < e.subgraphs[k].size() &&
          e.subgraphs[k][static_cast<size_t>(sub)] && a.s.empty()) {
        write_attr(w, ir::Attribute::of_string(engine_file_bytes(*e.subgraphs[k][static_cast<size_t>(sub)])));
        continue;
      }
      write_attr(w, a);
    }
  }
  w.i64s(std::vector<int64_t>(g.inputs.begin(), g.inputs.end()));
  w.i64s(std::vector<int64_t>(g.outputs.begin(), g.outputs.end()));
  w.pod(static_cast<uint32_t>(g.guards.size()));
  for (const ir::Guard& guard : g.guards) {
    w.pod(static_cast<uint8_t>(guard.kind));
    w.exprs({guard.a, guard.b});
    w.str(guard.what);
  }
  return std::move(w.buf);
}

}  // namespace engine_io

std::string engine_file_bytes(const EngineImpl& e) {
  const bool variants = !e.variants.empty();
  const std::string body = variants ? variants_payload(e) : engine_payload(e);
  return (variants ? file_header(kVariantsMagic, kVariantsVersion, body) : file_header(kMagic, kVersion, body)) + body;
}

void save_engine(const EngineImpl& e, const std::string& path) {
  if (!e.variants.empty()) {
    const std::string body = variants_payload(e);
    write_engine_file(path, file_header(kVariantsMagic, kVariantsVersion, body), body);
    return;
  }
  const std::string body = engine_payload(e);
  write_engine_file(path, file_header(kMagic, kVersion, body), body);
}

std::shared_ptr<EngineImpl> load_engine(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(ErrorCode::kIo, "engine file '" + path + "' is a directory");
  // A regular file is mapped, and its constants are used in place; anything
  // else (a pipe), or every file with DYNRT_ENGINE_MMAP=0, is read to its end.
  static const bool map_files = [] {
    const char* v = std::getenv("DYNRT_ENGINE_MMAP");
    return !(v && std::strcmp(v, "0") == 0);
  }();
  if (auto mapped = map_files ? MappedFile::open(path) : nullptr) {
    auto e = parse_engine(std::string_view(mapped->data(), mapped->size()), path, mapped);
    release_resident(mapped->data(), mapped->size());  // constants come back as kernels read them
    return e;
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(ErrorCode::kIo, "cannot open engine file '" + path + "'");
  std::string data(std::istreambuf_iterator<char>(f), {});
  if (f.bad()) throw Error(ErrorCode::kIo, "cannot read engine file '" + path + "'");
  return load_engine_bytes(data, path);
}

std::shared_ptr<EngineImpl> load_engine_bytes(const std::string& data, const std::string& path) {
  return parse_engine(data, path, nullptr);
}

namespace engine_io {

std::shared_ptr<EngineImpl> parse_engine(std::string_view data, const std::string& path,
                                         std::shared_ptr<const MappedFile> mapped) {
  const bool variants = data.size() >= kHeaderBytes && std::memcmp(data.data(), kVariantsMagic, 8) == 0;
  if (!variants && (data.size() < kHeaderBytes || std::memcmp(data.data(), kMagic, 8) != 0)) {
    if (data.size() < 8 || std::memcmp(data.data(), kMagic, std::min<size_t>(8, data.size())) != 0)
      throw Error(ErrorCode::kInvalidEngine, "'" + path + "' is not a dynrt engine file (bad magic)");
    throw Error(ErrorCode::kInvalidEngine, "engine file '" + path + "' is truncated (incomplete header)");
  }
  Reader hr(data, 8, path);
  auto version = hr.pod<uint32_t>();
  const uint32_t want = variants ? kVariantsVersion : kVersion;
  if (version != want)
    throw Error(ErrorCode::kInvalidEngine, "engine file '" + path + "' has format version " + std::to_string(version) +
                                               ", but this dynrt reads version " + std::to_string(want) +
                                               "; rebuild the engine with this version");
  hr.pod<uint32_t>();
  auto payload = hr.pod<uint64_t>();
  auto crc = hr.pod<uint32_t>();
  if (data.size() - kHeaderBytes < payload)
    throw Error(ErrorCode::kInvalidEngine, "engine file '" + path + "' is truncated: " +
                                               std::to_string(data.size() - kHeaderBytes) + " of " +
                                               std::to_string(payload) + " payload bytes present");
  if (data.size() - kHeaderBytes > payload)
    throw Error(ErrorCode::kInvalidEngine, "engine file '" + path + "' has trailing bytes after the payload");
  const uint32_t actual = payload_crc(data.substr(kHeaderBytes));
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION  // fuzzers must reach the plan, not stop at the checksum
  if (actual != crc) throw Error(ErrorCode::kInvalidEngine, "engine file '" + path + "' is corrupt: checksum mismatch");
#else
  (void)actual;
  (void)crc;
#endif

  if (variants) return parse_variants(data, path, std::move(mapped));
  auto e = std::make_shared<EngineImpl>();
  ir::Graph& g = e->graph;
  Reader r(data, kHeaderBytes, path, std::move(mapped));
  read_head(r, *e);
  const auto nprov = static_cast<uint32_t>(g.providers.size());
  auto check_provider = [&](uint32_t p) {
    if (p >= nprov) r.corrupt("bad execution provider index");
    return static_cast<int>(p);
  };
  auto nval = r.pod<uint32_t>();
  auto check_id = [&](int64_t id, bool allow_absent) {
    if (id < (allow_absent ? -1 : 0) || id >= static_cast<int64_t>(nval)) r.corrupt("bad value index");
    return static_cast<int>(id);
  };
  for (uint32_t i = 0; i < nval; ++i) {
    ir::Value& v = g.values[static_cast<size_t>(g.add_value(r.str()))];
    auto kind = r.pod<uint8_t>();
    if (kind > static_cast<uint8_t>(ValueKind::kOptionalSequence)) r.corrupt("bad value kind");
    v.kind = static_cast<ValueKind>(kind);
    v.elem_rank = r.pod<int32_t>();
    if (v.elem_rank < -2 || v.elem_rank > kMaxRank || (v.kind == ValueKind::kTensor && v.elem_rank != -1)) r.corrupt("bad element rank");
    v.dtype = static_cast<DType>(r.pod<int32_t>());
    v.rank_known = r.pod<uint8_t>() != 0;
    v.shape = r.exprs();
    if (r.pod<uint8_t>()) v.constant = r.tensor();
    if (r.pod<uint8_t>()) v.sym_value = r.exprs();
    v.provider = check_provider(r.pod<uint32_t>());
    auto layout = r.pod<uint8_t>();
    if (layout > static_cast<uint8_t>(ir::Layout::kChannelsLast)) r.corrupt("bad layout");
    v.layout = static_cast<ir::Layout>(layout);
  }
  auto nnodes = r.pod<uint32_t>();
  for (uint32_t i = 0; i < nnodes; ++i) {
    ir::Node n;
    n.op = r.str();
    n.domain = r.str();
    n.name = r.str();
    n.provider = check_provider(r.pod<uint32_t>());
    for (int64_t id : r.i64s()) n.inputs.push_back(check_id(id, true));
    for (int64_t id : r.i64s()) n.outputs.push_back(check_id(id, true));
    auto nattr = r.pod<uint32_t>();
    for (uint32_t k = 0; k < nattr; ++k) {
      std::string name = r.str();
      n.attrs[name] = read_attr(r);
    }
    g.nodes.push_back(std::move(n));
  }
  for (int64_t id : r.i64s()) g.inputs.push_back(check_id(id, false));
  for (int64_t id : r.i64s()) g.outputs.push_back(check_id(id, false));
  auto nguards = r.pod<uint32_t>();
  for (uint32_t i = 0; i < nguards; ++i) {
    ir::Guard guard;
    guard.kind = static_cast<ir::GuardKind>(r.pod<uint8_t>());
    std::vector<Expr> ab = r.exprs();
    if (ab.size() != 2) r.corrupt("bad guard");
    guard.a = ab[0];
    guard.b = ab[1];
    guard.what = r.str();
    g.guards.push_back(guard);
  }
  if (!r.done()) r.corrupt("unexpected data after the plan");
  g.recompute_producers();
  validate_engine_graph(g, e->profiles, [&](const std::string& why) { r.corrupt(why); });
  e->finalize();
  return e;
}

}  // namespace engine_io
}  // namespace dynrt
