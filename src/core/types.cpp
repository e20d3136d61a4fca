#include <cstring>

#include "dynrt/error.h"
#include "dynrt/types.h"
#include "dynrt/version.h"

namespace dynrt {

const char* version() { return DYNRT_VERSION_STRING; }

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidModel: return "invalid model";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kInvalidConfig: return "invalid build config";
    case ErrorCode::kInvalidInput: return "invalid input";
    case ErrorCode::kShapeOutOfRange: return "shape out of range";
    case ErrorCode::kInvalidEngine: return "invalid engine file";
    case ErrorCode::kIo: return "i/o error";
    case ErrorCode::kInternal: return "internal error";
    case ErrorCode::kOutOfMemory: return "out of memory";
  }
  return "error";
}

size_t dtype_size(DType t) {
  switch (t) {
    case DType::kFloat32: case DType::kInt32: case DType::kUInt32: return 4;
    case DType::kUInt8: case DType::kInt8: case DType::kBool: return 1;
    case DType::kFloat8E4M3FN: case DType::kFloat8E4M3FNUZ: case DType::kFloat8E5M2: case DType::kFloat8E5M2FNUZ:
    case DType::kUInt4: case DType::kInt4: case DType::kFloat4E2M1: case DType::kFloat8E8M0: case DType::kUInt2:
    case DType::kInt2: return 1;  // one element per byte in memory (ONNX files pack the sub-byte ones)
    case DType::kUInt16: case DType::kInt16: case DType::kFloat16: case DType::kBFloat16: return 2;
    case DType::kInt64: case DType::kFloat64: case DType::kUInt64: return 8;
    default: break;
  }
  throw Error(ErrorCode::kUnsupported, std::string("element type ") + dtype_name(t) + " is not supported");
}

bool dtype_is_supported(DType t) {
  return t != DType::kUndefined && t != DType::kString && t <= DType::kInt2 && t != static_cast<DType>(14) &&
         t != static_cast<DType>(15);
}

const char* dtype_name(DType t) {
  if (static_cast<int>(t) == 14) return "complex64";  // ONNX's, which dynrt does not store
  if (static_cast<int>(t) == 15) return "complex128";
  switch (t) {
    case DType::kUndefined: return "undefined";
    case DType::kFloat32: return "float32";
    case DType::kUInt8: return "uint8";
    case DType::kInt8: return "int8";
    case DType::kUInt16: return "uint16";
    case DType::kInt16: return "int16";
    case DType::kInt32: return "int32";
    case DType::kInt64: return "int64";
    case DType::kString: return "string";
    case DType::kBool: return "bool";
    case DType::kFloat16: return "float16";
    case DType::kFloat64: return "float64";
    case DType::kUInt32: return "uint32";
    case DType::kUInt64: return "uint64";
    case DType::kBFloat16: return "bfloat16";
    case DType::kFloat8E4M3FN: return "float8e4m3fn";
    case DType::kFloat8E4M3FNUZ: return "float8e4m3fnuz";
    case DType::kFloat8E5M2: return "float8e5m2";
    case DType::kFloat8E5M2FNUZ: return "float8e5m2fnuz";
    case DType::kUInt4: return "uint4";
    case DType::kInt4: return "int4";
    case DType::kFloat4E2M1: return "float4e2m1";
    case DType::kFloat8E8M0: return "float8e8m0";
    case DType::kUInt2: return "uint2";
    case DType::kInt2: return "int2";
  }
  return "unknown";
}

Tensor::Tensor(DType dtype, std::vector<int64_t> shape) : dtype_(dtype), shape_(std::move(shape)) {
  size_t n = nbytes();
  data_ = std::shared_ptr<std::byte[]>(new std::byte[n == 0 ? 1 : n]());
}

Tensor::Tensor(DType dtype, std::vector<int64_t> shape, std::shared_ptr<std::byte[]> data)
    : dtype_(dtype), shape_(std::move(shape)), data_(std::move(data)) {}

Tensor Tensor::wrap(DType dtype, std::vector<int64_t> shape, void* data) {
  return Tensor(dtype, std::move(shape), std::shared_ptr<std::byte[]>(static_cast<std::byte*>(data), [](std::byte*) {}));
}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;
  return n;
}

std::vector<int64_t> Tensor::to_int64_vector() const {
  if (!on_host()) throw Error(ErrorCode::kInvalidInput, "a tensor in " + device_ + " memory cannot be read on the host");
  std::vector<int64_t> out(static_cast<size_t>(numel()));
  for (size_t i = 0; i < out.size(); ++i) {
    switch (dtype_) {
      case DType::kInt64: out[i] = data_as<int64_t>()[i]; break;
      case DType::kInt32: out[i] = data_as<int32_t>()[i]; break;
      case DType::kInt16: out[i] = data_as<int16_t>()[i]; break;
      case DType::kInt8: out[i] = data_as<int8_t>()[i]; break;
      case DType::kUInt8: case DType::kBool: out[i] = data_as<uint8_t>()[i]; break;
      case DType::kUInt32: out[i] = data_as<uint32_t>()[i]; break;
      case DType::kUInt64: out[i] = static_cast<int64_t>(data_as<uint64_t>()[i]); break;
      default:
        throw Error(ErrorCode::kInvalidModel, std::string("expected an integer tensor, got ") + dtype_name(dtype_));
    }
  }
  return out;
}

Tensor Tensor::clone() const {
  if (!on_host()) throw Error(ErrorCode::kInvalidInput, "clone() copies host tensors; use Tensor::copy for " + device_);
  Tensor t(dtype_, shape_);
  if (nbytes()) std::memcpy(t.data(), data(), nbytes());
  return t;
}

std::string dims_str(const std::vector<int64_t>& dims) {
  if (dims.empty()) return "scalar";
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += 'x';
    s += std::to_string(dims[i]);
  }
  return s;
}

const char* value_kind_name(ValueKind k) {
  switch (k) {
    case ValueKind::kTensor: return "tensor";
    case ValueKind::kSequence: return "sequence";
    case ValueKind::kOptionalTensor: return "optional tensor";
    case ValueKind::kOptionalSequence: return "optional sequence";
  }
  return "?";
}

Value::Value(Tensor t) : holds_(Holds::kTensor), dtype_(t.dtype()), tensor_(std::move(t)) {}

Value Value::sequence(DType element_type, std::vector<Tensor> tensors) {
  for (size_t i = 0; i < tensors.size(); ++i)
    if (tensors[i].dtype() != element_type)
      throw Error(ErrorCode::kInvalidInput, "sequence element " + std::to_string(i) + " has element type " +
                                                dtype_name(tensors[i].dtype()) + ", the sequence " + dtype_name(element_type));
  Value v;
  v.holds_ = Holds::kSequence;
  v.dtype_ = element_type;
  v.sequence_ = std::move(tensors);
  return v;
}

Value Value::strings(std::vector<int64_t> shape, std::vector<std::string> items) {
  int64_t n = 1;
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(n, d, &n))
      throw Error(ErrorCode::kInvalidInput, "a string tensor's shape " + dims_str(shape) + " is not a shape");
  if (static_cast<size_t>(n) != items.size())
    throw Error(ErrorCode::kInvalidInput, "a string tensor of shape " + dims_str(shape) + " holds " + std::to_string(n) +
                                              " strings, not " + std::to_string(items.size()));
  Value v;
  v.holds_ = Holds::kStrings;
  v.dtype_ = DType::kString;
  v.shape_ = std::move(shape);
  v.strings_ = std::move(items);
  return v;
}

const std::vector<std::string>& Value::strings() const {
  if (holds_ != Holds::kStrings) throw Error(ErrorCode::kInvalidInput, "the value does not hold strings");
  return strings_;
}

const std::vector<int64_t>& Value::shape() const {
  if (holds_ == Holds::kTensor) return tensor_.shape();
  if (holds_ != Holds::kStrings) throw Error(ErrorCode::kInvalidInput, "the value is not a tensor");
  return shape_;
}

const Tensor& Value::tensor() const {
  if (holds_ != Holds::kTensor)
    throw Error(ErrorCode::kInvalidInput, holds_ == Holds::kNothing    ? "the value is empty (an optional without a value)"
                                          : holds_ == Holds::kStrings ? "the value holds strings, not a tensor of numbers"
                                                                      : "the value is a sequence, not a tensor");
  return tensor_;
}

const std::vector<Tensor>& Value::sequence() const {
  if (holds_ != Holds::kSequence)
    throw Error(ErrorCode::kInvalidInput, holds_ == Holds::kNothing ? "the value is empty (an optional without a value)"
                                                                    : "the value is a tensor, not a sequence");
  return sequence_;
}

}  // namespace dynrt
