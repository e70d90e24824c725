// TfIdfVectorizer: counts the n-grams of the pool (pool_int64s or
// pool_strings, grouped by length through ngram_counts) in each row of X
// ([C] or [N, C], int32/int64/string), with up to max_skip_count items
// skipped between the items of an n-gram (n >= 2; each skip distance
// counts separately, unigrams once), for n in [min_gram_length,
// max_gram_length]. Output [max(ngram_indexes) + 1] or [N, that] float32:
// TF counts, IDF (weight, or 1, where the count is non-zero) or TFIDF
// (count * weight).
#include <algorithm>
#include <map>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

enum class TfMode { kTF, kIDF, kTFIDF };

struct Config {
  TfMode mode;
  int64_t min_n, max_n, max_skip;
  int64_t out_dim = 0;
  std::vector<float> weights;  // per output index; empty = 1
  // Per n (index n - 1): pool n-gram -> output index.
  std::vector<std::map<std::vector<int64_t>, int64_t>> grams;
  // pool_strings: string -> id (an input string not in the pool is -1).
  bool strings = false;
  std::map<std::string, int64_t> string_ids;
};

class TfIdfKernel : public Kernel {
 public:
  explicit TfIdfKernel(Config c) : c_(std::move(c)) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    if (x->rank() != 1 && x->rank() != 2) {
      return Status::InvalidArgument("TfIdfVectorizer input must be [C] or [N, C], got " + ShapeToString(x->shape()));
    }
    const size_t total = x->num_elements();
    std::vector<int64_t> ids(total);
    if (c_.strings) {
      if (x->dtype() != DType::kString) return Status::InvalidArgument("TfIdfVectorizer with pool_strings needs string input");
      for (size_t i = 0; i < total; ++i) {
        auto it = c_.string_ids.find(x->strings()[i]);
        ids[i] = it == c_.string_ids.end() ? -1 : it->second;
      }
    } else if (x->dtype() == DType::kInt32) {
      for (size_t i = 0; i < total; ++i) ids[i] = x->data<int32_t>()[i];
    } else if (x->dtype() == DType::kInt64) {
      for (size_t i = 0; i < total; ++i) ids[i] = x->data<int64_t>()[i];
    } else {
      return Status::InvalidArgument("TfIdfVectorizer with pool_int64s needs int32 or int64 input");
    }
    const int64_t rows = x->rank() == 2 ? x->shape()[0] : 1;
    const int64_t cols = x->rank() == 2 ? x->shape()[1] : x->shape()[0];
    Shape out_shape = x->rank() == 2 ? Shape{rows, c_.out_dim} : Shape{c_.out_dim};
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, DType::kFloat32, out_shape));
    float* Y = y->data<float>();
    std::vector<int64_t> counts(c_.out_dim);
    std::vector<int64_t> gram;
    for (int64_t r = 0; r < rows; ++r) {
      std::fill(counts.begin(), counts.end(), 0);
      const int64_t* row = ids.data() + r * cols;
      for (int64_t n = std::max<int64_t>(c_.min_n, 1); n <= c_.max_n; ++n) {
        const auto& pool = c_.grams[n - 1];
        if (pool.empty()) continue;
        const int64_t skips = n == 1 ? 0 : c_.max_skip;
        for (int64_t s = 0; s <= skips; ++s) {
          const int64_t span = (n - 1) * (s + 1);  // distance from first to last item
          if (span >= cols) break;
          for (int64_t i = 0; i + span < cols; ++i) {
            gram.clear();
            for (int64_t k = 0; k < n; ++k) gram.push_back(row[i + k * (s + 1)]);
            auto it = pool.find(gram);
            if (it != pool.end()) ++counts[it->second];
          }
        }
      }
      for (int64_t j = 0; j < c_.out_dim; ++j) {
        const float w = c_.weights.empty() ? 1.0f : c_.weights[j];
        float v = 0;
        switch (c_.mode) {
          case TfMode::kTF: v = static_cast<float>(counts[j]); break;
          case TfMode::kIDF: v = counts[j] > 0 ? w : 0.0f; break;
          case TfMode::kTFIDF: v = static_cast<float>(counts[j]) * w; break;
        }
        Y[r * c_.out_dim + j] = v;
      }
    }
    return Status::Ok();
  }

 private:
  Config c_;
};

Result<std::unique_ptr<Kernel>> MakeTfIdf(const KernelInit& init) {
  const Attributes& a = init.node.attrs;
  Config c;
  CITADEL_ASSIGN_OR_RETURN(std::string mode, a.GetString("mode", ""));
  if (mode == "TF") c.mode = TfMode::kTF;
  else if (mode == "IDF") c.mode = TfMode::kIDF;
  else if (mode == "TFIDF") c.mode = TfMode::kTFIDF;
  else return Status::InvalidArgument("TfIdfVectorizer mode must be TF, IDF or TFIDF");
  CITADEL_ASSIGN_OR_RETURN(c.min_n, a.GetInt("min_gram_length", 0));
  CITADEL_ASSIGN_OR_RETURN(c.max_n, a.GetInt("max_gram_length", 0));
  CITADEL_ASSIGN_OR_RETURN(c.max_skip, a.GetInt("max_skip_count", 0));
  if (c.min_n < 1 || c.max_n < c.min_n || c.max_skip < 0 || c.max_skip > (1 << 20)) {
    return Status::InvalidArgument("TfIdfVectorizer needs 1 <= min_gram_length <= max_gram_length and max_skip_count >= 0");
  }
  CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> counts, a.GetInts("ngram_counts", {}));
  CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> indexes, a.GetInts("ngram_indexes", {}));
  CITADEL_ASSIGN_OR_RETURN(std::vector<float> pool_weights, a.GetFloats("weights"));
  // The pool as a flat list of ids.
  std::vector<int64_t> pool;
  const Attribute* ps = a.Find("pool_strings");
  if (ps != nullptr && !ps->strings.empty()) {
    c.strings = true;
    for (const std::string& s : ps->strings) {
      auto [it, inserted] = c.string_ids.emplace(s, static_cast<int64_t>(c.string_ids.size()));
      pool.push_back(it->second);
    }
  } else {
    CITADEL_ASSIGN_OR_RETURN(pool, a.GetInts("pool_int64s", {}));
  }
  if (!c.strings && init.InputType(0) && init.InputType(0)->dtype == DType::kString) {
    return Status::InvalidArgument("TfIdfVectorizer string input needs pool_strings");
  }
  const int64_t pool_size = static_cast<int64_t>(pool.size());
  if (counts.empty() || static_cast<int64_t>(counts.size()) > c.max_n + 1024) {
    return Status::InvalidArgument("TfIdfVectorizer ngram_counts is empty or too long");
  }
  // Level n covers pool[counts[n-1], counts[n]) (the last to the end).
  size_t gram_no = 0;
  c.grams.resize(std::max<size_t>(counts.size(), static_cast<size_t>(c.max_n)));
  for (size_t lvl = 0; lvl < counts.size(); ++lvl) {
    const int64_t begin = counts[lvl];
    const int64_t end = lvl + 1 < counts.size() ? counts[lvl + 1] : pool_size;
    const int64_t n = static_cast<int64_t>(lvl) + 1;
    if (begin < 0 || end < begin || end > pool_size || (end - begin) % n != 0) {
      return Status::InvalidArgument("TfIdfVectorizer ngram_counts does not split the pool into n-grams");
    }
    for (int64_t p = begin; p < end; p += n) {
      if (gram_no >= indexes.size()) {
        return Status::InvalidArgument("TfIdfVectorizer ngram_indexes has fewer entries than the pool has n-grams");
      }
      const int64_t out = indexes[gram_no++];
      if (out < 0 || out >= (1 << 24)) return Status::InvalidArgument("TfIdfVectorizer ngram_indexes out of range");
      c.out_dim = std::max(c.out_dim, out + 1);
      if (!pool_weights.empty()) {
        // The i-th weight belongs to the i-th pool n-gram.
        if (gram_no > pool_weights.size()) {
          return Status::InvalidArgument("TfIdfVectorizer weights has fewer entries than the pool has n-grams");
        }
        if (c.weights.size() < static_cast<size_t>(out + 1)) c.weights.resize(out + 1, 0.0f);
        c.weights[out] = pool_weights[gram_no - 1];
      }
      c.grams[lvl][std::vector<int64_t>(pool.begin() + p, pool.begin() + p + n)] = out;
    }
  }
  if (!c.weights.empty()) c.weights.resize(c.out_dim, 0.0f);
  return std::unique_ptr<Kernel>(std::make_unique<TfIdfKernel>(std::move(c)));
}

}  // namespace

void RegisterTfIdfVectorizerOps(OpRegistry& r) {
  r.Register("", "TfIdfVectorizer", 9, kMaxOnnxOpset, MakeTfIdf);
}

}  // namespace citadel::engine::ops
