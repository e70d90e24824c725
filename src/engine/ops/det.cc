// Det: determinant of each square matrix in the last two dims ([*, M, M]
// -> [*]), by LU decomposition with partial pivoting in double.
#include <cmath>
#include <utility>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

double Determinant(std::vector<double>& a, int64_t m) {
  double det = 1;
  for (int64_t k = 0; k < m; ++k) {
    int64_t p = k;
    for (int64_t i = k + 1; i < m; ++i) {
      if (std::fabs(a[i * m + k]) > std::fabs(a[p * m + k])) p = i;
    }
    if (a[p * m + k] == 0) return 0;
    if (p != k) {
      for (int64_t j = 0; j < m; ++j) std::swap(a[k * m + j], a[p * m + j]);
      det = -det;
    }
    const double piv = a[k * m + k];
    det *= piv;
    for (int64_t i = k + 1; i < m; ++i) {
      const double f = a[i * m + k] / piv;
      for (int64_t j = k + 1; j < m; ++j) a[i * m + j] -= f * a[k * m + j];
    }
  }
  return det;
}

class DetKernel : public Kernel {
 public:
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    const size_t r = x->rank();
    if (r < 2 || x->shape()[r - 1] != x->shape()[r - 2]) {
      return Status::InvalidArgument("Det input must be [*, M, M], got " + ShapeToString(x->shape()));
    }
    const int64_t m = x->shape()[r - 1];
    Shape out_shape(x->shape().begin(), x->shape().end() - 2);
    return DispatchFloat(x->dtype(), [&]<typename T>() -> Status {
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitialized(0, x->dtype(), out_shape));
      const size_t mats = y->num_elements();
      std::vector<double> a(static_cast<size_t>(m * m));
      for (size_t b = 0; b < mats; ++b) {
        const T* p = x->data<T>() + b * m * m;
        for (int64_t i = 0; i < m * m; ++i) a[i] = p[i];
        y->data<T>()[b] = static_cast<T>(Determinant(a, m));
      }
      return Status::Ok();
    });
  }
};

}  // namespace

void RegisterDetOps(OpRegistry& r) {
  r.Register("", "Det", 11, kMaxOnnxOpset, SimpleFactory<DetKernel>());
}

}  // namespace citadel::engine::ops
