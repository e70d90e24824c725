// The `citadel` command. Each subcommand is a thin shell over a module API;
// results go to stdout, logs and errors to stderr. Exit status: 0 success,
// 1 refused or failed (reason on stderr), 2 usage error.
#include <CLI/CLI.hpp>
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include "citadel/attest.h"
#include "citadel/attest/appraisal.h"
#include "citadel/attest/collateral.h"
#include "citadel/bytes.h"
#include "citadel/client.h"
#include "citadel/crypto.h"
#include "citadel/conformance.h"
#include "citadel/engine.h"
#include "citadel/inspect.h"
#include "citadel/log.h"
#include "key_broker.h"
#include "citadel/npy.h"
#include "citadel/owner_key.h"
#include "citadel/package.h"
#include "citadel/proof.h"
#include "citadel/server.h"
#include "citadel/tee.h"

namespace citadel {

// `citadel bench` (src/cli/bench.cc).
struct BenchArgs {
  std::string model;
  std::vector<std::string> inputs, dims, shapes;
  int threads = 0, warmup = 3, iters = 20;
  bool optimize = true;
  bool profile = false;
};
int RunBench(const BenchArgs& args);
// Sets a bounded GOMP_SPINCOUNT and re-execs when the user set no OpenMP
// wait policy (src/cli/openmp_env.cc).
void EnsureOpenMpWaitPolicy(char** argv);
// Keeps large freed blocks in the heap (src/cli/openmp_env.cc).
void TuneAllocatorForInference();

namespace {

int Fail(const Status& st) {
  std::cerr << "error: " << st.ToString() << "\n";
  return 1;
}

// "NAME=FILE.npy" pairs -> tensors.
Result<TensorList> ReadInputs(const std::vector<std::string>& specs) {
  TensorList inputs;
  for (const auto& spec : specs) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      return Status::InvalidArgument("--input must be NAME=FILE.npy, got '" + spec + "'");
    }
    CITADEL_ASSIGN_OR_RETURN(Tensor t, ReadNpyFile(spec.substr(eq + 1)));
    inputs.push_back({spec.substr(0, eq), std::move(t)});
  }
  return inputs;
}

// Output names come from the model (untrusted for file paths): keep them to
// a safe character set.
std::string SafeFileName(const std::string& name) {
  std::string out;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    out += ok ? c : '_';
  }
  if (out.empty() || out[0] == '.') out = "_" + out;
  return out;
}

std::string Preview(const Tensor& t) {
  std::string s = std::string(DTypeName(t.dtype())) + " " + ShapeToString(t.shape());
  if (t.num_elements() > 16 || t.dtype() == DType::kString) return s;
  s += " = [";
  for (size_t i = 0; i < t.num_elements(); ++i) {
    if (i) s += ", ";
    char buf[64];
    switch (t.dtype()) {
      case DType::kFloat32: std::snprintf(buf, sizeof buf, "%.6g", t.data<float>()[i]); break;
      case DType::kFloat64: std::snprintf(buf, sizeof buf, "%.9g", t.data<double>()[i]); break;
      case DType::kInt64: std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(t.data<int64_t>()[i])); break;
      case DType::kInt32: std::snprintf(buf, sizeof buf, "%d", t.data<int32_t>()[i]); break;
      case DType::kBool: std::snprintf(buf, sizeof buf, "%s", t.data<uint8_t>()[i] ? "true" : "false"); break;
      default: std::snprintf(buf, sizeof buf, "?"); break;
    }
    s += buf;
  }
  return s + "]";
}

Status WriteOutputs(const TensorList& outputs, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::InvalidArgument("cannot create output directory " + dir + ": " + ec.message());
  for (const auto& o : outputs) {
    std::string path = (std::filesystem::path(dir) / (SafeFileName(o.name) + ".npy")).string();
    CITADEL_RETURN_IF_ERROR(WriteNpyFile(path, o.tensor));
    std::cout << "output " << o.name << ": " << Preview(o.tensor) << " -> " << path << "\n";
  }
  return Status::Ok();
}

struct ConnectArgs {
  std::string server;
  std::string policy;
  std::string token_file;
  int timeout = 120;
  // Hardware evidence: the same inputs as `citadel verify`.
  std::vector<std::string> collateral, chains, veks, roots;
  std::string at;
};

void AddEvidenceOptions(CLI::App* cmd, ConnectArgs* args);

void AddConnectOptions(CLI::App* cmd, ConnectArgs* args) {
  cmd->add_option("--server", args->server, "Server URL, e.g. https://127.0.0.1:8443")->required();
  cmd->add_option("--policy", args->policy, "Client policy file (JSON, see docs/policy.md)")->required();
  cmd->add_option("--timeout", args->timeout, "Seconds to wait for each call")->default_val(120);
  cmd->add_option("--token-file", args->token_file,
                  "File holding the bearer token (or set CITADEL_TOKEN); never pass tokens on the command line");
  AddEvidenceOptions(cmd, args);
}

// The hardware-evidence inputs of `citadel verify`, for every command that
// judges evidence (online or offline).
void AddEvidenceOptions(CLI::App* cmd, ConnectArgs* args) {
  cmd->add_option("--collateral", args->collateral,
                  "Collateral for the server's hardware evidence: a Citadel bundle or any importable file "
                  "(repeatable; see citadel verify)");
  cmd->add_option("--chain", args->chains, "Certificate chain file (AMD ASK/ARK, NVIDIA device chain)");
  cmd->add_option("--vek", args->veks, "AMD VCEK/VLEK certificate (PEM/DER)");
  cmd->add_option("--root", args->roots, "Trust ONLY this root (repeatable; default: built-in vendor roots)");
  cmd->add_option("--at", args->at, "Judge validity at this RFC 3339 UTC instant (default: now)");
}

// Collateral, roots and the appraisal instant, shared by `citadel verify`
// and the client commands so that both judge evidence alike.
Status LoadAttestationInputs(const std::vector<std::string>& collateral, const std::vector<std::string>& chains,
                             const std::vector<std::string>& veks, const std::vector<std::string>& roots,
                             const std::string& at, CollateralBundle* bundle, std::vector<Bytes>* anchors,
                             std::optional<std::chrono::system_clock::time_point>* instant) {
  for (const auto* list : {&collateral, &chains, &veks}) {
    for (const auto& f : *list) CITADEL_RETURN_IF_ERROR(bundle->ImportFile(f));
  }
  for (const auto& r : roots) {
    auto bytes = ReadFileBytes(r, size_t{1} << 20);
    if (!bytes.ok()) return bytes.status().WithContext("--root");
    anchors->push_back(std::move(bytes).value());
  }
  if (!at.empty()) {
    auto t = ParseRfc3339(at);
    if (!t.ok()) return t.status().WithContext("--at");
    *instant = *t;
  }
  return Status::Ok();
}

// VerifyOptions for offline checks (receipts, audit exports) from the same
// flags; `bundle` must outlive the options.
Status OfflineVerifyOptions(const ConnectArgs& a, CollateralBundle* bundle, VerifyOptions* options) {
  std::optional<std::chrono::system_clock::time_point> at;
  CITADEL_RETURN_IF_ERROR(
      LoadAttestationInputs(a.collateral, a.chains, a.veks, a.roots, a.at, bundle, &options->trust_anchors, &at));
  options->collateral = bundle;
  if (at) options->now = *at;
  return Status::Ok();
}

Result<std::unique_ptr<Client>> ConnectWith(const ConnectArgs& args) {
  CITADEL_ASSIGN_OR_RETURN(Policy policy, Policy::LoadFile(args.policy));
  ClientOptions options;
  options.policy = std::move(policy);
  options.timeout = std::chrono::seconds(args.timeout);
  auto bundle = std::make_shared<CollateralBundle>();
  CITADEL_RETURN_IF_ERROR(LoadAttestationInputs(args.collateral, args.chains, args.veks, args.roots, args.at,
                                                bundle.get(), &options.trust_anchors, &options.verify_at));
  if (!bundle->items.empty()) options.collateral = std::move(bundle);
  if (!args.token_file.empty()) {
    CITADEL_ASSIGN_OR_RETURN(Bytes token, ReadFileBytes(args.token_file, 4096));
    options.token.assign(token.begin(), token.end());
    while (!options.token.empty() && (options.token.back() == '\n' || options.token.back() == '\r')) options.token.pop_back();
    SecureZero(token.data(), token.size());
  } else if (const char* env = std::getenv("CITADEL_TOKEN")) {
    options.token = env;
  }
  auto client = Client::Connect(args.server, options);
  if (!client.ok()) return client.status();
  if ((*client)->attestation().simulation) {
    std::cerr << "WARNING: the server runs on the SIMULATION platform: it protects nothing "
                 "(your policy allows simulation).\n";
  }
  return client;
}

std::string DescribeEvidence(const VerifiedEvidence& e) {
  std::string s;
  for (const auto& [k, v] : e.claims) s += "  " + k + ": " + v + "\n";
  return s;
}

int RunServe(const ServerOptions& options, const std::string& port_file) {
  // Block the stop signals in every thread; one thread waits for them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto server = Server::Create(options);
  if (!server.ok()) return Fail(server.status());
  std::cerr << "measurement: " << HexEncode((*server)->platform().measurement()) << "\n";
  if (!port_file.empty()) {
    std::string port = std::to_string((*server)->port()) + "\n";
    Status st = WriteFileAtomic(port_file, AsBytes(port), 0644);
    if (!st.ok()) return Fail(st);
  }
  Server* raw = server->get();
  std::thread waiter([raw, set] {
    int sig = 0;
    sigwait(&set, &sig);
    LogInfo("signal received, stopping");
    raw->Stop();
  });
  Status st = raw->Run();
  // Wake the waiter if Run ended on its own.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  return st.ok() ? 0 : Fail(st);
}

// `citadel conformance`: per-folder and overall counts on stdout (then the
// non-passing cases); exit 0 even when cases fail, 1 when nothing could run.
int RunConformance(const std::string& data_dir, const std::string& filter,
                   const std::string& json_path, bool verbose) {
  conformance::Options opts;
  opts.data_dir = data_dir;
  opts.filter = filter;
  if (verbose) {
    opts.on_case = [](const conformance::CaseResult& r) {
      std::cerr << conformance::CaseStatusName(r.status) << "\t" << r.folder << "/" << r.name
                << (r.reason.empty() ? "" : "\t" + r.reason) << "\n";
    };
  }
  auto report = conformance::Run(opts);
  if (!report.ok()) return Fail(report.status());
  std::cout << conformance::ReportToText(*report);
  if (!json_path.empty()) {
    std::string json = conformance::ReportToJson(*report);
    Status st = WriteFileAtomic(json_path, AsBytes(json), 0644);
    if (!st.ok()) return Fail(st);
  }
  if (report->summary.total == 0) return Fail(Status::NotFound("no conformance case matched"));
  return 0;
}

// `citadel verify`: offline verification of one piece of evidence against
// collateral and a policy (docs/attestation.md). Prints the attestation
// result; exit 0 only when it is accepted.
struct VerifyArgs {
  std::string evidence, kind = "auto", policy, now, nonce, write_bundle;
  std::vector<std::string> collateral, roots, chains, veks;
  bool json = false;
};

int RunVerify(const VerifyArgs& a) {
  auto input = ReadFileBytes(a.evidence, size_t{16} << 20);
  if (!input.ok()) return Fail(input.status());
  Evidence evidence;
  if (a.kind == "auto") {
    auto detected = DetectEvidence(*input);
    if (!detected.ok()) return Fail(detected.status());
    evidence = std::move(detected).value();
  } else {
    auto kind = EvidenceKindFromName(a.kind);
    if (!kind) return Fail(Status::InvalidArgument("--kind must be auto, sgx, tdx, snp, nvidia or sim"));
    evidence = Evidence{*kind, std::move(input).value()};
  }
  CollateralBundle bundle;
  VerifyOptions options;
  std::optional<std::chrono::system_clock::time_point> instant;
  Status loaded = LoadAttestationInputs(a.collateral, a.chains, a.veks, a.roots, a.now, &bundle,
                                        &options.trust_anchors, &instant);
  if (!loaded.ok()) return Fail(loaded);
  if (!a.write_bundle.empty()) {
    Status st = WriteFileAtomic(a.write_bundle, AsBytes(bundle.ToJson()), 0644);
    if (!st.ok()) return Fail(st);
  }
  options.collateral = &bundle;
  if (instant) options.now = *instant;
  if (!a.nonce.empty()) {
    auto n = HexDecode(a.nonce);
    if (!n.ok()) return Fail(Status::InvalidArgument("--nonce must be hex"));
    options.expected_nonce = std::move(n).value();
  }
  std::optional<Policy> policy;
  if (!a.policy.empty()) {
    auto p = Policy::LoadFile(a.policy);
    if (!p.ok()) return Fail(p.status());
    policy = std::move(p).value();
  }
  Appraisal result = AppraiseEvidence(evidence, options, policy ? &*policy : nullptr);
  std::cout << (a.json ? result.ToJson() : result.ToText());
  return result.accepted() ? 0 : 1;
}

int Main(int argc, char** argv) {
  CLI::App app{"Citadel: confidential ONNX inference inside a TEE"};
  app.require_subcommand(1);
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "Only log warnings and errors");

  // serve
  auto* serve = app.add_subcommand("serve", "Run the inference server");
  ServerOptions serve_opts;
  std::string listen = "127.0.0.1:8443";
  std::string port_file;
  serve->add_option("--listen", listen, "HOST:PORT to listen on (port 0 = any free port)")->default_val(listen);
  serve->add_option("--state-dir", serve_opts.state_dir, "Directory for platform keys and sealed state")->required();
  serve->add_option("--platform", serve_opts.platform,
                    "TEE platform: auto|sim|sgx|tdx|snp (auto refuses to run without a TEE; sim protects nothing)")
      ->default_val("sim");
  serve->add_option("--config", serve_opts.config_path, "Server configuration file (JSON); part of the measurement");
  serve->add_option("--port-file", port_file, "Write the bound port to this file (for scripts and tests)");

  // measure
  auto* measure = app.add_subcommand(
      "measure", "Print the measurement a server reports: sim (binary + config) or gramine (from the signed enclave)");
  std::string measure_config, measure_binary, measure_platform = "sim", measure_manifest;
  measure->add_option("--platform", measure_platform, "sim | gramine")->default_val("sim");
  measure->add_option("--manifest", measure_manifest,
                      "gramine: the .sig (SIGSTRUCT) or .manifest.sgx that gramine-sgx-sign wrote");
  measure->add_option("--config", measure_config, "Server configuration file");
  measure->add_option("--binary", measure_binary, "Server binary (default: this citadel binary)");

  // attest
  auto* attest = app.add_subcommand("attest", "Verify a server's attestation against a policy");
  ConnectArgs attest_args;
  AddConnectOptions(attest, &attest_args);

  // verify (offline)
  auto* verify = app.add_subcommand("verify", "Verify attestation evidence offline (SGX, TDX, SEV-SNP, NVIDIA, sim)");
  VerifyArgs verify_args;
  auto* verify_ev = verify->add_option("evidence", verify_args.evidence, "EVIDENCE file (binary, hex or base64 text)");
  verify->add_option("--evidence", verify_args.evidence, "EVIDENCE file (same as the positional argument)")
      ->excludes(verify_ev);
  verify->add_option("--kind", verify_args.kind, "auto|sgx|tdx|snp|nvidia|sim (default auto)");
  verify->add_option("--collateral", verify_args.collateral,
                     "Collateral: a Citadel bundle or any importable file (repeatable)");
  verify->add_option("--chain", verify_args.chains, "Certificate chain file (AMD ASK/ARK, NVIDIA device chain)");
  verify->add_option("--vek", verify_args.veks, "AMD VCEK/VLEK certificate (PEM/DER)");
  verify->add_option("--root", verify_args.roots, "Trust ONLY this root (repeatable; default: built-in vendor roots)");
  verify->add_option("--policy", verify_args.policy, "Policy file (docs/policy.md)");
  verify->add_option("--now,--at", verify_args.now, "Judge validity at this RFC 3339 UTC instant");
  verify->add_option("--nonce", verify_args.nonce, "Expected nonce (hex; NVIDIA GPU evidence)");
  verify->add_option("--write-bundle", verify_args.write_bundle, "Also write the imported collateral as one bundle");
  verify->add_flag("--json", verify_args.json, "Print the attestation result as JSON");

  // upload
  auto* upload = app.add_subcommand("upload", "Upload an ONNX model to an attested server");
  ConnectArgs upload_args;
  std::string upload_name, upload_path;
  int64_t upload_version = 0;
  AddConnectOptions(upload, &upload_args);
  upload->add_option("--name", upload_name, "Model name")->required();
  upload->add_option("--version", upload_version, "Model version (default: next)");
  std::string upload_owner_key;
  bool upload_downgrade = false;
  upload->add_option("--owner-key", upload_owner_key, "Owner private key (PEM) that signs the upload");
  upload->add_flag("--allow-downgrade", upload_downgrade, "Owner-signed permission to install a lower version");
  upload->add_option("model", upload_path, "MODEL.onnx")->required()->check(CLI::ExistingFile);

  // infer
  auto* infer = app.add_subcommand("infer", "Run an inference on an attested server");
  ConnectArgs infer_args;
  std::string infer_model, infer_out = ".";
  std::vector<std::string> infer_inputs;
  AddConnectOptions(infer, &infer_args);
  infer->add_option("--model", infer_model, "Model name")->required();
  infer->add_option("--input", infer_inputs, "NAME=FILE.npy (repeatable)")->required();
  infer->add_option("--output-dir", infer_out, "Where to write OUTPUT_NAME.npy files")->default_val(".");
  std::string infer_receipt;
  infer->add_option("--receipt", infer_receipt, "Ask for a signed receipt, verify it, and save it to this file");

  // models
  auto* models = app.add_subcommand("models", "List the models on an attested server");
  ConnectArgs models_args;
  AddConnectOptions(models, &models_args);

  // delete
  auto* del = app.add_subcommand("delete", "Delete a model from an attested server");
  ConnectArgs delete_args;
  std::string delete_name;
  AddConnectOptions(del, &delete_args);
  del->add_option("--name", delete_name, "Model name")->required();
  std::string delete_owner_key;
  del->add_option("--owner-key", delete_owner_key, "Owner private key (PEM) that signs the deletion");

  // run (local, no server)
  auto* run = app.add_subcommand("run", "Run an ONNX model locally (no server, no TEE)");
  std::string run_model, run_out = ".";
  std::vector<std::string> run_inputs;
  int run_threads = 0;
  run->add_option("model", run_model, "MODEL.onnx")->required()->check(CLI::ExistingFile);
  run->add_option("--input", run_inputs, "NAME=FILE.npy (repeatable)");
  run->add_option("--output-dir", run_out, "Where to write OUTPUT_NAME.npy files")->default_val(".");
  run->add_option("--threads", run_threads, "Intra-op threads (0 = all cores)")->default_val(0);

  // inspect (local, no server): what a model needs and whether it can run
  auto* inspect = app.add_subcommand(
      "inspect", "Describe an ONNX model (inputs, outputs, opsets, ops) and whether every op is supported");
  std::string inspect_model;
  bool inspect_json = false;
  inspect->add_option("model", inspect_model, "MODEL.onnx")->required()->check(CLI::ExistingFile);
  inspect->add_flag("--json", inspect_json, "One JSON object on stdout instead of text");

  // bench (local latency, one JSON object on stdout; see docs/performance.md)
  auto* bench = app.add_subcommand("bench", "Time an ONNX model locally (JSON on stdout)");
  BenchArgs bench_args;
  bool bench_json = false, bench_no_opt = false;
  bench->add_option("model", bench_args.model, "MODEL.onnx")->required()->check(CLI::ExistingFile);
  bench->add_option("--input", bench_args.inputs, "NAME=FILE.npy (repeatable; random when omitted)");
  bench->add_option("--dim", bench_args.dims, "DIM_PARAM=VALUE for dynamic dims (default 1)");
  bench->add_option("--shape", bench_args.shapes, "INPUT=1x3x224x224 full input shape");
  bench->add_option("--threads", bench_args.threads, "Intra-op threads (0 = all cores)")->default_val(0);
  bench->add_option("--warmup", bench_args.warmup, "Untimed runs")->default_val(3);
  bench->add_option("--iters", bench_args.iters, "Timed runs")->default_val(20);
  bench->add_flag("--json", bench_json, "JSON output (the only format)");
  bench->add_flag("--no-optimize", bench_no_opt, "Skip graph optimisations");
  bench->add_flag("--profile", bench_args.profile,
                  "Also time each node (extra runs): per op type and top nodes in the JSON and on stderr");

  // conformance (ONNX backend test cases from libonnx-testdata)
  auto* conf = app.add_subcommand("conformance", "Run the ONNX conformance cases (libonnx-testdata) locally");
  std::string conf_filter, conf_json, conf_data = conformance::kDefaultDataDir;
  bool conf_verbose = false;
  conf->add_option("--filter", conf_filter, "Only cases whose name or folder/name matches this regex");
  conf->add_option("--json", conf_json, "Write the JSON report to this file");
  conf->add_option("--data", conf_data, "libonnx-testdata data directory")->default_val(conf_data);
  conf->add_flag("-v,--verbose", conf_verbose, "Print every case as it finishes");

  // keygen / token: credentials for the server configuration
  auto* keygen = app.add_subcommand("keygen", "Create a model-owner key pair (P-256)");
  std::string keygen_out;
  keygen->add_option("--out", keygen_out, "Write PREFIX.key (private, 0600) and PREFIX.pub (base64 SPKI)")->required();
  auto* token = app.add_subcommand("token", "Create a random bearer token for a user or auditor");
  std::string token_out;
  token->add_option("--out", token_out, "Token file to write (0600); its SHA-256 goes in the server config")->required();

  // receipt verify
  auto* receipt = app.add_subcommand("receipt", "Work with inference receipts");
  auto* receipt_verify = receipt->add_subcommand("verify", "Verify a receipt offline");
  receipt->require_subcommand(1);
  std::string receipt_file, receipt_policy;
  std::vector<std::string> receipt_inputs, receipt_outputs;
  receipt_verify->add_option("receipt", receipt_file, "RECEIPT.json")->required()->check(CLI::ExistingFile);
  receipt_verify->add_option("--policy", receipt_policy, "Also require the evidence to satisfy this policy");
  receipt_verify->add_option("--input", receipt_inputs, "NAME=FILE.npy that must match the receipt");
  receipt_verify->add_option("--output", receipt_outputs, "NAME=FILE.npy that must match the receipt");
  ConnectArgs receipt_evidence;
  AddEvidenceOptions(receipt_verify, &receipt_evidence);

  // audit
  auto* audit = app.add_subcommand("audit", "Fetch or verify the server's audit log");
  ConnectArgs audit_args;
  std::string audit_out;
  auto* audit_fetch = audit->add_subcommand("fetch", "Download the audit log with a signed checkpoint and verify it");
  AddConnectOptions(audit_fetch, &audit_args);
  audit_fetch->add_option("--out", audit_out, "Save the export (JSON) here");
  auto* audit_verify = audit->add_subcommand("verify", "Verify a saved audit export offline");
  std::string audit_file, audit_policy;
  audit_verify->add_option("export", audit_file, "AUDIT.json")->required()->check(CLI::ExistingFile);
  audit_verify->add_option("--policy", audit_policy, "Also require the evidence to satisfy this policy");
  ConnectArgs audit_evidence;
  AddEvidenceOptions(audit_verify, &audit_evidence);
  audit->require_subcommand(1);

  // Box-bound packages (offline model delivery)
  auto* box = app.add_subcommand("box-identity", "Export this box's package key and evidence (for `package`)");
  ConnectArgs box_args;
  std::string box_out, box_state_dir, box_config;
  box->add_option("--server", box_args.server, "Fetch from a running server (attested) ...");
  box->add_option("--policy", box_args.policy, "... checked against this policy");
  box->add_option("--token-file", box_args.token_file, "Bearer token file");
  box->add_option("--collateral", box_args.collateral, "Collateral for the server's hardware evidence (repeatable)");
  box->add_option("--root", box_args.roots, "Trust ONLY this root (repeatable)");
  box->add_option("--at", box_args.at, "Judge validity at this RFC 3339 UTC instant");
  box->add_option("--state-dir", box_state_dir, "... or read it offline on the box from the server's state directory");
  box->add_option("--config", box_config, "Server configuration (offline mode; part of the measurement)");
  box->add_option("-o,--out", box_out, "Where to write box.json")->required();

  auto* pkg = app.add_subcommand("package", "Seal a model to one box's attested key, signed by its owner");
  std::string pkg_model, pkg_name, pkg_owner, pkg_box, pkg_policy, pkg_out;
  int64_t pkg_version = 0;
  pkg->add_option("--model", pkg_model, "MODEL.onnx")->required()->check(CLI::ExistingFile);
  pkg->add_option("--name", pkg_name, "Model name")->required();
  pkg->add_option("--version", pkg_version, "Model version")->required();
  pkg->add_option("--owner-key", pkg_owner, "Owner private key (PEM)")->required();
  pkg->add_option("--for-evidence", pkg_box, "The box identity (box.json from `citadel box-identity`)")->required();
  pkg->add_option("--policy", pkg_policy, "Policy the box's evidence must satisfy")->required();
  pkg->add_option("-o,--out", pkg_out, "Package file to write (e.g. model.citadel)")->required();
  ConnectArgs pkg_evidence;  // --collateral/--chain/--vek/--root/--at, as for `citadel verify`
  AddEvidenceOptions(pkg, &pkg_evidence);

  auto* install = app.add_subcommand("install-package", "Install a box-bound package on an attested server");
  ConnectArgs install_args;
  std::string install_file;
  AddConnectOptions(install, &install_args);
  install->add_option("package", install_file, "MODEL.citadel")->required()->check(CLI::ExistingFile);

  KeyBrokerArgs broker_args;
  auto* key_broker = AddKeyBrokerCommand(app, &broker_args);

  CLI11_PARSE(app, argc, argv);
  SetLogLevel(quiet ? LogLevel::kWarning : LogLevel::kInfo);

  if (*key_broker) return RunKeyBroker(broker_args);

  if (*serve) {
    size_t colon = listen.rfind(':');
    if (colon == std::string::npos) return Fail(Status::InvalidArgument("--listen must be HOST:PORT"));
    serve_opts.listen_host = listen.substr(0, colon);
    try {
      serve_opts.port = std::stoi(listen.substr(colon + 1));
    } catch (...) {
      return Fail(Status::InvalidArgument("--listen port is not a number"));
    }
    if (serve_opts.port < 0 || serve_opts.port > 65535) return Fail(Status::InvalidArgument("--listen port out of range"));
    return RunServe(serve_opts, port_file);
  }
  if (*measure && measure_platform == "gramine") {
    // MRENCLAVE is computed by gramine-sgx-sign over the enclave layout; it
    // is recorded in the SIGSTRUCT (<app>.sig) next to <app>.manifest.sgx.
    std::string path = measure_manifest;
    const std::string suffix = ".manifest.sgx";
    if (path.size() > suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0) {
      path = path.substr(0, path.size() - suffix.size()) + ".sig";
    }
    if (path.empty()) return Fail(Status::InvalidArgument("measure --platform gramine needs --manifest FILE"));
    auto bytes = ReadFileBytes(path, 1 << 16);
    if (!bytes.ok()) return Fail(bytes.status());
    auto info = ParseSgxSigstruct(*bytes);
    if (!info.ok()) return Fail(info.status().WithContext(path));
    std::cout << "mrenclave: " << HexEncode(info->mrenclave) << "\n";
    std::cout << "mrsigner: " << HexEncode(info->mrsigner) << "\n";
    std::cout << "isv_prod_id: " << info->isv_prod_id << "\n";
    std::cout << "isv_svn: " << info->isv_svn << "\n";
    if (info->debug()) std::cout << "WARNING: this enclave is signed with DEBUG allowed: it is NOT confidential\n";
    return info->debug() ? 3 : 0;
  }
  if (*measure && measure_platform != "sim") {
    return Fail(Status::InvalidArgument("measure --platform must be sim or gramine (TDX/SNP: see deploy/)"));
  }
  if (*measure) {
    Bytes config;
    if (!measure_config.empty()) {
      auto c = ReadFileBytes(measure_config, 1 << 20);
      if (!c.ok()) return Fail(c.status());
      config = std::move(c).value();
    }
    auto m = ComputeSimMeasurement(measure_binary.empty() ? "/proc/self/exe" : measure_binary, config);
    if (!m.ok()) return Fail(m.status());
    std::cout << HexEncode(*m) << "\n";
    return 0;
  }
  if (*verify) {
    if (verify_args.evidence.empty()) return Fail(Status::InvalidArgument("verify: give the EVIDENCE file"));
    return RunVerify(verify_args);
  }
  if (*attest) {
    auto client = ConnectWith(attest_args);
    if (!client.ok()) {
      std::cout << "verdict: REFUSED\n";
      return Fail(client.status());
    }
    const auto& e = (*client)->attestation();
    std::cout << "verdict: ACCEPTED" << (e.simulation ? " (SIMULATION: no hardware protection)" : "") << "\n";
    std::cout << "platform: " << EvidenceKindName(e.kind) << "\n";
    std::cout << "measurement: " << HexEncode(e.measurement) << "\n";
    std::cout << "tls key sha256: " << HexEncode(Sha256((*client)->pinned_key())) << "\n";
    std::cout << "claims:\n" << DescribeEvidence(e);
    return 0;
  }
  if (*upload) {
    auto client = ConnectWith(upload_args);
    if (!client.ok()) return Fail(client.status());
    auto bytes = ReadFileBytes(upload_path);
    if (!bytes.ok()) return Fail(bytes.status());
    UploadOptions options;
    if (upload_version > 0) options.version = upload_version;
    std::optional<OwnerKey> owner;
    if (!upload_owner_key.empty()) {
      auto key = OwnerKey::LoadPrivatePem(upload_owner_key);
      if (!key.ok()) return Fail(key.status());
      owner = std::move(key).value();
      options.owner = &*owner;
    }
    options.allow_downgrade = upload_downgrade;
    size_t last_percent = 101;
    if (bytes->size() >= (size_t{8} << 20)) {
      options.progress = [&last_percent](size_t sent, size_t total) {
        size_t percent = total ? sent * 100 / total : 100;
        if (percent != last_percent && percent % 10 == 0) {
          std::cerr << "upload: " << percent << "% (" << sent / (1 << 20) << " of " << total / (1 << 20) << " MiB)\n";
          last_percent = percent;
        }
      };
    }
    auto info = (*client)->UploadModel(upload_name, *bytes, options);
    if (!info.ok()) return Fail(info.status());
    std::cout << "uploaded " << info->name << " version " << info->version << " id " << info->id
              << (info->signer.empty() ? " (unsigned: server has no owners configured)" : " signer " + info->signer)
              << "\n";
    return 0;
  }
  if (*infer) {
    auto inputs = ReadInputs(infer_inputs);
    if (!inputs.ok()) return Fail(inputs.status());
    auto client = ConnectWith(infer_args);
    if (!client.ok()) return Fail(client.status());
    if (!infer_receipt.empty()) {
      auto result = (*client)->InferWithReceipt(infer_model, *inputs);
      if (!result.ok()) return Fail(result.status());
      Status st = WriteOutputs(result->outputs, infer_out);
      if (!st.ok()) return Fail(st);
      st = WriteFileAtomic(infer_receipt, AsBytes(result->receipt.dump(2) + "\n"), 0644);
      if (!st.ok()) return Fail(st);
      std::cout << "receipt verified and saved to " << infer_receipt << "\n";
      return 0;
    }
    auto outputs = (*client)->Infer(infer_model, *inputs);
    if (!outputs.ok()) return Fail(outputs.status());
    Status st = WriteOutputs(*outputs, infer_out);
    return st.ok() ? 0 : Fail(st);
  }
  if (*models) {
    auto client = ConnectWith(models_args);
    if (!client.ok()) return Fail(client.status());
    auto list = (*client)->ListModels();
    if (!list.ok()) return Fail(list.status());
    if (list->empty()) std::cout << "(no models)\n";
    for (const auto& m : *list) {
      std::cout << m.name << "\tversion " << m.version << "\tid " << m.id << "\t" << m.size_bytes << " bytes\n";
    }
    return 0;
  }
  if (*del) {
    auto client = ConnectWith(delete_args);
    if (!client.ok()) return Fail(client.status());
    std::optional<OwnerKey> owner;
    if (!delete_owner_key.empty()) {
      auto key = OwnerKey::LoadPrivatePem(delete_owner_key);
      if (!key.ok()) return Fail(key.status());
      owner = std::move(key).value();
    }
    Status st = (*client)->DeleteModel(delete_name, owner ? &*owner : nullptr);
    if (!st.ok()) return Fail(st);
    std::cout << "deleted " << delete_name << "\n";
    return 0;
  }
  if (*box) {
    BoxIdentity identity;
    if (!box_state_dir.empty()) {
      Bytes config;
      if (!box_config.empty()) {
        auto c = ReadFileBytes(box_config, 1 << 20);
        if (!c.ok()) return Fail(c.status());
        config = std::move(c).value();
      }
      SimPlatformOptions sim;
      sim.state_dir = box_state_dir;
      sim.config_bytes = config;
      auto platform = OpenSimPlatform(sim);
      if (!platform.ok()) return Fail(platform.status());
      auto key = DerivePackageKey(**platform);
      if (!key.ok()) return Fail(key.status());
      auto made = MakeBoxIdentity(**platform, *key);
      if (!made.ok()) return Fail(made.status());
      identity = std::move(made).value();
    } else {
      if (box_args.server.empty() || box_args.policy.empty()) {
        return Fail(Status::InvalidArgument("give --server and --policy, or --state-dir on the box itself"));
      }
      auto client = ConnectWith(box_args);
      if (!client.ok()) return Fail(client.status());
      auto fetched = (*client)->GetBoxIdentity();
      if (!fetched.ok()) return Fail(fetched.status());
      identity = std::move(fetched).value();
    }
    Status st = WriteFileAtomic(box_out, AsBytes(BoxIdentityToJson(identity).dump(2) + "\n"), 0644);
    if (!st.ok()) return Fail(st);
    std::cout << "box identity written to " << box_out << " (package key sha256 "
              << HexEncode(Sha256(identity.public_key)) << ")\n";
    return 0;
  }
  if (*pkg) {
    auto policy = Policy::LoadFile(pkg_policy);
    if (!policy.ok()) return Fail(policy.status());
    auto owner = OwnerKey::LoadPrivatePem(pkg_owner);
    if (!owner.ok()) return Fail(owner.status());
    auto box_text = ReadFileBytes(pkg_box, 1 << 20);
    if (!box_text.ok()) return Fail(box_text.status());
    auto box_json = nlohmann::json::parse(box_text->begin(), box_text->end(), nullptr, false);
    auto identity = BoxIdentityFromJson(box_json);
    if (!identity.ok()) return Fail(identity.status().WithContext(pkg_box));
    auto model = ReadFileBytes(pkg_model);
    if (!model.ok()) return Fail(model.status());
    CollateralBundle pkg_bundle;
    VerifyOptions pkg_options;
    Status inputs = OfflineVerifyOptions(pkg_evidence, &pkg_bundle, &pkg_options);
    if (!inputs.ok()) return Fail(inputs);
    auto package = BuildPackage(*identity, *policy, *owner, pkg_name, pkg_version, *model, pkg_options);
    if (!package.ok()) return Fail(package.status());
    Status st = WriteFileAtomic(pkg_out, *package, 0644);
    if (!st.ok()) return Fail(st);
    std::cout << "package " << pkg_out << ": " << pkg_name << " v" << pkg_version << ", sealed to box key "
              << HexEncode(Sha256(identity->public_key)).substr(0, 16) << "..., signed by " << owner->key_id() << "\n";
    return 0;
  }
  if (*install) {
    auto client = ConnectWith(install_args);
    if (!client.ok()) return Fail(client.status());
    auto bytes = ReadFileBytes(install_file);
    if (!bytes.ok()) return Fail(bytes.status());
    auto info = (*client)->InstallPackage(*bytes);
    if (!info.ok()) return Fail(info.status());
    std::cout << "installed " << info->name << " version " << info->version << " id " << info->id << " signer "
              << info->signer << "\n";
    return 0;
  }
  if (*keygen) {
    auto key = OwnerKey::Generate();
    if (!key.ok()) return Fail(key.status());
    Status st = key->SavePrivatePem(keygen_out + ".key");
    if (!st.ok()) return Fail(st);
    std::string pub = Base64Encode(key->spki_der());
    st = WriteFileAtomic(keygen_out + ".pub", AsBytes(pub + "\n"), 0644);
    if (!st.ok()) return Fail(st);
    std::cout << "private key: " << keygen_out << ".key (keep it off the server)\n"
              << "key id: " << key->key_id() << "\n"
              << "server config entry: {\"name\": \"OWNER\", \"public_key\": \"" << pub << "\"}\n";
    return 0;
  }
  if (*token) {
    Bytes raw(32);
    Status st = RandomBytes(raw);
    if (!st.ok()) return Fail(st);
    std::string text = HexEncode(raw);
    SecureZero(raw.data(), raw.size());
    st = WriteFileAtomic(token_out, AsBytes(text + "\n"), 0600);
    if (!st.ok()) return Fail(st);
    std::cout << "token written to " << token_out << "\n"
              << "server config entry: {\"name\": \"NAME\", \"token_sha256\": \"" << HexEncode(Sha256(AsBytes(text)))
              << "\"}\n";
    SecureZero(text.data(), text.size());
    return 0;
  }
  if (*receipt_verify) {
    auto text = ReadFileBytes(receipt_file, 16 << 20);
    if (!text.ok()) return Fail(text.status());
    auto j = nlohmann::json::parse(text->begin(), text->end(), nullptr, false);
    if (j.is_discarded()) return Fail(Status::InvalidArgument(receipt_file + " is not JSON"));
    ReceiptCheck check;
    std::optional<Policy> policy;
    if (!receipt_policy.empty()) {
      auto p = Policy::LoadFile(receipt_policy);
      if (!p.ok()) return Fail(p.status());
      policy = std::move(p).value();
      check.policy = &*policy;
    }
    auto ins = ReadInputs(receipt_inputs);
    if (!ins.ok()) return Fail(ins.status());
    auto outs = ReadInputs(receipt_outputs);
    if (!outs.ok()) return Fail(outs.status());
    check.inputs = std::move(ins).value();
    check.outputs = std::move(outs).value();
    CollateralBundle bundle;
    VerifyOptions options;
    if (Status st = OfflineVerifyOptions(receipt_evidence, &bundle, &options); !st.ok()) return Fail(st);
    auto v = VerifyReceipt(j, check, options);
    if (!v.ok()) {
      std::cout << "receipt: INVALID\n";
      return Fail(v.status());
    }
    std::cout << "receipt: VALID" << (v->evidence.simulation ? " (SIMULATION evidence: proves nothing about hardware)" : "")
              << (policy ? ", evidence accepted by the policy" : ", evidence verified (no policy given)") << "\n"
              << v->payload.dump(2) << "\n";
    return 0;
  }
  if (*audit_fetch) {
    auto client = ConnectWith(audit_args);
    if (!client.ok()) return Fail(client.status());
    auto exported = (*client)->GetAudit();
    if (!exported.ok()) return Fail(exported.status());
    std::cout << "audit log: " << exported->verification.entries << " entries, chain and signed checkpoint verified\n";
    for (const auto& e : exported->entries) {
      std::cout << "  #" << e["seq"] << " " << e["event"].get<std::string>() << " " << e["data"].dump() << "\n";
    }
    if (!audit_out.empty()) {
      nlohmann::json j = {{"entries", exported->entries}, {"checkpoint", exported->checkpoint}};
      Status st = WriteFileAtomic(audit_out, AsBytes(j.dump() + "\n"), 0644);
      if (!st.ok()) return Fail(st);
    }
    return 0;
  }
  if (*audit_verify) {
    auto text = ReadFileBytes(audit_file, size_t{1} << 30);
    if (!text.ok()) return Fail(text.status());
    auto j = nlohmann::json::parse(text->begin(), text->end(), nullptr, false);
    if (!j.is_object() || !j.contains("entries") || !j["entries"].is_array() || !j.contains("checkpoint")) {
      return Fail(Status::InvalidArgument(audit_file + " is not an audit export"));
    }
    std::optional<Policy> policy;
    if (!audit_policy.empty()) {
      auto p = Policy::LoadFile(audit_policy);
      if (!p.ok()) return Fail(p.status());
      policy = std::move(p).value();
    }
    std::vector<nlohmann::json> entries(j["entries"].begin(), j["entries"].end());
    CollateralBundle bundle;
    VerifyOptions options;
    if (Status st = OfflineVerifyOptions(audit_evidence, &bundle, &options); !st.ok()) return Fail(st);
    auto v = VerifyAuditLog(entries, &j["checkpoint"], policy ? &*policy : nullptr, options);
    if (!v.ok()) {
      std::cout << "audit log: INVALID\n";
      return Fail(v.status());
    }
    std::cout << "audit log: VALID, " << v->entries << " entries, head " << v->head_hash << "\n";
    return 0;
  }
  if (*bench) {
    bench_args.optimize = !bench_no_opt;
    return RunBench(bench_args);
  }
  if (*run) {
    LoadOptions load;
    load.threads = run_threads;
    load.external_data_dir = std::filesystem::absolute(run_model).parent_path().string();
    auto model = Model::LoadFile(run_model, load);
    if (!model.ok()) return Fail(model.status());
    auto inputs = ReadInputs(run_inputs);
    if (!inputs.ok()) return Fail(inputs.status());
    auto outputs = (*model)->Run(*inputs);
    if (!outputs.ok()) return Fail(outputs.status());
    Status st = WriteOutputs(*outputs, run_out);
    return st.ok() ? 0 : Fail(st);
  }
  if (*inspect) {
    // Exit 0 only when the model would load; 1 lists what is missing.
    LoadOptions load;
    load.external_data_dir = std::filesystem::absolute(inspect_model).parent_path().string();
    auto bytes = ReadFileBytes(inspect_model, load.max_model_bytes);
    if (!bytes.ok()) return Fail(bytes.status());
    auto info = InspectModel(*bytes, load);
    if (!info.ok()) return Fail(info.status());
    std::cout << (inspect_json ? InspectionToJson(*info) : InspectionToText(*info));
    return info->supported() ? 0 : 1;
  }
  if (*conf) {
    return RunConformance(conf_data, conf_filter, conf_json, conf_verbose);
  }
  return 2;
}

}  // namespace
}  // namespace citadel

int main(int argc, char** argv) {
  citadel::EnsureOpenMpWaitPolicy(argv);  // may re-exec once (src/cli/openmp_env.cc)
  citadel::TuneAllocatorForInference();
  return citadel::Main(argc, argv);
}
