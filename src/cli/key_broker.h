// `citadel key-broker` (key_broker.cc; docs/key-release.md).
#ifndef CITADEL_CLI_KEY_BROKER_H_
#define CITADEL_CLI_KEY_BROKER_H_

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace citadel {

struct KeyBrokerArgs {
  std::string listen = "127.0.0.1:9443";
  std::string state_dir;
  std::string policy;
  std::vector<std::string> collateral, roots;
  std::string port_file;
  bool print_public_key = false;
};

// Registers the subcommand; run it with RunKeyBroker when it was parsed.
CLI::App* AddKeyBrokerCommand(CLI::App& app, KeyBrokerArgs* args);
int RunKeyBroker(const KeyBrokerArgs& args);

}  // namespace citadel

#endif  // CITADEL_CLI_KEY_BROKER_H_
