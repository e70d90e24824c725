// Einsum: a generic reference loop over every label (output labels, then the
// summed ones). Supports explicit ("ij,jk->ik") and implicit ("ij,jk")
// outputs, repeated labels within a term (diagonals), and "..." broadcast
// dims (aligned right, size-1 dims broadcast).
#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

constexpr int kLetters = 52;  // a-z, A-Z; "..." dims get ids from 52 up

int LabelId(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return 26 + (c - 'A');
  return -1;
}

// One term: letter ids with -2 marking where "..." stands.
Result<std::vector<int>> ParseTerm(const std::string& t) {
  std::vector<int> out;
  bool ellipsis = false;
  for (size_t i = 0; i < t.size();) {
    if (t.compare(i, 3, "...") == 0) {
      if (ellipsis) return Status::InvalidArgument("Einsum: more than one '...' in a term");
      ellipsis = true;
      out.push_back(-2);
      i += 3;
      continue;
    }
    const int id = LabelId(t[i]);
    if (id < 0) return Status::InvalidArgument(std::string("Einsum: bad character '") + t[i] + "' in equation");
    out.push_back(id);
    ++i;
  }
  return out;
}

struct Equation {
  std::vector<std::vector<int>> inputs;
  bool explicit_output = false;
  std::vector<int> output;
};

Result<Equation> ParseEquation(const std::string& eq_in) {
  std::string eq;
  for (char c : eq_in) if (c != ' ') eq += c;
  Equation e;
  std::string lhs = eq;
  const size_t arrow = eq.find("->");
  if (arrow != std::string::npos) {
    lhs = eq.substr(0, arrow);
    e.explicit_output = true;
    CITADEL_ASSIGN_OR_RETURN(e.output, ParseTerm(eq.substr(arrow + 2)));
  }
  size_t start = 0;
  while (true) {
    const size_t comma = lhs.find(',', start);
    CITADEL_ASSIGN_OR_RETURN(std::vector<int> t, ParseTerm(lhs.substr(start, comma - start)));
    e.inputs.push_back(std::move(t));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return e;
}

class EinsumKernel : public Kernel {
 public:
  explicit EinsumKernel(Equation eq) : eq_(std::move(eq)) {}

  Status Run(KernelContext& ctx) const override {
    const size_t n_in = eq_.inputs.size();
    if (ctx.num_inputs() != n_in) return Status::InvalidArgument("Einsum: equation and inputs differ in count");
    std::vector<const Tensor*> xs(n_in);
    for (size_t i = 0; i < n_in; ++i) {
      CITADEL_ASSIGN_OR_RETURN(xs[i], RequireInput(ctx, i, "Inputs"));
      if (i > 0) CITADEL_RETURN_IF_ERROR(ExpectSameDType(*xs[0], *xs[i], "Einsum inputs"));
    }
    // Ellipsis rank and per-input dim -> label mapping.
    int64_t E = 0;
    std::vector<std::vector<int>> dim_labels(n_in);
    for (size_t i = 0; i < n_in; ++i) {
      const auto& t = eq_.inputs[i];
      const bool has_ell = std::count(t.begin(), t.end(), -2) != 0;
      const int64_t letters = static_cast<int64_t>(t.size()) - (has_ell ? 1 : 0);
      const int64_t r = static_cast<int64_t>(xs[i]->rank());
      if (has_ell ? r < letters : r != letters) {
        return Status::InvalidArgument("Einsum: term " + std::to_string(i) + " does not match the input's rank");
      }
      E = std::max(E, r - letters);
    }
    std::vector<int64_t> size(kLetters + E, -1);
    for (size_t i = 0; i < n_in; ++i) {
      const auto& t = eq_.inputs[i];
      const int64_t r = static_cast<int64_t>(xs[i]->rank());
      const int64_t e_i = r - (static_cast<int64_t>(t.size()) - (std::count(t.begin(), t.end(), -2) ? 1 : 0));
      for (int id : t) {
        if (id == -2) {
          for (int64_t j = 0; j < e_i; ++j) dim_labels[i].push_back(static_cast<int>(kLetters + E - e_i + j));
        } else {
          dim_labels[i].push_back(id);
        }
      }
      for (int64_t d = 0; d < r; ++d) {
        const int id = dim_labels[i][d];
        const int64_t s = xs[i]->shape()[d];
        if (id >= kLetters) {  // broadcast dims: 1 stretches
          if (size[id] == -1 || size[id] == 1) size[id] = s;
          else if (s != 1 && s != size[id]) return Status::InvalidArgument("Einsum: '...' dims do not broadcast");
        } else if (size[id] == -1) {
          size[id] = s;
        } else if (size[id] != s) {
          return Status::InvalidArgument("Einsum: label dims differ between operands");
        }
      }
    }
    // Output labels.
    std::vector<int> out_labels;
    if (eq_.explicit_output) {
      for (int id : eq_.output) {
        if (id == -2) {
          for (int64_t j = 0; j < E; ++j) out_labels.push_back(static_cast<int>(kLetters + j));
        } else {
          if (size[id] == -1) return Status::InvalidArgument("Einsum: output label not in any input");
          out_labels.push_back(id);
        }
      }
      std::vector<bool> seen(size.size(), false);
      for (int id : out_labels) {
        if (seen[id]) return Status::InvalidArgument("Einsum: repeated output label");
        seen[id] = true;
      }
    } else {
      for (int64_t j = 0; j < E; ++j) out_labels.push_back(static_cast<int>(kLetters + j));
      std::vector<int> count(kLetters, 0);
      for (const auto& t : eq_.inputs) for (int id : t) if (id >= 0) ++count[id];
      // ASCII order: A-Z (ids 26..51) before a-z (0..25).
      for (int id = 26; id < kLetters; ++id) if (count[id] == 1) out_labels.push_back(id);
      for (int id = 0; id < 26; ++id) if (count[id] == 1) out_labels.push_back(id);
    }
    std::vector<int> loop = out_labels;
    {
      std::vector<bool> in_out(size.size(), false);
      for (int id : out_labels) in_out[id] = true;
      for (size_t id = 0; id < size.size(); ++id) {
        if (size[id] != -1 && !in_out[id]) loop.push_back(static_cast<int>(id));
      }
    }
    Shape out_shape;
    for (int id : out_labels) out_shape.push_back(size[id]);
    int64_t iters = 1;
    for (int id : loop) {
      if (__builtin_mul_overflow(iters, size[id], &iters) || iters > (int64_t{1} << 36)) {
        return Status::ResourceExhausted("Einsum: too many terms to sum");
      }
    }
    // Strides of each operand and the output per loop position.
    const size_t L = loop.size();
    std::vector<int64_t> pos_of(size.size(), -1);
    for (size_t k = 0; k < L; ++k) pos_of[loop[k]] = static_cast<int64_t>(k);
    std::vector<std::vector<int64_t>> strides(n_in + 1, std::vector<int64_t>(L, 0));
    for (size_t i = 0; i < n_in; ++i) {
      const std::vector<int64_t> st = Strides(xs[i]->shape());
      for (size_t d = 0; d < st.size(); ++d) {
        if (xs[i]->shape()[d] == 1 && dim_labels[i][d] >= kLetters) continue;  // broadcast
        strides[i][pos_of[dim_labels[i][d]]] += st[d];
      }
    }
    const std::vector<int64_t> ost = Strides(out_shape);
    for (size_t d = 0; d < out_labels.size(); ++d) strides[n_in][d] = ost[d];

    return DispatchNumeric(xs[0]->dtype(), [&]<typename T>() -> Status {
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, xs[0]->dtype(), out_shape));
      if (iters == 0) return Status::Ok();
      std::vector<const T*> in(n_in);
      for (size_t i = 0; i < n_in; ++i) in[i] = xs[i]->data<T>();
      T* o = y->data<T>();
      std::vector<int64_t> idx(L, 0), off(n_in + 1, 0);
      for (int64_t it = 0; it < iters; ++it) {
        T prod = T(1);
        for (size_t i = 0; i < n_in; ++i) prod = static_cast<T>(prod * in[i][off[i]]);
        o[off[n_in]] = static_cast<T>(o[off[n_in]] + prod);
        for (int64_t k = static_cast<int64_t>(L) - 1; k >= 0; --k) {
          const int64_t s = size[loop[k]];
          ++idx[k];
          for (size_t i = 0; i <= n_in; ++i) off[i] += strides[i][k];
          if (idx[k] < s) break;
          for (size_t i = 0; i <= n_in; ++i) off[i] -= strides[i][k] * s;
          idx[k] = 0;
        }
      }
      return Status::Ok();
    });
  }

 private:
  Equation eq_;
};

}  // namespace

void RegisterEinsumOps(OpRegistry& r) {
  r.Register("", "Einsum", 12, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(std::string eq, init.node.attrs.GetString("equation", ""));
    CITADEL_ASSIGN_OR_RETURN(Equation e, ParseEquation(eq));
    if (e.inputs.size() != init.num_inputs()) {
      return Status::InvalidArgument("Einsum: equation has " + std::to_string(e.inputs.size()) +
                                     " terms for " + std::to_string(init.num_inputs()) + " inputs");
    }
    return std::unique_ptr<Kernel>(std::make_unique<EinsumKernel>(std::move(e)));
  });
}

}  // namespace citadel::engine::ops
