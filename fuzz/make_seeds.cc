// Writes the generated part of the fuzz seed corpora (fuzz/corpus/<target>/):
// simulation evidence and its envelope, a real receipt and audit checkpoint,
// a chained audit log, .npy files of several dtypes and sample requests.
// Committed outputs; rerun to refresh:  build-fuzz/fuzz/citadel_fuzz_seeds fuzz/corpus
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "citadel/channel.h"
#include "citadel/crypto.h"
#include "citadel/key_release.h"
#include "citadel/npy.h"
#include "citadel/protocol.h"
#include "fuzz_signer.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string g_root;

void Write(const std::string& target, const std::string& name, std::string_view bytes) {
  fs::create_directories(g_root + "/" + target);
  std::ofstream f(g_root + "/" + target + "/" + name, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
void Write(const std::string& target, const std::string& name, citadel::ByteSpan bytes) {
  Write(target, name, citadel::AsStringView(bytes));
}

template <typename T>
citadel::Tensor Make(citadel::DType dtype, const citadel::Shape& shape, std::vector<T> v) {
  return citadel::Tensor::FromVector<T>(dtype, shape, v).value();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_ROOT\n", argv[0]);
    return 2;
  }
  g_root = argv[1];
  auto& s = citadel_fuzz::Signer();

  // Evidence: raw sim evidence and the envelope the certificate carries.
  Write("sim_evidence", "sim_raw.bin", s.identity.evidence.bytes);
  Write("sim_evidence", "envelope.bin", s.signer.evidence_envelope);

  // Tensors: .npy files and the same tensors as a KServe request.
  std::vector<std::pair<std::string, citadel::Tensor>> tensors = {
      {"f32", Make<float>(citadel::DType::kFloat32, {2, 3}, {0, 1.5f, -2, 3, 4e10f, -0.f})},
      {"i64", Make<int64_t>(citadel::DType::kInt64, {4}, {0, -1, INT64_MAX, INT64_MIN})},
      {"u8", Make<uint8_t>(citadel::DType::kUInt8, {1, 2, 2}, {0, 1, 254, 255})},
      {"i32_empty", Make<int32_t>(citadel::DType::kInt32, {0, 3}, {})},
      {"f64_scalar", Make<double>(citadel::DType::kFloat64, {}, {3.25})},
  };
  citadel::TensorList list;
  for (auto& [name, t] : tensors) {
    auto npy = citadel::WriteNpy(t);
    if (npy.ok()) Write("npy", name + ".npy", *npy);
    list.push_back({name, t});
  }
  json request = {{"id", "seed-1"}, {"inputs", citadel::TensorListToJson(list)},
                  {"outputs", json::array({{{"name", "y"}}})}, {"parameters", {{"receipt", true}}}};
  Write("infer_request", "request.json", request.dump());
  Write("infer_request", "one.json",
        json{{"inputs", json::array({{{"name", "x"}, {"shape", {2}}, {"datatype", "BYTES"},
                                      {"data", {"a", "bc"}}}})}}.dump());

  // Proofs: a receipt over those tensors and a chained audit log with its checkpoint.
  json receipt_payload = {{"model_name", "m"}, {"model_id", std::string(64, 'a')}, {"model_version", 1},
                          {"model_signer", ""}, {"inputs", json::array()}, {"outputs", json::array()},
                          {"request_time", 1700000000}, {"platform", "sim"}, {"simulation", true},
                          {"counter", 1}};
  for (const auto& t : list) receipt_payload["inputs"].push_back({{"name", t.name}, {"sha256", citadel::TensorDigestHex(t)}});
  json receipt = citadel_fuzz::SignFuzzPayload(receipt_payload, "receipt", true);
  Write("receipt", "receipt.json", std::string(1, '\0') + receipt.dump());
  Write("receipt", "payload.json", std::string(1, '\x03') + receipt_payload.dump());

  std::string log;
  std::string prev(64, '0');
  const char* events[] = {"server_started", "model_uploaded", "inference_counts"};
  for (int i = 0; i < 3; ++i) {
    json e = {{"seq", i}, {"time", 1700000000 + i}, {"event", events[i]}, {"data", {{"name", "m"}}}, {"prev", prev}};
    prev = citadel::AuditEntryHash(e);
    e["hash"] = prev;
    log += e.dump() + "\n";
  }
  json checkpoint_payload = {{"seq", 2}, {"head_hash", prev}, {"time", 1700000003}};
  json checkpoint = citadel_fuzz::SignFuzzPayload(checkpoint_payload, "audit-checkpoint", true);
  Write("audit_log", "log.jsonl", std::string(1, '\0') + log + "checkpoint " + checkpoint.dump() + "\n");
  Write("audit_log", "log_payload.jsonl", std::string(1, '\x03') + log + "checkpoint " + checkpoint_payload.dump() + "\n");
  Write("receipt", "checkpoint.json", std::string(1, '\0') + checkpoint.dump());

  // Configuration: client policies and server configs.
  const std::string owner = citadel::Base64Encode(s.identity.spki_der);
  Write("config", "policy_sim.json",
        R"({"version": 1, "allow_simulation": true, "accept_any_measurement": true})");
  Write("config", "policy_strict.json",
        R"({"version": 1, "allow_simulation": false, "measurements": [")" + std::string(96, 'a') +
            R"("], "sim_signer_keys": [")" + std::string(64, 'b') + R"("]})");
  Write("config", "server.json",
        R"({"version": 1, "limits": {"max_upload_bytes": 1048576, "max_models": 4, "request_timeout_seconds": 5},)"
        R"( "threads": 2, "owners": [{"name": "acme", "public_key": ")" + owner +
            R"("}], "users": [{"name": "clinic", "token_sha256": ")" + std::string(64, 'c') + R"("}]})");

  // Codecs.
  Write("codec", "hex.txt", "00ff10aBcD");
  Write("codec", "b64.txt", "aGVsbG8gd29ybGQ=");
  Write("codec", "b64_nopad.txt", "YQ==");
  // Key release: a genuine request (sim evidence over its key) and a
  // genuine broker answer to it.
  {
    const std::string dir = (fs::temp_directory_path() / "citadel-seeds-broker").string();
    fs::remove_all(dir);
    auto broker = citadel::KeyBroker::Open(dir);
    auto request = citadel::BeginKeyRelease(*s.platform);
    if (broker.ok() && request.ok()) {
      Write("key_release", "request.json", request->ToJson().dump());
      citadel::Policy any;
      any.allow_simulation = true;
      any.accept_any_measurement = true;
      auto answer = (*broker)->Release(request->ToJson(), any);
      if (answer.ok()) Write("key_release", "answer.json", answer->dump());
    }
    fs::remove_all(dir);
  }
  std::printf("seeds written under %s\n", g_root.c_str());
  return 0;
}
