// Element types and host tensors shared by the C++ API and the compiler.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dynrt/export.h"

namespace dynrt {

// Numbering follows onnx.TensorProto.DataType so values pass through unchanged.
enum class DType : int32_t {
  kUndefined = 0,
  kFloat32 = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kUInt16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kFloat64 = 11,
  kUInt32 = 12,
  kUInt64 = 13,
  kBFloat16 = 16,
  // Narrow types, stored one element per byte (4- and 2-bit values in the low
  // bits, as ml_dtypes stores them); only conversions and data movement take
  // them (docs/architecture.md, "Element types").
  kFloat8E4M3FN = 17,
  kFloat8E4M3FNUZ = 18,
  kFloat8E5M2 = 19,
  kFloat8E5M2FNUZ = 20,
  kUInt4 = 21,
  kInt4 = 22,
  kFloat4E2M1 = 23,
  kFloat8E8M0 = 24,
  kUInt2 = 25,
  kInt2 = 26,
};

DYNRT_API size_t dtype_size(DType t);          // bytes per element; throws for unsupported types
DYNRT_API const char* dtype_name(DType t);     // "float32", "int64", ...
DYNRT_API bool dtype_is_supported(DType t);    // dynrt can store and move this type

// A dense row-major tensor, in host memory or in the memory of an execution
// provider (device() names it: "cuda"; "cpu" is host memory). Copies share
// the buffer.
class DYNRT_API Tensor {
 public:
  Tensor() = default;
  Tensor(DType dtype, std::vector<int64_t> shape);  // zero-filled
  Tensor(DType dtype, std::vector<int64_t> shape, std::shared_ptr<std::byte[]> data);
  // A view of memory the caller owns and keeps alive (no copy, not freed).
  static Tensor wrap(DType dtype, std::vector<int64_t> shape, void* data);
  // The same for memory of provider `device` (e.g. a CUDA device pointer with
  // "cuda"): engines read inputs from it and write outputs into it with no
  // copy through the host.
  static Tensor wrap_device(const std::string& device, DType dtype, std::vector<int64_t> shape, void* data);
  // A tensor allocated in provider `device`'s memory (freed with the last copy).
  static Tensor on_device(const std::string& device, DType dtype, std::vector<int64_t> shape);
  const std::string& device() const { return device_; }
  bool on_host() const { return device_ == "cpu"; }
  // Copies between host and device tensors of the same dtype and size.
  static void copy(const Tensor& src, Tensor& dst);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t numel() const;
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  bool empty_tensor() const { return dtype_ == DType::kUndefined; }

  void* data() { return data_.get(); }
  const void* data() const { return data_.get(); }
  template <class T> T* data_as() { return reinterpret_cast<T*>(data_.get()); }
  template <class T> const T* data_as() const { return reinterpret_cast<const T*>(data_.get()); }

  // Integer elements widened to int64 (int32/int64/uint8/bool...); throws otherwise.
  std::vector<int64_t> to_int64_vector() const;
  Tensor clone() const;

 private:
  DType dtype_ = DType::kUndefined;
  std::vector<int64_t> shape_;
  std::shared_ptr<std::byte[]> data_;
  std::string device_ = "cpu";
};

DYNRT_API std::string dims_str(const std::vector<int64_t>& dims);  // "2x3x224x224"

// What a graph input, output or intermediate value holds: a tensor, or one of
// ONNX's sequence and optional types.
enum class ValueKind : uint8_t {
  kTensor = 0,
  kSequence = 1,          // a list of tensors of one element type (ONNX seq(tensor)); shapes may differ
  kOptionalTensor = 2,    // a tensor or nothing (ONNX optional(tensor))
  kOptionalSequence = 3,  // a sequence or nothing (ONNX optional(seq(tensor)))
};
DYNRT_API const char* value_kind_name(ValueKind k);  // "tensor", "sequence", "optional tensor", "optional sequence"

// A value at a graph boundary of any kind (ExecutionContext::run_values): a
// tensor, a sequence of host tensors of one element type, a tensor of strings,
// or nothing (an optional without a value).
class DYNRT_API Value {
 public:
  enum class Holds : uint8_t { kNothing, kTensor, kSequence, kStrings };
  Value() = default;  // nothing: an optional without a value
  Value(Tensor t);    // NOLINT(google-explicit-constructor): a tensor is a value
  static Value sequence(DType element_type, std::vector<Tensor> tensors);
  static Value nothing() { return Value(); }
  // A tensor of strings (ONNX element type string; bytes, UTF-8 by convention),
  // row-major, as many as the shape's elements.
  static Value strings(std::vector<int64_t> shape, std::vector<std::string> items);

  Holds holds() const { return holds_; }
  bool has_value() const { return holds_ != Holds::kNothing; }
  const Tensor& tensor() const;                // throws unless it holds a tensor
  const std::vector<Tensor>& sequence() const;  // throws unless it holds a sequence
  const std::vector<std::string>& strings() const;  // throws unless it holds strings
  const std::vector<int64_t>& shape() const;      // a tensor's or the strings' shape
  DType element_type() const { return dtype_; }  // the tensor's, or the sequence's elements'; kString for strings

 private:
  Holds holds_ = Holds::kNothing;
  DType dtype_ = DType::kUndefined;
  Tensor tensor_;
  std::vector<Tensor> sequence_;
  std::vector<std::string> strings_;
  std::vector<int64_t> shape_;
};

}  // namespace dynrt
