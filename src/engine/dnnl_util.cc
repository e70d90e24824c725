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

void SetRunThreads(int threads) {
  static const int all = omp_get_num_procs();
  omp_set_num_threads(threads > 0 ? threads : all);
}

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
