// RNN, GRU and LSTM (opsets 7-17; layout since 14): one reference kernel
// for the three cells.
//
//   X [seq, batch, input] (layout 1: [batch, seq, input])
//   W [dirs, G*hidden, input], R [dirs, G*hidden, hidden], B [dirs, 2*G*hidden]
//   sequence_lens [batch], initial_h (and LSTM initial_c) [dirs, batch, hidden]
//   (layout 1: [batch, dirs, hidden]), LSTM peepholes P [dirs, 3*hidden]
//   Y [seq, dirs, batch, hidden] (layout 1: [batch, seq, dirs, hidden]),
//   Y_h (and LSTM Y_c) shaped like initial_h.
//
// Gate order in W/R/B: RNN i; GRU z r h; LSTM i o f c (peepholes i o f).
// For a batch entry with sequence_lens[b] < seq, the positions past its
// length stay zero in Y and Y_h/Y_c hold the state after its last position;
// the reverse direction starts at position sequence_lens[b]-1.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>
#include <vector>

#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

enum class Cell { kRnn, kGru, kLstm };

struct Activation {
  enum class Kind { kRelu, kTanh, kSigmoid, kAffine, kLeakyRelu, kThresholdedRelu, kScaledTanh,
                    kHardSigmoid, kElu, kSoftsign, kSoftplus };
  Kind kind = Kind::kTanh;
  float alpha = 0;
  float beta = 0;
  double operator()(double x) const {
    switch (kind) {
      case Kind::kRelu: return x > 0 ? x : 0;
      case Kind::kTanh: return std::tanh(x);
      case Kind::kSigmoid: return 1.0 / (1.0 + std::exp(-x));
      case Kind::kAffine: return alpha * x + beta;
      case Kind::kLeakyRelu: return x >= 0 ? x : alpha * x;
      case Kind::kThresholdedRelu: return x > alpha ? x : 0;
      case Kind::kScaledTanh: return alpha * std::tanh(beta * x);
      case Kind::kHardSigmoid: return std::clamp(alpha * x + beta, 0.0, 1.0);
      case Kind::kElu: return x >= 0 ? x : alpha * (std::exp(x) - 1);
      case Kind::kSoftsign: return x / (1 + std::fabs(x));
      case Kind::kSoftplus: return std::log1p(std::exp(x));
    }
    return x;
  }
};

// Parses `activations` with activation_alpha/beta: each function that takes
// an alpha (beta) consumes the next entry of the list, else its default.
Result<std::vector<Activation>> ParseActivations(const Attributes& attrs,
                                                 const std::vector<std::string>& defaults,
                                                 int dirs) {
  std::vector<std::string> names;
  if (const Attribute* a = attrs.Find("activations"); a != nullptr) {
    if (a->kind != Attribute::Kind::kStrings) {
      return Status::InvalidArgument("attribute 'activations' must be a list of strings");
    }
    names = a->strings;
  }
  const size_t per_dir = defaults.size();
  if (names.empty()) {
    for (int d = 0; d < dirs; ++d) names.insert(names.end(), defaults.begin(), defaults.end());
  } else if (names.size() == per_dir && dirs == 2) {
    // Some exporters give one set for both directions.
    std::vector<std::string> twice = names;
    names.insert(names.end(), twice.begin(), twice.end());
  }
  if (names.size() != per_dir * static_cast<size_t>(dirs)) {
    return Status::InvalidArgument("activations has " + std::to_string(names.size()) +
                                   " entries, expected " + std::to_string(per_dir * dirs));
  }
  CITADEL_ASSIGN_OR_RETURN(std::vector<float> alphas, attrs.GetFloats("activation_alpha"));
  CITADEL_ASSIGN_OR_RETURN(std::vector<float> betas, attrs.GetFloats("activation_beta"));
  size_t ai = 0, bi = 0;
  std::vector<Activation> out;
  for (std::string n : names) {
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
    Activation act;
    using K = Activation::Kind;
    float def_alpha = 0, def_beta = 0;
    bool uses_alpha = true, uses_beta = false;
    if (n == "relu") { act.kind = K::kRelu; uses_alpha = false; }
    else if (n == "tanh") { act.kind = K::kTanh; uses_alpha = false; }
    else if (n == "sigmoid") { act.kind = K::kSigmoid; uses_alpha = false; }
    else if (n == "affine") { act.kind = K::kAffine; def_alpha = 1; uses_beta = true; }
    else if (n == "leakyrelu") { act.kind = K::kLeakyRelu; def_alpha = 0.01f; }
    else if (n == "thresholdedrelu") { act.kind = K::kThresholdedRelu; def_alpha = 1; }
    else if (n == "scaledtanh") { act.kind = K::kScaledTanh; def_alpha = 1; def_beta = 1; uses_beta = true; }
    else if (n == "hardsigmoid") { act.kind = K::kHardSigmoid; def_alpha = 0.2f; def_beta = 0.5f; uses_beta = true; }
    else if (n == "elu") { act.kind = K::kElu; def_alpha = 1; }
    else if (n == "softsign") { act.kind = K::kSoftsign; uses_alpha = false; }
    else if (n == "softplus") { act.kind = K::kSoftplus; uses_alpha = false; }
    else return Status::Unsupported("activation '" + n + "' is not supported");
    act.alpha = uses_alpha && ai < alphas.size() ? alphas[ai++] : def_alpha;
    act.beta = uses_beta && bi < betas.size() ? betas[bi++] : def_beta;
    out.push_back(act);
  }
  return out;
}

struct Params {
  Cell cell;
  int gates;         // G
  int dirs;          // 1 or 2
  bool reverse_only; // direction == "reverse"
  int64_t hidden;    // hidden_size attribute, or -1 (taken from R)
  int64_t layout;
  float clip;        // <= 0: no clipping
  bool linear_before_reset;
  std::vector<Activation> acts;  // per direction: RNN f; GRU f g; LSTM f g h
};

class RnnKernel final : public Kernel {
 public:
  explicit RnnKernel(Params p) : p_(std::move(p)) {}

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    return DispatchFloat(x->dtype(), [&]<typename T>() { return RunT<T>(ctx); });
  }

 private:
  template <typename T>
  Status RunT(KernelContext& ctx) const {
    const Tensor* x = ctx.input(0);
    CITADEL_ASSIGN_OR_RETURN(const Tensor* w, RequireInput(ctx, 1, "W"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* r, RequireInput(ctx, 2, "R"));
    const Tensor* b = ctx.input(3);
    const Tensor* lens_t = ctx.input(4);
    const Tensor* h0 = ctx.input(5);
    const Tensor* c0 = p_.cell == Cell::kLstm ? ctx.input(6) : nullptr;
    const Tensor* peep = p_.cell == Cell::kLstm ? ctx.input(7) : nullptr;
    if (x->rank() != 3) return Status::InvalidArgument("X must be 3-D, got " + ShapeToString(x->shape()));
    const int64_t seq = p_.layout == 0 ? x->shape()[0] : x->shape()[1];
    const int64_t batch = p_.layout == 0 ? x->shape()[1] : x->shape()[0];
    const int64_t in = x->shape()[2];
    const int64_t dirs = p_.dirs, G = p_.gates;
    if (r->rank() != 3) return Status::InvalidArgument("R must be 3-D");
    const int64_t hid = r->shape()[2];
    if (p_.hidden >= 0 && p_.hidden != hid) {
      return Status::InvalidArgument("hidden_size " + std::to_string(p_.hidden) +
                                     " disagrees with R " + ShapeToString(r->shape()));
    }
    auto expect = [&](const Tensor* t, const Shape& s, const char* what) -> Status {
      if (t == nullptr) return Status::Ok();
      CITADEL_RETURN_IF_ERROR(ExpectSameDType(*x, *t, what));
      if (t->shape() != s) {
        return Status::InvalidArgument(std::string(what) + " must be " + ShapeToString(s) +
                                       ", got " + ShapeToString(t->shape()));
      }
      return Status::Ok();
    };
    const Shape state_shape = p_.layout == 0 ? Shape{dirs, batch, hid} : Shape{batch, dirs, hid};
    CITADEL_RETURN_IF_ERROR(expect(w, {dirs, G * hid, in}, "W"));
    CITADEL_RETURN_IF_ERROR(expect(r, {dirs, G * hid, hid}, "R"));
    CITADEL_RETURN_IF_ERROR(expect(b, {dirs, 2 * G * hid}, "B"));
    CITADEL_RETURN_IF_ERROR(expect(h0, state_shape, "initial_h"));
    CITADEL_RETURN_IF_ERROR(expect(c0, state_shape, "initial_c"));
    CITADEL_RETURN_IF_ERROR(expect(peep, {dirs, 3 * hid}, "P"));
    std::vector<int64_t> lens(static_cast<size_t>(batch), seq);
    if (lens_t != nullptr) {
      CITADEL_ASSIGN_OR_RETURN(lens, ReadInt64s(*lens_t, "sequence_lens"));
      if (static_cast<int64_t>(lens.size()) != batch) {
        return Status::InvalidArgument("sequence_lens must have " + std::to_string(batch) + " entries");
      }
      for (int64_t l : lens) {
        if (l < 0 || l > seq) {
          return Status::InvalidArgument("sequence_lens entry " + std::to_string(l) +
                                         " is outside [0, " + std::to_string(seq) + "]");
        }
      }
    }
    const Shape y_shape = p_.layout == 0 ? Shape{seq, dirs, batch, hid} : Shape{batch, seq, dirs, hid};
    Tensor y, yh, yc;
    CITADEL_ASSIGN_OR_RETURN(y, ctx.NewTensor(x->dtype(), y_shape));
    CITADEL_ASSIGN_OR_RETURN(yh, ctx.NewTensor(x->dtype(), state_shape));
    if (p_.cell == Cell::kLstm) {
      CITADEL_ASSIGN_OR_RETURN(yc, ctx.NewTensor(x->dtype(), state_shape));
    }

    const T* X = x->data<T>();
    auto x_at = [&](int64_t t, int64_t bb) {
      return X + (p_.layout == 0 ? (t * batch + bb) : (bb * seq + t)) * in;
    };
    auto state_at = [&](int64_t d, int64_t bb) {
      return (p_.layout == 0 ? (d * batch + bb) : (bb * dirs + d)) * hid;
    };
    auto y_at = [&](int64_t t, int64_t d, int64_t bb) {
      return (p_.layout == 0 ? ((t * dirs + d) * batch + bb) : ((bb * seq + t) * dirs + d)) * hid;
    };
    const size_t nacts = p_.acts.size() / static_cast<size_t>(dirs);
    std::vector<double> h(hid), c(hid), gx(G * hid), gh(G * hid), hn(hid), tmp(hid);
    for (int64_t d = 0; d < dirs; ++d) {
      const bool reverse = p_.reverse_only || d == 1;
      const T* W = w->data<T>() + d * G * hid * in;
      const T* R = r->data<T>() + d * G * hid * hid;
      const T* Wb = b ? b->data<T>() + d * 2 * G * hid : nullptr;
      const T* Rb = b ? Wb + G * hid : nullptr;
      const T* P = peep ? peep->data<T>() + d * 3 * hid : nullptr;
      const Activation* act = &p_.acts[d * nacts];
      auto clip = [&](double v) { return p_.clip > 0 ? std::clamp<double>(v, -p_.clip, p_.clip) : v; };
      for (int64_t bb = 0; bb < batch; ++bb) {
        for (int64_t j = 0; j < hid; ++j) {
          h[j] = h0 ? static_cast<double>(h0->data<T>()[state_at(d, bb) + j]) : 0.0;
          c[j] = c0 ? static_cast<double>(c0->data<T>()[state_at(d, bb) + j]) : 0.0;
        }
        const int64_t len = lens[bb];
        for (int64_t s = 0; s < len; ++s) {
          const int64_t t = reverse ? len - 1 - s : s;
          const T* xt = x_at(t, bb);
          for (int64_t g = 0; g < G * hid; ++g) {
            double ax = Wb ? static_cast<double>(Wb[g]) : 0.0;
            const T* wr = W + g * in;
            for (int64_t i = 0; i < in; ++i) ax += static_cast<double>(wr[i]) * xt[i];
            gx[g] = ax;
            double ah = Rb ? static_cast<double>(Rb[g]) : 0.0;
            const T* rr = R + g * hid;
            // GRU without linear_before_reset applies R_h after the reset gate (below).
            if (!(p_.cell == Cell::kGru && !p_.linear_before_reset && g >= 2 * hid)) {
              for (int64_t k = 0; k < hid; ++k) ah += static_cast<double>(rr[k]) * h[k];
            }
            gh[g] = ah;
          }
          switch (p_.cell) {
            case Cell::kRnn:
              for (int64_t j = 0; j < hid; ++j) hn[j] = act[0](clip(gx[j] + gh[j]));
              break;
            case Cell::kGru: {
              // z r h
              for (int64_t j = 0; j < hid; ++j) tmp[j] = act[0](clip(gx[hid + j] + gh[hid + j]));  // r
              if (!p_.linear_before_reset) {
                const T* Rh = R + 2 * hid * hid;
                for (int64_t j = 0; j < hid; ++j) {
                  double a = gh[2 * hid + j];  // Rbh
                  for (int64_t k = 0; k < hid; ++k) a += static_cast<double>(Rh[j * hid + k]) * tmp[k] * h[k];
                  gh[2 * hid + j] = a;
                }
              }
              for (int64_t j = 0; j < hid; ++j) {
                const double z = act[0](clip(gx[j] + gh[j]));
                const double hh = p_.linear_before_reset
                                      ? act[1](clip(gx[2 * hid + j] + tmp[j] * gh[2 * hid + j]))
                                      : act[1](clip(gx[2 * hid + j] + gh[2 * hid + j]));
                hn[j] = (1 - z) * hh + z * h[j];
              }
              break;
            }
            case Cell::kLstm:
              // i o f c
              for (int64_t j = 0; j < hid; ++j) {
                const double pi = P ? static_cast<double>(P[j]) * c[j] : 0.0;
                const double pf = P ? static_cast<double>(P[2 * hid + j]) * c[j] : 0.0;
                const double ig = act[0](clip(gx[j] + gh[j] + pi));
                const double fg = act[0](clip(gx[2 * hid + j] + gh[2 * hid + j] + pf));
                const double cg = act[1](clip(gx[3 * hid + j] + gh[3 * hid + j]));
                c[j] = fg * c[j] + ig * cg;
                const double po = P ? static_cast<double>(P[hid + j]) * c[j] : 0.0;
                const double og = act[0](clip(gx[hid + j] + gh[hid + j] + po));
                hn[j] = og * act[2](c[j]);
              }
              break;
          }
          h = hn;
          T* yt = y.data<T>() + y_at(t, d, bb);
          for (int64_t j = 0; j < hid; ++j) yt[j] = static_cast<T>(h[j]);
        }
        for (int64_t j = 0; j < hid; ++j) {
          yh.data<T>()[state_at(d, bb) + j] = static_cast<T>(h[j]);
          if (yc.valid()) yc.data<T>()[state_at(d, bb) + j] = static_cast<T>(c[j]);
        }
      }
    }
    if (ctx.num_outputs() > 0) ctx.SetOutput(0, std::move(y));
    if (ctx.num_outputs() > 1) ctx.SetOutput(1, std::move(yh));
    if (ctx.num_outputs() > 2 && yc.valid()) ctx.SetOutput(2, std::move(yc));
    return Status::Ok();
  }

  Params p_;
};

KernelFactory MakeFactory(Cell cell) {
  return [cell](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    const Attributes& a = init.node.attrs;
    Params p;
    p.cell = cell;
    p.gates = cell == Cell::kRnn ? 1 : cell == Cell::kGru ? 3 : 4;
    CITADEL_ASSIGN_OR_RETURN(std::string dir, a.GetString("direction", "forward"));
    if (dir != "forward" && dir != "reverse" && dir != "bidirectional") {
      return Status::InvalidArgument("direction must be forward, reverse or bidirectional, got '" +
                                     dir + "'");
    }
    p.dirs = dir == "bidirectional" ? 2 : 1;
    p.reverse_only = dir == "reverse";
    CITADEL_ASSIGN_OR_RETURN(p.hidden, a.GetInt("hidden_size", -1));
    CITADEL_ASSIGN_OR_RETURN(p.layout, a.GetInt("layout", 0));
    if (p.layout != 0 && p.layout != 1) return Status::InvalidArgument("layout must be 0 or 1");
    if (p.layout != 0 && init.opset < 14) {
      return Status::InvalidArgument("attribute 'layout' exists only since opset 14");
    }
    CITADEL_ASSIGN_OR_RETURN(p.clip, a.GetFloat("clip", 0.0f));
    CITADEL_ASSIGN_OR_RETURN(int64_t lbr, a.GetInt("linear_before_reset", 0));
    p.linear_before_reset = lbr != 0;
    CITADEL_ASSIGN_OR_RETURN(int64_t input_forget, a.GetInt("input_forget", 0));
    if (input_forget != 0) {
      return Status::Unsupported("LSTM with input_forget=1 (coupled input and forget gates) is not supported");
    }
    std::vector<std::string> defaults = cell == Cell::kRnn   ? std::vector<std::string>{"Tanh"}
                                        : cell == Cell::kGru ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                                             : std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"};
    CITADEL_ASSIGN_OR_RETURN(p.acts, ParseActivations(a, defaults, p.dirs));
    if (init.num_inputs() < 3) return Status::InvalidArgument("X, W and R are required");
    return std::unique_ptr<Kernel>(std::make_unique<RnnKernel>(std::move(p)));
  };
}

}  // namespace

void RegisterRnnOps(OpRegistry& r) {
  r.Register("", "RNN", 7, kMaxOnnxOpset, MakeFactory(Cell::kRnn));
  r.Register("", "GRU", 7, kMaxOnnxOpset, MakeFactory(Cell::kGru));
  r.Register("", "LSTM", 7, kMaxOnnxOpset, MakeFactory(Cell::kLstm));
}

}  // namespace citadel::engine::ops
