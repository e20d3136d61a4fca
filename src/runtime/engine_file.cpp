// The engine file: one file with a versioned header, the plan (graph with
// symbolic shapes, profiles, guards) and the weights, protected by a CRC32.
//
//   "DYNRTENG" | u32 version | u32 reserved | u64 payload bytes | u32 crc32 | payload
#include "runtime/engine_file.h"

#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/checked.h"
#include "runtime/engine_validate.h"

namespace dynrt {
namespace {

constexpr char kMagic[8] = {'D', 'Y', 'N', 'R', 'T', 'E', 'N', 'G'};
constexpr uint32_t kVersion = 3;  // 2: execution providers, value layouts; 3: tuned choices, CPU attention layouts
constexpr size_t kHeaderBytes = 8 + 4 + 4 + 8 + 4;

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
    buf.append(static_cast<const char*>(t.data()), t.nbytes());
  }
};

class Reader {
 public:
  Reader(const std::string& data, size_t pos, const std::string& path) : d_(data), pos_(pos), path_(path) {}
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
    std::string s = d_.substr(pos_, n);
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
    need(bytes);  // before allocating: the bytes must be there
    Tensor t(dtype, shape);
    std::memcpy(t.data(), d_.data() + pos_, bytes);
    pos_ += bytes;
    return t;
  }
  bool done() const { return pos_ == d_.size(); }

 private:
  const std::string& d_;
  size_t pos_;
  std::string path_;
};

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

}  // namespace

void save_engine(const EngineImpl& e, const std::string& path) {
  const ir::Graph& g = e.graph;
  Writer w;
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
  w.pod(static_cast<uint32_t>(g.values.size()));
  for (const ir::Value& v : g.values) {
    w.str(v.name);
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
  for (const ir::Node& n : g.nodes) {
    w.str(n.op);
    w.str(n.domain);
    w.str(n.name);
    w.pod(static_cast<uint32_t>(n.provider));
    w.i64s(std::vector<int64_t>(n.inputs.begin(), n.inputs.end()));
    w.i64s(std::vector<int64_t>(n.outputs.begin(), n.outputs.end()));
    w.pod(static_cast<uint32_t>(n.attrs.size()));
    for (const auto& [name, a] : n.attrs) {
      w.str(name);
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

  Writer h;
  h.buf.append(kMagic, 8);
  h.pod(kVersion);
  h.pod(uint32_t{0});
  h.pod(static_cast<uint64_t>(w.buf.size()));
  h.pod(static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(w.buf.data()), static_cast<uInt>(w.buf.size()))));
  std::ofstream f(path, std::ios::binary);
  if (!f) throw Error(ErrorCode::kIo, "cannot write engine file '" + path + "'");
  f.write(h.buf.data(), static_cast<std::streamsize>(h.buf.size()));
  f.write(w.buf.data(), static_cast<std::streamsize>(w.buf.size()));
  if (!f) throw Error(ErrorCode::kIo, "failed writing engine file '" + path + "'");
}

std::shared_ptr<EngineImpl> load_engine(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(ErrorCode::kIo, "engine file '" + path + "' is a directory");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(ErrorCode::kIo, "cannot open engine file '" + path + "'");
  // A regular file is read into one buffer of its size (a stringstream grew by doubling and
  // then copied: up to three copies of the file at once, most of a run's peak memory for a
  // large model); a pipe or other stream is read to its end.
  std::string data;
  if (std::filesystem::is_regular_file(path, ec)) {
    const std::uintmax_t size = std::filesystem::file_size(path, ec);
    if (ec) throw Error(ErrorCode::kIo, "cannot read engine file '" + path + "': " + ec.message());
    data.resize(static_cast<size_t>(size));
    f.read(data.data(), static_cast<std::streamsize>(size));
    if (static_cast<std::uintmax_t>(f.gcount()) != size)
      throw Error(ErrorCode::kIo, "cannot read engine file '" + path + "': read " + std::to_string(f.gcount()) +
                                      " of its " + std::to_string(size) + " bytes");
  } else {
    data.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    if (f.bad()) throw Error(ErrorCode::kIo, "cannot read engine file '" + path + "'");
  }
  return load_engine_bytes(data, path);
}

std::shared_ptr<EngineImpl> load_engine_bytes(const std::string& data, const std::string& path) {
  if (data.size() < kHeaderBytes || std::memcmp(data.data(), kMagic, 8) != 0) {
    if (data.size() < 8 || std::memcmp(data.data(), kMagic, std::min<size_t>(8, data.size())) != 0)
      throw Error(ErrorCode::kInvalidEngine, "'" + path + "' is not a dynrt engine file (bad magic)");
    throw Error(ErrorCode::kInvalidEngine, "engine file '" + path + "' is truncated (incomplete header)");
  }
  Reader hr(data, 8, path);
  auto version = hr.pod<uint32_t>();
  if (version != kVersion)
    throw Error(ErrorCode::kInvalidEngine, "engine file '" + path + "' has format version " + std::to_string(version) +
                                               ", but this dynrt reads version " + std::to_string(kVersion) +
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
  uLong actual = crc32(0L, reinterpret_cast<const Bytef*>(data.data() + kHeaderBytes), static_cast<uInt>(payload));
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION  // fuzzers must reach the plan, not stop at the checksum
  if (actual != crc) throw Error(ErrorCode::kInvalidEngine, "engine file '" + path + "' is corrupt: checksum mismatch");
#else
  (void)actual;
  (void)crc;
#endif

  auto e = std::make_shared<EngineImpl>();
  ir::Graph& g = e->graph;
  Reader r(data, kHeaderBytes, path);
  g.opset = r.pod<int64_t>();
  auto nprov = r.pod<uint32_t>();
  if (nprov == 0 || nprov > 16) r.corrupt("bad execution provider count");
  g.providers.clear();
  for (uint32_t i = 0; i < nprov; ++i) g.providers.push_back(r.str());
  auto check_provider = [&](uint32_t p) {
    if (p >= nprov) r.corrupt("bad execution provider index");
    return static_cast<int>(p);
  };
  auto nsym = r.pod<uint32_t>();
  for (uint32_t i = 0; i < nsym; ++i) {
    ir::Symbol s;
    s.name = r.str();
    s.kind = static_cast<ir::SymbolKind>(r.pod<uint8_t>());
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
    e->profiles.push_back(std::move(p));
  }
  auto nval = r.pod<uint32_t>();
  auto check_id = [&](int64_t id, bool allow_absent) {
    if (id < (allow_absent ? -1 : 0) || id >= static_cast<int64_t>(nval)) r.corrupt("bad value index");
    return static_cast<int>(id);
  };
  for (uint32_t i = 0; i < nval; ++i) {
    ir::Value& v = g.values[static_cast<size_t>(g.add_value(r.str()))];
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

}  // namespace dynrt
