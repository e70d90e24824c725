// The vectorised SiLU pass (src/engine/ops/silu.h) against the formula in
// double precision: the whole float range that matters, the clamps at
// +-88, NaN and infinities, and lengths that are not whole vectors (the
// masked tail) or are large enough to be split between threads.
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "../../src/engine/ops/silu.h"

namespace citadel::engine::ops {
namespace {

double SiluRef(double x) { return x / (1.0 + std::exp(-x)); }

void ExpectClose(const std::vector<float>& in, const std::vector<float>& out) {
  for (size_t i = 0; i < in.size(); ++i) {
    const double want = SiluRef(in[i]);
    // Relative 1e-6 of the value, or 1e-30 absolute where SiLU underflows.
    ASSERT_NEAR(out[i], want, std::max(1e-6 * std::fabs(want), 1e-30)) << "x = " << in[i];
  }
}

TEST(Silu, MatchesTheFormulaAcrossTheRange) {
  std::vector<float> x;
  for (float v = -120.f; v <= 120.f; v += 0.03125f) x.push_back(v);
  for (float v : {0.f, -0.f, 1e-30f, -1e-30f, 87.9f, 88.f, 88.1f, -87.9f, -88.f, -88.1f, 1e30f}) x.push_back(v);
  std::vector<float> y = x;
  SiluInPlace(y.data(), y.size());
  ExpectClose(x, y);
}

TEST(Silu, TailsAndThreadedLengths) {
  std::mt19937 rng(3);
  std::normal_distribution<float> d(0.f, 4.f);
  for (size_t n : {size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{4095}, size_t{4097},
                   size_t{100003}}) {
    std::vector<float> x(n);
    for (float& v : x) v = d(rng);
    std::vector<float> y = x;
    SiluInPlace(y.data(), n);
    ExpectClose(x, y);
  }
}

TEST(Silu, NonFiniteInputs) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> y = {std::nanf(""), inf, -inf};
  SiluInPlace(y.data(), y.size());
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(y[1], inf);  // x * sigmoid(x) -> inf
  // The limit at -inf is 0 (the naive formula gives NaN, never -inf).
  EXPECT_TRUE(std::isfinite(y[2]));
  EXPECT_LT(std::fabs(y[2]), 1e-30);
}

}  // namespace
}  // namespace citadel::engine::ops
