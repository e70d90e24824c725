// The sealed model store: every model at rest is AES-256-GCM encrypted with a
// key derived from the platform's sealing key, so a copied disk yields
// nothing and a changed, truncated or swapped file is refused.
//
// File layout (state_dir/models/<name>.cmodel):
//   "CTDLMDL1" | u32 LE header length | header (JSON, plaintext) |
//   AeadSeal(key, model bytes, aad = "citadel/model/v1" || header)
// The header names the model (name, version, id = SHA-256 of the bytes,
// signer...). It is authenticated as AAD, so editing it breaks the tag;
// its name must match the file name, so swapping two files is detected.
// The highest version seen per name is kept in state_dir/versions.sealed
// (anti-rollback; see docs/model-protection.md for its limits).
#ifndef CITADEL_SERVER_MODEL_STORE_H_
#define CITADEL_SERVER_MODEL_STORE_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "citadel/bytes.h"
#include "citadel/status.h"

namespace citadel {

struct StoredModelHeader {
  std::string name;
  int64_t version = 0;
  std::string id;           // SHA-256 hex of the ONNX bytes
  std::string signer;       // SHA-256 hex of the owner's SPKI, "" when unsigned
  int64_t signed_at = 0;    // owner's signature time (unix seconds)
  int64_t stored_at = 0;
  std::string signature;    // base64 owner signature, "" when unsigned
};

struct LoadedModelFile {
  StoredModelHeader header;
  SecretBytes onnx;
};

class ModelStore {
 public:
  // `key` is the 32-byte store key (derived from the platform sealing key).
  // The caller must hold the state directory's lock (DirectoryLock): Open
  // removes the temporary files of writes that an earlier run left unfinished.
  static Result<std::unique_ptr<ModelStore>> Open(const std::string& state_dir, SecretBytes key);

  Status Save(const StoredModelHeader& header, ByteSpan onnx);
  Status Remove(const std::string& name);

  // Every stored model, opened and checked. Files that fail (tampered,
  // truncated, swapped, foreign key) are reported in `refused` as
  // (file name, reason) and never returned.
  std::vector<LoadedModelFile> LoadAll(std::vector<std::pair<std::string, Status>>* refused);

  // Anti-rollback bookkeeping.
  int64_t HighestVersion(const std::string& name) const;
  Status RecordVersion(const std::string& name, int64_t version);

 private:
  ModelStore(std::string dir, SecretBytes key) : dir_(std::move(dir)), key_(std::move(key)) {}
  Status LoadVersions();
  Result<LoadedModelFile> OpenFile(const std::string& path, const std::string& expected_name);

  std::string dir_;      // state_dir
  SecretBytes key_;
  mutable std::mutex mu_;
  std::map<std::string, int64_t> versions_;
};

}  // namespace citadel

#endif  // CITADEL_SERVER_MODEL_STORE_H_
