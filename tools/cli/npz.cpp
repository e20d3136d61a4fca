// NumPy .npy/.npz reading and writing (what `np.savez` / `np.load` use), so
// users can feed and inspect engines from Python without bindings.
#include "npz.h"

#include <zlib.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "dynrt/error.h"

namespace dynrt {
namespace {

[[noreturn]] void bad(const std::string& path, const std::string& why) {
  throw Error(ErrorCode::kInvalidInput, "'" + path + "': " + why);
}

// The file is untrusted: every offset and size is checked against the bytes
// there are (without overflowing) before it is used, and nothing is
// allocated for an array before its header's size is known to fit the data.
constexpr uint64_t kMaxArrayBytes = uint64_t{1} << 40;

template <class T>
T get(const std::string& d, uint64_t at, const std::string& path) {
  if (at > d.size() || d.size() - at < sizeof(T)) bad(path, "truncated data");
  T v;
  std::memcpy(&v, d.data() + at, sizeof(T));
  return v;
}

template <class T>
void put(std::string& d, T v) {
  d.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

struct DescrMap {
  const char* descr;
  DType dtype;
};
constexpr DescrMap kDescrs[] = {
    {"f4", DType::kFloat32}, {"f8", DType::kFloat64}, {"i8", DType::kInt64}, {"i4", DType::kInt32},
    {"i2", DType::kInt16},   {"i1", DType::kInt8},    {"u1", DType::kUInt8}, {"u2", DType::kUInt16},
    {"u4", DType::kUInt32},  {"u8", DType::kUInt64},  {"b1", DType::kBool},  {"f2", DType::kFloat16},
    // numpy has no bfloat16: np.save writes an ml_dtypes.bfloat16 array as 2-byte void ('<V2'),
    // which np.load returns as '|V2' (view it as ml_dtypes.bfloat16). dynrt reads and writes
    // bfloat16 that way.
    {"V2", DType::kBFloat16},
};

// raw_type: the narrow type (float8, float4, int4, int2, ...) a '|V1' array
// is read as; numpy saves ml_dtypes' arrays of those as raw bytes ('<V1',
// or '<f1' for float8_e5m2).
Tensor parse_npy(const std::string& d, const std::string& label, DType raw_type) {
  if (d.size() < 10 || d.compare(0, 6, "\x93NUMPY") != 0) bad(label, "not a .npy array");
  auto major = static_cast<uint8_t>(d[6]);
  size_t header_len, start;
  if (major == 1) {
    header_len = get<uint16_t>(d, 8, label);
    start = 10;
  } else {
    header_len = get<uint32_t>(d, 8, label);
    start = 12;
  }
  if (start + header_len > d.size()) bad(label, "truncated .npy header");
  std::string h = d.substr(start, header_len);
  auto field = [&](const std::string& key) {
    size_t at = h.find("'" + key + "'");
    if (at == std::string::npos) bad(label, "missing '" + key + "' in .npy header");
    at = h.find(':', at);
    if (at == std::string::npos) bad(label, "malformed '" + key + "' in .npy header");
    return at + 1;
  };
  size_t at = h.find('\'', field("descr")), end = at == std::string::npos ? at : h.find('\'', at + 1);
  if (end == std::string::npos) bad(label, "malformed 'descr' in .npy header");
  std::string descr = h.substr(at + 1, end - at - 1);
  if (descr.size() != 3 || descr[0] == '>') bad(label, "unsupported array type '" + descr + "' (need little-endian numeric)");
  DType dtype = DType::kUndefined;
  for (const DescrMap& m : kDescrs)
    if (descr.substr(1) == m.descr) dtype = m.dtype;
  if (descr.substr(1) == "V1" || descr.substr(1) == "f1") {  // float8_e5m2 is saved as '<f1'
    if (raw_type == DType::kUndefined || dtype_size(raw_type) != 1)
      bad(label, "raw 1-byte elements ('" + descr +
                     "', how numpy saves ml_dtypes' float8, float4, int4 and int2 arrays) fit only an engine input of "
                     "such a type");
    dtype = raw_type;
  }
  if (dtype == DType::kUndefined) bad(label, "unsupported array type '" + descr + "'");
  size_t fo = h.find_first_not_of(' ', field("fortran_order"));
  bool fortran = fo != std::string::npos && h.compare(fo, 4, "True") == 0;
  size_t s0 = h.find('(', field("shape")), s1 = s0 == std::string::npos ? s0 : h.find(')', s0);
  if (s1 == std::string::npos) bad(label, "malformed 'shape' in .npy header");
  std::vector<int64_t> shape;
  std::stringstream ss(h.substr(s0 + 1, s1 - s0 - 1));
  std::string part;
  uint64_t bytes = dtype_size(dtype);
  while (std::getline(ss, part, ',')) {
    if (part.find_first_not_of(' ') == std::string::npos) continue;
    long long v = -1;
    try {
      size_t used = 0;
      v = std::stoll(part, &used);
      if (part.find_first_not_of(' ', used) != std::string::npos) v = -1;
    } catch (const std::exception&) {
    }
    if (v < 0) bad(label, "bad dimension '" + part + "' in .npy shape");
    if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(v), &bytes) || bytes > kMaxArrayBytes)
      bad(label, "the .npy shape is too large");
    shape.push_back(v);
  }
  if (fortran && shape.size() > 1) bad(label, "Fortran-ordered arrays are not supported; use np.ascontiguousarray");
  size_t data_at = start + header_len;
  if (d.size() - data_at < bytes)
    bad(label, "array data is truncated: the header says " + std::to_string(bytes) + " bytes, the file has " +
                   std::to_string(d.size() - data_at));
  Tensor t(dtype, shape);
  if (bytes) std::memcpy(t.data(), d.data() + data_at, bytes);
  return t;
}

std::string make_npy(const Tensor& t) {
  const char* code = nullptr;
  for (const DescrMap& m : kDescrs)
    if (m.dtype == t.dtype()) code = m.descr;
  if (!code && dtype_is_supported(t.dtype()) && dtype_size(t.dtype()) == 1) code = "V1";  // the narrow types, as numpy saves ml_dtypes'
  if (!code) throw Error(ErrorCode::kUnsupported, std::string("cannot save ") + dtype_name(t.dtype()) + " to .npy");
  std::string shape = "(";
  for (size_t i = 0; i < t.shape().size(); ++i) {
    if (i) shape += ", ";
    shape += std::to_string(t.shape()[i]);
  }
  shape += t.shape().size() == 1 ? ",)" : ")";
  const std::string c(code);
  char order = (c == "b1" || c == "i1" || c == "u1" || c == "V1") ? '|' : '<';
  std::string h = "{'descr': '" + std::string(1, order) + code + "', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  put(out, static_cast<uint16_t>(h.size()));
  out += h;
  out.append(static_cast<const char*>(t.data()), t.nbytes());
  return out;
}

std::string inflate_raw(const std::string& src, uint64_t out_size, const std::string& label) {
  // Deflate expands at most about 1032:1: a larger claim is a lie, refused before allocating.
  if (out_size > kMaxArrayBytes || out_size > 1032 * static_cast<uint64_t>(src.size()) + 64 || src.size() > 0xFFFFFFFFu)
    bad(label, "a compressed entry claims " + std::to_string(out_size) + " bytes from " + std::to_string(src.size()));
  std::string out(out_size, '\0');
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) bad(label, "zlib init failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(src.data()));
  zs.avail_in = static_cast<uInt>(src.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&zs, Z_FINISH);
  uint64_t produced = zs.total_out;
  inflateEnd(&zs);
  if (rc != Z_STREAM_END || produced != out_size) bad(label, "corrupt compressed entry");
  return out;
}

}  // namespace

std::map<std::string, Tensor> read_npz(const std::string& path, const RawTypes& raw) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(ErrorCode::kIo, "cannot open '" + path + "'");
  std::stringstream ss;
  ss << f.rdbuf();
  return read_npz_bytes(ss.str(), path, raw);
}

std::map<std::string, Tensor> read_npz_bytes(const std::string& d, const std::string& path, const RawTypes& raw) {
  std::map<std::string, Tensor> out;
  auto raw_type = [&](const std::string& name) {
    auto it = raw.find(name);
    return it == raw.end() ? DType::kUndefined : it->second;
  };
  if (d.compare(0, 6, "\x93NUMPY") == 0) {  // a single .npy
    out["arr_0"] = parse_npy(d, path, raw_type("arr_0"));
    return out;
  }
  size_t eocd = std::string::npos;
  for (size_t i = d.size() >= 22 ? d.size() - 22 : 0; i + 1 > 0 && i + 22 <= d.size(); --i) {
    if (get<uint32_t>(d, i, path) == 0x06054b50) {
      eocd = i;
      break;
    }
    if (i == 0) break;
  }
  if (eocd == std::string::npos) bad(path, "not a .npz (zip) file");
  uint64_t entries = get<uint16_t>(d, eocd + 10, path);
  uint64_t cd = get<uint32_t>(d, eocd + 16, path);
  for (uint64_t e = 0; e < entries; ++e) {
    if (get<uint32_t>(d, cd, path) != 0x02014b50) bad(path, "corrupt zip directory");
    uint16_t method = get<uint16_t>(d, cd + 10, path);
    uint64_t csize = get<uint32_t>(d, cd + 20, path), usize = get<uint32_t>(d, cd + 24, path);
    uint16_t nlen = get<uint16_t>(d, cd + 28, path), elen = get<uint16_t>(d, cd + 30, path), clen = get<uint16_t>(d, cd + 32, path);
    uint64_t local = get<uint32_t>(d, cd + 42, path);
    if (cd + 46 + nlen > d.size()) bad(path, "truncated zip directory");
    std::string name = d.substr(cd + 46, nlen);
    // Zip64 sizes live in extra field 0x0001 when the 32-bit ones are saturated.
    for (size_t x = cd + 46 + nlen; x + 4 <= cd + 46 + nlen + elen;) {
      uint16_t id = get<uint16_t>(d, x, path), len = get<uint16_t>(d, x + 2, path);
      if (id == 1) {
        size_t p = x + 4;
        if (usize == 0xFFFFFFFF) usize = get<uint64_t>(d, p, path), p += 8;
        if (csize == 0xFFFFFFFF) csize = get<uint64_t>(d, p, path), p += 8;
        if (local == 0xFFFFFFFF) local = get<uint64_t>(d, p, path);
      }
      x += 4 + len;
    }
    cd += 46 + nlen + elen + clen;
    if (get<uint32_t>(d, local, path) != 0x04034b50) bad(path, "corrupt zip entry '" + name + "'");
    uint64_t data_at = local + 30 + get<uint16_t>(d, local + 26, path) + get<uint16_t>(d, local + 28, path);
    if (data_at > d.size() || csize > d.size() - data_at) bad(path, "truncated zip entry '" + name + "'");
    std::string raw = d.substr(data_at, csize);
    if (method == 8) raw = inflate_raw(raw, usize, path);
    else if (method != 0) bad(path, "unsupported zip compression in '" + name + "'");
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
    out[name] = parse_npy(raw, path + ":" + name, raw_type(name));
  }
  return out;
}

void write_npz(const std::string& path, const std::map<std::string, Tensor>& arrays) {
  std::string zip, dir;
  uint16_t count = 0;
  for (const auto& [key, t] : arrays) {
    std::string name = key + ".npy", data = make_npy(t);
    if (data.size() >= 0xFFFFFFFFull) throw Error(ErrorCode::kUnsupported, "array '" + key + "' is too large for .npz");
    auto crc = static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
    auto offset = static_cast<uint32_t>(zip.size());
    auto size = static_cast<uint32_t>(data.size());
    put(zip, uint32_t{0x04034b50});
    put(zip, uint16_t{20});
    put(zip, uint16_t{0});
    put(zip, uint16_t{0});
    put(zip, uint16_t{0});
    put(zip, uint16_t{0x21});
    put(zip, crc);
    put(zip, size);
    put(zip, size);
    put(zip, static_cast<uint16_t>(name.size()));
    put(zip, uint16_t{0});
    zip += name;
    zip += data;
    put(dir, uint32_t{0x02014b50});
    put(dir, uint16_t{20});
    put(dir, uint16_t{20});
    put(dir, uint16_t{0});
    put(dir, uint16_t{0});
    put(dir, uint16_t{0});
    put(dir, uint16_t{0x21});
    put(dir, crc);
    put(dir, size);
    put(dir, size);
    put(dir, static_cast<uint16_t>(name.size()));
    put(dir, uint16_t{0});
    put(dir, uint16_t{0});
    put(dir, uint16_t{0});
    put(dir, uint16_t{0});
    put(dir, uint32_t{0});
    put(dir, offset);
    dir += name;
    ++count;
  }
  auto dir_at = static_cast<uint32_t>(zip.size());
  zip += dir;
  put(zip, uint32_t{0x06054b50});
  put(zip, uint16_t{0});
  put(zip, uint16_t{0});
  put(zip, count);
  put(zip, count);
  put(zip, static_cast<uint32_t>(dir.size()));
  put(zip, dir_at);
  put(zip, uint16_t{0});
  std::ofstream f(path, std::ios::binary);
  if (!f) throw Error(ErrorCode::kIo, "cannot write '" + path + "'");
  f.write(zip.data(), static_cast<std::streamsize>(zip.size()));
}

}  // namespace dynrt
