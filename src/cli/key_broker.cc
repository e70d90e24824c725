// `citadel key-broker`: the model owner's attested key release service
// (docs/key-release.md). Plain HTTP on purpose: the answer is HPKE-sealed to
// a key only the requesting TEE holds and signed by the broker's key that the
// server pins, so the transport adds nothing; evidence is not secret.
#include <signal.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "citadel/attest.h"
#include "citadel/attest/collateral.h"
#include "citadel/key_release.h"
#include "citadel/log.h"
#include "citadel/protocol.h"
#include "key_broker.h"

namespace citadel {


CLI::App* AddKeyBrokerCommand(CLI::App& app, KeyBrokerArgs* args) {
  auto* cmd = app.add_subcommand("key-broker", "Attested key release for TEEs without sealing keys (TDX)");
  cmd->add_option("--listen", args->listen, "HOST:PORT (port 0 = any free port)")->default_val(args->listen);
  cmd->add_option("--state-dir", args->state_dir, "Broker keys (created 0700 on first run)")->required();
  cmd->add_option("--policy", args->policy, "Policy the requesting TEE's evidence must meet (docs/policy.md)");
  cmd->add_option("--collateral", args->collateral, "Collateral for hardware evidence (repeatable)");
  cmd->add_option("--root", args->roots, "Trust ONLY this root (repeatable; default: built-in vendor roots)");
  cmd->add_option("--port-file", args->port_file, "Write the bound port to this file");
  cmd->add_flag("--print-public-key", args->print_public_key,
                "Print the broker key (base64 SPKI, for the server's key_release.broker_public_key) and exit");
  return cmd;
}

int RunKeyBroker(const KeyBrokerArgs& args) {
  auto fail = [](const Status& st) {
    std::cerr << "error: " << st.ToString() << "\n";
    return 1;
  };
  auto broker = KeyBroker::Open(args.state_dir);
  if (!broker.ok()) return fail(broker.status());
  if (args.print_public_key) {
    std::cout << Base64Encode((*broker)->public_key_spki()) << "\n";
    return 0;
  }
  if (args.policy.empty()) return fail(Status::InvalidArgument("--policy is required to serve"));
  auto policy = Policy::LoadFile(args.policy);
  if (!policy.ok()) return fail(policy.status().WithContext("--policy"));
  auto bundle = std::make_shared<CollateralBundle>();
  for (const auto& f : args.collateral) {
    if (Status st = bundle->ImportFile(f); !st.ok()) return fail(st.WithContext("--collateral"));
  }
  std::vector<Bytes> anchors;
  for (const auto& r : args.roots) {
    auto bytes = ReadFileBytes(r, size_t{1} << 20);
    if (!bytes.ok()) return fail(bytes.status().WithContext("--root"));
    anchors.push_back(std::move(bytes).value());
  }
  const size_t colon = args.listen.rfind(':');
  if (colon == std::string::npos) return fail(Status::InvalidArgument("--listen must be HOST:PORT"));
  const std::string host = args.listen.substr(0, colon);
  int port = -1;
  try {
    port = std::stoi(args.listen.substr(colon + 1));
  } catch (const std::exception&) {
  }
  if (port < 0 || port > 65535) return fail(Status::InvalidArgument("--listen port is not a port number"));

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  httplib::Server http;
  http.set_payload_max_length(1 << 20);
  http.set_read_timeout(30, 0);
  http.set_write_timeout(30, 0);
  const KeyBroker& b = **broker;
  const Policy& p = *policy;
  http.Get("/v1/public-key", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(nlohmann::json{{"broker_public_key", Base64Encode(b.public_key_spki())}}.dump(),
                    "application/json");
  });
  http.Post("/v1/key-release", [&](const httplib::Request& req, httplib::Response& res) {
    auto request = ParseJson(req.body);
    VerifyOptions options;
    options.now = std::chrono::system_clock::now();
    options.collateral = bundle->items.empty() ? nullptr : bundle.get();
    options.trust_anchors = anchors;
    Result<nlohmann::json> answer = request.ok() ? b.Release(*request, p, options) : Result<nlohmann::json>(request.status());
    if (!answer.ok()) {
      // The reason goes to the requester and the log; it names the failed
      // check, never key material.
      LogWarning("key release refused from " + req.remote_addr + ": " + answer.status().ToString());
      res.status = HttpStatusFor(answer.status().code());
      res.set_content(ErrorBody(answer.status()), "application/json");
      return;
    }
    LogInfo("key released to " + req.remote_addr + " (" + (*answer)["kind"].get<std::string>() + ", measurement " +
            (*answer)["measurement"].get<std::string>() + ")");
    res.set_content(answer->dump(), "application/json");
  });
  const int bound = port == 0 ? http.bind_to_any_port(host) : (http.bind_to_port(host, port) ? port : -1);
  if (bound < 0) return fail(Status::Unavailable("cannot listen on " + args.listen));
  if (!args.port_file.empty()) {
    const std::string text = std::to_string(bound) + "\n";
    if (Status st = WriteFileAtomic(args.port_file, AsBytes(text), 0644); !st.ok()) return fail(st);
  }
  std::cerr << "key broker listening on " << host << ":" << bound << "; public key "
            << Base64Encode(b.public_key_spki()) << "\n";
  std::thread waiter([&http, set] {
    int sig = 0;
    sigwait(&set, &sig);
    http.stop();
  });
  http.listen_after_bind();
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  return 0;
}

}  // namespace citadel
