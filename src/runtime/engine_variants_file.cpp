// The file of an engine with variants (EngineVariant):
//
//   "DYNRTVAR" | u32 version | u32 reserved | u64 payload bytes | u32 crc32 | payload
//   payload: opset, providers, symbols, profiles, inputs (name, type, dims),
//            outputs (name, type, dims as text), the variants' table (pins, and
//            an engine's size or the error that stood in for it), then each
//            variant's whole engine file at a multiple of kAlign, so that its
//            constants stay aligned in a mapped file.
#include "runtime/engine_file_io.h"

#include <cstring>

#include "core/tensor_view.h"

namespace dynrt::engine_io {

std::string variants_payload(const EngineImpl& e) {
  const ir::Graph& g = e.graph;
  Writer w;
  write_head(w, e);
  w.pod(static_cast<uint32_t>(g.inputs.size()));
  for (int id : g.inputs) {
    const ir::Value& v = g.values[static_cast<size_t>(id)];
    w.str(v.name);
    w.pod(static_cast<int32_t>(v.dtype));
    w.exprs(v.shape);
  }
  w.pod(static_cast<uint32_t>(e.variant_outputs.size()));
  for (const TensorInfo& t : e.variant_outputs) {
    w.str(t.name);
    w.pod(static_cast<int32_t>(t.dtype));
    w.pod(static_cast<uint8_t>(t.rank_known));
    w.pod(static_cast<uint32_t>(t.dims.size()));
    for (const std::string& d : t.dims) w.str(d);
  }
  std::vector<std::string> files;
  for (const EngineVariant& v : e.variants)
    if (v.engine) {
      std::string body = engine_payload(*v.engine);
      files.push_back(file_header(kMagic, kVersion, body) + body);
    }
  w.pod(static_cast<uint32_t>(e.variants.size()));
  size_t next = 0;
  for (const EngineVariant& v : e.variants) {
    w.pod(static_cast<uint32_t>(v.pins.size()));
    for (const EngineVariant::Pin& p : v.pins) {
      w.pod(p.input);
      w.pod(p.dim);
      w.pod(p.value);
    }
    w.pod(static_cast<uint8_t>(v.engine != nullptr));
    if (v.engine) {
      w.pod(static_cast<uint64_t>(files[next++].size()));
    } else {
      w.pod(static_cast<uint32_t>(v.error_code));
      w.str(v.error);
    }
  }
  for (const std::string& f : files) {
    w.buf.append(align_pad(kHeaderBytes + w.buf.size()), '\0');
    w.buf += f;
  }
  return std::move(w.buf);
}

std::shared_ptr<EngineImpl> parse_variants(std::string_view data, const std::string& path,
                                           std::shared_ptr<const MappedFile> mapped) {
  auto e = std::make_shared<EngineImpl>();
  ir::Graph& g = e->graph;
  Reader r(data, kHeaderBytes, path);
  read_head(r, *e);
  const auto nsym = static_cast<uint32_t>(g.symbols.size());
  auto ninputs = r.pod<uint32_t>();
  for (uint32_t i = 0; i < ninputs; ++i) {
    ir::Value& v = g.values[static_cast<size_t>(g.add_value(r.str()))];
    v.dtype = static_cast<DType>(r.pod<int32_t>());
    if (!dtype_is_supported(v.dtype)) r.corrupt("bad input type");
    v.shape = r.exprs();
    if (v.shape.size() > static_cast<size_t>(kMaxRank)) r.corrupt("an input of too high a rank");
    for (const Expr& d : v.shape)
      for (int s : d.symbols())
        if (s < 0 || static_cast<uint32_t>(s) >= nsym) r.corrupt("bad symbol index");
    g.inputs.push_back(static_cast<int>(i));
  }
  auto noutputs = r.pod<uint32_t>();
  for (uint32_t i = 0; i < noutputs; ++i) {
    TensorInfo t{r.str(), static_cast<DType>(r.pod<int32_t>()), {}};
    if (!dtype_is_supported(t.dtype)) r.corrupt("bad output type");
    t.rank_known = r.pod<uint8_t>() != 0;
    auto ndims = r.pod<uint32_t>();
    if (ndims > static_cast<uint32_t>(kMaxRank)) r.corrupt("an output of too high a rank");
    for (uint32_t j = 0; j < ndims; ++j) t.dims.push_back(r.str());
    e->variant_outputs.push_back(std::move(t));
  }
  auto nvariants = r.pod<uint32_t>();
  if (nvariants == 0 || nvariants > 4096) r.corrupt("bad variant count");
  std::vector<uint64_t> sizes;
  for (uint32_t k = 0; k < nvariants; ++k) {
    EngineVariant v;
    auto npins = r.pod<uint32_t>();
    if (npins == 0 || npins > 16) r.corrupt("bad variant pin count");
    for (uint32_t j = 0; j < npins; ++j) {
      EngineVariant::Pin p;
      p.input = r.pod<uint32_t>();
      p.dim = r.pod<uint32_t>();
      p.value = r.pod<int64_t>();
      if (p.input >= ninputs || p.dim >= g.values[p.input].shape.size()) r.corrupt("bad variant pin");
      // Every variant pins the same dims, in the same order (the runtime names them from the first).
      if (k > 0 && (j >= e->variants[0].pins.size() || e->variants[0].pins[j].input != p.input ||
                    e->variants[0].pins[j].dim != p.dim))
        r.corrupt("variants pin different dims");
      v.pins.push_back(p);
    }
    if (k > 0 && npins != e->variants[0].pins.size()) r.corrupt("variants pin different dims");
    if (r.pod<uint8_t>()) {
      sizes.push_back(r.pod<uint64_t>());
      if (sizes.back() == 0) r.corrupt("a variant's engine is empty");
    } else {
      sizes.push_back(0);
      auto code = r.pod<uint32_t>();
      if (code > static_cast<uint32_t>(ErrorCode::kOutOfMemory)) r.corrupt("bad error code");
      v.error_code = static_cast<ErrorCode>(code);
      v.error = r.str();
    }
    e->variants.push_back(std::move(v));
  }
  bool any = false;
  for (uint32_t k = 0; k < nvariants; ++k) {
    if (sizes[k] == 0) continue;
    r.skip(align_pad(r.pos()));
    if (sizes[k] > data.size() - r.pos()) r.corrupt("a variant's engine is truncated");
    const auto n = static_cast<size_t>(sizes[k]);
    // Plain engines only: a variant holding variants would let a file nest without bound.
    if (n < 8 || std::memcmp(data.data() + r.pos(), kMagic, 8) != 0) r.corrupt("a variant is not a plain engine");
    e->variants[k].engine = parse_engine(data.substr(r.pos(), n), path + " (variant " + std::to_string(k) + ")", mapped);
    r.skip(n);
    any = true;
  }
  if (!any) r.corrupt("no variant has an engine");
  if (!r.done()) r.corrupt("unexpected data after the variants");
  return e;
}

}  // namespace dynrt::engine_io
