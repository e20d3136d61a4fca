// Einsum equation parsing shared by inference and the kernels.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "dynrt/error.h"

namespace dynrt {

// Labels are small ints: 'A'-'Z' -> 0-25, 'a'-'z' -> 26-51 (ASCII order, the
// order implicit outputs use), ellipsis dims -> 52 + position (right-aligned
// across operands).
struct EinsumSpec {
  std::vector<std::vector<int>> inputs;  // labels per input dim
  std::vector<int> output;               // labels per output dim
  int ellipsis_rank = 0;
};

constexpr int kEinsumEllipsisLabel = 52;

// Throws Error(kInvalidModel) with `what` on a malformed equation.
inline EinsumSpec parse_einsum(const std::string& equation, const std::vector<size_t>& ranks) {
  auto bad = [&](const std::string& msg) {
    throw Error(ErrorCode::kInvalidModel, "Einsum equation '" + equation + "': " + msg);
  };
  std::string eq;
  for (char ch : equation)
    if (ch != ' ') eq += ch;
  size_t arrow = eq.find("->");
  std::string lhs = arrow == std::string::npos ? eq : eq.substr(0, arrow);
  std::vector<std::string> terms;
  for (size_t b = 0;;) {
    size_t e = lhs.find(',', b);
    terms.push_back(lhs.substr(b, e == std::string::npos ? std::string::npos : e - b));
    if (e == std::string::npos) break;
    b = e + 1;
  }
  if (terms.size() != ranks.size())
    bad(std::to_string(terms.size()) + " operands in the equation but " + std::to_string(ranks.size()) + " inputs");

  auto letter = [&](char ch) -> int {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return 26 + (ch - 'a');
    bad(std::string("invalid character '") + ch + "'");
    return -1;
  };
  // Letters of a term, with -1 standing for the ellipsis.
  auto split = [&](const std::string& t) {
    std::vector<int> out;
    bool seen = false;
    for (size_t i = 0; i < t.size();) {
      if (t.compare(i, 3, "...") == 0) {
        if (seen) bad("more than one ellipsis in a term");
        seen = true;
        out.push_back(-1);
        i += 3;
      } else {
        out.push_back(letter(t[i++]));
      }
    }
    return out;
  };

  EinsumSpec s;
  std::vector<std::vector<int>> raw;
  for (size_t i = 0; i < terms.size(); ++i) {
    raw.push_back(split(terms[i]));
    const auto& r = raw.back();
    bool ell = std::find(r.begin(), r.end(), -1) != r.end();
    size_t letters = r.size() - (ell ? 1 : 0);
    if (ell ? letters > ranks[i] : letters != ranks[i])
      bad("term '" + terms[i] + "' does not match input rank " + std::to_string(ranks[i]));
    if (ell) s.ellipsis_rank = std::max(s.ellipsis_rank, static_cast<int>(ranks[i] - letters));
  }
  auto expand = [&](const std::vector<int>& r, int ell_rank) {
    std::vector<int> out;
    for (int l : r) {
      if (l >= 0) out.push_back(l);
      else
        for (int k = s.ellipsis_rank - ell_rank; k < s.ellipsis_rank; ++k) out.push_back(kEinsumEllipsisLabel + k);
    }
    return out;
  };
  for (size_t i = 0; i < raw.size(); ++i) {
    size_t letters = static_cast<size_t>(std::count_if(raw[i].begin(), raw[i].end(), [](int l) { return l >= 0; }));
    s.inputs.push_back(expand(raw[i], static_cast<int>(ranks[i] - letters)));
  }
  if (arrow != std::string::npos) {
    std::vector<int> r = split(eq.substr(arrow + 2));
    s.output = expand(r, s.ellipsis_rank);
    for (size_t i = 0; i < s.output.size(); ++i) {
      int l = s.output[i];
      if (std::count(s.output.begin(), s.output.end(), l) > 1) bad("repeated output label");
      bool found = false;
      for (const auto& in : s.inputs) found = found || std::find(in.begin(), in.end(), l) != in.end();
      if (!found) bad("output label not in any input");
    }
  } else {
    for (int k = 0; k < s.ellipsis_rank; ++k) s.output.push_back(kEinsumEllipsisLabel + k);
    for (int l = 0; l < kEinsumEllipsisLabel; ++l) {
      int n = 0;
      for (const auto& in : s.inputs) n += static_cast<int>(std::count(in.begin(), in.end(), l));
      if (n == 1) s.output.push_back(l);
    }
  }
  return s;
}

}  // namespace dynrt
