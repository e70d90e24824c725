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
#include "citadel/bytes.h"
#include "citadel/client.h"
#include "citadel/engine.h"
#include "citadel/log.h"
#include "citadel/npy.h"
#include "citadel/server.h"
#include "citadel/tee.h"

namespace citadel {
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
  int timeout = 120;
};

void AddConnectOptions(CLI::App* cmd, ConnectArgs* args) {
  cmd->add_option("--server", args->server, "Server URL, e.g. https://127.0.0.1:8443")->required();
  cmd->add_option("--policy", args->policy, "Client policy file (JSON, see docs/policy.md)")->required();
  cmd->add_option("--timeout", args->timeout, "Seconds to wait for each call")->default_val(120);
}

Result<std::unique_ptr<Client>> ConnectWith(const ConnectArgs& args) {
  CITADEL_ASSIGN_OR_RETURN(Policy policy, Policy::LoadFile(args.policy));
  ClientOptions options;
  options.policy = std::move(policy);
  options.timeout = std::chrono::seconds(args.timeout);
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
  serve->add_option("--platform", serve_opts.platform, "TEE platform: sim")->default_val("sim");
  serve->add_option("--config", serve_opts.config_path, "Server configuration file (JSON); part of the measurement");
  serve->add_option("--port-file", port_file, "Write the bound port to this file (for scripts and tests)");

  // measure
  auto* measure = app.add_subcommand("measure", "Print the measurement a sim server with this config reports");
  std::string measure_config, measure_binary;
  measure->add_option("--config", measure_config, "Server configuration file");
  measure->add_option("--binary", measure_binary, "Server binary (default: this citadel binary)");

  // attest
  auto* attest = app.add_subcommand("attest", "Verify a server's attestation against a policy");
  ConnectArgs attest_args;
  AddConnectOptions(attest, &attest_args);

  // upload
  auto* upload = app.add_subcommand("upload", "Upload an ONNX model to an attested server");
  ConnectArgs upload_args;
  std::string upload_name, upload_path;
  int64_t upload_version = 0;
  AddConnectOptions(upload, &upload_args);
  upload->add_option("--name", upload_name, "Model name")->required();
  upload->add_option("--version", upload_version, "Model version (default: next)");
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

  // run (local, no server)
  auto* run = app.add_subcommand("run", "Run an ONNX model locally (no server, no TEE)");
  std::string run_model, run_out = ".";
  std::vector<std::string> run_inputs;
  int run_threads = 0;
  run->add_option("model", run_model, "MODEL.onnx")->required()->check(CLI::ExistingFile);
  run->add_option("--input", run_inputs, "NAME=FILE.npy (repeatable)");
  run->add_option("--output-dir", run_out, "Where to write OUTPUT_NAME.npy files")->default_val(".");
  run->add_option("--threads", run_threads, "Intra-op threads (0 = all cores)")->default_val(0);

  CLI11_PARSE(app, argc, argv);
  SetLogLevel(quiet ? LogLevel::kWarning : LogLevel::kInfo);

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
    std::optional<int64_t> version;
    if (upload_version > 0) version = upload_version;
    auto info = (*client)->UploadModel(upload_name, *bytes, version);
    if (!info.ok()) return Fail(info.status());
    std::cout << "uploaded " << info->name << " version " << info->version << " id " << info->id << "\n";
    return 0;
  }
  if (*infer) {
    auto inputs = ReadInputs(infer_inputs);
    if (!inputs.ok()) return Fail(inputs.status());
    auto client = ConnectWith(infer_args);
    if (!client.ok()) return Fail(client.status());
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
    Status st = (*client)->DeleteModel(delete_name);
    if (!st.ok()) return Fail(st);
    std::cout << "deleted " << delete_name << "\n";
    return 0;
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
  return 2;
}

}  // namespace
}  // namespace citadel

int main(int argc, char** argv) { return citadel::Main(argc, argv); }
