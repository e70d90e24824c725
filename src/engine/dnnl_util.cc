#include "dnnl_util.h"

#include <omp.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <unordered_map>

namespace citadel::engine {

dnnl::engine& CpuEngine() {
  static dnnl::engine* e = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *e;
}

int ResolveThreads(int threads) {
  static const int all = omp_get_num_procs();
  return threads > 0 ? threads : all;
}

void SetRunThreads(int threads) { omp_set_num_threads(ResolveThreads(threads)); }

int ThreadsKey() { return omp_get_max_threads(); }

namespace {
struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
struct Buffer {
  std::unique_ptr<void, FreeDeleter> p;
  size_t size = 0;
};
}  // namespace

void* ThreadBuffer(int slot, size_t bytes) {
  thread_local Buffer buffers[4];
  Buffer& b = buffers[slot];
  if (bytes > b.size) {
    size_t n = (bytes + 4095) & ~size_t{4095};
    b.p.reset(std::aligned_alloc(64, n));
    if (!b.p) throw std::bad_alloc();
    b.size = n;
  }
  return b.p.get();
}

dnnl::memory::dims ToDims(const Shape& shape) {
  return dnnl::memory::dims(shape.begin(), shape.end());
}

dnnl::memory::desc PlainDesc(const Shape& shape) {
  dnnl::memory::dims dims = ToDims(shape);
  dnnl::memory::dims strides(dims.size(), 1);
  for (int i = static_cast<int>(dims.size()) - 2; i >= 0; --i) strides[i] = strides[i + 1] * dims[i + 1];
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, strides);
}

void ExecuteWithScratchpad(const dnnl::primitive& prim, const dnnl::memory::desc& scratch_md,
                           std::unordered_map<int, dnnl::memory> args) {
  const size_t bytes = scratch_md.get_size();
  if (bytes > 0) {
    args.emplace(DNNL_ARG_SCRATCHPAD, dnnl::memory(scratch_md, CpuEngine(), ThreadBuffer(0, bytes)));
  }
  dnnl::stream s(CpuEngine());
  prim.execute(s, args);
  s.wait();
}

int64_t ActivationBlock() {
  static const int64_t block = dnnl::get_effective_cpu_isa() >= dnnl::cpu_isa::avx512_core ? 16 : 8;
  return block;
}

Shape BlockedPhysicalShape(const Shape& logical) {
  const int64_t b = ActivationBlock();
  return {logical[0], (logical[1] + b - 1) / b, logical[2], logical[3], b};
}

Shape BlockedLogicalShape(const Shape& physical, int64_t channels) {
  const int64_t b = ActivationBlock();
  if (physical.size() != 5 || physical[4] != b || channels <= 0 ||
      physical[1] != (channels + b - 1) / b) {
    return {};
  }
  return {physical[0], channels, physical[2], physical[3]};
}

dnnl::memory::desc BlockedDesc(const Shape& logical) {
  return dnnl::memory::desc(ToDims(logical), dnnl::memory::data_type::f32,
                            ActivationBlock() == 16 ? dnnl::memory::format_tag::nChw16c
                                                    : dnnl::memory::format_tag::nChw8c);
}

namespace {
void ReorderInto(const dnnl::memory::desc& from_md, const void* from, const dnnl::memory::desc& to_md,
                 void* to) {
  dnnl::engine& eng = CpuEngine();
  dnnl::memory a(from_md, eng, const_cast<void*>(from)), b(to_md, eng, to);
  dnnl::stream s(eng);
  dnnl::reorder(a, b).execute(s, a, b);
  s.wait();
}
}  // namespace

Result<Tensor> BlockedToPlain(const Tensor& physical, int64_t channels, size_t max_bytes) {
  const Shape logical = BlockedLogicalShape(physical.shape(), channels);
  if (logical.empty() || physical.dtype() != DType::kFloat32) {
    return Status::Internal("bad blocked tensor " + ShapeToString(physical.shape()));
  }
  CITADEL_ASSIGN_OR_RETURN(Tensor t, Tensor::Zeros(DType::kFloat32, logical, max_bytes));
  if (t.num_elements() > 0) {
    ReorderInto(BlockedDesc(logical), physical.raw_data(), PlainDesc(logical), t.raw_data());
  }
  return t;
}

Result<Tensor> PlainToBlocked(const Tensor& plain, size_t max_bytes) {
  if (plain.rank() != 4 || plain.dtype() != DType::kFloat32 || plain.shape()[1] <= 0) {
    return Status::Internal("cannot block " + ShapeToString(plain.shape()));
  }
  CITADEL_ASSIGN_OR_RETURN(Tensor t, Tensor::Zeros(DType::kFloat32, BlockedPhysicalShape(plain.shape()),
                                                   max_bytes));
  if (t.num_elements() > 0) {
    ReorderInto(PlainDesc(plain.shape()), plain.raw_data(), BlockedDesc(plain.shape()), t.raw_data());
  }
  return t;
}

namespace {
std::atomic<int>& DisabledFlag() {
  static std::atomic<int> flag{[] {
    const char* v = std::getenv("CITADEL_NO_DNNL");
    return v != nullptr && v[0] == '1' ? 1 : 0;
  }()};
  return flag;
}
}  // namespace

bool DnnlDisabled() { return DisabledFlag().load(std::memory_order_relaxed) != 0; }
void SetDnnlDisabled(bool disabled) { DisabledFlag().store(disabled ? 1 : 0); }

}  // namespace citadel::engine
