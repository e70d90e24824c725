// citadel._citadel: the native half of the Python client.
//
// A thin pybind11 layer over the C++ SDK (include/citadel/client.h), so that
// attestation, pinning and receipt checks are the very same code as the C++
// client's. The pythonic API (keyword arguments, dataclasses, exception
// classes) lives in python/citadel/__init__.py; this file only converts
// between numpy arrays and citadel::Tensor, releases the GIL around every
// network call, and turns a failed Status into the matching Python exception
// (citadel.errors).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "citadel/attest.h"
#include "citadel/attest/collateral.h"
#include "citadel/bytes.h"
#include "citadel/channel.h"
#include "citadel/client.h"
#include "citadel/crypto.h"
#include "citadel/evidence.h"
#include "citadel/owner_key.h"
#include "citadel/proof.h"
#include "citadel/status.h"
#include "citadel/tensor.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace citadel {
namespace {

using nlohmann::json;

// ---- Errors -----------------------------------------------------------------

// Carries a failed Status out of a binding; the translator registered below
// turns it into citadel.errors.<Class>(code, message).
//   offline:   the failure came from an offline verification (no server).
//   timed_out: the call failed because it ran past the client's timeout.
struct StatusException : std::exception {
  StatusException(Status s, bool offline_, bool timed_out_)
      : status(std::move(s)), offline(offline_), timed_out(timed_out_) {}
  const char* what() const noexcept override { return status.message().c_str(); }
  Status status;
  bool offline = false;
  bool timed_out = false;
};

[[noreturn]] void Throw(const Status& st, bool offline = false, bool timed_out = false) {
  throw StatusException(st, offline, timed_out);
}

template <typename T>
T Unwrap(Result<T> r, bool offline = false) {
  if (!r.ok()) Throw(r.status(), offline);
  return std::move(r).value();
}

void TranslateStatus(const StatusException& e) {
  try {
    py::object errors = py::module_::import("citadel.errors");
    py::object exc = errors.attr("_from_status")(std::string(CodeName(e.status.code())), e.status.message(),
                                                 e.offline, e.timed_out);
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
  } catch (py::error_already_set& inner) {
    // citadel.errors unavailable (module imported on its own): stay useful.
    inner.restore();
    PyErr_Clear();
    std::string text = std::string(CodeName(e.status.code())) + ": " + e.status.message();
    PyErr_SetString(PyExc_RuntimeError, text.c_str());
  }
}

// ---- Values -----------------------------------------------------------------

py::bytes ToPyBytes(ByteSpan b) { return py::bytes(reinterpret_cast<const char*>(b.data()), b.size()); }

Bytes BytesFromPy(const py::bytes& b) {
  std::string_view v = b;
  return Bytes(v.begin(), v.end());
}

py::object JsonToPy(const json& j) { return py::module_::import("json").attr("loads")(j.dump()); }

json JsonFromText(const std::string& text, const char* what) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) Throw(Status::InvalidArgument(std::string(what) + " is not valid JSON"), true);
  return j;
}

py::dict ClaimsToDict(const VerifiedEvidence& e) {
  py::dict d;
  for (const auto& [k, v] : e.claims) d[py::str(k)] = v;
  d["platform"] = std::string(EvidenceKindName(e.kind));
  d["simulation"] = (e.simulation || e.kind == EvidenceKind::kSim) ? "true" : "false";
  d["measurement"] = HexEncode(e.measurement);
  d["report_data"] = HexEncode(ByteSpan(e.report_data.data(), e.report_data.size()));
  return d;
}

// numpy dtype name <-> DType. bfloat16 has no numpy dtype: outputs of that
// type are widened (exactly) to float32.
std::optional<DType> DTypeFromNumpy(const py::dtype& dt) {
  const char kind = dt.kind();
  const size_t size = static_cast<size_t>(dt.itemsize());
  switch (kind) {
    case 'f':
      if (size == 2) return DType::kFloat16;
      if (size == 4) return DType::kFloat32;
      if (size == 8) return DType::kFloat64;
      return std::nullopt;
    case 'i':
      if (size == 1) return DType::kInt8;
      if (size == 2) return DType::kInt16;
      if (size == 4) return DType::kInt32;
      if (size == 8) return DType::kInt64;
      return std::nullopt;
    case 'u':
      if (size == 1) return DType::kUInt8;
      if (size == 2) return DType::kUInt16;
      if (size == 4) return DType::kUInt32;
      if (size == 8) return DType::kUInt64;
      return std::nullopt;
    case 'b':
      return size == 1 ? std::optional<DType>(DType::kBool) : std::nullopt;
    default:
      return std::nullopt;
  }
}

// One input. `array` is a C-contiguous, native-byte-order numeric array
// (the Python layer normalises it), or `strings` holds the elements of a
// string tensor with `shape`.
NamedTensor TensorFromPy(const std::string& name, const py::object& value) {
  if (py::isinstance<py::tuple>(value)) {  // ("strings", shape, [bytes...])
    auto t = value.cast<py::tuple>();
    Shape shape = t[1].cast<Shape>();
    std::vector<std::string> items;
    for (auto item : t[2].cast<py::list>()) items.push_back(item.cast<py::bytes>());
    return {name, Unwrap(Tensor::FromStrings(shape, std::move(items)))};
  }
  py::array arr = value.cast<py::array>();
  auto dtype = DTypeFromNumpy(arr.dtype());
  if (!dtype) {
    throw py::type_error("input '" + name + "': numpy dtype " + py::str(arr.dtype()).cast<std::string>() +
                         " is not supported");
  }
  if (!(arr.flags() & py::array::c_style)) throw py::value_error("input '" + name + "' must be C-contiguous");
  Shape shape(arr.shape(), arr.shape() + arr.ndim());
  const auto* data = static_cast<const uint8_t*>(arr.data());
  return {name, Unwrap(Tensor::FromBytes(*dtype, shape, std::span<const uint8_t>(data, arr.nbytes())))};
}

TensorList TensorsFromPy(const py::list& items) {
  TensorList out;
  for (auto item : items) {
    auto pair = item.cast<py::tuple>();
    out.push_back(TensorFromPy(pair[0].cast<std::string>(), pair[1]));
  }
  return out;
}

py::object TensorToPy(const Tensor& t) {
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end());
  if (t.dtype() == DType::kString) {
    py::list items;
    for (const auto& s : t.strings()) {
      PyObject* text = PyUnicode_DecodeUTF8(s.data(), static_cast<py::ssize_t>(s.size()), "strict");
      if (text) {
        items.append(py::reinterpret_steal<py::object>(text));
      } else {
        PyErr_Clear();
        items.append(py::bytes(s));
      }
    }
    py::module_ np = py::module_::import("numpy");
    py::object arr = np.attr("empty")(py::len(items), "dtype"_a = "object");
    for (size_t i = 0; i < py::len(items); ++i) arr[py::int_(i)] = items[i];
    return arr.attr("reshape")(py::tuple(py::cast(shape)));
  }
  if (t.dtype() == DType::kBFloat16) {
    py::array_t<float> out(shape);
    float* dst = out.mutable_data();
    const auto* src = t.data<uint16_t>();
    for (size_t i = 0; i < t.num_elements(); ++i) dst[i] = BFloat16ToFloat(src[i]);
    return out;
  }
  std::string name(DTypeName(t.dtype()));
  py::array out(py::dtype(name), shape);
  if (t.byte_size() > 0) std::memcpy(out.mutable_data(), t.raw_data(), t.byte_size());
  return out;
}

py::list TensorsToPy(const TensorList& list) {
  py::list out;
  for (const auto& t : list) out.append(py::make_tuple(t.name, TensorToPy(t.tensor)));
  return out;
}

py::dict ModelInfoToPy(const ModelInfo& m) {
  auto specs = [](const std::vector<TensorInfo>& infos) {
    py::list l;
    for (const auto& i : infos) {
      py::dict d;
      d["name"] = i.name;
      d["dtype"] = std::string(i.dtype == DType::kBFloat16 ? "bfloat16" : DTypeName(i.dtype));
      d["shape"] = i.shape;
      l.append(d);
    }
    return l;
  };
  py::dict d;
  d["name"] = m.name;
  d["id"] = m.id;
  d["signer"] = m.signer;
  d["version"] = m.version;
  d["size_bytes"] = m.size_bytes;
  d["inputs"] = specs(m.inputs);
  d["outputs"] = specs(m.outputs);
  return d;
}

// ---- Attestation inputs (collateral, roots, instant) -------------------------

// What `citadel verify` and the CLI client commands take: collateral files
// (a Citadel bundle or any importable format), root certificate files that
// replace the built-in vendor roots, and an RFC 3339 instant ("" = now).
struct AttestationInputs {
  std::shared_ptr<const CollateralBundle> collateral;
  std::vector<Bytes> trust_anchors;
  std::optional<std::chrono::system_clock::time_point> at;
};

AttestationInputs LoadAttestationInputs(const std::vector<std::string>& collateral_files,
                                        const std::vector<std::string>& root_files, const std::string& at) {
  AttestationInputs in;
  if (!collateral_files.empty()) {
    auto bundle = std::make_shared<CollateralBundle>();
    for (const auto& f : collateral_files) {
      Status st = bundle->ImportFile(f);
      if (!st.ok()) Throw(st, true);
    }
    in.collateral = std::move(bundle);
  }
  for (const auto& f : root_files) {
    in.trust_anchors.push_back(Unwrap(ReadFileBytes(f, size_t{1} << 20), true));
  }
  if (!at.empty()) in.at = Unwrap(ParseRfc3339(at), true);
  return in;
}

// ---- Client -----------------------------------------------------------------

// Holds the C++ client behind a shared_ptr so that close() from one thread
// cannot destroy it under a call running (GIL released) on another.
class PyClient {
 public:
  static std::unique_ptr<PyClient> Connect(const std::string& url, const Policy& policy, const std::string& token,
                                           double timeout_seconds, const std::vector<std::string>& collateral,
                                           const std::vector<std::string>& roots, const std::string& at) {
    if (!(timeout_seconds > 0) || !std::isfinite(timeout_seconds)) {
      throw py::value_error("timeout must be a positive number of seconds");
    }
    AttestationInputs inputs = LoadAttestationInputs(collateral, roots, at);
    ClientOptions options;
    options.policy = policy;
    options.collateral = inputs.collateral;
    options.trust_anchors = inputs.trust_anchors;
    options.verify_at = inputs.at;
    options.token = token;
    options.timeout = std::chrono::seconds(static_cast<int64_t>(std::ceil(timeout_seconds)));
    auto self = std::make_unique<PyClient>();
    self->timeout_ = options.timeout;
    Result<std::unique_ptr<Client>> r = Status::Internal("not run");
    auto start = std::chrono::steady_clock::now();
    {
      py::gil_scoped_release release;
      r = Client::Connect(url, options);
    }
    if (!r.ok()) self->Fail(r.status(), start);
    self->client_ = std::shared_ptr<Client>(std::move(r).value());
    return self;
  }

  void Close() {
    std::lock_guard lock(mu_);
    client_.reset();
  }
  bool closed() {
    std::lock_guard lock(mu_);
    return client_ == nullptr;
  }

  py::dict Attestation() { return ClaimsToDict(Get()->attestation()); }
  py::bytes PinnedKey() { return ToPyBytes(Get()->pinned_key()); }

  py::dict Attest(const py::bytes& nonce_py) {
    Bytes nonce = BytesFromPy(nonce_py);
    auto c = Get();
    auto v = Network([&] { return c->Attest(nonce); });
    py::dict d = ClaimsToDict(v);
    d["nonce"] = HexEncode(nonce);
    return d;
  }

  py::bytes FetchEvidence(const py::bytes& nonce_py) {
    Bytes nonce = BytesFromPy(nonce_py);
    auto c = Get();
    Evidence e = Network([&] { return c->FetchEvidence(nonce); });
    return ToPyBytes(EncodeEvidenceEnvelope(e));
  }

  py::dict Upload(const std::string& name, const py::bytes& model, std::optional<int64_t> version,
                  const OwnerKey* owner, bool allow_downgrade, py::object progress) {
    std::string_view bytes = model;  // `model` stays referenced (immutable) for the call
    UploadOptions options;
    options.version = version;
    options.owner = owner;
    options.allow_downgrade = allow_downgrade;
    // The C++ SDK's progress callback cannot cancel the upload, so an
    // exception raised by the Python callback (Ctrl-C included) is kept,
    // later progress calls are skipped, and it is raised when the call ends.
    auto pending = std::make_shared<std::optional<py::error_already_set>>();
    if (!progress.is_none()) {
      options.progress = [progress, pending](size_t sent, size_t total) {
        py::gil_scoped_acquire acquire;
        if (pending->has_value()) return;
        try {
          progress(sent, total);
        } catch (py::error_already_set& e) {
          pending->emplace(std::move(e));
        }
      };
    }
    auto c = Get();
    ModelInfo info = Network([&] { return c->UploadModel(name, AsBytes(bytes), options); });
    if (pending->has_value()) throw std::move(**pending);
    return ModelInfoToPy(info);
  }

  py::dict GetModel(const std::string& name) {
    auto c = Get();
    return ModelInfoToPy(Network([&] { return c->GetModel(name); }));
  }

  py::list ListModels() {
    auto c = Get();
    auto models = Network([&] { return c->ListModels(); });
    py::list out;
    for (const auto& m : models) out.append(ModelInfoToPy(m));
    return out;
  }

  void DeleteModel(const std::string& name, const OwnerKey* owner) {
    auto c = Get();
    Network([&]() -> Result<bool> {
      Status st = c->DeleteModel(name, owner);
      if (!st.ok()) return st;
      return true;
    });
  }

  // Returns (outputs as [(name, array)], receipt JSON text or None).
  py::tuple Infer(const std::string& model, const py::list& inputs, bool receipt) {
    TensorList tensors = TensorsFromPy(inputs);  // copies out of numpy with the GIL held
    auto c = Get();
    if (!receipt) {
      TensorList out = Network([&] { return c->Infer(model, tensors); });
      return py::make_tuple(TensorsToPy(out), py::none());
    }
    InferResult r = Network([&] { return c->InferWithReceipt(model, tensors); });
    return py::make_tuple(TensorsToPy(r.outputs), r.receipt.dump());
  }

  py::dict Audit() {
    auto c = Get();
    AuditExport a = Network([&] { return c->GetAudit(); });
    py::dict d;
    d["entries"] = JsonToPy(json(a.entries));
    d["checkpoint"] = JsonToPy(a.checkpoint);
    d["verified_entries"] = a.verification.entries;
    d["head_hash"] = a.verification.head_hash;
    d["checkpoint_verified"] = a.verification.checkpoint_verified;
    return d;
  }

 private:
  std::shared_ptr<Client> Get() {
    std::lock_guard lock(mu_);
    if (!client_) Throw(Status::FailedPrecondition("the client is closed"), true);
    return client_;
  }

  // Runs `fn` without the GIL; raises the matching Python exception on failure.
  template <typename Fn>
  auto Network(Fn fn) -> std::decay_t<decltype(fn().value())> {
    auto start = std::chrono::steady_clock::now();
    std::optional<std::decay_t<decltype(fn())>> r;
    {
      py::gil_scoped_release release;
      r.emplace(fn());
    }
    if (!r->ok()) Fail(r->status(), start);
    return std::move(*r).value();
  }

  // An unreachable peer after (about) the whole timeout is a timeout.
  [[noreturn]] void Fail(const Status& st, std::chrono::steady_clock::time_point start) {
    auto elapsed = std::chrono::steady_clock::now() - start;
    bool timed_out = st.code() == Code::kUnavailable && elapsed + std::chrono::milliseconds(250) >= timeout_;
    Throw(st, false, timed_out);
  }

  std::mutex mu_;
  std::shared_ptr<Client> client_;
  std::chrono::seconds timeout_{120};
};

// ---- Offline checks ---------------------------------------------------------

py::dict VerifyReceiptPy(const std::string& receipt_json, const Policy* policy, const py::list& inputs,
                         const py::list& outputs) {
  json receipt = JsonFromText(receipt_json, "receipt");
  ReceiptCheck check;
  check.policy = policy;
  check.inputs = TensorsFromPy(inputs);
  check.outputs = TensorsFromPy(outputs);
  Result<VerifiedStatement> r = Status::Internal("not run");
  {
    py::gil_scoped_release release;
    r = VerifyReceipt(receipt, check);
  }
  VerifiedStatement v = Unwrap(std::move(r), true);
  py::dict d;
  d["payload"] = JsonToPy(v.payload);
  d["evidence"] = ClaimsToDict(v.evidence);
  d["public_key_sha256"] = HexEncode(Sha256(v.spki_der));
  return d;
}

py::dict VerifyEvidencePy(const py::bytes& envelope, const Policy* policy, std::optional<py::bytes> nonce,
                          std::optional<py::bytes> tls_public_key, const std::vector<std::string>& collateral,
                          const std::vector<std::string>& roots, const std::string& at) {
  Bytes raw = BytesFromPy(envelope);
  AttestationInputs inputs = LoadAttestationInputs(collateral, roots, at);
  AttestationConfig config;
  config.collateral = inputs.collateral;
  config.trust_anchors = inputs.trust_anchors;
  config.at = inputs.at;
  const VerifyOptions options = config.Options();
  Evidence evidence = Unwrap(DecodeEvidenceEnvelope(raw), true);
  VerifiedEvidence v = Unwrap(VerifyEvidence(evidence, options), true);
  if (policy) {
    Status st = CheckPolicy(v, *policy, options.now);
    if (!st.ok()) Throw(st, true);
  }
  if (tls_public_key) {
    Bytes spki = BytesFromPy(*tls_public_key);
    ReportData want = nonce ? ReportDataForNonce(spki, BytesFromPy(*nonce)) : ReportDataForCertificate(spki);
    if (!ConstantTimeEquals(ByteSpan(want.data(), want.size()), ByteSpan(v.report_data.data(), v.report_data.size()))) {
      Throw(Status::AttestationFailed(nonce ? "evidence does not bind this TLS key and nonce"
                                            : "evidence does not bind this TLS key (certificate evidence)"),
            true);
    }
  }
  py::dict d = ClaimsToDict(v);
  d["evidence_sha256"] = HexEncode(Sha256(raw));
  return d;
}

}  // namespace
}  // namespace citadel

PYBIND11_MODULE(_citadel, m) {
  using namespace citadel;
  m.doc() = "Native half of the Citadel Python client (use the `citadel` package, not this module).";

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const StatusException& e) {
      TranslateStatus(e);
    }
  });

  py::class_<Policy>(m, "Policy", "A parsed client attestation policy (docs/policy.md).")
      .def_static(
          "from_json", [](const std::string& text) { return Unwrap(Policy::FromJson(text), true); }, "text"_a)
      .def_static(
          "load_file", [](const std::string& path) { return Unwrap(Policy::LoadFile(path), true); }, "path"_a)
      .def_property_readonly("allow_simulation", [](const Policy& p) { return p.allow_simulation; })
      .def_property_readonly("accept_any_measurement", [](const Policy& p) { return p.accept_any_measurement; })
      .def_property_readonly("measurements", [](const Policy& p) {
        std::vector<std::string> out;
        for (const auto& b : p.measurements) out.push_back(HexEncode(b));
        return out;
      });

  py::class_<OwnerKey>(m, "OwnerKey", "A model owner's P-256 signing key.")
      .def_static("generate", [] { return Unwrap(OwnerKey::Generate(), true); })
      .def_static(
          "load", [](const std::string& path) { return Unwrap(OwnerKey::LoadPrivatePem(path), true); }, "path"_a)
      .def(
          "save", [](const OwnerKey& k, const std::string& path) {
            Status st = k.SavePrivatePem(path);
            if (!st.ok()) Throw(st, true);
          },
          "path"_a)
      .def_property_readonly("key_id", &OwnerKey::key_id)
      .def_property_readonly("public_key_der", [](const OwnerKey& k) { return ToPyBytes(k.spki_der()); })
      .def_property_readonly("public_key", [](const OwnerKey& k) { return Base64Encode(k.spki_der()); });

  py::class_<PyClient>(m, "Client")
      .def_static("connect", &PyClient::Connect, "url"_a, "policy"_a, "token"_a, "timeout"_a, "collateral"_a,
                  "roots"_a, "at"_a)
      .def("close", &PyClient::Close)
      .def_property_readonly("closed", &PyClient::closed)
      .def("attestation", &PyClient::Attestation)
      .def("pinned_key", &PyClient::PinnedKey)
      .def("attest", &PyClient::Attest, "nonce"_a)
      .def("fetch_evidence", &PyClient::FetchEvidence, "nonce"_a)
      .def("upload", &PyClient::Upload, "name"_a, "model"_a, "version"_a, "owner"_a, "allow_downgrade"_a,
           "progress"_a)
      .def("get_model", &PyClient::GetModel, "name"_a)
      .def("list_models", &PyClient::ListModels)
      .def("delete_model", &PyClient::DeleteModel, "name"_a, "owner"_a)
      .def("infer", &PyClient::Infer, "model"_a, "inputs"_a, "receipt"_a)
      .def("audit", &PyClient::Audit);

  m.def("verify_receipt", &VerifyReceiptPy, "receipt_json"_a, "policy"_a, "inputs"_a, "outputs"_a);
  m.def("verify_evidence", &VerifyEvidencePy, "envelope"_a, "policy"_a, "nonce"_a, "tls_public_key"_a,
        "collateral"_a, "roots"_a, "at"_a);
  m.def(
      "tensor_digest",
      [](const std::string& name, const py::object& value) {
        NamedTensor t = TensorFromPy(name, value);
        return TensorDigestHex(t);
      },
      "name"_a, "value"_a);
  m.def("random_bytes", [](size_t n) {
    Bytes b(n);
    Status st = RandomBytes(b);
    if (!st.ok()) Throw(st, true);
    return ToPyBytes(b);
  });
}
