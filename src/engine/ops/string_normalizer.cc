// StringNormalizer: drops stopwords from a [C] or [1, C] string tensor and
// optionally lower- or upper-cases what is left. Case changes and the
// case-insensitive stopword match are ASCII-only (bytes >= 0x80 pass
// through unchanged): the locale attribute is accepted only for the C /
// English locales, whose ASCII behaviour this is. When every string is
// dropped the output is one empty string ([1] or [1, 1]), as the ONNX
// reference does.
#include <algorithm>
#include <set>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

enum class CaseChange { kNone, kLower, kUpper };

std::string AsciiLower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

std::string AsciiUpper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

class StringNormalizerKernel : public Kernel {
 public:
  StringNormalizerKernel(CaseChange change, bool case_sensitive, std::set<std::string> stopwords)
      : change_(change), case_sensitive_(case_sensitive), stopwords_(std::move(stopwords)) {}

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    CITADEL_RETURN_IF_ERROR(ExpectDType(*x, DType::kString, "StringNormalizer input"));
    const bool two_d = x->rank() == 2;
    if (!(x->rank() == 1 || (two_d && x->shape()[0] == 1))) {
      return Status::InvalidArgument("StringNormalizer input must be [C] or [1, C], got " +
                                     ShapeToString(x->shape()));
    }
    std::vector<std::string> kept;
    for (const std::string& s : x->strings()) {
      if (stopwords_.count(case_sensitive_ ? s : AsciiLower(s))) continue;
      switch (change_) {
        case CaseChange::kLower: kept.push_back(AsciiLower(s)); break;
        case CaseChange::kUpper: kept.push_back(AsciiUpper(s)); break;
        case CaseChange::kNone: kept.push_back(s); break;
      }
    }
    if (kept.empty()) kept.emplace_back();
    const int64_t c = static_cast<int64_t>(kept.size());
    return SetStringOutput(ctx, 0, two_d ? Shape{1, c} : Shape{c}, std::move(kept));
  }

 private:
  CaseChange change_;
  bool case_sensitive_;
  std::set<std::string> stopwords_;  // lower-cased unless case-sensitive
};

}  // namespace

void RegisterStringNormalizerOps(OpRegistry& r) {
  r.Register("", "StringNormalizer", 10, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    const Attributes& a = init.node.attrs;
    CITADEL_ASSIGN_OR_RETURN(std::string action, a.GetString("case_change_action", "NONE"));
    CaseChange change;
    if (action == "NONE") change = CaseChange::kNone;
    else if (action == "LOWER") change = CaseChange::kLower;
    else if (action == "UPPER") change = CaseChange::kUpper;
    else return Status::InvalidArgument("StringNormalizer case_change_action must be NONE, LOWER or UPPER");
    CITADEL_ASSIGN_OR_RETURN(int64_t sensitive, a.GetInt("is_case_sensitive", 0));
    CITADEL_ASSIGN_OR_RETURN(std::string locale, a.GetString("locale", ""));
    static const std::set<std::string> kAsciiLocales = {"", "C", "POSIX", "en_US", "en_US.UTF-8", "en_US.utf8", "C.UTF-8"};
    if (!kAsciiLocales.count(locale)) {
      return Status::Unsupported("StringNormalizer locale '" + locale + "' is not supported (ASCII case rules only)");
    }
    std::set<std::string> stop;
    if (const Attribute* sw = a.Find("stopwords")) {
      if (sw->kind != Attribute::Kind::kStrings && !(sw->kind == Attribute::Kind::kOther && sw->strings.empty())) {
        return Status::InvalidArgument("StringNormalizer stopwords must be a list of strings");
      }
      for (const std::string& w : sw->strings) stop.insert(sensitive ? w : AsciiLower(w));
    }
    if (const ValueType* t = init.InputType(0); t && t->dtype && *t->dtype != DType::kString) {
      return Status::InvalidArgument("StringNormalizer input must be a string tensor");
    }
    return std::unique_ptr<Kernel>(std::make_unique<StringNormalizerKernel>(change, sensitive != 0, std::move(stop)));
  });
}

}  // namespace citadel::engine::ops
