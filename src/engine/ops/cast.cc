// Cast and CastLike between all numeric types, bool, the 16-bit floats and
// strings. 16-bit floats go through float32 (round to nearest even both
// ways). Numbers become strings as numpy's str() writes them (shortest
// round-trip digits, positional for exponents -4..15, "1.0" not "1"), which
// is what the ONNX reference produces; strings parse as C-locale numbers
// ("inf", "nan" accepted) and anything else is InvalidArgument.
#include <charconv>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "../kernel.h"
#include "../tensor_proto.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

// Reads element i of any non-string tensor as double.
double Load(const Tensor& t, size_t i) {
  switch (t.dtype()) {
    case DType::kFloat16: return HalfToFloat(t.data<uint16_t>()[i]);
    case DType::kBFloat16: return BFloat16ToFloat(t.data<uint16_t>()[i]);
    case DType::kBool: return t.raw_data()[i] != 0;
    default: {
      double v = 0;
      (void)DispatchNumeric(t.dtype(), [&]<typename T>() {
        v = static_cast<double>(t.data<T>()[i]);
        return Status::Ok();
      });
      return v;
    }
  }
}

// Float -> integer conversion is undefined in C++ when out of range; ONNX
// leaves it implementation-defined. Go through int64 (or uint64) with NaN
// and overflow mapped to 0 so hostile inputs stay defined.
template <typename T>
T ToInt(double v) {
  if (!std::isfinite(v)) return 0;
  if constexpr (std::is_same_v<T, uint64_t>) {
    return v < 0 || v >= 1.8446744073709552e19 ? 0 : static_cast<uint64_t>(v);
  } else {
    if (v <= -9.2233720368547758e18 || v >= 9.2233720368547758e18) return 0;
    return static_cast<T>(static_cast<int64_t>(v));
  }
}

// numpy-style str() of a float: shortest digits that round-trip in the
// value's own precision.
template <typename F>
std::string FormatFloat(F v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // "-d.ddde+XX"
  const size_t e = sci.find('e');
  const int exp = std::atoi(sci.c_str() + e + 1);
  std::string sign = sci[0] == '-' ? "-" : "";
  std::string digits;
  for (size_t i = sign.size(); i < e; ++i) {
    if (sci[i] != '.') digits += sci[i];
  }
  if (exp < -4 || exp >= 16) {
    std::string out = sign + digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char eb[16];
    std::snprintf(eb, sizeof(eb), "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
    return out + eb;
  }
  std::string ip, fp;
  if (exp < 0) {
    ip = "0";
    fp = std::string(static_cast<size_t>(-exp - 1), '0') + digits;
  } else if (static_cast<size_t>(exp) + 1 >= digits.size()) {
    ip = digits + std::string(exp + 1 - digits.size(), '0');
    fp = "0";
  } else {
    ip = digits.substr(0, exp + 1);
    fp = digits.substr(exp + 1);
  }
  return sign + ip + "." + fp;
}

std::string ElementToString(const Tensor& t, size_t i) {
  switch (t.dtype()) {
    case DType::kFloat32: return FormatFloat(t.data<float>()[i]);
    case DType::kFloat64: return FormatFloat(t.data<double>()[i]);
    case DType::kFloat16:
    case DType::kBFloat16: return FormatFloat(static_cast<float>(Load(t, i)));
    case DType::kBool: return t.raw_data()[i] != 0 ? "True" : "False";
    case DType::kInt64: return std::to_string(t.data<int64_t>()[i]);
    case DType::kUInt64: return std::to_string(t.data<uint64_t>()[i]);
    default: return std::to_string(static_cast<int64_t>(Load(t, i)));
  }
}

// Parses a whole string as a number (leading/trailing blanks allowed).
Result<double> ParseNumber(const std::string& s) {
  const char* b = s.c_str();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(b, &end);
  while (end != nullptr && *end != 0 && std::isspace(static_cast<unsigned char>(*end))) ++end;
  if (end == b || end == nullptr || *end != 0) {
    return Status::InvalidArgument("Cast: string element is not a number");
  }
  return v;
}

Status CastString(const Tensor& x, DType to, KernelContext& ctx) {
  const size_t n = x.num_elements();
  if (to == DType::kString) {
    if (x.dtype() == DType::kString) return SetStringOutput(ctx, 0, x.shape(), x.strings());
    std::vector<std::string> out(n);
    for (size_t i = 0; i < n; ++i) out[i] = ElementToString(x, i);
    return SetStringOutput(ctx, 0, x.shape(), std::move(out));
  }
  CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, to, x.shape()));
  const auto& in = x.strings();
  if (to == DType::kFloat16 || to == DType::kBFloat16) {
    for (size_t i = 0; i < n; ++i) {
      CITADEL_ASSIGN_OR_RETURN(double v, ParseNumber(in[i]));
      y->data<uint16_t>()[i] = to == DType::kFloat16 ? FloatToHalf(static_cast<float>(v))
                                                     : FloatToBFloat16(static_cast<float>(v));
    }
    return Status::Ok();
  }
  if (to == DType::kBool) {
    for (size_t i = 0; i < n; ++i) {
      if (in[i] == "True" || in[i] == "true") { y->raw_data()[i] = 1; continue; }
      if (in[i] == "False" || in[i] == "false") { y->raw_data()[i] = 0; continue; }
      CITADEL_ASSIGN_OR_RETURN(double v, ParseNumber(in[i]));
      y->raw_data()[i] = v != 0;
    }
    return Status::Ok();
  }
  return DispatchNumeric(to, [&]<typename T>() -> Status {
    T* out = y->data<T>();
    for (size_t i = 0; i < n; ++i) {
      if constexpr (std::is_integral_v<T>) {
        // Integers parse exactly (double would round past 2^53).
        T v{};
        const char* b = in[i].data();
        const char* e = b + in[i].size();
        if (b != e && *b == '+') ++b;
        auto r = std::from_chars(b, e, v);
        if (r.ec == std::errc() && r.ptr == e) {
          out[i] = v;
          continue;
        }
        CITADEL_ASSIGN_OR_RETURN(double d, ParseNumber(in[i]));
        out[i] = ToInt<T>(d);
      } else {
        CITADEL_ASSIGN_OR_RETURN(double d, ParseNumber(in[i]));
        out[i] = static_cast<T>(d);
      }
    }
    return Status::Ok();
  });
}

Status CastTensor(const Tensor& x, DType to, KernelContext& ctx) {
  if (x.dtype() == DType::kString || to == DType::kString) return CastString(x, to, ctx);
  CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, to, x.shape()));
  const size_t n = x.num_elements();
  if (x.dtype() == to) {
    std::memcpy(y->raw_data(), x.raw_data(), x.byte_size());
    return Status::Ok();
  }
  // float32 -> float16/bfloat16 directly, so rounding matches numpy.
  if (x.dtype() == DType::kFloat32 && (to == DType::kFloat16 || to == DType::kBFloat16)) {
    for (size_t i = 0; i < n; ++i) {
      float f = x.data<float>()[i];
      y->data<uint16_t>()[i] = to == DType::kFloat16 ? FloatToHalf(f) : FloatToBFloat16(f);
    }
    return Status::Ok();
  }
  switch (to) {
    case DType::kFloat16:
      for (size_t i = 0; i < n; ++i) y->data<uint16_t>()[i] = FloatToHalf(static_cast<float>(Load(x, i)));
      return Status::Ok();
    case DType::kBFloat16:
      for (size_t i = 0; i < n; ++i) y->data<uint16_t>()[i] = FloatToBFloat16(static_cast<float>(Load(x, i)));
      return Status::Ok();
    case DType::kBool:
      for (size_t i = 0; i < n; ++i) y->raw_data()[i] = Load(x, i) != 0;
      return Status::Ok();
    default:
      return DispatchNumeric(to, [&]<typename T>() -> Status {
        T* out = y->data<T>();
        // Integer -> integer keeps exact 64-bit values (double would round).
        if (x.dtype() == DType::kInt64 && std::is_integral_v<T>) {
          for (size_t i = 0; i < n; ++i) out[i] = static_cast<T>(x.data<int64_t>()[i]);
        } else if (x.dtype() == DType::kUInt64 && std::is_integral_v<T>) {
          for (size_t i = 0; i < n; ++i) out[i] = static_cast<T>(x.data<uint64_t>()[i]);
        } else {
          for (size_t i = 0; i < n; ++i) {
            if constexpr (std::is_integral_v<T>) out[i] = ToInt<T>(Load(x, i));
            else out[i] = static_cast<T>(Load(x, i));
          }
        }
        return Status::Ok();
      });
  }
}

class CastKernel : public Kernel {
 public:
  explicit CastKernel(DType to) : to_(to) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "input"));
    return CastTensor(*x, to_, ctx);
  }

 private:
  DType to_;
};

class CastLikeKernel : public Kernel {
 public:
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "input"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* like, RequireInput(ctx, 1, "target_type"));
    return CastTensor(*x, like->dtype(), ctx);
  }
};

}  // namespace

void RegisterCastOps(OpRegistry& r) {
  r.Register("", "Cast", 6, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    if (!init.node.attrs.Has("to")) return Status::InvalidArgument("Cast needs 'to'");
    CITADEL_ASSIGN_OR_RETURN(int64_t to, init.node.attrs.GetInt("to", 0));
    CITADEL_ASSIGN_OR_RETURN(DType dt, DTypeFromOnnx(static_cast<int32_t>(to)));
    return std::unique_ptr<Kernel>(std::make_unique<CastKernel>(dt));
  });
  r.Register("", "CastLike", 15, kMaxOnnxOpset, [](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<CastLikeKernel>());
  });
}

}  // namespace citadel::engine::ops
