// libFuzzer target: attested key release (docs/key-release.md), both ends of
// the untrusted wire. The input is a JSON document read as
//   - a request to the key broker (KeyBroker::Release, with a policy that
//     accepts simulation evidence, so hostile but genuine-looking evidence
//     reaches the binding and policy checks), and
//   - the broker's answer as the TEE reads it (FinishKeyRelease, against a
//     fixed request and the broker's real key).
// Either may refuse; neither may crash, leak or release a key to a request
// that does not bind it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <unistd.h>

#include "citadel/key_release.h"
#include "citadel/protocol.h"

namespace {

struct Fixture {
  std::unique_ptr<citadel::KeyBroker> broker;
  std::unique_ptr<citadel::Platform> platform;
  citadel::KeyReleaseRequest request;
  citadel::Policy policy;
};

Fixture* Make() {
  auto* f = new Fixture();
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("citadel-key-release-fuzz-" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto broker = citadel::KeyBroker::Open(dir + "/broker");
  citadel::SimPlatformOptions o;
  o.state_dir = dir + "/box";
  auto platform = citadel::OpenSimPlatform(o);
  if (!broker.ok() || !platform.ok()) std::abort();
  f->broker = std::move(broker).value();
  f->platform = std::move(platform).value();
  auto request = citadel::BeginKeyRelease(*f->platform);
  if (!request.ok()) std::abort();
  f->request = std::move(request).value();
  f->policy.allow_simulation = true;
  f->policy.accept_any_measurement = true;
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* fixture = Make();
  auto j = citadel::ParseJson(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!j.ok()) return 0;
  auto answer = fixture->broker->Release(*j, fixture->policy);
  if (answer.ok()) {
    // Released: the evidence in the request must bind its key; it can only
    // be a genuine sim request (anyone can make one), which must open.
    (void)citadel::FinishKeyRelease(fixture->request, *answer, fixture->broker->public_key_spki());
  }
  auto root = citadel::FinishKeyRelease(fixture->request, *j, fixture->broker->public_key_spki());
  // An answer the fuzzer made up can never carry the broker's signature.
  if (root.ok()) std::abort();
  return 0;
}
