// RNN, GRU and LSTM (src/engine/ops/rnn.cc) against a plain reference
// written here from the ONNX equations: bidirectional with per-batch
// sequence_lens, initial states, biases, LSTM peepholes, GRU with and
// without linear_before_reset, non-default activations with alpha/beta,
// clip, and layout=1 (opset 14). Unsupported variants fail at Load.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

#include "test_util.h"

namespace citadel::engine::testing {
namespace {

enum class Cell { kRnn, kGru, kLstm };

struct Config {
  Cell cell = Cell::kLstm;
  int64_t seq = 4, batch = 3, in = 5, hid = 4;
  std::string direction = "forward";
  bool bias = true, init = true, lens = false, peep = false;
  int64_t lbr = 0;
  int64_t layout = 0;
  float clip = 0;
  std::vector<std::string> acts;  // empty: defaults
  std::vector<float> alphas, betas;
};

std::vector<float> Random(size_t n, std::mt19937* rng) {
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> v(n);
  for (float& x : v) x = d(*rng);
  return v;
}

using Fn = std::function<double(double)>;
double Sig(double x) { return 1 / (1 + std::exp(-x)); }

struct Data {
  std::vector<float> x, w, r, b, h0, c0, p;
  std::vector<int32_t> lens;
};

// Reference: returns Y, Y_h, Y_c in layout 0.
void Reference(const Config& c, const Data& d, const std::vector<Fn>& f, std::vector<float>* y,
               std::vector<float>* yh, std::vector<float>* yc) {
  const int64_t G = c.cell == Cell::kRnn ? 1 : c.cell == Cell::kGru ? 3 : 4;
  const int64_t dirs = c.direction == "bidirectional" ? 2 : 1;
  const int64_t H = c.hid;
  y->assign(c.seq * dirs * c.batch * H, 0);
  yh->assign(dirs * c.batch * H, 0);
  yc->assign(dirs * c.batch * H, 0);
  const size_t per = f.size() / dirs;
  auto cl = [&](double v) { return c.clip > 0 ? std::max<double>(-c.clip, std::min<double>(c.clip, v)) : v; };
  for (int64_t dir = 0; dir < dirs; ++dir) {
    const bool rev = c.direction == "reverse" || dir == 1;
    for (int64_t b = 0; b < c.batch; ++b) {
      std::vector<double> h(H, 0), cs(H, 0);
      if (c.init) {
        for (int64_t j = 0; j < H; ++j) {
          h[j] = d.h0[(dir * c.batch + b) * H + j];
          if (c.cell == Cell::kLstm) cs[j] = d.c0[(dir * c.batch + b) * H + j];
        }
      }
      const int64_t len = c.lens ? d.lens[b] : c.seq;
      for (int64_t s = 0; s < len; ++s) {
        const int64_t t = rev ? len - 1 - s : s;
        // dot(W row g, x_t) + Wb, dot(R row g, v) + Rb
        auto wx = [&](int64_t g) {
          double a = c.bias ? d.b[dir * 2 * G * H + g] : 0;
          for (int64_t i = 0; i < c.in; ++i) a += d.w[(dir * G * H + g) * c.in + i] * d.x[(t * c.batch + b) * c.in + i];
          return a;
        };
        auto rv = [&](int64_t g, const std::vector<double>& v) {
          double a = c.bias ? d.b[dir * 2 * G * H + G * H + g] : 0;
          for (int64_t k = 0; k < H; ++k) a += d.r[(dir * G * H + g) * H + k] * v[k];
          return a;
        };
        std::vector<double> hn(H);
        const Fn* fn = &f[dir * per];
        if (c.cell == Cell::kRnn) {
          for (int64_t j = 0; j < H; ++j) hn[j] = fn[0](cl(wx(j) + rv(j, h)));
        } else if (c.cell == Cell::kGru) {
          std::vector<double> rg(H), rh(H);
          for (int64_t j = 0; j < H; ++j) rg[j] = fn[0](cl(wx(H + j) + rv(H + j, h)));
          for (int64_t j = 0; j < H; ++j) rh[j] = rg[j] * h[j];
          for (int64_t j = 0; j < H; ++j) {
            const double z = fn[0](cl(wx(j) + rv(j, h)));
            const double hh = c.lbr ? fn[1](cl(wx(2 * H + j) + rg[j] * rv(2 * H + j, h)))
                                    : fn[1](cl(wx(2 * H + j) + rv(2 * H + j, rh)));
            hn[j] = (1 - z) * hh + z * h[j];
          }
        } else {
          for (int64_t j = 0; j < H; ++j) {
            const double* P = nullptr;
            std::vector<double> pv;
            if (c.peep) {
              pv.assign(d.p.begin() + dir * 3 * H, d.p.begin() + (dir + 1) * 3 * H);
              P = pv.data();
            }
            const double i = fn[0](cl(wx(j) + rv(j, h) + (P ? P[j] * cs[j] : 0)));
            const double fg = fn[0](cl(wx(2 * H + j) + rv(2 * H + j, h) + (P ? P[2 * H + j] * cs[j] : 0)));
            const double g = fn[1](cl(wx(3 * H + j) + rv(3 * H + j, h)));
            const double cn = fg * cs[j] + i * g;
            const double o = fn[0](cl(wx(H + j) + rv(H + j, h) + (P ? P[H + j] * cn : 0)));
            hn[j] = o * fn[2](cn);
            cs[j] = cn;  // safe: later j do not read cs[j]
          }
        }
        h = hn;
        for (int64_t j = 0; j < H; ++j) (*y)[((t * dirs + dir) * c.batch + b) * H + j] = static_cast<float>(h[j]);
      }
      for (int64_t j = 0; j < H; ++j) {
        (*yh)[(dir * c.batch + b) * H + j] = static_cast<float>(h[j]);
        (*yc)[(dir * c.batch + b) * H + j] = static_cast<float>(cs[j]);
      }
    }
  }
}

// [d0, d1, d2, (d3)] with axes 0 and 1 swapped.
std::vector<float> Swap01(const std::vector<float>& v, int64_t d0, int64_t d1, int64_t rest) {
  std::vector<float> out(v.size());
  for (int64_t a = 0; a < d0; ++a)
    for (int64_t b = 0; b < d1; ++b)
      for (int64_t k = 0; k < rest; ++k) out[(b * d0 + a) * rest + k] = v[(a * d1 + b) * rest + k];
  return out;
}

void Check(const Config& c, const std::vector<Fn>& ref_fns, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  const int64_t G = c.cell == Cell::kRnn ? 1 : c.cell == Cell::kGru ? 3 : 4;
  const int64_t dirs = c.direction == "bidirectional" ? 2 : 1;
  const int64_t H = c.hid;
  Data d;
  d.x = Random(c.seq * c.batch * c.in, &rng);
  d.w = Random(dirs * G * H * c.in, &rng);
  d.r = Random(dirs * G * H * H, &rng);
  d.b = Random(dirs * 2 * G * H, &rng);
  d.h0 = Random(dirs * c.batch * H, &rng);
  d.c0 = Random(dirs * c.batch * H, &rng);
  d.p = Random(dirs * 3 * H, &rng);
  for (int64_t b = 0; b < c.batch; ++b) d.lens.push_back(static_cast<int32_t>(std::max<int64_t>(1, c.seq - b)));
  std::vector<float> y, yh, yc;
  Reference(c, d, ref_fns, &y, &yh, &yc);

  const char* op = c.cell == Cell::kRnn ? "RNN" : c.cell == Cell::kGru ? "GRU" : "LSTM";
  const bool l1 = c.layout == 1;
  const Shape xs = l1 ? Shape{c.batch, c.seq, c.in} : Shape{c.seq, c.batch, c.in};
  const Shape ss = l1 ? Shape{c.batch, dirs, H} : Shape{dirs, c.batch, H};
  const Shape ys = l1 ? Shape{c.batch, c.seq, dirs, H} : Shape{c.seq, dirs, c.batch, H};
  std::vector<IoSpec> ins = {{"X", onnx::TensorProto::FLOAT, xs},
                             {"W", onnx::TensorProto::FLOAT, {dirs, G * H, c.in}},
                             {"R", onnx::TensorProto::FLOAT, {dirs, G * H, H}}};
  TensorList feed = {{"X", FloatTensor(xs, l1 ? Swap01(d.x, c.seq, c.batch, c.in) : d.x)},
                     {"W", FloatTensor({dirs, G * H, c.in}, d.w)},
                     {"R", FloatTensor({dirs, G * H, H}, d.r)}};
  std::vector<std::string> names = {"X", "W", "R", "", "", "", "", ""};
  if (c.bias) {
    ins.push_back({"B", onnx::TensorProto::FLOAT, {dirs, 2 * G * H}});
    feed.push_back({"B", FloatTensor({dirs, 2 * G * H}, d.b)});
    names[3] = "B";
  }
  if (c.lens) {
    ins.push_back({"L", onnx::TensorProto::INT32, {c.batch}});
    feed.push_back({"L", Tensor::FromVector(DType::kInt32, {c.batch}, d.lens).value()});
    names[4] = "L";
  }
  if (c.init) {
    ins.push_back({"H0", onnx::TensorProto::FLOAT, ss});
    feed.push_back({"H0", FloatTensor(ss, l1 ? Swap01(d.h0, dirs, c.batch, H) : d.h0)});
    names[5] = "H0";
    if (c.cell == Cell::kLstm) {
      ins.push_back({"C0", onnx::TensorProto::FLOAT, ss});
      feed.push_back({"C0", FloatTensor(ss, l1 ? Swap01(d.c0, dirs, c.batch, H) : d.c0)});
      names[6] = "C0";
    }
  }
  if (c.peep) {
    ins.push_back({"P", onnx::TensorProto::FLOAT, {dirs, 3 * H}});
    feed.push_back({"P", FloatTensor({dirs, 3 * H}, d.p)});
    names[7] = "P";
  }
  const size_t n_in = c.cell == Cell::kLstm ? 8 : 6;
  names.resize(n_in);
  while (!names.empty() && names.back().empty()) names.pop_back();
  std::vector<IoSpec> outs = {{"Y", onnx::TensorProto::FLOAT, ys}, {"Y_h", onnx::TensorProto::FLOAT, ss}};
  std::vector<std::string> out_names = {"Y", "Y_h"};
  if (c.cell == Cell::kLstm) {
    outs.push_back({"Y_c", onnx::TensorProto::FLOAT, ss});
    out_names.push_back("Y_c");
  }
  onnx::ModelProto m = MakeModel(ins, outs, c.layout ? 14 : 13);
  auto* n = AddNode(&m, op, names, out_names, "cell");
  auto attr_s = [&](const char* name, const std::string& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(v);
  };
  auto attr_i = [&](const char* name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  };
  attr_s("direction", c.direction);
  attr_i("hidden_size", H);
  if (c.cell == Cell::kGru) attr_i("linear_before_reset", c.lbr);
  if (c.layout) attr_i("layout", 1);
  if (c.clip > 0) {
    auto* a = n->add_attribute();
    a->set_name("clip");
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(c.clip);
  }
  if (!c.acts.empty()) {
    auto* a = n->add_attribute();
    a->set_name("activations");
    a->set_type(onnx::AttributeProto::STRINGS);
    for (const auto& s : c.acts) a->add_strings(s);
  }
  auto floats = [&](const char* name, const std::vector<float>& v) {
    if (v.empty()) return;
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOATS);
    for (float f : v) a->add_floats(f);
  };
  floats("activation_alpha", c.alphas);
  floats("activation_beta", c.betas);
  auto model = Model::Load(Serialize(m));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto out = (*model)->Run(feed);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  // layout 1: Y [seq, dirs, batch, H] -> [batch, seq, dirs, H]
  std::vector<float> y1;
  if (l1) {
    y1.resize(y.size());
    for (int64_t t = 0; t < c.seq; ++t)
      for (int64_t dd = 0; dd < dirs; ++dd)
        for (int64_t b = 0; b < c.batch; ++b)
          for (int64_t j = 0; j < H; ++j)
            y1[((b * c.seq + t) * dirs + dd) * H + j] = y[((t * dirs + dd) * c.batch + b) * H + j];
  }
  EXPECT_EQ(CompareTensors(FloatTensor(ys, l1 ? y1 : y), (*out)[0].tensor, 1e-5, 1e-6), "") << "Y";
  EXPECT_EQ(CompareTensors(FloatTensor(ss, l1 ? Swap01(yh, dirs, c.batch, H) : yh), (*out)[1].tensor,
                           1e-5, 1e-6), "")
      << "Y_h";
  if (c.cell == Cell::kLstm) {
    EXPECT_EQ(CompareTensors(FloatTensor(ss, l1 ? Swap01(yc, dirs, c.batch, H) : yc),
                             (*out)[2].tensor, 1e-5, 1e-6), "")
        << "Y_c";
  }
}

Fn Tanh() { return [](double x) { return std::tanh(x); }; }
Fn Sigm() { return Sig; }

TEST(Lstm, BidirectionalPeepholesSequenceLensInitialStates) {
  Config c;
  c.cell = Cell::kLstm;
  c.direction = "bidirectional";
  c.lens = c.peep = true;
  Check(c, {Sigm(), Tanh(), Tanh(), Sigm(), Tanh(), Tanh()});
}

TEST(Lstm, ReverseNoBiasNoInitialStatesWithClip) {
  Config c;
  c.direction = "reverse";
  c.bias = c.init = false;
  c.clip = 0.5f;
  Check(c, {Sigm(), Tanh(), Tanh()});
}

TEST(Lstm, Layout1BatchFirst) {
  Config c;
  c.layout = 1;
  c.direction = "bidirectional";
  Check(c, {Sigm(), Tanh(), Tanh(), Sigm(), Tanh(), Tanh()});
}

TEST(Lstm, InputForgetIsRefusedAtLoad) {
  onnx::ModelProto m = MakeModel({{"X", onnx::TensorProto::FLOAT, {1, 1, 2}},
                                  {"W", onnx::TensorProto::FLOAT, {1, 4, 2}},
                                  {"R", onnx::TensorProto::FLOAT, {1, 4, 1}}},
                                 {{"Y", onnx::TensorProto::FLOAT, {1, 1, 1, 1}}}, 13);
  auto* n = AddNode(&m, "LSTM", {"X", "W", "R"}, {"Y"}, "coupled");
  auto* a = n->add_attribute();
  a->set_name("input_forget");
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(1);
  auto model = Model::Load(Serialize(m));
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), Code::kUnsupported);
  const std::string msg = model.status().ToString();
  EXPECT_NE(msg.find("LSTM"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'coupled'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("input_forget"), std::string::npos) << msg;
}

TEST(Gru, LinearBeforeResetBothWaysBidirectional) {
  for (int64_t lbr : {0, 1}) {
    Config c;
    c.cell = Cell::kGru;
    c.lbr = lbr;
    c.direction = "bidirectional";
    c.lens = true;
    Check(c, {Sigm(), Tanh(), Sigm(), Tanh()}, 7 + static_cast<uint32_t>(lbr));
  }
}

TEST(Gru, ActivationsWithAlphaBetaReverse) {
  Config c;
  c.cell = Cell::kGru;
  c.direction = "reverse";
  c.acts = {"HardSigmoid", "LeakyRelu"};
  c.alphas = {0.3f, 0.05f};
  c.betas = {0.4f};
  Check(c, {[](double x) { return std::max(0.0, std::min(1.0, 0.3 * x + 0.4)); },
            [](double x) { return x >= 0 ? x : 0.05 * x; }});
}

TEST(Rnn, ForwardReluAndLayout1) {
  Config c;
  c.cell = Cell::kRnn;
  c.acts = {"Relu"};
  c.lens = true;
  Check(c, {[](double x) { return x > 0 ? x : 0; }});
  c.layout = 1;
  c.acts = {"Tanh", "ScaledTanh"};
  c.alphas = {1.5f};
  c.betas = {0.5f};
  c.direction = "bidirectional";
  Check(c, {Tanh(), [](double x) { return 1.5 * std::tanh(0.5 * x); }});
}

}  // namespace
}  // namespace citadel::engine::testing
