// Tensors of strings at run time (ops/strings.cpp has the schemas): the
// strings live in ContextImpl::boxed as dynrt::Value (Value::strings); the
// ops below read them there and write strings back, or tensors of numbers
// into the node's outputs. Case changes are ASCII only (other bytes, UTF-8
// sequences included, pass through unchanged); splitting on whitespace uses
// ASCII whitespace.
#include <re2/re2.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

#include "core/half.h"
#include "runtime/boxed_node.h"

namespace dynrt {
namespace {

// Broadcasting two shapes (numpy rules): the output dims and, per output
// element, the index into each input.
struct Broadcast {
  std::vector<int64_t> dims;
  std::vector<size_t> a, b;
};

Broadcast broadcast(const std::vector<int64_t>& x, const std::vector<int64_t>& y) {
  Broadcast r;
  const size_t rank = std::max(x.size(), y.size());
  std::vector<int64_t> xd(rank, 1), yd(rank, 1);
  std::copy(x.begin(), x.end(), xd.begin() + static_cast<std::ptrdiff_t>(rank - x.size()));
  std::copy(y.begin(), y.end(), yd.begin() + static_cast<std::ptrdiff_t>(rank - y.size()));
  r.dims.resize(rank);
  int64_t total = 1;
  for (size_t d = 0; d < rank; ++d) {
    if (xd[d] != yd[d] && xd[d] != 1 && yd[d] != 1)
      throw Error(ErrorCode::kInvalidInput, "shapes " + dims_str(x) + " and " + dims_str(y) + " do not broadcast");
    r.dims[d] = xd[d] == 1 ? yd[d] : xd[d];
    if (__builtin_mul_overflow(total, r.dims[d], &total) || total > (int64_t{1} << 31))
      throw Error(ErrorCode::kInvalidInput, "shapes " + dims_str(x) + " and " + dims_str(y) +
                                                " broadcast to more than 2^31 strings");
  }
  r.a.resize(static_cast<size_t>(total));
  r.b.resize(static_cast<size_t>(total));
  std::vector<int64_t> idx(rank, 0);
  for (size_t i = 0; i < r.a.size(); ++i) {
    size_t ia = 0, ib = 0;
    for (size_t d = 0; d < rank; ++d) {
      ia = ia * static_cast<size_t>(xd[d]) + static_cast<size_t>(xd[d] == 1 ? 0 : idx[d]);
      ib = ib * static_cast<size_t>(yd[d]) + static_cast<size_t>(yd[d] == 1 ? 0 : idx[d]);
    }
    r.a[i] = ia;
    r.b[i] = ib;
    for (size_t d = rank; d-- > 0;)
      if (++idx[d] < r.dims[d]) break;
      else idx[d] = 0;
  }
  return r;
}

std::string to_case(std::string s, bool upper) {
  for (char& ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (u < 0x80) ch = static_cast<char>(upper ? std::toupper(u) : std::tolower(u));
  }
  return s;
}

bool is_space(char ch) { return std::strchr(" \t\n\v\f\r\x1c\x1d\x1e\x1f", ch) != nullptr && ch != '\0'; }

// Python's str.split(sep, maxsplit): no separator splits on runs of
// whitespace and drops the ends; a separator splits on each occurrence.
std::vector<std::string> split(const std::string& s, const std::string& sep, int64_t maxsplit) {
  std::vector<std::string> out;
  if (sep.empty()) {
    size_t i = 0;
    while (true) {
      while (i < s.size() && is_space(s[i])) ++i;
      if (i == s.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
        size_t end = s.size();
        while (end > i && is_space(s[end - 1])) --end;
        out.push_back(s.substr(i, end - i));
        break;
      }
      size_t j = i;
      while (j < s.size() && !is_space(s[j])) ++j;
      out.push_back(s.substr(i, j - i));
      i = j;
    }
    return out;
  }
  size_t start = 0;
  while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
    const size_t at = s.find(sep, start);
    if (at == std::string::npos) break;
    out.push_back(s.substr(start, at - start));
    start = at + sep.size();
  }
  out.push_back(s.substr(start));
  return out;
}

// A number of a tensor view as double (LabelEncoder's numeric keys).
double number_at(const TensorView& v, size_t i) {
  switch (v.dtype) {
    case DType::kInt64: return static_cast<double>(static_cast<const int64_t*>(v.data)[i]);
    case DType::kInt32: return static_cast<const int32_t*>(v.data)[i];
    case DType::kInt16: return static_cast<const int16_t*>(v.data)[i];
    case DType::kFloat32: return static_cast<const float*>(v.data)[i];
    case DType::kFloat64: return static_cast<const double*>(v.data)[i];
    default: throw Error(ErrorCode::kInvalidInput, std::string("LabelEncoder does not read ") + dtype_name(v.dtype));
  }
}

void store_number(TensorView& v, size_t i, double x) {
  switch (v.dtype) {
    case DType::kInt64: static_cast<int64_t*>(v.data)[i] = static_cast<int64_t>(x); break;
    case DType::kInt32: static_cast<int32_t*>(v.data)[i] = static_cast<int32_t>(x); break;
    case DType::kInt16: static_cast<int16_t*>(v.data)[i] = static_cast<int16_t>(x); break;
    case DType::kFloat32: static_cast<float*>(v.data)[i] = static_cast<float>(x); break;
    case DType::kFloat64: static_cast<double*>(v.data)[i] = x; break;
    default: throw Error(ErrorCode::kInvalidInput, std::string("LabelEncoder does not write ") + dtype_name(v.dtype));
  }
}

// A LabelEncoder attribute set (keys_* or values_*): strings or numbers.
struct Labels {
  bool strings = false;
  std::vector<std::string> text;
  std::vector<double> numbers;
  size_t size() const { return strings ? text.size() : numbers.size(); }
};

Labels labels(const AttrReader& a, const std::string& what) {
  Labels l;
  if (const ir::Attribute* s = a.attr(what + "_strings"); s && s->type == ir::Attribute::Type::kStrings) {
    l.strings = true;
    l.text = s->strings;
  } else if (const ir::Attribute* t = a.attr(what + "_tensor"); t && t->type == ir::Attribute::Type::kStrings) {
    l.strings = true;
    l.text = t->strings;
  } else if (const Tensor* tensor = a.attr_tensor(what + "_tensor")) {
    const TensorView v{tensor->dtype(), static_cast<int>(tensor->shape().size()), {}, const_cast<void*>(tensor->data())};
    TensorView flat = v;
    flat.rank = 1;
    flat.dims[0] = tensor->numel();
    for (size_t i = 0; i < static_cast<size_t>(tensor->numel()); ++i) l.numbers.push_back(number_at(flat, i));
  } else if (a.has_attr(what + "_int64s")) {
    for (int64_t x : a.attr_ints(what + "_int64s")) l.numbers.push_back(static_cast<double>(x));
  } else {
    for (float x : a.attr_floats(what + "_floats")) l.numbers.push_back(x);
  }
  return l;
}

// Cast between strings and numbers, as ONNX Runtime does: numbers print as
// "%.8g" (floats; INF, -INF and NaN) or in full (integers; bool as 1 or 0);
// strings parse as a whole number (integer types: the integer they start
// with) or a float ("inf", "nan" in any case), and anything else is an error.
std::string number_text(const TensorView& v, size_t i) {
  char buf[64];
  auto real = [&](double x) -> std::string {
    if (std::isnan(x)) return "NaN";
    if (std::isinf(x)) return x > 0 ? "INF" : "-INF";
    std::snprintf(buf, sizeof buf, "%.8g", x);
    return buf;
  };
  switch (v.dtype) {
    case DType::kFloat32: return real(static_cast<const float*>(v.data)[i]);
    case DType::kFloat64: return real(static_cast<const double*>(v.data)[i]);
    case DType::kFloat16: return real(half_to_float(static_cast<const uint16_t*>(v.data)[i]));
    case DType::kBFloat16: return real(bf16_to_float(static_cast<const uint16_t*>(v.data)[i]));
    case DType::kBool: return static_cast<const uint8_t*>(v.data)[i] ? "1" : "0";
    case DType::kUInt64: return std::to_string(static_cast<const uint64_t*>(v.data)[i]);
    case DType::kUInt32: return std::to_string(static_cast<const uint32_t*>(v.data)[i]);
    case DType::kUInt16: return std::to_string(static_cast<const uint16_t*>(v.data)[i]);
    case DType::kUInt8: return std::to_string(static_cast<const uint8_t*>(v.data)[i]);
    case DType::kInt8: return std::to_string(static_cast<const int8_t*>(v.data)[i]);
    default: return std::to_string(static_cast<int64_t>(number_at(v, i)));
  }
}

void parse_number(const std::string& s, TensorView& out, size_t i) {
  const char* p = s.c_str();
  char* end = nullptr;
  errno = 0;
  const bool integer = out.dtype != DType::kFloat32 && out.dtype != DType::kFloat64 && out.dtype != DType::kFloat16 &&
                       out.dtype != DType::kBFloat16;
  const long long n = integer ? std::strtoll(p, &end, 10) : 0;
  const double x = integer ? static_cast<double>(n) : std::strtod(p, &end);
  if (end == p || (!integer && *end != '\0'))
    throw Error(ErrorCode::kInvalidInput, "cannot cast '" + s + "' to " + dtype_name(out.dtype));
  switch (out.dtype) {
    case DType::kFloat16: static_cast<uint16_t*>(out.data)[i] = float_to_half(static_cast<float>(x)); break;
    case DType::kBFloat16: static_cast<uint16_t*>(out.data)[i] = float_to_bf16(static_cast<float>(x)); break;
    case DType::kBool: static_cast<uint8_t*>(out.data)[i] = n != 0; break;
    case DType::kUInt8: static_cast<uint8_t*>(out.data)[i] = static_cast<uint8_t>(n); break;
    case DType::kInt8: static_cast<int8_t*>(out.data)[i] = static_cast<int8_t>(n); break;
    case DType::kUInt16: static_cast<uint16_t*>(out.data)[i] = static_cast<uint16_t>(n); break;
    case DType::kUInt32: static_cast<uint32_t*>(out.data)[i] = static_cast<uint32_t>(n); break;
    case DType::kUInt64: static_cast<uint64_t*>(out.data)[i] = static_cast<uint64_t>(n); break;
    case DType::kInt64: static_cast<int64_t*>(out.data)[i] = n; break;
    default: store_number(out, i, x); break;
  }
}

void cast(const BoxedNode& b) {
  const DType to = b.out_spec(0).dtype;
  if (to == DType::kString && b.spec(0).dtype == DType::kString) {
    b.set(0, b.value(0));
    return;
  }
  if (to == DType::kString) {
    const TensorView& x = b.view(0);
    std::vector<std::string> out(static_cast<size_t>(x.numel()));
    for (size_t i = 0; i < out.size(); ++i) out[i] = number_text(x, i);
    b.set(0, Value::strings({x.dims.begin(), x.dims.begin() + x.rank}, std::move(out)));
    return;
  }
  const Value& x = b.value(0);
  TensorView* out = b.out_tensor(0, x.shape());
  for (size_t i = 0; out && i < x.strings().size(); ++i) parse_number(x.strings()[i], *out, i);
}

void label_encoder(const BoxedNode& b) {
  const AttrReader a(b.n, b.g.opset);
  const Labels keys = labels(a, "keys"), values = labels(a, "values");
  if (keys.size() != values.size())
    throw Error(ErrorCode::kInvalidInput, "it has " + std::to_string(keys.size()) + " keys and " +
                                              std::to_string(values.size()) + " values");
  // The default: default_tensor, else the typed default of the values' type.
  std::string default_text = a.attr_string("default_string", "_Unused");
  double default_number = values.strings ? 0 : a.has_attr("default_int64") ? static_cast<double>(a.attr_int("default_int64", -1))
                                               : a.has_attr("default_float") ? a.attr_float("default_float", -0.f)
                                               : b.out_spec(0).dtype == DType::kFloat32 || b.out_spec(0).dtype == DType::kFloat64
                                                   ? -0.0
                                                   : -1.0;
  if (const ir::Attribute* d = a.attr("default_tensor")) {
    if (d->type == ir::Attribute::Type::kStrings && !d->strings.empty()) default_text = d->strings[0];
    if (d->type == ir::Attribute::Type::kTensor && d->t.numel() > 0) {
      const TensorView v{d->t.dtype(), 1, {d->t.numel()}, const_cast<void*>(d->t.data())};
      default_number = number_at(v, 0);
    }
  }
  // Lookups: strings by value; numbers by value, NaN matching a NaN key.
  std::map<std::string, size_t> by_text;
  std::map<double, size_t> by_number;
  size_t nan_key = SIZE_MAX;
  for (size_t i = keys.size(); i-- > 0;) {  // the first of equal keys wins
    if (keys.strings) by_text[keys.text[i]] = i;
    else if (std::isnan(keys.numbers[i])) nan_key = i;
    else by_number[keys.numbers[i]] = i;
  }
  auto find = [&](size_t e) -> size_t {
    if (keys.strings) {
      auto it = by_text.find(b.value(0).strings()[e]);
      return it == by_text.end() ? SIZE_MAX : it->second;
    }
    const double x = number_at(b.view(0), e);
    if (std::isnan(x)) return nan_key;
    auto it = by_number.find(x);
    return it == by_number.end() ? SIZE_MAX : it->second;
  };
  const std::vector<int64_t> dims = b.spec(0).boxed() ? b.value(0).shape()
                                                      : std::vector<int64_t>(b.view(0).dims.begin(), b.view(0).dims.begin() + b.view(0).rank);
  int64_t count = 1;
  for (int64_t d : dims) count *= d;
  if (values.strings) {
    std::vector<std::string> out(static_cast<size_t>(count));
    for (size_t e = 0; e < out.size(); ++e) {
      const size_t i = find(e);
      out[e] = i == SIZE_MAX ? default_text : values.text[i];
    }
    b.set(0, Value::strings(dims, std::move(out)));
    return;
  }
  TensorView* out = b.out_tensor(0, dims);
  if (!out) return;
  for (size_t e = 0; e < static_cast<size_t>(count); ++e) {
    const size_t i = find(e);
    store_number(*out, e, i == SIZE_MAX ? default_number : values.numbers[i]);
  }
}

}  // namespace

bool run_string_op(const BoxedNode& b) {
  const std::string& op = b.n.op;
  const AttrReader a(b.n, b.g.opset);
  if (op == "LabelEncoder" && b.n.domain == "ai.onnx.ml") {
    label_encoder(b);
    return true;
  }
  if (!b.n.domain.empty()) return false;
  if (op == "Cast" || op == "CastLike") {
    cast(b);
    return true;
  }
  if (op == "StringConcat" || (op == "Equal" && b.spec(0).dtype == DType::kString)) {
    const Value &x = b.value(0), &y = b.value(1);
    const Broadcast bc = broadcast(x.shape(), y.shape());
    if (op == "Equal") {
      TensorView* out = b.out_tensor(0, bc.dims);
      for (size_t i = 0; out && i < bc.a.size(); ++i)
        static_cast<uint8_t*>(out->data)[i] = x.strings()[bc.a[i]] == y.strings()[bc.b[i]] ? 1 : 0;
      return true;
    }
    std::vector<std::string> out(bc.a.size());
    for (size_t i = 0; i < out.size(); ++i) out[i] = x.strings()[bc.a[i]] + y.strings()[bc.b[i]];
    b.set(0, Value::strings(bc.dims, std::move(out)));
    return true;
  }
  if (op == "RegexFullMatch") {
    const std::string pattern = a.attr_string("pattern", "");
    const RE2 re(pattern, RE2::Quiet);
    if (!re.ok()) throw Error(ErrorCode::kInvalidInput, "pattern '" + pattern + "' is not valid: " + re.error());
    const Value& x = b.value(0);
    TensorView* out = b.out_tensor(0, x.shape());
    for (size_t i = 0; out && i < x.strings().size(); ++i)
      static_cast<uint8_t*>(out->data)[i] = RE2::FullMatch(x.strings()[i], re) ? 1 : 0;
    return true;
  }
  if (op == "StringSplit") {
    const Value& x = b.value(0);
    const std::string sep = a.attr_string("delimiter", "");
    const int64_t maxsplit = a.attr_int("maxsplit", -1);
    std::vector<std::vector<std::string>> parts;
    size_t most = 0;
    for (const std::string& s : x.strings()) {
      parts.push_back(split(s, sep, maxsplit));
      most = std::max(most, parts.back().size());
    }
    size_t total = 0;  // one element per substring slot: bounded before it is allocated
    if (__builtin_mul_overflow(parts.size(), most, &total) || total > (size_t{1} << 31))
      throw Error(ErrorCode::kInvalidInput, "its output would hold " + std::to_string(parts.size()) + " x " +
                                                std::to_string(most) + " strings, over 2^31");
    std::vector<int64_t> dims = x.shape();
    TensorView* counts = b.out_tensor(1, dims);
    dims.push_back(static_cast<int64_t>(most));
    std::vector<std::string> out(total);
    for (size_t i = 0; i < parts.size(); ++i) {
      if (counts) static_cast<int64_t*>(counts->data)[i] = static_cast<int64_t>(parts[i].size());
      for (size_t j = 0; j < parts[i].size(); ++j) out[i * most + j] = std::move(parts[i][j]);
    }
    b.set(0, Value::strings(dims, std::move(out)));
    return true;
  }
  if (op == "StringNormalizer") {
    const Value& x = b.value(0);
    const std::string action = a.attr_string("case_change_action", "NONE");
    const bool sensitive = a.attr_int("is_case_sensitive", 0) != 0;
    std::set<std::string> stop;
    for (const std::string& w : a.attr_strings("stopwords")) stop.insert(sensitive ? w : to_case(w, false));
    std::vector<std::string> kept;
    for (const std::string& s : x.strings()) {
      if (stop.count(sensitive ? s : to_case(s, false))) continue;
      kept.push_back(action == "NONE" ? s : to_case(s, action == "UPPER"));
    }
    if (kept.empty()) kept.emplace_back();  // all removed: one empty string
    std::vector<int64_t> dims = x.shape();
    dims.back() = static_cast<int64_t>(kept.size());
    b.set(0, Value::strings(dims, std::move(kept)));
    return true;
  }
  return false;
}

}  // namespace dynrt
