#include "core/expr.h"

#include <algorithm>
#include <limits>
#include <cctype>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_set>

#include "dynrt/error.h"

namespace dynrt {

enum class Kind : uint8_t { kConst, kSym, kPoly, kFloorDiv, kMod, kMin, kMax };

// One monomial of a polynomial: coef * atoms[0] * atoms[1] * ...
struct Term {
  int64_t coef;
  std::vector<const ExprNode*> atoms;  // sorted by compare_nodes
};

struct ExprNode {
  Kind kind;
  int64_t value = 0;          // constant value or symbol id
  std::vector<Term> terms;    // kPoly
  const ExprNode* a = nullptr;  // binary atoms
  const ExprNode* b = nullptr;
  size_t hash = 0;
};

namespace {

size_t mix(size_t h, size_t v) { return h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)); }

size_t hash_node(const ExprNode& n) {
  size_t h = mix(static_cast<size_t>(n.kind), static_cast<size_t>(n.value));
  for (const Term& t : n.terms) {
    h = mix(h, static_cast<size_t>(t.coef));
    for (const ExprNode* a : t.atoms) h = mix(h, reinterpret_cast<size_t>(a));
  }
  h = mix(h, reinterpret_cast<size_t>(n.a));
  return mix(h, reinterpret_cast<size_t>(n.b));
}

bool same_terms(const std::vector<Term>& x, const std::vector<Term>& y) {
  if (x.size() != y.size()) return false;
  for (size_t i = 0; i < x.size(); ++i)
    if (x[i].coef != y[i].coef || x[i].atoms != y[i].atoms) return false;
  return true;
}

struct NodeHash {
  size_t operator()(const ExprNode* n) const { return n->hash; }
};
struct NodeEq {
  bool operator()(const ExprNode* x, const ExprNode* y) const {
    return x->kind == y->kind && x->value == y->value && x->a == y->a && x->b == y->b &&
           same_terms(x->terms, y->terms);
  }
};

// Interned nodes live for the whole process: expressions are tiny and few. The
// table is never destroyed, so its nodes stay reachable (no leak report at exit,
// and no use of a destroyed table by another static's destructor).
const ExprNode* intern(ExprNode n) {
  static std::mutex mu;
  static auto* table = new std::unordered_set<const ExprNode*, NodeHash, NodeEq>();
  n.hash = hash_node(n);
  std::lock_guard<std::mutex> lock(mu);
  auto it = table->find(&n);
  if (it != table->end()) return *it;
  const ExprNode* stored = new ExprNode(std::move(n));
  table->insert(stored);
  return stored;
}

// Deterministic structural order so that canonical forms do not depend on
// allocation addresses.
int compare_nodes(const ExprNode* x, const ExprNode* y);

int compare_atoms(const std::vector<const ExprNode*>& x, const std::vector<const ExprNode*>& y) {
  if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
  for (size_t i = 0; i < x.size(); ++i)
    if (int c = compare_nodes(x[i], y[i])) return c;
  return 0;
}

int compare_nodes(const ExprNode* x, const ExprNode* y) {
  if (x == y) return 0;
  if (x->kind != y->kind) return x->kind < y->kind ? -1 : 1;
  if (x->value != y->value) return x->value < y->value ? -1 : 1;
  if (x->terms.size() != y->terms.size()) return x->terms.size() < y->terms.size() ? -1 : 1;
  for (size_t i = 0; i < x->terms.size(); ++i) {
    if (int c = compare_atoms(x->terms[i].atoms, y->terms[i].atoms)) return c;
    if (x->terms[i].coef != y->terms[i].coef) return x->terms[i].coef < y->terms[i].coef ? -1 : 1;
  }
  if (x->a && y->a)
    if (int c = compare_nodes(x->a, y->a)) return c;
  if (x->b && y->b)
    if (int c = compare_nodes(x->b, y->b)) return c;
  return 0;
}

const ExprNode* make_const(int64_t v) { return intern(ExprNode{Kind::kConst, v, {}, nullptr, nullptr, 0}); }

std::vector<Term> terms_of(const ExprNode* n) {
  if (n->kind == Kind::kConst) {
    if (n->value == 0) return {};
    return {Term{n->value, {}}};
  }
  if (n->kind == Kind::kPoly) return n->terms;
  return {Term{1, {n}}};
}

// Dimension arithmetic on constants is checked: sizes come from models and
// engine files, and a wrapped product must be an error, not a small number.
int64_t checked_add(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r))
    throw Error(ErrorCode::kShapeOutOfRange, "dimension arithmetic overflows: " + std::to_string(a) + " + " + std::to_string(b));
  return r;
}
int64_t checked_mul(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r))
    throw Error(ErrorCode::kShapeOutOfRange, "dimension arithmetic overflows: " + std::to_string(a) + " * " + std::to_string(b));
  return r;
}

// Build the canonical node for a sum of terms (merging equal monomials).
const ExprNode* make_poly(std::vector<Term> terms) {
  std::sort(terms.begin(), terms.end(),
            [](const Term& x, const Term& y) { return compare_atoms(x.atoms, y.atoms) < 0; });
  std::vector<Term> merged;
  for (Term& t : terms) {
    if (!merged.empty() && merged.back().atoms == t.atoms) {
      merged.back().coef = checked_add(merged.back().coef, t.coef);
    } else {
      merged.push_back(std::move(t));
    }
  }
  std::erase_if(merged, [](const Term& t) { return t.coef == 0; });
  if (merged.empty()) return make_const(0);
  if (merged.size() == 1 && merged[0].atoms.empty()) return make_const(merged[0].coef);
  if (merged.size() == 1 && merged[0].coef == 1 && merged[0].atoms.size() == 1) return merged[0].atoms[0];
  return intern(ExprNode{Kind::kPoly, 0, std::move(merged), nullptr, nullptr, 0});
}

Term multiply_terms(const Term& x, const Term& y) {
  Term t{checked_mul(x.coef, y.coef), {}};
  t.atoms.reserve(x.atoms.size() + y.atoms.size());
  std::merge(x.atoms.begin(), x.atoms.end(), y.atoms.begin(), y.atoms.end(), std::back_inserter(t.atoms),
             [](const ExprNode* p, const ExprNode* q) { return compare_nodes(p, q) < 0; });
  return t;
}

// b != 0. INT64_MIN / -1 does not fit (and traps in hardware): an error, not a crash.
int64_t floor_div(int64_t a, int64_t b) {
  if (b == -1) {
    if (a == std::numeric_limits<int64_t>::min())
      throw Error(ErrorCode::kShapeOutOfRange, "a dimension expression overflows (" + std::to_string(a) + " / -1)");
    return -a;
  }
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int64_t floor_mod(int64_t a, int64_t b) { return b == -1 ? 0 : a - floor_div(a, b) * b; }

// If every term of `num` is divisible by the single monomial `den`, return the
// exact quotient terms.
bool divide_exactly(const std::vector<Term>& num, const Term& den, std::vector<Term>& out) {
  out.clear();
  for (const Term& t : num) {
    if (den.coef == -1 && t.coef == std::numeric_limits<int64_t>::min()) return false;  // the quotient overflows
    if (t.coef % den.coef != 0) return false;
    std::vector<const ExprNode*> rest;
    std::vector<const ExprNode*> need = den.atoms;
    for (const ExprNode* a : t.atoms) {
      auto it = std::find(need.begin(), need.end(), a);
      if (it != need.end()) {
        need.erase(it);
      } else {
        rest.push_back(a);
      }
    }
    if (!need.empty()) return false;
    out.push_back(Term{t.coef / den.coef, std::move(rest)});
  }
  return true;
}

const ExprNode* make_binary(Kind kind, const ExprNode* a, const ExprNode* b) {
  return intern(ExprNode{kind, 0, {}, a, b, 0});
}

__extension__ typedef __int128 i128;  // overflow-free interval products
constexpr int64_t kSat = int64_t{1} << 61;
int64_t sat(i128 v) { return v > kSat ? kSat : (v < -kSat ? -kSat : static_cast<int64_t>(v)); }

Interval mul_iv(Interval x, Interval y) {
  i128 c[4] = {(i128)x.lo * y.lo, (i128)x.lo * y.hi, (i128)x.hi * y.lo, (i128)x.hi * y.hi};
  return {sat(*std::min_element(c, c + 4)), sat(*std::max_element(c, c + 4))};
}

Interval bounds_of(const ExprNode* n, const SymbolNames& names) {
  switch (n->kind) {
    case Kind::kConst: return {n->value, n->value};
    case Kind::kSym: return names.symbol_range(static_cast<int>(n->value));
    case Kind::kPoly: {
      Interval sum{0, 0};
      for (const Term& t : n->terms) {
        Interval p{t.coef, t.coef};
        for (const ExprNode* a : t.atoms) p = mul_iv(p, bounds_of(a, names));
        sum = {sat((i128)sum.lo + p.lo), sat((i128)sum.hi + p.hi)};
      }
      return sum;
    }
    case Kind::kFloorDiv: {
      Interval x = bounds_of(n->a, names), y = bounds_of(n->b, names);
      if (y.lo <= 0) return {-kSat, kSat};
      int64_t c[4] = {floor_div(x.lo, y.lo), floor_div(x.lo, y.hi), floor_div(x.hi, y.lo), floor_div(x.hi, y.hi)};
      return {*std::min_element(c, c + 4), *std::max_element(c, c + 4)};
    }
    case Kind::kMod: {
      Interval y = bounds_of(n->b, names);
      if (y.lo <= 0) return {-kSat, kSat};
      return {0, y.hi - 1};
    }
    case Kind::kMin: {
      Interval x = bounds_of(n->a, names), y = bounds_of(n->b, names);
      return {std::min(x.lo, y.lo), std::min(x.hi, y.hi)};
    }
    case Kind::kMax: {
      Interval x = bounds_of(n->a, names), y = bounds_of(n->b, names);
      return {std::max(x.lo, y.lo), std::max(x.hi, y.hi)};
    }
  }
  return {-kSat, kSat};
}

int64_t eval_node(const ExprNode* n, std::span<const int64_t> binding) {
  switch (n->kind) {
    case Kind::kConst: return n->value;
    case Kind::kSym: {
      size_t id = static_cast<size_t>(n->value);
      if (id >= binding.size() || binding[id] < 0)
        throw Error(ErrorCode::kInternal, "symbol #" + std::to_string(id) + " is not bound");
      return binding[id];
    }
    case Kind::kPoly: {
      int64_t sum = 0;
      for (const Term& t : n->terms) {
        int64_t p = t.coef;
        for (const ExprNode* a : t.atoms) p = checked_mul(p, eval_node(a, binding));
        sum = checked_add(sum, p);
      }
      return sum;
    }
    case Kind::kFloorDiv:
    case Kind::kMod: {
      int64_t x = eval_node(n->a, binding), y = eval_node(n->b, binding);
      if (y == 0) throw Error(ErrorCode::kShapeOutOfRange, "division by zero while computing a dimension");
      return n->kind == Kind::kFloorDiv ? floor_div(x, y) : floor_mod(x, y);
    }
    case Kind::kMin: return std::min(eval_node(n->a, binding), eval_node(n->b, binding));
    case Kind::kMax: return std::max(eval_node(n->a, binding), eval_node(n->b, binding));
  }
  return 0;
}

std::string atom_str(const ExprNode* n, const SymbolNames* names);

// Appends instead of `"(" + s + ")"`, which trips a GCC 12 -Wrestrict false positive.
std::string wrap(const char* left, const std::string& mid, const char* right) {
  std::string out = left;
  out += mid;
  out += right;
  return out;
}

std::string node_str(const ExprNode* n, const SymbolNames* names) {
  if (n->kind != Kind::kPoly) return atom_str(n, names);
  std::string s;
  // Print symbolic terms first, the constant last: "2*s + 1".
  std::vector<const Term*> order;
  for (const Term& t : n->terms)
    if (!t.atoms.empty()) order.push_back(&t);
  for (const Term& t : n->terms)
    if (t.atoms.empty()) order.push_back(&t);
  for (const Term* t : order) {
    int64_t c = t->coef;
    if (s.empty()) {
      if (c < 0) s += "-";
    } else {
      s += c < 0 ? " - " : " + ";
    }
    int64_t ac = c < 0 ? -c : c;
    std::string body;
    for (const ExprNode* a : t->atoms) {
      if (!body.empty()) body += "*";
      body += atom_str(a, names);
    }
    if (body.empty()) {
      s += std::to_string(ac);
    } else {
      s += (ac == 1 ? "" : std::to_string(ac) + "*") + body;
    }
  }
  return s;
}

std::string paren(const ExprNode* n, const SymbolNames* names) {
  std::string s = node_str(n, names);
  return (n->kind == Kind::kPoly || (n->kind == Kind::kConst && n->value < 0)) ? wrap("(", s, ")") : s;
}

std::string atom_str(const ExprNode* n, const SymbolNames* names) {
  switch (n->kind) {
    case Kind::kConst: return std::to_string(n->value);
    case Kind::kSym: {
      int id = static_cast<int>(n->value);
      return names ? names->symbol_name(id) : wrap("s", std::to_string(id), "");
    }
    case Kind::kPoly: return wrap("(", node_str(n, names), ")");
    case Kind::kFloorDiv: return paren(n->a, names) + "/" + paren(n->b, names);
    case Kind::kMod: return paren(n->a, names) + "%" + paren(n->b, names);
    case Kind::kMin: return wrap("min(", node_str(n->a, names) + ", " + node_str(n->b, names), ")");
    case Kind::kMax: return wrap("max(", node_str(n->a, names) + ", " + node_str(n->b, names), ")");
  }
  return "?";
}

void collect_symbols(const ExprNode* n, std::vector<int>& out) {
  switch (n->kind) {
    case Kind::kConst: return;
    case Kind::kSym: out.push_back(static_cast<int>(n->value)); return;
    case Kind::kPoly:
      for (const Term& t : n->terms)
        for (const ExprNode* a : t.atoms) collect_symbols(a, out);
      return;
    default: collect_symbols(n->a, out); collect_symbols(n->b, out);
  }
}

enum : int64_t { kOpConst, kOpSym, kOpAdd, kOpMul, kOpFloorDiv, kOpMod, kOpMin, kOpMax };

void serialize_node(const ExprNode* n, std::vector<int64_t>& out) {
  switch (n->kind) {
    case Kind::kConst: out.push_back(kOpConst); out.push_back(n->value); return;
    case Kind::kSym: out.push_back(kOpSym); out.push_back(n->value); return;
    case Kind::kPoly: {
      bool first = true;
      for (const Term& t : n->terms) {
        out.push_back(kOpConst);
        out.push_back(t.coef);
        for (const ExprNode* a : t.atoms) {
          serialize_node(a, out);
          out.push_back(kOpMul);
        }
        if (!first) out.push_back(kOpAdd);
        first = false;
      }
      return;
    }
    case Kind::kFloorDiv: serialize_node(n->a, out); serialize_node(n->b, out); out.push_back(kOpFloorDiv); return;
    case Kind::kMod: serialize_node(n->a, out); serialize_node(n->b, out); out.push_back(kOpMod); return;
    case Kind::kMin: serialize_node(n->a, out); serialize_node(n->b, out); out.push_back(kOpMin); return;
    case Kind::kMax: serialize_node(n->a, out); serialize_node(n->b, out); out.push_back(kOpMax); return;
  }
}

}  // namespace

Expr Expr::constant(int64_t v) { return Expr(make_const(v)); }
Expr Expr::symbol(int id) { return Expr(intern(ExprNode{Kind::kSym, id, {}, nullptr, nullptr, 0})); }
bool Expr::is_const() const { return n_->kind == Kind::kConst; }
bool Expr::is_symbol() const { return n_->kind == Kind::kSym; }
int64_t Expr::const_value() const { return n_->value; }
int Expr::symbol_id() const { return static_cast<int>(n_->value); }

int64_t Expr::eval(std::span<const int64_t> binding) const { return eval_node(n_, binding); }
Interval Expr::bounds(const SymbolNames& names) const { return bounds_of(n_, names); }
std::string Expr::str(const SymbolNames* names) const { return node_str(n_, names); }

std::vector<int> Expr::symbols() const {
  std::vector<int> out;
  collect_symbols(n_, out);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Expr Expr::substitute(const std::function<bool(int, Expr&)>& f) const {
  switch (n_->kind) {
    case Kind::kConst: return *this;
    case Kind::kSym: {
      Expr r;
      return f(static_cast<int>(n_->value), r) ? r : *this;
    }
    case Kind::kPoly: {
      Expr sum = constant(0);
      for (const Term& t : n_->terms) {
        Expr p = constant(t.coef);
        for (const ExprNode* a : t.atoms) p = p * Expr(a).substitute(f);
        sum = sum + p;
      }
      return sum;
    }
    case Kind::kFloorDiv: return floordiv(Expr(n_->a).substitute(f), Expr(n_->b).substitute(f));
    case Kind::kMod: return mod(Expr(n_->a).substitute(f), Expr(n_->b).substitute(f));
    case Kind::kMin: return min(Expr(n_->a).substitute(f), Expr(n_->b).substitute(f));
    case Kind::kMax: return max(Expr(n_->a).substitute(f), Expr(n_->b).substitute(f));
  }
  return *this;
}

Expr Expr::simplify(const SymbolNames& names) const {
  switch (n_->kind) {
    case Kind::kConst:
    case Kind::kSym: return *this;
    case Kind::kPoly: {
      Expr sum = constant(0);
      for (const Term& t : n_->terms) {
        Expr p = constant(t.coef);
        for (const ExprNode* a : t.atoms) p = p * Expr(a).simplify(names);
        sum = sum + p;
      }
      return sum;
    }
    default: break;
  }
  Expr a = Expr(n_->a).simplify(names), b = Expr(n_->b).simplify(names);
  Interval x = a.bounds(names), y = b.bounds(names);
  switch (n_->kind) {
    case Kind::kMin:
      if (x.hi <= y.lo) return a;
      if (y.hi <= x.lo) return b;
      return min(a, b);
    case Kind::kMax:
      if (x.lo >= y.hi) return a;
      if (y.lo >= x.hi) return b;
      return max(a, b);
    case Kind::kFloorDiv:
      if (x.lo >= 0 && y.lo > 0 && x.hi < y.lo) return constant(0);
      return floordiv(a, b);
    case Kind::kMod:
      if (x.lo >= 0 && y.lo > 0 && x.hi < y.lo) return a;
      return mod(a, b);
    default: return *this;
  }
}

Expr operator+(Expr a, Expr b) {
  if (a.is_const() && b.is_const()) return Expr::constant(checked_add(a.const_value(), b.const_value()));
  std::vector<Term> t = terms_of(a.node());
  std::vector<Term> u = terms_of(b.node());
  t.insert(t.end(), u.begin(), u.end());
  return Expr(make_poly(std::move(t)));
}

Expr operator-(Expr a, Expr b) { return a + Expr::constant(-1) * b; }

Expr operator*(Expr a, Expr b) {
  if (a.is_const() && b.is_const()) return Expr::constant(checked_mul(a.const_value(), b.const_value()));
  std::vector<Term> out;
  for (const Term& x : terms_of(a.node()))
    for (const Term& y : terms_of(b.node())) out.push_back(multiply_terms(x, y));
  return Expr(make_poly(std::move(out)));
}

Expr floordiv(Expr a, Expr b) {
  if (b.is_const()) {
    int64_t d = b.const_value();
    if (d == 0) throw Error(ErrorCode::kInvalidModel, "division by zero in a dimension expression: " + a.str() + "/0");
    if (a.is_const()) return Expr::constant(floor_div(a.const_value(), d));
    if (d == 1) return a;
  }
  if (a == b) return Expr::constant(1);
  std::vector<Term> den = terms_of(b.node());
  std::vector<Term> q;
  if (den.size() == 1 && den[0].coef > 0 && divide_exactly(terms_of(a.node()), den[0], q)) return Expr(make_poly(q));
  return Expr(make_binary(Kind::kFloorDiv, a.node(), b.node()));
}

Expr mod(Expr a, Expr b) {
  if (b.is_const()) {
    int64_t d = b.const_value();
    if (d == 0) throw Error(ErrorCode::kInvalidModel, "modulo by zero in a dimension expression: " + a.str() + "%0");
    if (a.is_const()) return Expr::constant(floor_mod(a.const_value(), d));
    if (d == 1 || d == -1) return Expr::constant(0);
  }
  if (a == b) return Expr::constant(0);
  std::vector<Term> den = terms_of(b.node());
  std::vector<Term> q;
  if (den.size() == 1 && den[0].coef > 0 && divide_exactly(terms_of(a.node()), den[0], q)) return Expr::constant(0);
  return Expr(make_binary(Kind::kMod, a.node(), b.node()));
}

Expr min(Expr a, Expr b) {
  if (a.is_const() && b.is_const()) return Expr::constant(std::min(a.const_value(), b.const_value()));
  if (a == b) return a;
  if (compare_nodes(a.node(), b.node()) > 0) std::swap(a, b);
  return Expr(make_binary(Kind::kMin, a.node(), b.node()));
}

Expr max(Expr a, Expr b) {
  if (a.is_const() && b.is_const()) return Expr::constant(std::max(a.const_value(), b.const_value()));
  if (a == b) return a;
  if (compare_nodes(a.node(), b.node()) > 0) std::swap(a, b);
  return Expr(make_binary(Kind::kMax, a.node(), b.node()));
}

void Expr::serialize(std::vector<int64_t>& out) const {
  size_t at = out.size();
  out.push_back(0);
  serialize_node(n_, out);
  out[at] = static_cast<int64_t>(out.size() - at - 1);
}

Expr Expr::deserialize(std::span<const int64_t> in, size_t& pos) {
  auto bad = [] { return Error(ErrorCode::kInvalidEngine, "corrupt dimension expression in engine file"); };
  if (pos >= in.size()) throw bad();
  int64_t len = in[pos++];
  if (len < 0 || static_cast<uint64_t>(len) > in.size() - pos) throw bad();
  size_t end = pos + static_cast<size_t>(len);
  std::vector<Expr> stack;
  while (pos < end) {
    int64_t op = in[pos++];
    if (op == kOpConst || op == kOpSym) {
      if (pos >= end) throw bad();
      int64_t v = in[pos++];
      if (op == kOpSym && (v < 0 || v > (1 << 20))) throw bad();
      stack.push_back(op == kOpConst ? Expr::constant(v) : Expr::symbol(static_cast<int>(v)));
      continue;
    }
    if (stack.size() < 2) throw bad();
    Expr y = stack.back();
    stack.pop_back();
    Expr x = stack.back();
    stack.pop_back();
    switch (op) {
      case kOpAdd: stack.push_back(x + y); break;
      case kOpMul: stack.push_back(x * y); break;
      case kOpFloorDiv: stack.push_back(floordiv(x, y)); break;
      case kOpMod: stack.push_back(mod(x, y)); break;
      case kOpMin: stack.push_back(min(x, y)); break;
      case kOpMax: stack.push_back(max(x, y)); break;
      default: throw bad();
    }
  }
  if (stack.size() != 1) throw bad();
  return stack[0];
}

Expr product(std::span<const Expr> dims) {
  Expr p = Expr::constant(1);
  for (const Expr& d : dims) p = p * d;
  return p;
}

std::string shape_str(std::span<const Expr> dims, const SymbolNames* names) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ", ";
    s += dims[i].str(names);
  }
  return s + "]";
}

// ---- parser ---------------------------------------------------------------

namespace {

class Parser {
 public:
  Parser(const std::string& s, const std::function<int(const std::string&)>& lookup) : s_(s), lookup_(lookup) {}

  Expr parse() {
    Expr e = sum();
    skip();
    if (i_ != s_.size()) fail("unexpected '" + s_.substr(i_, 1) + "'");
    return e;
  }

 private:
  [[noreturn]] void fail(const std::string& why) {
    throw Error(ErrorCode::kInvalidConfig, "cannot parse expression '" + s_ + "': " + why);
  }
  void skip() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool eat(char c) {
    skip();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  Expr sum() {
    Expr e = product_();
    for (;;) {
      if (eat('+')) e = e + product_();
      else if (eat('-')) e = e - product_();
      else return e;
    }
  }
  Expr product_() {
    Expr e = factor();
    for (;;) {
      if (eat('*')) e = e * factor();
      else if (eat('/')) {
        eat('/');  // accept both "/" and "//" for floor division
        e = floordiv(e, factor());
      } else if (eat('%')) e = mod(e, factor());
      else return e;
    }
  }
  Expr factor() {
    skip();
    if (eat('-')) return -factor();
    if (eat('(')) {
      Expr e = sum();
      if (!eat(')')) fail("missing ')'");
      return e;
    }
    if (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) {
      size_t j = i_;
      while (j < s_.size() && std::isdigit(static_cast<unsigned char>(s_[j]))) ++j;
      int64_t v = std::stoll(s_.substr(i_, j - i_));
      i_ = j;
      return Expr::constant(v);
    }
    size_t j = i_;
    while (j < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[j])) || s_[j] == '_' || s_[j] == '.')) ++j;
    if (j == i_) fail(i_ < s_.size() ? "unexpected '" + s_.substr(i_, 1) + "'" : "unexpected end");
    std::string name = s_.substr(i_, j - i_);
    i_ = j;
    if ((name == "min" || name == "max") && eat('(')) {
      Expr x = sum();
      if (!eat(',')) fail("expected ',' in " + name + "()");
      Expr y = sum();
      if (!eat(')')) fail("missing ')'");
      return name == "min" ? min(x, y) : max(x, y);
    }
    return Expr::symbol(lookup_(name));
  }

  const std::string& s_;
  const std::function<int(const std::string&)>& lookup_;
  size_t i_ = 0;
};

}  // namespace

Expr parse_expr(const std::string& text, const std::function<int(const std::string&)>& lookup) {
  return Parser(text, lookup).parse();
}

}  // namespace dynrt
