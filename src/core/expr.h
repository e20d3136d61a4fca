// Symbolic integer expressions for tensor dimensions.
//
// An Expr is a handle to an immutable, hash-consed node. Every node is kept in
// a canonical form (a polynomial over "atoms": symbols, floor-div, mod, min,
// max), so structurally equal expressions are the same pointer: `2*(s+1)` and
// `2*s+2` compare equal with ==.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "dynrt/export.h"

namespace dynrt {

struct ExprNode;

struct Interval {
  int64_t lo;
  int64_t hi;
};

// Names and ranges used to print and bound expressions. Symbol ids index it.
class DYNRT_INTERNAL SymbolNames {
 public:
  virtual ~SymbolNames() = default;
  virtual std::string symbol_name(int id) const = 0;
  virtual Interval symbol_range(int id) const = 0;
};

class DYNRT_INTERNAL Expr {
 public:
  Expr() : Expr(constant(0)) {}
  static Expr constant(int64_t v);
  static Expr symbol(int id);

  bool is_const() const;
  bool is_symbol() const;
  int64_t const_value() const;  // requires is_const()
  int symbol_id() const;        // requires is_symbol()

  // Evaluate with symbol id -> value. Throws dynrt::Error on an unbound symbol
  // (negative value in the binding) or division by zero.
  int64_t eval(std::span<const int64_t> binding) const;
  // Interval of values when every symbol ranges over names.symbol_range().
  Interval bounds(const SymbolNames& names) const;
  std::string str(const SymbolNames* names = nullptr) const;
  // Use the symbols' ranges to drop min/max/floor-div/mod terms whose outcome
  // is decided for every value in range (max(0, batch) -> batch).
  Expr simplify(const SymbolNames& names) const;
  // Ids of the symbols this expression mentions (sorted, unique).
  std::vector<int> symbols() const;
  // Replace symbols by expressions (f returns nullptr-like Expr() to keep).
  Expr substitute(const std::function<bool(int, Expr&)>& f) const;

  friend Expr operator+(Expr a, Expr b);
  friend Expr operator-(Expr a, Expr b);
  friend Expr operator*(Expr a, Expr b);
  friend Expr operator-(Expr a) { return Expr::constant(-1) * a; }
  friend Expr floordiv(Expr a, Expr b);
  friend Expr mod(Expr a, Expr b);
  friend Expr min(Expr a, Expr b);
  friend Expr max(Expr a, Expr b);
  friend bool operator==(Expr a, Expr b) { return a.n_ == b.n_; }
  friend bool operator!=(Expr a, Expr b) { return a.n_ != b.n_; }

  const ExprNode* node() const { return n_; }
  explicit Expr(const ExprNode* n) : n_(n) {}

  // Serialization as a flat postfix program (see expr.cpp).
  void serialize(std::vector<int64_t>& out) const;
  static Expr deserialize(std::span<const int64_t> in, size_t& pos);

 private:
  const ExprNode* n_;
};

DYNRT_INTERNAL Expr operator+(Expr a, Expr b);
DYNRT_INTERNAL Expr operator-(Expr a, Expr b);
DYNRT_INTERNAL Expr operator*(Expr a, Expr b);
DYNRT_INTERNAL Expr floordiv(Expr a, Expr b);
DYNRT_INTERNAL Expr mod(Expr a, Expr b);
DYNRT_INTERNAL Expr min(Expr a, Expr b);
DYNRT_INTERNAL Expr max(Expr a, Expr b);

// Product of a list of dims.
DYNRT_INTERNAL Expr product(std::span<const Expr> dims);
DYNRT_INTERNAL std::string shape_str(std::span<const Expr> dims, const SymbolNames* names = nullptr);

// Parse "2*batch + 1", "min(a, b)", "seq / 2" (floor-div), "x % 4". Symbols
// are resolved through lookup, which returns the symbol id or throws.
DYNRT_INTERNAL Expr parse_expr(const std::string& text, const std::function<int(const std::string&)>& lookup);

}  // namespace dynrt
