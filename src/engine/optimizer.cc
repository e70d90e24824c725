#include "optimizer.h"

#include <cmath>
#include <optional>
#include <vector>

namespace citadel::engine {

Status FoldConstants(Graph* g, const OpRegistry& registry, size_t max_folded_bytes,
                     OptimizeStats* stats) {
  std::vector<Node> kept;
  kept.reserve(g->nodes.size());
  for (size_t n = 0; n < g->nodes.size(); ++n) {
    Node& node = g->nodes[n];
    bool all_const = true;
    for (int in : node.inputs) {
      if (in != kNoValue && !g->values[in].is_constant()) all_const = false;
    }
    if (!all_const) {
      kept.push_back(std::move(node));
      continue;
    }
    auto factory = registry.Find(node.domain, node.op_type, g->OpsetFor(node.domain));
    if (!factory.ok()) return factory.status();  // planning reports it with context
    auto kernel = (**factory)(KernelInit{node, g->OpsetFor(node.domain), *g});
    if (!kernel.ok()) {
      kept.push_back(std::move(node));  // planning reports it with context
      continue;
    }
    std::vector<const Tensor*> inputs;
    for (int in : node.inputs) inputs.push_back(in == kNoValue ? nullptr : &g->values[in].constant);
    std::vector<Tensor> outputs(node.outputs.size());
    KernelContext ctx(inputs, &outputs, max_folded_bytes);
    Status st = (*kernel)->Run(ctx);
    if (st.code() == Code::kResourceExhausted) {
      kept.push_back(std::move(node));
      continue;
    }
    if (!st.ok()) {
      return st.WithContext("node " + node.DisplayName(n) + " (" + node.op_type +
                            ") on constant inputs");
    }
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      if (node.outputs[o] == kNoValue) continue;
      if (!outputs[o].valid()) {
        return Status::Internal("node " + node.DisplayName(n) + " (" + node.op_type +
                                ") produced no output " + std::to_string(o));
      }
      Value& v = g->values[node.outputs[o]];
      v.constant = outputs[o];
      v.type.dtype = outputs[o].dtype();
      v.type.shape = outputs[o].shape();
    }
    ++stats->folded;
  }
  g->nodes = std::move(kept);
  return Status::Ok();
}

Status OptimizeSubgraphs(Graph* g, const OpRegistry& registry, size_t max_folded_bytes,
                         OptimizeStats* stats) {
  for (size_t n = 0; n < g->nodes.size(); ++n) {
    Node& node = g->nodes[n];
    for (const auto& [name, a] : node.attrs.all()) {
      if (a.kind != Attribute::Kind::kGraph || !a.g) continue;
      Graph* sub = a.g.get();
      for (int cap : sub->capture_ids) {
        auto it = g->value_ids.find(sub->values[cap].name);
        if (it == g->value_ids.end()) continue;
        const Value& outer = g->values[it->second];
        if (!outer.is_constant()) continue;
        sub->values[cap].constant = outer.constant;
        sub->values[cap].type.dtype = outer.constant.dtype();
        sub->values[cap].type.shape = outer.constant.shape();
      }
      Status st = OptimizeSubgraphs(sub, registry, max_folded_bytes, stats);
      if (st.ok()) st = FoldConstants(sub, registry, max_folded_bytes, stats);
      if (!st.ok()) {
        return st.WithContext("subgraph '" + name + "' of node " + node.DisplayName(n) + " (" +
                              node.op_type + ")");
      }
      EliminateDeadNodes(sub, stats);
    }
  }
  return Status::Ok();
}

void EliminateDeadNodes(Graph* g, OptimizeStats* stats) {
  std::vector<bool> live(g->values.size(), false);
  for (int id : g->output_ids) live[id] = true;
  std::vector<bool> keep(g->nodes.size(), false);
  for (size_t n = g->nodes.size(); n-- > 0;) {
    const Node& node = g->nodes[n];
    for (int o : node.outputs) {
      if (o != kNoValue && live[o]) keep[n] = true;
    }
    if (!keep[n]) continue;
    for (int in : node.inputs) {
      if (in != kNoValue) live[in] = true;
    }
  }
  std::vector<Node> kept;
  for (size_t n = 0; n < g->nodes.size(); ++n) {
    if (keep[n]) {
      kept.push_back(std::move(g->nodes[n]));
    } else {
      ++stats->removed;
    }
  }
  g->nodes = std::move(kept);
  // Unread constants (weights of removed nodes, folded intermediates) would
  // only hold memory.
  for (size_t v = 0; v < g->values.size(); ++v) {
    Value& val = g->values[v];
    if (!live[v] && val.constant.valid() && !val.overridable) val.constant = Tensor();
  }
}

}  // namespace citadel::engine

// ---- Inference fusions (see optimizer.h) -----------------------------------

#include <algorithm>
#include <cstdlib>
#include <cmath>
#include <optional>

#include "ops/post_ops.h"

namespace citadel::engine {
namespace {

using ops::PostKind;
using ops::PostOp;

bool IsF32Constant(const Graph& g, int v) {
  return v != kNoValue && g.values[v].is_constant() &&
         g.values[v].constant.dtype() == DType::kFloat32;
}

int AddConstant(Graph* g, const std::string& name, Tensor t) {
  std::string n = name;
  while (g->value_ids.count(n)) n += "_";
  int id = g->AddValue(n);
  g->values[id].type.dtype = t.dtype();
  g->values[id].type.shape = t.shape();
  g->values[id].constant = std::move(t);
  return id;
}

// Folds BatchNormalization node `bn` into Conv node `conv` (weights and bias
// become new constants). False when the pattern does not apply.
bool FoldBatchNorm(Graph* g, Node* conv, const Node& bn) {
  if (bn.inputs.size() != 5) return false;
  for (size_t o = 1; o < bn.outputs.size(); ++o) {
    if (bn.outputs[o] != kNoValue) return false;
  }
  auto training = bn.attrs.GetInt("training_mode", 0);
  auto spatial = bn.attrs.GetInt("spatial", 1);
  auto eps = bn.attrs.GetFloat("epsilon", 1e-5f);
  if (!training.ok() || *training != 0 || !spatial.ok() || *spatial != 1 || !eps.ok()) return false;
  for (size_t i = 1; i < 5; ++i) {
    if (!IsF32Constant(*g, bn.inputs[i])) return false;
  }
  const Tensor& w = g->values[conv->inputs[1]].constant;
  const int64_t M = w.shape()[0];
  const Tensor* p[4];
  for (int i = 0; i < 4; ++i) {
    p[i] = &g->values[bn.inputs[i + 1]].constant;
    if (p[i]->rank() != 1 || p[i]->shape()[0] != M) return false;
  }
  const bool has_b = conv->inputs.size() > 2 && conv->inputs[2] != kNoValue;
  if (has_b && !IsF32Constant(*g, conv->inputs[2])) return false;
  const Tensor* b = has_b ? &g->values[conv->inputs[2]].constant : nullptr;
  if (b != nullptr && (b->rank() != 1 || b->shape()[0] != M)) return false;
  auto nw = Tensor::Zeros(DType::kFloat32, w.shape());
  auto nb = Tensor::Zeros(DType::kFloat32, {M});
  if (!nw.ok() || !nb.ok()) return false;
  const size_t per = M == 0 ? 0 : w.num_elements() / static_cast<size_t>(M);
  for (int64_t m = 0; m < M; ++m) {
    const double a = p[0]->data<float>()[m] /
                     std::sqrt(static_cast<double>(p[3]->data<float>()[m]) + *eps);
    const double bias = b != nullptr ? b->data<float>()[m] : 0.0;
    nb->data<float>()[m] =
        static_cast<float>(a * (bias - p[2]->data<float>()[m]) + p[1]->data<float>()[m]);
    const float* src = w.data<float>() + m * per;
    float* dst = nw->data<float>() + m * per;
    for (size_t i = 0; i < per; ++i) dst[i] = static_cast<float>(a * src[i]);
  }
  const std::string base = conv->name.empty() ? g->values[conv->outputs[0]].name : conv->name;
  conv->inputs[1] = AddConstant(g, base + "/bn_folded_W", std::move(nw).value());
  if (conv->inputs.size() < 3) conv->inputs.resize(3, kNoValue);
  conv->inputs[2] = AddConstant(g, base + "/bn_folded_B", std::move(nb).value());
  return true;
}

// Clip bounds (attributes before opset 11, optional constant inputs after).
std::optional<PostOp> ClipOp(const Graph& g, const Node& n) {
  float lo = -INFINITY, hi = INFINITY;
  if (g.OpsetFor("") < 11) {
    auto a = n.attrs.GetFloat("min", lo), b = n.attrs.GetFloat("max", hi);
    if (!a.ok() || !b.ok()) return std::nullopt;
    lo = *a;
    hi = *b;
  } else {
    for (size_t i = 1; i < n.inputs.size() && i < 3; ++i) {
      if (n.inputs[i] == kNoValue) continue;
      if (!IsF32Constant(g, n.inputs[i]) || g.values[n.inputs[i]].constant.num_elements() != 1) {
        return std::nullopt;
      }
      (i == 1 ? lo : hi) = g.values[n.inputs[i]].constant.data<float>()[0];
    }
  }
  return PostOp{PostKind::kClip, lo, hi};
}

bool SameStaticShape(const Graph& g, int a, int b) {
  const auto& sa = g.values[a].type.shape;
  const auto& sb = g.values[b].type.shape;
  return sa && sb && *sa == *sb;
}

// A float32 constant with exactly one element and rank <= 1 (so that
// broadcasting it against a tensor of rank >= 1 keeps that shape), or nullopt.
std::optional<float> ScalarConstant(const Graph& g, int v) {
  if (!IsF32Constant(g, v) || g.values[v].constant.num_elements() != 1 ||
      g.values[v].constant.rank() > 1) {
    return std::nullopt;
  }
  return g.values[v].constant.data<float>()[0];
}

// The input of binary node `n` that is not `v` when the other is `v`.
std::optional<int> OtherInput(const Node& n, int v) {
  if (n.inputs.size() != 2) return std::nullopt;
  if (n.inputs[0] == v && n.inputs[1] != v) return n.inputs[1];
  if (n.inputs[1] == v && n.inputs[0] != v) return n.inputs[0];
  return std::nullopt;
}

// Who reads each value (node indices, in graph order) and which values
// leave the graph (graph outputs): what every fuser checks before it may
// drop an intermediate.
struct ValueReaders {
  std::vector<std::vector<size_t>> readers;
  std::vector<bool> escapes;
};

ValueReaders IndexReaders(const Graph& g) {
  ValueReaders r{std::vector<std::vector<size_t>>(g.values.size()), std::vector<bool>(g.values.size(), false)};
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    for (int in : g.nodes[n].inputs) {
      if (in != kNoValue) r.readers[in].push_back(n);
    }
  }
  for (int id : g.output_ids) r.escapes[id] = true;
  return r;
}

// After a fuser rewrote some nodes into ai.citadel ops: declares that
// domain and drops the nodes marked removed, keeping the order of the rest.
void DropFusedAway(Graph* g, const std::vector<bool>& removed) {
  g->opsets[ops::kCitadelDomain] = 1;
  std::vector<Node> kept;
  kept.reserve(g->nodes.size());
  for (size_t n = 0; n < g->nodes.size(); ++n) {
    if (!removed[n]) kept.push_back(std::move(g->nodes[n]));
  }
  g->nodes = std::move(kept);
}

// LayerNorm and GELU as exporters decompose them before opset 17 (see
// ops/transformer.cc) become one internal node each: the pattern's last
// node is rewritten in place (all the pattern's inputs exist before it),
// the others are dropped. Every intermediate must be read only inside the
// pattern.
void FuseTransformerPatterns(Graph* g, OptimizeStats* stats) {
  const size_t n_nodes = g->nodes.size();
  const ValueReaders value_readers = IndexReaders(*g);
  const auto& readers = value_readers.readers;
  const auto& escapes = value_readers.escapes;
  std::vector<int> producer(g->values.size(), -1);
  for (size_t n = 0; n < n_nodes; ++n) {
    for (int out : g->nodes[n].outputs) {
      if (out != kNoValue) producer[out] = static_cast<int>(n);
    }
  }
  std::vector<bool> removed(n_nodes, false);
  // The only reader of v, if it is an ai.onnx `op` with one output.
  auto only = [&](int v, const char* op) -> Node* {
    if (v == kNoValue || escapes[v] || readers[v].size() != 1) return nullptr;
    Node& n = g->nodes[readers[v][0]];
    if (removed[readers[v][0]] || n.op_type != op || !n.domain.empty() || n.outputs.size() != 1) {
      return nullptr;
    }
    return &n;
  };
  auto index = [&](const Node* n) { return static_cast<size_t>(n - g->nodes.data()); };
  auto last_axis_mean = [&](const Node& n, int64_t rank) {
    auto axes = n.attrs.GetInts("axes", {});
    auto keep = n.attrs.GetInt("keepdims", 1);
    return n.inputs.size() == 1 && axes.ok() && axes->size() == 1 &&
           ((*axes)[0] == -1 || (*axes)[0] == rank - 1) && keep.ok() && *keep == 1;
  };
  bool fused_any = false;
  for (size_t r1i = 0; r1i < n_nodes; ++r1i) {
    Node& r1 = g->nodes[r1i];
    if (removed[r1i] || r1.op_type != "ReduceMean" || !r1.domain.empty() || r1.outputs.size() != 1) continue;
    const int x = r1.inputs.empty() ? kNoValue : r1.inputs[0];
    if (x == kNoValue) continue;
    const auto& xt = g->values[x].type;
    if (!xt.dtype || *xt.dtype != DType::kFloat32 || !xt.shape || xt.shape->empty()) continue;
    const int64_t rank = static_cast<int64_t>(xt.shape->size());
    const int64_t m = xt.shape->back();
    if (m <= 0 || !last_axis_mean(r1, rank)) continue;
    Node* sub = only(r1.outputs[0], "Sub");
    if (!sub || sub->inputs.size() != 2 || sub->inputs[0] != x || sub->inputs[1] != r1.outputs[0]) continue;
    // x - mean feeds the Pow and the Div.
    const int d = sub->outputs[0];
    if (escapes[d] || readers[d].size() != 2) continue;
    Node* pw = &g->nodes[readers[d][0]];
    Node* dv = &g->nodes[readers[d][1]];
    if (pw->op_type == "Div") std::swap(pw, dv);
    if (pw->op_type != "Pow" || dv->op_type != "Div" || !pw->domain.empty() || !dv->domain.empty() ||
        pw->inputs.size() != 2 || pw->inputs[0] != d || ScalarConstant(*g, pw->inputs[1]) != 2.f ||
        dv->inputs.size() != 2 || dv->inputs[0] != d) {
      continue;
    }
    Node* r2 = only(pw->outputs[0], "ReduceMean");
    if (!r2 || !last_axis_mean(*r2, rank)) continue;
    Node* add_eps = only(r2->outputs[0], "Add");
    if (!add_eps) continue;
    auto eps_v = OtherInput(*add_eps, r2->outputs[0]);
    auto eps = eps_v ? ScalarConstant(*g, *eps_v) : std::nullopt;
    if (!eps || !(*eps >= 0)) continue;
    Node* sq = only(add_eps->outputs[0], "Sqrt");
    if (!sq || only(sq->outputs[0], "Div") != dv || dv->inputs[1] != sq->outputs[0]) continue;
    Node* mul = only(dv->outputs[0], "Mul");
    if (!mul) continue;
    auto gamma = OtherInput(*mul, dv->outputs[0]);
    Node* add_b = only(mul->outputs[0], "Add");
    if (!gamma || !add_b) continue;
    auto beta = OtherInput(*add_b, mul->outputs[0]);
    auto is_vec = [&](std::optional<int> v) {
      return v && IsF32Constant(*g, *v) && g->values[*v].constant.rank() == 1 &&
             g->values[*v].constant.shape()[0] == m;
    };
    if (!is_vec(gamma) || !is_vec(beta)) continue;
    for (Node* n : {&r1, sub, pw, r2, add_eps, sq, dv, mul}) removed[index(n)] = true;
    Node& ln = *add_b;
    ln.op_type = "LayerNorm";
    ln.domain = ops::kCitadelDomain;
    ln.inputs = {x, *gamma, *beta};
    ln.attrs = Attributes();
    Attribute e;
    e.kind = Attribute::Kind::kFloat;
    e.f = *eps;
    ln.attrs.Set("epsilon", e);
    stats->fused += 8;
    fused_any = true;
  }
  for (size_t ei = 0; ei < n_nodes; ++ei) {
    Node& erf = g->nodes[ei];
    if (removed[ei] || erf.op_type != "Erf" || !erf.domain.empty() || erf.inputs.size() != 1 ||
        erf.outputs.size() != 1) {
      continue;
    }
    const int p = producer[erf.inputs[0]];
    if (p < 0 || removed[p]) continue;
    Node& dv = g->nodes[p];
    if (dv.op_type != "Div" || !dv.domain.empty() || dv.inputs.size() != 2 ||
        only(dv.outputs[0], "Erf") != &erf) {
      continue;
    }
    const int x = dv.inputs[0];
    auto sqrt2 = ScalarConstant(*g, dv.inputs[1]);
    const auto& xt = g->values[x].type;
    if (!sqrt2 || std::fabs(*sqrt2 - 1.41421356f) > 1e-5f || !xt.dtype || *xt.dtype != DType::kFloat32 ||
        !xt.shape || xt.shape->empty()) {
      continue;
    }
    Node* add1 = only(erf.outputs[0], "Add");
    if (!add1) continue;
    auto one = OtherInput(*add1, erf.outputs[0]);
    if (!one || ScalarConstant(*g, *one) != 1.f) continue;
    Node* mul1 = only(add1->outputs[0], "Mul");
    if (!mul1 || OtherInput(*mul1, add1->outputs[0]) != x) continue;
    Node* mul2 = only(mul1->outputs[0], "Mul");
    if (!mul2) continue;
    auto half = OtherInput(*mul2, mul1->outputs[0]);
    if (!half || ScalarConstant(*g, *half) != 0.5f) continue;
    // Output shape: Gelu keeps x's shape; the Muls must not have broadcast
    // x to something larger (the constants are scalars, so they did not).
    for (Node* n : {&dv, &erf, add1, mul1}) removed[index(n)] = true;
    mul2->op_type = "Gelu";
    mul2->domain = ops::kCitadelDomain;
    mul2->inputs = {x};
    mul2->attrs = Attributes();
    stats->fused += 4;
    fused_any = true;
  }
  if (fused_any) DropFusedAway(g, removed);
}

// MatMul followed by a scale (Div or Mul by a scalar constant), a bias Add
// ([N] constant), a GELU (ai.citadel Gelu, fused above) and/or a residual
// Add (same static shape), each the sole reader of the previous value,
// becomes one ai.citadel FusedMatMul (ops/matmul.cc), in this order only:
//   Y = gelu?(alpha * (A x B) + Bias) + Residual   (no GELU with Residual)
// The chain's last node is rewritten in place (the residual may be computed
// after the MatMul), the others are dropped.
void FuseMatMulEpilogues(Graph* g, OptimizeStats* stats) {
  const size_t n_nodes = g->nodes.size();
  const ValueReaders value_readers = IndexReaders(*g);
  const auto& readers = value_readers.readers;
  const auto& escapes = value_readers.escapes;
  std::vector<bool> removed(n_nodes, false);
  // Shapes may hold unknown dims (-1, e.g. a dynamic batch): the kernel
  // falls back to a broadcasting Add when they differ at run time.
  auto f32_shaped = [&](int v) {
    const auto& t = g->values[v].type;
    return t.dtype && *t.dtype == DType::kFloat32 && t.shape;
  };
  bool fused_any = false;
  for (size_t mi = 0; mi < n_nodes; ++mi) {
    Node& mm = g->nodes[mi];
    if (removed[mi] || mm.op_type != "MatMul" || !mm.domain.empty() || mm.inputs.size() != 2 ||
        mm.outputs.size() != 1 || mm.outputs[0] == kNoValue) {
      continue;
    }
    const int a = mm.inputs[0], b = mm.inputs[1];
    const auto& at = g->values[a].type;
    const auto& bt = g->values[b].type;
    if (!at.dtype || *at.dtype != DType::kFloat32 || !at.shape || at.shape->size() < 2 ||
        !bt.dtype || *bt.dtype != DType::kFloat32 || !bt.shape || bt.shape->size() < 2) {
      continue;
    }
    const int64_t N = bt.shape->back();
    float alpha = 1.f;
    bool gelu = false;
    int bias = kNoValue, residual = kNoValue;
    int out = mm.outputs[0];
    size_t last = mi;
    std::vector<size_t> chain;
    for (;;) {
      if (escapes[out] || readers[out].size() != 1) break;
      const size_t ri = readers[out][0];
      if (removed[ri]) break;
      const Node& n = g->nodes[ri];
      if (n.outputs.size() != 1 || n.outputs[0] == kNoValue) break;
      const bool onnx = n.domain.empty();
      if (onnx && (n.op_type == "Div" || n.op_type == "Mul") && bias == kNoValue && !gelu &&
          residual == kNoValue && n.inputs.size() == 2 && n.inputs[0] == out) {
        auto c = ScalarConstant(*g, n.inputs[1]);
        if (!c || *c == 0.f || !std::isfinite(*c)) break;
        alpha = n.op_type == "Div" ? alpha / *c : alpha * *c;
      } else if (onnx && n.op_type == "Mul" && bias == kNoValue && !gelu &&
                 residual == kNoValue && n.inputs.size() == 2 && n.inputs[1] == out) {
        auto c = ScalarConstant(*g, n.inputs[0]);
        if (!c || !std::isfinite(*c)) break;
        alpha *= *c;
      } else if (onnx && n.op_type == "Add" && bias == kNoValue && !gelu &&
                 residual == kNoValue && N > 0) {
        auto other = OtherInput(n, out);
        if (!other || !IsF32Constant(*g, *other)) break;
        const Tensor& t = g->values[*other].constant;
        if (t.rank() != 1 || t.shape()[0] != N) break;
        bias = *other;
      } else if (n.op_type == "Gelu" && n.domain == ops::kCitadelDomain && !gelu &&
                 residual == kNoValue && n.inputs.size() == 1) {
        gelu = true;
      } else if (onnx && n.op_type == "Add" && !gelu && residual == kNoValue) {
        auto other = OtherInput(n, out);
        if (!other || !f32_shaped(*other) || !f32_shaped(out) ||
            !SameStaticShape(*g, *other, out) || !SameStaticShape(*g, out, n.outputs[0])) {
          break;
        }
        residual = *other;
      } else {
        break;
      }
      chain.push_back(ri);
      last = std::max(last, ri);
      out = n.outputs[0];
    }
    if (chain.empty()) continue;
    // The node that stays is the chain's last one (all inputs exist there).
    Node& fused = g->nodes[last];
    Node merged;
    merged.name = mm.name;
    merged.op_type = "FusedMatMul";
    merged.domain = ops::kCitadelDomain;
    merged.inputs = {a, b, bias, residual};
    merged.outputs = {out};
    Attribute al;
    al.kind = Attribute::Kind::kFloat;
    al.f = alpha;
    merged.attrs.Set("alpha", al);
    Attribute ge;
    ge.kind = Attribute::Kind::kInt;
    ge.i = gelu ? 1 : 0;
    merged.attrs.Set("gelu", ge);
    removed[mi] = true;
    for (size_t c : chain) removed[c] = true;
    removed[last] = false;
    fused = std::move(merged);
    stats->fused += chain.size();
    fused_any = true;
  }
  if (fused_any) DropFusedAway(g, removed);
}

// The Conv attributes of a plain 2-D convolution: every stride `stride`,
// every pad `pad`, dilations 1, no auto_pad, `group` groups.
bool ConvAttrsAre(const Node& n, int64_t group, int64_t stride, int64_t pad) {
  auto g = n.attrs.GetInt("group", 1);
  auto st = n.attrs.GetInts("strides", {1, 1});
  auto pd = n.attrs.GetInts("pads", {0, 0, 0, 0});
  auto dl = n.attrs.GetInts("dilations", {1, 1});
  auto ap = n.attrs.GetString("auto_pad", "NOTSET");
  return g.ok() && *g == group && st.ok() && *st == std::vector<int64_t>{stride, stride} &&
         pd.ok() && *pd == std::vector<int64_t>{pad, pad, pad, pad} && dl.ok() &&
         *dl == std::vector<int64_t>{1, 1} && ap.ok() && *ap == "NOTSET";
}

// A 1x1 Conv (+ eltwise post-ops) whose only reader is a depthwise 3x3
// Conv (stride 1 or 2, pads 1, + eltwise post-ops) becomes one ai.citadel
// ConvDw (ops/conv_dw.cc: oneDNN's append_dw fusion), when the 1x1's
// output map is at least kMinDwFuseArea: measured on the 2-vCPU AVX-512
// box, the fused primitive takes 10-23% less time than the pair at 56x56
// and 112x112 (MobileNetV2's and EfficientNet-B0's first blocks) and is
// 0-8% slower at 28x28 and below at batch 1. Runs after the post-op
// fusion (the Convs carry their activations) and after BN folding (the
// biases are constants).
constexpr int64_t kMinDwFuseArea = 56 * 56;

void FuseConvDepthwise(Graph* g, OptimizeStats* stats) {
  // A/B switch for measurements (docs/performance.md).
  if (const char* v = std::getenv("CITADEL_NO_CONVDW"); v != nullptr && v[0] == '1') return;
  const size_t n_nodes = g->nodes.size();
  const ValueReaders value_readers = IndexReaders(*g);
  const auto& readers = value_readers.readers;
  const auto& escapes = value_readers.escapes;
  auto weights = [&](const Node& n, const Shape& w_shape) {
    return n.inputs.size() == 3 && IsF32Constant(*g, n.inputs[1]) && IsF32Constant(*g, n.inputs[2]) &&
           g->values[n.inputs[1]].constant.shape() == w_shape &&
           g->values[n.inputs[2]].constant.shape() == Shape{w_shape[0]};
  };
  auto eltwise_only = [](const Node& n, const char* kinds, const char* params) {
    auto post = ops::ReadPostOps(n.attrs, kinds, params);
    if (!post.ok()) return std::optional<std::vector<PostOp>>();
    for (const PostOp& op : *post) {
      if (op.kind == PostKind::kSum) return std::optional<std::vector<PostOp>>();
    }
    return std::optional<std::vector<PostOp>>(*post);
  };
  std::vector<bool> removed(n_nodes, false);
  bool fused_any = false;
  for (size_t c = 0; c < n_nodes; ++c) {
    const Node& pw = g->nodes[c];
    if (pw.op_type != "Conv" || !pw.domain.empty() || pw.outputs.size() != 1 || pw.inputs.size() != 3) {
      continue;
    }
    const auto& xt = g->values[pw.inputs[0]].type;
    if (!xt.dtype || *xt.dtype != DType::kFloat32 || !xt.shape || xt.shape->size() != 4) continue;
    const Shape& xs = *xt.shape;
    if (xs[1] <= 0 || xs[2] <= 0 || xs[3] <= 0 || xs[2] * xs[3] < kMinDwFuseArea) continue;
    if (!IsF32Constant(*g, pw.inputs[1])) continue;
    const Shape ws = g->values[pw.inputs[1]].constant.shape();
    if (ws.size() != 4 || ws[1] != xs[1] || ws[2] != 1 || ws[3] != 1 || !weights(pw, ws) ||
        !ConvAttrsAre(pw, 1, 1, 0)) {
      continue;
    }
    const int mid = pw.outputs[0];
    if (mid == kNoValue || escapes[mid] || readers[mid].size() != 1) continue;
    const size_t d = readers[mid][0];
    const Node& dw = g->nodes[d];
    if (removed[d] || dw.op_type != "Conv" || !dw.domain.empty() || dw.outputs.size() != 1 ||
        dw.inputs.size() != 3 || dw.inputs[0] != mid) {
      continue;
    }
    const int64_t M = ws[0];
    if (!weights(dw, Shape{M, 1, 3, 3})) continue;
    int64_t stride = 0;
    for (int64_t s : {1, 2}) {
      if (ConvAttrsAre(dw, M, s, 1)) stride = s;
    }
    if (stride == 0) continue;
    auto pw_post = eltwise_only(pw, ops::kPostKindsAttr, ops::kPostParamsAttr);
    auto dw_post = eltwise_only(dw, ops::kPostKindsAttr, ops::kPostParamsAttr);
    if (!pw_post || !dw_post) continue;
    // The pair becomes one node where the depthwise was (its inputs all
    // exist there: the 1x1's come before the 1x1).
    Node fused;
    fused.name = pw.name;
    fused.op_type = "ConvDw";
    fused.domain = ops::kCitadelDomain;
    fused.inputs = {pw.inputs[0], pw.inputs[1], pw.inputs[2], dw.inputs[1], dw.inputs[2]};
    fused.outputs = dw.outputs;
    Attribute st;
    st.kind = Attribute::Kind::kInt;
    st.i = stride;
    fused.attrs.Set("stride", st);
    if (!pw_post->empty()) ops::AppendPostOps(&fused.attrs, *pw_post);
    if (!dw_post->empty()) {
      ops::AppendPostOps(&fused.attrs, *dw_post, ops::kDwPostKindsAttr, ops::kDwPostParamsAttr);
    }
    g->nodes[d] = std::move(fused);
    removed[c] = true;
    ++stats->fused;
    fused_any = true;
  }
  if (fused_any) DropFusedAway(g, removed);
}

}  // namespace

void FuseForInference(Graph* g, OptimizeStats* stats) {
  FuseTransformerPatterns(g, stats);
  FuseMatMulEpilogues(g, stats);
  const size_t n_nodes = g->nodes.size();
  // Readers of each value (node indices); graph outputs escape.
  const ValueReaders value_readers = IndexReaders(*g);
  const auto& readers = value_readers.readers;
  const auto& escapes = value_readers.escapes;
  auto sole_reader = [&](int v) -> std::optional<size_t> {
    if (v == kNoValue || escapes[v] || readers[v].size() != 1) return std::nullopt;
    return readers[v][0];
  };

  std::vector<bool> removed(n_nodes, false);
  std::vector<std::optional<size_t>> moved_to(n_nodes);  // conv index -> position
  for (size_t c = 0; c < n_nodes; ++c) {
    Node& conv = g->nodes[c];
    if (conv.op_type != "Conv" || !conv.domain.empty() || conv.outputs.size() != 1) continue;
    if (conv.inputs.size() < 2 || !IsF32Constant(*g, conv.inputs[1])) continue;
    if (g->values[conv.inputs[1]].constant.rank() < 3) continue;
    const auto& xt = g->values[conv.inputs[0]].type;
    if (!xt.dtype || *xt.dtype != DType::kFloat32) continue;
    if (conv.attrs.Has(ops::kPostKindsAttr)) continue;

    size_t last = c;
    int out = conv.outputs[0];
    std::vector<PostOp> post;
    bool has_sum = false;
    int sum_input = kNoValue;
    for (;;) {
      auto r = sole_reader(out);
      // x * Sigmoid(x): `out` has two readers, a Sigmoid and the Mul.
      if (!r && !escapes[out] && readers[out].size() == 2) {
        size_t a = readers[out][0], b = readers[out][1];
        if (g->nodes[a].op_type == "Mul") std::swap(a, b);
        const Node& sig = g->nodes[a];
        const Node& mul = g->nodes[b];
        if (sig.op_type == "Sigmoid" && sig.domain.empty() && mul.op_type == "Mul" &&
            mul.domain.empty() && mul.inputs.size() == 2 && sig.outputs.size() == 1 &&
            sole_reader(sig.outputs[0]) == b &&
            ((mul.inputs[0] == out && mul.inputs[1] == sig.outputs[0]) ||
             (mul.inputs[1] == out && mul.inputs[0] == sig.outputs[0]))) {
          if (removed[a] || removed[b]) break;
          post.push_back(PostOp{PostKind::kSwish, 1.f, 0.f});
          removed[a] = removed[b] = true;
          stats->fused += 2;
          last = std::max({last, a, b});
          out = mul.outputs[0];
          continue;
        }
      }
      if (!r || removed[*r]) break;
      const Node& n = g->nodes[*r];
      if (!n.domain.empty() || n.outputs.size() != 1 || n.outputs[0] == kNoValue) break;
      if (n.op_type == "BatchNormalization" && post.empty() && n.inputs[0] == out) {
        if (!FoldBatchNorm(g, &g->nodes[c], n)) break;
      } else if (n.op_type == "Relu") {
        post.push_back(PostOp{PostKind::kRelu, 0.f, 0.f});
      } else if (n.op_type == "LeakyRelu") {
        auto alpha = n.attrs.GetFloat("alpha", 0.01f);
        if (!alpha.ok()) break;
        post.push_back(PostOp{PostKind::kLeakyRelu, *alpha, 0.f});
      } else if (n.op_type == "Clip" && n.inputs[0] == out) {
        auto op = ClipOp(*g, n);
        if (!op) break;
        post.push_back(*op);
      } else if (n.op_type == "Sigmoid") {
        post.push_back(PostOp{PostKind::kSigmoid, 0.f, 0.f});
      } else if (n.op_type == "Add" && !has_sum && n.inputs.size() == 2 && n.inputs[0] != n.inputs[1]) {
        const int other = n.inputs[0] == out ? n.inputs[1] : n.inputs[0];
        if (!SameStaticShape(*g, other, out) || !SameStaticShape(*g, out, n.outputs[0])) break;
        const auto& ot = g->values[other].type;
        if (!ot.dtype || *ot.dtype != DType::kFloat32) break;
        post.push_back(PostOp{PostKind::kSum, 0.f, 0.f});
        has_sum = true;
        sum_input = other;
      } else {
        break;
      }
      removed[*r] = true;
      last = std::max(last, *r);
      out = n.outputs[0];
      ++stats->fused;
    }
    Node& cv = g->nodes[c];
    if (out == cv.outputs[0]) continue;  // nothing fused (or only BN folded: outputs differ)
    cv.outputs[0] = out;
    if (!post.empty()) ops::AppendPostOps(&cv.attrs, post);
    if (has_sum) {
      cv.inputs.resize(ops::kConvSumInput + 1, kNoValue);
      cv.inputs[ops::kConvSumInput] = sum_input;
    }
    if (last != c) moved_to[c] = last;
  }

  // Rebuild the node list: a fused Conv goes where its chain ended.
  std::vector<std::vector<size_t>> at(n_nodes);
  for (size_t n = 0; n < n_nodes; ++n) {
    if (removed[n]) continue;
    at[moved_to[n] ? *moved_to[n] : n].push_back(n);
  }
  std::vector<Node> kept;
  kept.reserve(n_nodes);
  for (size_t n = 0; n < n_nodes; ++n) {
    for (size_t k : at[n]) kept.push_back(std::move(g->nodes[k]));
  }
  g->nodes = std::move(kept);
  FuseConvDepthwise(g, stats);
}

}  // namespace citadel::engine
