// .npy reader/writer. Format: "\x93NUMPY", major, minor, header length
// (u16 LE for 1.x, u32 LE for 2.x/3.x), an ASCII Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), } padded with
// spaces to a multiple of 64 and ending in '\n', then the raw data.
#include "citadel/npy.h"

#include <cctype>
#include <cstring>
#include <optional>

#include "citadel/byte_reader.h"

namespace citadel {
namespace {

struct DescrEntry {
  std::string_view descr;
  DType dtype;
};
// '|' = byte order not applicable; '<' little endian; '=' native (x86: little).
constexpr DescrEntry kDescrs[] = {
    {"<f4", DType::kFloat32}, {"<f8", DType::kFloat64}, {"<f2", DType::kFloat16},
    {"|i1", DType::kInt8},    {"<i2", DType::kInt16},   {"<i4", DType::kInt32},
    {"<i8", DType::kInt64},   {"|u1", DType::kUInt8},   {"<u2", DType::kUInt16},
    {"<u4", DType::kUInt32},  {"<u8", DType::kUInt64},  {"|b1", DType::kBool},
};

std::optional<DType> DTypeFromDescr(std::string d) {
  if (d.size() == 3 && d[0] == '=') d[0] = '<';
  if (d.size() == 3 && (d[1] == 'i' || d[1] == 'u' || d[1] == 'b') && d[2] == '1') d[0] = '|';
  for (const auto& e : kDescrs)
    if (e.descr == d) return e.dtype;
  return std::nullopt;
}

std::string_view DescrForDType(DType t) {
  for (const auto& e : kDescrs)
    if (e.dtype == t) return e.descr;
  return {};
}

// A tiny strict parser for the header dict.
class HeaderParser {
 public:
  explicit HeaderParser(std::string_view s) : s_(s) {}

  Status Parse(std::string* descr, bool* fortran, Shape* shape) {
    bool have_descr = false, have_fortran = false, have_shape = false;
    SkipSpace();
    if (!Eat('{')) return Error("expected '{'");
    while (true) {
      SkipSpace();
      if (Eat('}')) break;
      std::string key;
      CITADEL_RETURN_IF_ERROR(ParseString(&key));
      SkipSpace();
      if (!Eat(':')) return Error("expected ':' after key");
      SkipSpace();
      if (key == "descr") {
        if (have_descr) return Error("duplicate 'descr'");
        CITADEL_RETURN_IF_ERROR(ParseString(descr));
        have_descr = true;
      } else if (key == "fortran_order") {
        if (have_fortran) return Error("duplicate 'fortran_order'");
        if (EatWord("True")) *fortran = true;
        else if (EatWord("False")) *fortran = false;
        else return Error("fortran_order must be True or False");
        have_fortran = true;
      } else if (key == "shape") {
        if (have_shape) return Error("duplicate 'shape'");
        CITADEL_RETURN_IF_ERROR(ParseShape(shape));
        have_shape = true;
      } else {
        return Error("unknown key '" + key + "'");
      }
      SkipSpace();
      if (Eat(',')) continue;
      SkipSpace();
      if (Eat('}')) break;
      return Error("expected ',' or '}'");
    }
    SkipSpace();
    if (pos_ != s_.size()) return Error("trailing characters after the dict");
    if (!have_descr || !have_fortran || !have_shape) return Error("missing descr, fortran_order or shape");
    return Status::Ok();
  }

 private:
  Status Error(const std::string& what) {
    return Status::InvalidArgument("malformed .npy header at offset " + std::to_string(pos_) + ": " + what);
  }
  void SkipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t')) ++pos_;
  }
  bool Eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool EatWord(std::string_view w) {
    if (s_.substr(pos_, w.size()) == w) {
      pos_ += w.size();
      return true;
    }
    return false;
  }
  Status ParseString(std::string* out) {
    char q = pos_ < s_.size() ? s_[pos_] : 0;
    if (q != '\'' && q != '"') return Error("expected a quoted string");
    ++pos_;
    size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != q) {
      if (s_[pos_] == '\\') return Error("escapes are not supported");
      ++pos_;
    }
    if (pos_ >= s_.size()) return Error("unterminated string");
    *out = std::string(s_.substr(start, pos_ - start));
    ++pos_;
    return Status::Ok();
  }
  Status ParseShape(Shape* shape) {
    shape->clear();
    if (!Eat('(')) return Error("shape must be a tuple");
    while (true) {
      SkipSpace();
      if (Eat(')')) return Status::Ok();
      if (pos_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
        return Error("shape entries must be non-negative integers");
      }
      int64_t v = 0;
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
        if (v > (int64_t{1} << 50)) return Error("dimension too large");
        v = v * 10 + (s_[pos_] - '0');
        ++pos_;
      }
      if (v > (int64_t{1} << 50)) return Error("dimension too large");
      if (shape->size() >= 32) return Error("more than 32 dimensions");
      shape->push_back(v);
      SkipSpace();
      if (Eat(',')) continue;
      SkipSpace();
      if (Eat(')')) return Status::Ok();
      return Error("expected ',' or ')' in shape");
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

Result<Tensor> ReadNpy(ByteSpan bytes, const NpyLimits& limits) {
  ByteReader r(bytes);
  ByteSpan magic;
  static constexpr uint8_t kMagic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (!r.ReadBytes(6, &magic) || std::memcmp(magic.data(), kMagic, 6) != 0) {
    return Status::InvalidArgument("not a .npy file (bad magic)");
  }
  uint8_t major = 0, minor = 0;
  if (!r.ReadU8(&major) || !r.ReadU8(&minor)) return Status::InvalidArgument("truncated .npy header");
  size_t header_len = 0;
  if (major == 1) {
    uint16_t n;
    if (!r.ReadU16Le(&n)) return Status::InvalidArgument("truncated .npy header");
    header_len = n;
  } else if (major == 2 || major == 3) {
    uint32_t n;
    if (!r.ReadU32Le(&n)) return Status::InvalidArgument("truncated .npy header");
    header_len = n;
  } else {
    return Status::Unsupported("unsupported .npy format version " + std::to_string(major) + "." +
                               std::to_string(minor));
  }
  if (header_len > limits.max_header_bytes) {
    return Status::InvalidArgument(".npy header of " + std::to_string(header_len) + " bytes exceeds the limit");
  }
  ByteSpan header;
  if (!r.ReadBytes(header_len, &header)) return Status::InvalidArgument("truncated .npy header");
  std::string descr;
  bool fortran = false;
  Shape shape;
  CITADEL_RETURN_IF_ERROR(HeaderParser(AsStringView(header)).Parse(&descr, &fortran, &shape));
  if (fortran) return Status::Unsupported(".npy arrays in Fortran order are not supported; save with C order");
  auto dtype = DTypeFromDescr(descr);
  if (!dtype) return Status::Unsupported(".npy dtype '" + descr + "' is not supported");
  size_t elem = DTypeSize(*dtype);
  CITADEL_ASSIGN_OR_RETURN(size_t count, ShapeElementCount(shape, limits.max_data_bytes / elem));
  if (r.remaining() != count * elem) {
    return Status::InvalidArgument(".npy data is " + std::to_string(r.remaining()) + " bytes, shape " +
                                   ShapeToString(shape) + " of " + descr + " needs " +
                                   std::to_string(count * elem));
  }
  CITADEL_ASSIGN_OR_RETURN(Tensor t, Tensor::FromBytes(*dtype, shape, r.rest()));
  if (*dtype == DType::kBool) {
    for (size_t i = 0; i < count; ++i) {
      if (t.data<uint8_t>()[i] > 1) return Status::InvalidArgument(".npy bool data holds a value other than 0/1");
    }
  }
  return t;
}

Result<Tensor> ReadNpyFile(const std::string& path, const NpyLimits& limits) {
  CITADEL_ASSIGN_OR_RETURN(Bytes data, ReadFileBytes(path, limits.max_data_bytes + limits.max_header_bytes + 16));
  auto t = ReadNpy(data, limits);
  if (!t.ok()) return t.status().WithContext(path);
  return t;
}

Result<Bytes> WriteNpy(const Tensor& tensor) {
  std::string_view descr = DescrForDType(tensor.dtype());
  if (descr.empty()) {
    return Status::Unsupported("dtype " + std::string(DTypeName(tensor.dtype())) + " cannot be written to .npy");
  }
  std::string dict = "{'descr': '" + std::string(descr) + "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < tensor.shape().size(); ++i) {
    dict += std::to_string(tensor.shape()[i]);
    if (tensor.shape().size() == 1 || i + 1 < tensor.shape().size()) dict += ",";
    if (i + 1 < tensor.shape().size()) dict += " ";
  }
  dict += "), }";
  // 10 bytes of preamble + dict + padding + '\n' must be a multiple of 64.
  size_t total = 10 + dict.size() + 1;
  size_t padded = (total + 63) / 64 * 64;
  dict.append(padded - total, ' ');
  dict += '\n';
  ByteWriter w;
  static constexpr uint8_t kMagic[] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  w.Append(kMagic);
  if (dict.size() > 0xffff) return Status::InvalidArgument("shape too long for .npy v1 header");
  w.U16Le(static_cast<uint16_t>(dict.size()));
  w.Append(AsBytes(dict));
  w.Append(tensor.bytes());
  return w.Take();
}

Status WriteNpyFile(const std::string& path, const Tensor& tensor) {
  CITADEL_ASSIGN_OR_RETURN(Bytes data, WriteNpy(tensor));
  return WriteFileAtomic(path, data, 0644);
}

}  // namespace citadel
