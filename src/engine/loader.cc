#include "loader.h"

#include <charconv>
#include <climits>
#include <filesystem>
#include <fstream>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

namespace citadel::engine {

namespace fs = std::filesystem;

Result<std::unique_ptr<onnx::ModelProto>> ParseModelProto(ByteSpan bytes, size_t max_bytes) {
  if (bytes.empty()) return Status::InvalidArgument("model is empty");
  if (bytes.size() > max_bytes) {
    return Status::InvalidArgument("model is " + std::to_string(bytes.size()) +
                                   " bytes, over the limit of " + std::to_string(max_bytes));
  }
  if (bytes.size() > static_cast<size_t>(INT_MAX)) {
    return Status::InvalidArgument("model exceeds protobuf's 2 GiB limit; use external data");
  }
  auto model = std::make_unique<onnx::ModelProto>();
  google::protobuf::io::CodedInputStream in(bytes.data(), static_cast<int>(bytes.size()));
  in.SetTotalBytesLimit(static_cast<int>(std::min<size_t>(max_bytes, INT_MAX)));
  if (!model->ParseFromCodedStream(&in) || !in.ConsumedEntireMessage()) {
    return Status::InvalidArgument("model is not a valid ONNX protobuf (parse failed after " +
                                   std::to_string(in.CurrentPosition()) + " of " +
                                   std::to_string(bytes.size()) + " bytes)");
  }
  if (!model->has_graph()) {
    return Status::InvalidArgument("model is not a valid ONNX model: no graph");
  }
  return model;
}

Result<std::unique_ptr<onnx::ModelProto>> ParseModelProtoFile(const std::string& path,
                                                              size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return Status::NotFound("no such file: " + path);
    return Status::InvalidArgument("cannot open " + path + ": " + ::strerror(err));
  }
  google::protobuf::io::FileInputStream file(fd, /*block_size=*/1 << 20);
  file.SetCloseOnDelete(true);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return Status::InvalidArgument("not a regular file: " + path);
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size > max_bytes) {
    return Status::ResourceExhausted(path + " is " + std::to_string(size) +
                                     " bytes, more than the limit of " + std::to_string(max_bytes));
  }
  if (size == 0) return Status::InvalidArgument("model is empty");
  if (size > static_cast<size_t>(INT_MAX)) {
    return Status::InvalidArgument("model exceeds protobuf's 2 GiB limit; use external data");
  }
  auto model = std::make_unique<onnx::ModelProto>();
  google::protobuf::io::CodedInputStream in(&file);
  // The limit also bounds a file that grows while it is read.
  in.SetTotalBytesLimit(static_cast<int>(std::min<size_t>(max_bytes, INT_MAX)));
  if (!model->ParseFromCodedStream(&in) || !in.ConsumedEntireMessage() || file.GetErrno() != 0) {
    return Status::InvalidArgument("model is not a valid ONNX protobuf (parse failed after " +
                                   std::to_string(in.CurrentPosition()) + " of " +
                                   std::to_string(size) + " bytes)");
  }
  if (!model->has_graph()) {
    return Status::InvalidArgument("model is not a valid ONNX model: no graph");
  }
  return model;
}

Result<std::string> ResolveExternalDataPath(const std::string& dir, const std::string& location) {
  if (location.empty()) return Status::InvalidArgument("external data location is empty");
  if (location.find('\0') != std::string::npos) {
    return Status::InvalidArgument("external data location contains NUL");
  }
  fs::path loc(location);
  if (loc.is_absolute() || location[0] == '/') {
    return Status::InvalidArgument("external data location '" + location + "' is absolute");
  }
  for (const auto& part : loc) {
    if (part == "..") {
      return Status::InvalidArgument("external data location '" + location +
                                     "' contains '..'");
    }
  }
  std::error_code ec;
  fs::path base = fs::weakly_canonical(fs::path(dir), ec);
  if (ec) return Status::InvalidArgument("external data directory is not accessible");
  fs::path full = fs::weakly_canonical(base / loc, ec);
  if (ec) return Status::InvalidArgument("external data '" + location + "' is not accessible");
  // A symlink inside the directory must not lead out of it.
  auto rel = full.lexically_relative(base);
  if (rel.empty() || *rel.begin() == "..") {
    return Status::InvalidArgument("external data '" + location +
                                   "' resolves outside the external data directory");
  }
  return full.string();
}

namespace {

Result<uint64_t> ParseU64(const std::string& s, const char* what) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) {
    return Status::InvalidArgument(std::string("external data ") + what + " '" + s +
                                   "' is not a number");
  }
  return v;
}

Status InlineTensor(onnx::TensorProto* t, const std::string& dir) {
  if (t->data_location() != onnx::TensorProto::EXTERNAL) return Status::Ok();
  const std::string ctx = "tensor '" + t->name() + "'";
  if (dir.empty()) {
    return Status::InvalidArgument(ctx + " uses external data, which is disabled "
                                   "(LoadOptions::external_data_dir is not set)");
  }
  std::string location;
  uint64_t offset = 0;
  std::optional<uint64_t> length;
  for (const auto& kv : t->external_data()) {
    if (kv.key() == "location") {
      location = kv.value();
    } else if (kv.key() == "offset") {
      auto v = ParseU64(kv.value(), "offset");
      if (!v.ok()) return v.status().WithContext(ctx);
      offset = *v;
    } else if (kv.key() == "length") {
      auto v = ParseU64(kv.value(), "length");
      if (!v.ok()) return v.status().WithContext(ctx);
      length = *v;
    }
  }
  auto path = ResolveExternalDataPath(dir, location);
  if (!path.ok()) return path.status().WithContext(ctx);
  std::error_code ec;
  const uint64_t size = fs::file_size(*path, ec);
  if (ec) return Status::InvalidArgument(ctx + ": cannot read external data '" + location + "'");
  if (offset > size) {
    return Status::InvalidArgument(ctx + ": external data offset " + std::to_string(offset) +
                                   " is past the end of '" + location + "' (" +
                                   std::to_string(size) + " bytes)");
  }
  const uint64_t len = length.value_or(size - offset);
  if (len > size - offset) {
    return Status::InvalidArgument(ctx + ": external data range [" + std::to_string(offset) +
                                   ", +" + std::to_string(len) + ") exceeds '" + location +
                                   "' (" + std::to_string(size) + " bytes)");
  }
  std::ifstream f(*path, std::ios::binary);
  if (!f) return Status::InvalidArgument(ctx + ": cannot open external data '" + location + "'");
  std::string data(len, '\0');
  f.seekg(static_cast<std::streamoff>(offset));
  f.read(data.data(), static_cast<std::streamsize>(len));
  if (static_cast<uint64_t>(f.gcount()) != len) {
    return Status::InvalidArgument(ctx + ": short read from external data '" + location + "'");
  }
  t->set_raw_data(std::move(data));
  t->clear_external_data();
  t->set_data_location(onnx::TensorProto::DEFAULT);
  return Status::Ok();
}

}  // namespace

Status InlineExternalData(onnx::ModelProto* model, const std::string& dir) {
  auto* g = model->mutable_graph();
  for (auto& t : *g->mutable_initializer()) CITADEL_RETURN_IF_ERROR(InlineTensor(&t, dir));
  for (auto& n : *g->mutable_node()) {
    for (auto& a : *n.mutable_attribute()) {
      if (a.has_t()) CITADEL_RETURN_IF_ERROR(InlineTensor(a.mutable_t(), dir));
    }
  }
  return Status::Ok();
}

Status CheckModel(const onnx::ModelProto& model) {
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("ONNX checker rejected the model: ") + e.what());
  }
  return Status::Ok();
}

void InferShapesInPlace(onnx::ModelProto* model) {
  try {
    onnx::ShapeInferenceOptions options(/*check_type=*/false, /*error_mode=*/0,
                                        /*data_prop=*/true);
    onnx::shape_inference::InferShapes(*model, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception&) {
    // Best effort, see header.
  }
}

}  // namespace citadel::engine
