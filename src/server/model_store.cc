#include "model_store.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstring>
#include <filesystem>

#include "citadel/byte_reader.h"
#include "citadel/crypto.h"
#include "citadel/files.h"
#include "citadel/log.h"
#include "citadel/protocol.h"

namespace citadel {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kMagic[] = "CTDLMDL1";
constexpr char kModelAad[] = "citadel/model/v1";
constexpr char kVersionsAad[] = "citadel/versions/v1";
constexpr char kExtension[] = ".cmodel";
constexpr size_t kMaxHeader = 64 * 1024;

Bytes Aad(std::string_view prefix, ByteSpan header) {
  Bytes aad(prefix.begin(), prefix.end());
  aad.insert(aad.end(), header.begin(), header.end());
  return aad;
}

json HeaderToJson(const StoredModelHeader& h) {
  return json{{"format", 1},          {"name", h.name},         {"version", h.version},
              {"id", h.id},           {"signer", h.signer},     {"signed_at", h.signed_at},
              {"stored_at", h.stored_at}, {"signature", h.signature}};
}

Result<StoredModelHeader> HeaderFromJson(ByteSpan bytes) {
  json j = json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::DataLoss("model file header is not JSON");
  try {
    if (j.at("format").get<int>() != 1) return Status::DataLoss("model file has an unknown format version");
    StoredModelHeader h;
    h.name = j.at("name").get<std::string>();
    h.version = j.at("version").get<int64_t>();
    h.id = j.at("id").get<std::string>();
    h.signer = j.at("signer").get<std::string>();
    h.signed_at = j.at("signed_at").get<int64_t>();
    h.stored_at = j.at("stored_at").get<int64_t>();
    h.signature = j.at("signature").get<std::string>();
    return h;
  } catch (const json::exception&) {
    return Status::DataLoss("model file header is missing fields");
  }
}

}  // namespace

Result<std::unique_ptr<ModelStore>> ModelStore::Open(const std::string& state_dir, SecretBytes key) {
  if (key.size() != 32) return Status::Internal("model store key must be 32 bytes");
  std::error_code ec;
  fs::create_directories(fs::path(state_dir) / "models", ec);
  if (ec) return Status::Internal("cannot create " + state_dir + "/models: " + ec.message());
  fs::permissions(fs::path(state_dir) / "models", fs::perms::owner_all, fs::perm_options::replace, ec);
  // A kill between a temporary file's creation and its rename leaves it on
  // disk. Nothing ever reads one, but it holds sealed bytes and disk space:
  // remove them (the caller holds the state-directory lock, so no writer is
  // active).
  const size_t leftovers = RemoveAtomicWriteLeftovers((fs::path(state_dir) / "models").string()) +
                           RemoveAtomicWriteLeftovers(state_dir);
  if (leftovers > 0) {
    LogInfo("removed " + std::to_string(leftovers) + " unfinished write(s) left by an interrupted earlier run");
  }
  std::unique_ptr<ModelStore> store(new ModelStore(state_dir, std::move(key)));
  CITADEL_RETURN_IF_ERROR(store->LoadVersions());
  return store;
}

Status ModelStore::Save(const StoredModelHeader& header, ByteSpan onnx) {
  CITADEL_RETURN_IF_ERROR(ValidateModelName(header.name));
  std::string header_text = HeaderToJson(header).dump();
  CITADEL_ASSIGN_OR_RETURN(Bytes sealed, AeadSeal(key_.span(), onnx, Aad(kModelAad, AsBytes(header_text))));
  ByteWriter w;
  w.Append(AsBytes(std::string_view(kMagic, 8)));
  if (!w.U32LePrefixed(AsBytes(header_text))) return Status::Internal("model header too large");
  w.Append(sealed);
  std::string path = (fs::path(dir_) / "models" / (header.name + kExtension)).string();
  return WriteFileAtomic(path, w.bytes(), 0600);
}

Status ModelStore::Remove(const std::string& name) {
  CITADEL_RETURN_IF_ERROR(ValidateModelName(name));
  fs::path path = fs::path(dir_) / "models" / (name + kExtension);
  std::error_code ec;
  if (!fs::remove(path, ec) && ec) return Status::Internal("cannot remove stored model " + name + ": " + ec.message());
  return Status::Ok();
}

Result<LoadedModelFile> ModelStore::OpenFile(const std::string& path, const std::string& expected_name) {
  CITADEL_ASSIGN_OR_RETURN(Bytes file, ReadFileBytes(path, size_t{8} << 30));
  ByteReader r(file);
  ByteSpan magic;
  if (!r.ReadBytes(8, &magic) || std::memcmp(magic.data(), kMagic, 8) != 0) {
    return Status::DataLoss("not a Citadel sealed model file (bad magic)");
  }
  ByteReader header_reader;
  if (!r.ReadU32LePrefixed(&header_reader) || header_reader.remaining() > kMaxHeader) {
    return Status::DataLoss("sealed model file is truncated or has a bad header length");
  }
  ByteSpan header_bytes = header_reader.rest();
  auto opened = AeadOpen(key_.span(), r.rest(), Aad(kModelAad, header_bytes));
  if (!opened.ok()) {
    return Status::DataLoss("sealed model does not authenticate (changed, truncated, or sealed on another machine)");
  }
  CITADEL_ASSIGN_OR_RETURN(StoredModelHeader header, HeaderFromJson(header_bytes));
  if (header.name != expected_name) {
    return Status::DataLoss("sealed model file for '" + header.name + "' found under the name '" + expected_name +
                            "' (files swapped)");
  }
  if (HexEncode(Sha256(opened->span())) != header.id) {
    return Status::DataLoss("sealed model bytes do not match their recorded SHA-256");
  }
  if (header.version < HighestVersion(header.name)) {
    return Status::DataLoss("sealed model '" + header.name + "' is version " + std::to_string(header.version) +
                            " but version " + std::to_string(HighestVersion(header.name)) +
                            " was installed: an old file was restored (rollback)");
  }
  LoadedModelFile out;
  out.header = std::move(header);
  out.onnx = std::move(opened).value();
  return out;
}

std::vector<LoadedModelFile> ModelStore::LoadAll(std::vector<std::pair<std::string, Status>>* refused) {
  std::vector<LoadedModelFile> out;
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(fs::path(dir_) / "models", ec)) {
    if (entry.path().extension() == kExtension) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    std::string name = path.stem().string();
    auto opened = OpenFile(path.string(), name);
    if (!opened.ok()) {
      refused->emplace_back(path.filename().string(), opened.status());
      continue;
    }
    out.push_back(std::move(opened).value());
  }
  return out;
}

int64_t ModelStore::HighestVersion(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = versions_.find(name);
  return it == versions_.end() ? 0 : it->second;
}

Status ModelStore::RecordVersion(const std::string& name, int64_t version) {
  std::lock_guard lock(mu_);
  int64_t& v = versions_[name];
  if (version <= v) return Status::Ok();
  v = version;
  json j = versions_;
  std::string text = j.dump();
  CITADEL_ASSIGN_OR_RETURN(Bytes sealed, AeadSeal(key_.span(), AsBytes(text), AsBytes(kVersionsAad)));
  return WriteFileAtomic((fs::path(dir_) / "versions.sealed").string(), sealed, 0600);
}

Status ModelStore::LoadVersions() {
  std::string path = (fs::path(dir_) / "versions.sealed").string();
  auto file = ReadFileBytes(path, 16 << 20);
  if (!file.ok()) {
    if (file.status().code() == Code::kNotFound) return Status::Ok();
    return file.status();
  }
  auto opened = AeadOpen(key_.span(), *file, AsBytes(kVersionsAad));
  if (!opened.ok()) {
    return Status::DataLoss(path + " does not authenticate: the version record was changed or comes from another "
                            "machine; refusing to start (move it away to accept the risk of rollback)");
  }
  json j = json::parse(AsStringView(opened->span()), nullptr, false);
  if (!j.is_object()) return Status::DataLoss(path + " is malformed");
  for (const auto& [k, v] : j.items()) {
    if (!v.is_number_integer()) return Status::DataLoss(path + " is malformed");
    versions_[k] = v.get<int64_t>();
  }
  return Status::Ok();
}

}  // namespace citadel
