// NVIDIA reference measurements from a signed CoRIM. See
// include/citadel/attest/nvidia_rim.h and docs/attestation.md ("NVIDIA RIMs").
//
// Untrusted bytes go through two stages: a ByteReader walk checks that the
// input is one well-formed CBOR item with definite lengths, bounded depth and
// item counts that fit the remaining bytes (so libcbor never allocates for a
// length the input cannot hold, and its recursive free stays shallow); then
// libcbor builds the item tree that the CoRIM rules below read.
#include "citadel/attest/nvidia_rim.h"

#include <cbor.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "attest_util.h"
#include "builtin_roots.h"
#include "citadel/attest/collateral.h"
#include "citadel/byte_reader.h"
#include "nvidia_rim_internal.h"

namespace citadel::nvidia {
namespace {

using attest_internal::Fail;

Status ParseFail(const std::string& detail) { return Fail("nvidia.rim_parse", detail); }

// ---- stage 1: well-formedness walk ---------------------------------------------

constexpr size_t kMaxItems = 1 << 18;

bool ReadHead(ByteReader& r, uint8_t* major, uint8_t* ai, uint64_t* arg) {
  uint8_t ib = 0;
  if (!r.ReadU8(&ib)) return false;
  *major = ib >> 5;
  *ai = ib & 0x1f;
  if (*ai < 24) {
    *arg = *ai;
    return true;
  }
  int n = *ai == 24 ? 1 : *ai == 25 ? 2 : *ai == 26 ? 4 : *ai == 27 ? 8 : 0;
  *arg = 0;
  for (int i = 0; i < n; ++i) {
    uint8_t b = 0;
    if (!r.ReadU8(&b)) return false;
    *arg = (*arg << 8) | b;
  }
  return true;
}

// Also copies the item to `out`, re-encoding one-byte tag heads 0xc6..0xd6
// (tags 6..22) in their two-byte form: libcbor 0.8 (Debian 12) rejects the
// one-byte form of those tags as malformed, and COSE_Sign1 is tag 18 (0xd2).
// String contents are copied unchanged, so the byte strings the signature
// covers keep their exact bytes.
Status Walk(ByteReader& r, int depth, size_t* items, Bytes* out) {
  if (depth > kMaxRimDepth) return ParseFail("CBOR nesting deeper than " + std::to_string(kMaxRimDepth));
  if (++*items > kMaxItems) return ParseFail("more than " + std::to_string(kMaxItems) + " CBOR items");
  const ByteSpan start = r.rest();
  uint8_t major = 0, ai = 0;
  uint64_t arg = 0;
  if (!ReadHead(r, &major, &ai, &arg)) return ParseFail("truncated CBOR");
  if (ai >= 28 && ai <= 30) return ParseFail("reserved CBOR additional information " + std::to_string(ai));
  if (ai == 31) {
    return ParseFail(major == 7 ? "unexpected CBOR break" : "indefinite-length CBOR items are not accepted");
  }
  const ByteSpan head = start.first(start.size() - r.remaining());
  if (major == 6 && arg >= 6 && arg <= 22 && head.size() == 1) {
    out->push_back(0xd8);
    out->push_back(static_cast<uint8_t>(arg));
  } else {
    out->insert(out->end(), head.begin(), head.end());
  }
  switch (major) {
    case 0:
    case 1:
    case 7:
      return Status::Ok();
    case 2:
    case 3: {
      ByteSpan content;
      if (arg > r.remaining() || !r.ReadBytes(static_cast<size_t>(arg), &content)) {
        return ParseFail("truncated CBOR string");
      }
      out->insert(out->end(), content.begin(), content.end());
      return Status::Ok();
    }
    case 4:
    case 5: {
      // Every element takes at least one byte: a count beyond the remaining
      // bytes is truncation, found before anything is allocated for it.
      const uint64_t per = major == 5 ? 2 : 1;
      if (arg > r.remaining() / per) return ParseFail("truncated CBOR array or map");
      for (uint64_t i = 0; i < arg * per; ++i) CITADEL_RETURN_IF_ERROR(Walk(r, depth + 1, items, out));
      return Status::Ok();
    }
    case 6:
      return Walk(r, depth + 1, items, out);
  }
  return ParseFail("unknown CBOR major type");
}

// ---- stage 2: libcbor tree -----------------------------------------------------

struct CborDelete {
  void operator()(cbor_item_t* p) const { cbor_decref(&p); }
};
using CborPtr = std::unique_ptr<cbor_item_t, CborDelete>;

Result<CborPtr> Load(ByteSpan b, const std::string& what) {
  ByteReader r(b);
  size_t items = 0;
  Bytes normalized;
  normalized.reserve(b.size() + 16);
  Status st = Walk(r, 0, &items, &normalized);
  if (!st.ok()) return Fail("nvidia.rim_parse", what + ": " + st.message().substr(st.message().find(':') + 2));
  if (!r.empty()) return ParseFail(what + ": " + std::to_string(r.remaining()) + " bytes after the CBOR item");
  cbor_load_result res{};
  cbor_item_t* item = cbor_load(normalized.data(), normalized.size(), &res);
  if (item == nullptr || res.error.code != CBOR_ERR_NONE || res.read != normalized.size()) {
    if (item != nullptr) cbor_decref(&item);
    return ParseFail(what + ": CBOR does not decode");
  }
  return CborPtr(item);
}

// The tagged item, borrowed (the tag keeps its reference).
cbor_item_t* TagInner(cbor_item_t* tag) {
  cbor_item_t* inner = cbor_tag_item(tag);
  cbor_item_t* extra = inner;
  cbor_decref(&extra);  // cbor_tag_item increfs; the parent still holds one
  return inner;
}

bool IsTag(cbor_item_t* it, uint64_t value) { return cbor_isa_tag(it) && cbor_tag_value(it) == value; }

Result<int64_t> Int(cbor_item_t* it, const std::string& where) {
  if (cbor_isa_uint(it)) {
    uint64_t v = cbor_get_int(it);
    if (v > static_cast<uint64_t>(INT64_MAX)) return ParseFail(where + ": integer out of range");
    return static_cast<int64_t>(v);
  }
  if (cbor_isa_negint(it)) {
    uint64_t v = cbor_get_int(it);
    if (v > static_cast<uint64_t>(INT64_MAX)) return ParseFail(where + ": integer out of range");
    return -1 - static_cast<int64_t>(v);
  }
  return ParseFail(where + " must be an integer");
}

Result<std::string> Text(cbor_item_t* it, const std::string& where) {
  if (!cbor_isa_string(it) || !cbor_string_is_definite(it)) return ParseFail(where + " must be a text string");
  return std::string(reinterpret_cast<const char*>(cbor_string_handle(it)), cbor_string_length(it));
}

Result<Bytes> Bstr(cbor_item_t* it, const std::string& where) {
  if (!cbor_isa_bytestring(it) || !cbor_bytestring_is_definite(it)) {
    return ParseFail(where + " must be a byte string");
  }
  const uint8_t* p = cbor_bytestring_handle(it);
  return Bytes(p, p + cbor_bytestring_length(it));
}

Result<std::vector<cbor_item_t*>> Array(cbor_item_t* it, const std::string& where) {
  if (!cbor_isa_array(it)) return ParseFail(where + " must be an array");
  cbor_item_t** h = cbor_array_handle(it);
  return std::vector<cbor_item_t*>(h, h + cbor_array_size(it));
}

// An integer-keyed map; keys outside `known` are rejected, naming them.
Result<std::map<int64_t, cbor_item_t*>> IntMap(cbor_item_t* it, const std::string& where,
                                                const std::set<int64_t>& known) {
  if (!cbor_isa_map(it)) return ParseFail(where + " must be a map");
  std::map<int64_t, cbor_item_t*> out;
  struct cbor_pair* pairs = cbor_map_handle(it);
  for (size_t i = 0; i < cbor_map_size(it); ++i) {
    if (!cbor_isa_uint(pairs[i].key) && !cbor_isa_negint(pairs[i].key)) {
      return ParseFail(where + " has a non-integer key");
    }
    CITADEL_ASSIGN_OR_RETURN(int64_t k, Int(pairs[i].key, where + " key"));
    if (!known.empty() && known.count(k) == 0) {
      return ParseFail(where + " has the unsupported key " + std::to_string(k));
    }
    if (!out.emplace(k, pairs[i].value).second) return ParseFail(where + " has the key " + std::to_string(k) + " twice");
  }
  return out;
}

// A time: #6.1(int seconds), a bare integer, or #6.0(RFC 3339 text).
Result<int64_t> Time(cbor_item_t* it, const std::string& where) {
  if (IsTag(it, 1)) it = TagInner(it);
  else if (IsTag(it, 0)) {
    CITADEL_ASSIGN_OR_RETURN(std::string s, Text(TagInner(it), where));
    auto t = ParseRfc3339(s);
    if (!t.ok()) return ParseFail(where + " is not an RFC 3339 time");
    return static_cast<int64_t>(attest_internal::ToTimeT(*t));
  }
  return Int(it, where);
}

// validity-map {? 0: not-before, 1: not-after}; narrows `rim`'s window.
Status ReadValidity(cbor_item_t* it, const std::string& where, Rim* rim) {
  CITADEL_ASSIGN_OR_RETURN(auto m, IntMap(it, where, {0, 1}));
  if (!m.count(1)) return ParseFail(where + " has no not-after (1)");
  CITADEL_ASSIGN_OR_RETURN(int64_t na, Time(m[1], where + ".not-after"));
  rim->not_after = rim->not_after ? std::min(*rim->not_after, na) : na;
  if (m.count(0)) {
    CITADEL_ASSIGN_OR_RETURN(int64_t nb, Time(m[0], where + ".not-before"));
    rim->not_before = rim->not_before ? std::max(*rim->not_before, nb) : nb;
  }
  return Status::Ok();
}

// Text, #6.37 UUID bytes, or bytes -> a printable identifier.
Result<std::string> Identifier(cbor_item_t* it, const std::string& where) {
  if (IsTag(it, 37)) it = TagInner(it);
  if (cbor_isa_string(it)) return Text(it, where);
  CITADEL_ASSIGN_OR_RETURN(Bytes b, Bstr(it, where));
  return attest_internal::Hex(b);
}

size_t DigestSize(int64_t alg) {
  switch (alg) {  // IANA Named Information Hash Algorithm Registry
    case 1: return 32;   // sha-256
    case 7: return 48;   // sha-384
    case 8: return 64;   // sha-512
    default: return 0;
  }
}

int64_t DigestAlgByName(const std::string& name) {
  if (name == "sha-256") return 1;
  if (name == "sha-384") return 7;
  if (name == "sha-512") return 8;
  return 0;
}

Status ReadMeasurement(cbor_item_t* it, const std::string& where, Rim* rim) {
  CITADEL_ASSIGN_OR_RETURN(auto m, IntMap(it, where, {0, 1, 2}));
  if (!m.count(0)) return ParseFail(where + " has no mkey: NVIDIA reference values are keyed by measurement index");
  if (!cbor_isa_uint(m[0])) return ParseFail(where + ".mkey must be an SPDM measurement index (unsigned integer)");
  uint64_t index = cbor_get_int(m[0]);
  if (index > 255) return ParseFail(where + ".mkey " + std::to_string(index) + " is not an SPDM index (0..255)");
  const std::string at = where + " (index " + std::to_string(index) + ")";
  if (!m.count(1)) return ParseFail(at + " has no measurement values (1)");
  // Keys that would constrain the measurement in ways this verifier does not
  // evaluate (svn 1, flags 3, raw-value-mask 5, ...) are refused by IntMap.
  CITADEL_ASSIGN_OR_RETURN(auto v, IntMap(m[1], at + ".mval", {0, 2, 4, 11}));
  std::vector<Bytes>& alts = rim->references[static_cast<uint32_t>(index)];
  size_t before = alts.size();
  if (v.count(2)) {
    CITADEL_ASSIGN_OR_RETURN(auto digests, Array(v[2], at + ".digests"));
    if (digests.empty()) return ParseFail(at + ".digests is empty");
    for (size_t i = 0; i < digests.size(); ++i) {
      const std::string d = at + ".digests[" + std::to_string(i) + "]";
      CITADEL_ASSIGN_OR_RETURN(auto pair, Array(digests[i], d));
      if (pair.size() != 2) return ParseFail(d + " must be [alg, value]");
      int64_t alg = 0;
      if (cbor_isa_string(pair[0])) {
        CITADEL_ASSIGN_OR_RETURN(std::string name, Text(pair[0], d + ".alg"));
        alg = DigestAlgByName(name);
      } else {
        CITADEL_ASSIGN_OR_RETURN(alg, Int(pair[0], d + ".alg"));
      }
      if (DigestSize(alg) == 0) return ParseFail(d + " uses an unsupported hash algorithm");
      CITADEL_ASSIGN_OR_RETURN(Bytes value, Bstr(pair[1], d + ".value"));
      if (value.size() != DigestSize(alg)) {
        return ParseFail(d + " is " + std::to_string(value.size()) + " bytes, not the algorithm's " +
                         std::to_string(DigestSize(alg)));
      }
      alts.push_back(std::move(value));
    }
  }
  if (v.count(4)) {
    cbor_item_t* raw = v[4];
    if (IsTag(raw, 560)) raw = TagInner(raw);  // tagged-bytes
    else if (cbor_isa_tag(raw)) return ParseFail(at + ".raw-value has an unsupported tag (masked raw values are not evaluated)");
    CITADEL_ASSIGN_OR_RETURN(Bytes value, Bstr(raw, at + ".raw-value"));
    alts.push_back(std::move(value));
  }
  if (alts.size() == before) return ParseFail(at + " has neither digests (2) nor a raw value (4)");
  return Status::Ok();
}

Status ReadClass(cbor_item_t* env, const std::string& where, Rim* rim) {
  CITADEL_ASSIGN_OR_RETURN(auto e, IntMap(env, where, {0, 1, 2}));
  if (!e.count(0)) return Status::Ok();
  CITADEL_ASSIGN_OR_RETURN(auto c, IntMap(e[0], where + ".class", {0, 1, 2, 3, 4}));
  if (rim->vendor.empty() && c.count(1)) {
    CITADEL_ASSIGN_OR_RETURN(rim->vendor, Text(c[1], where + ".class.vendor"));
  }
  if (rim->model.empty() && c.count(2)) {
    CITADEL_ASSIGN_OR_RETURN(rim->model, Text(c[2], where + ".class.model"));
  }
  return Status::Ok();
}

Status ReadComid(ByteSpan bytes, const std::string& where, Rim* rim) {
  CITADEL_ASSIGN_OR_RETURN(CborPtr doc, Load(bytes, where));
  CITADEL_ASSIGN_OR_RETURN(auto m, IntMap(doc.get(), where, {0, 1, 2, 3, 4}));
  if (!m.count(1)) return ParseFail(where + " has no tag identity (1)");
  if (!m.count(4)) return ParseFail(where + " has no triples (4)");
  // Only reference triples (0) carry reference values; endorsement,
  // identity and attest-key triples do not constrain a measurement.
  CITADEL_ASSIGN_OR_RETURN(auto triples, IntMap(m[4], where + ".triples", {}));
  if (!triples.count(0)) return Status::Ok();
  CITADEL_ASSIGN_OR_RETURN(auto refs, Array(triples[0], where + ".reference-triples"));
  for (size_t i = 0; i < refs.size(); ++i) {
    const std::string t = where + ".reference-triples[" + std::to_string(i) + "]";
    CITADEL_ASSIGN_OR_RETURN(auto rec, Array(refs[i], t));
    if (rec.size() != 2) return ParseFail(t + " must be [environment, [+ measurement]]");
    CITADEL_RETURN_IF_ERROR(ReadClass(rec[0], t + ".environment", rim));
    CITADEL_ASSIGN_OR_RETURN(auto meas, Array(rec[1], t + ".measurements"));
    if (meas.empty()) return ParseFail(t + " has no measurements");
    for (size_t j = 0; j < meas.size(); ++j) {
      CITADEL_RETURN_IF_ERROR(ReadMeasurement(meas[j], t + ".measurements[" + std::to_string(j) + "]", rim));
    }
  }
  return Status::Ok();
}

Status ReadCorimMap(cbor_item_t* tagged, Rim* rim) {
  if (!IsTag(tagged, 501)) return ParseFail("the payload is not a #6.501 CoRIM");
  CITADEL_ASSIGN_OR_RETURN(auto m, IntMap(TagInner(tagged), "corim-map", {0, 1, 2, 3, 4, 5}));
  if (!m.count(0)) return ParseFail("corim-map has no id (0)");
  CITADEL_ASSIGN_OR_RETURN(rim->id, Identifier(m[0], "corim-map.id"));
  if (m.count(3)) {
    cbor_item_t* p = m[3];
    if (IsTag(p, 32)) {
      CITADEL_ASSIGN_OR_RETURN(rim->profile, Text(TagInner(p), "corim-map.profile"));
    } else if (IsTag(p, 111)) {
      CITADEL_ASSIGN_OR_RETURN(Bytes oid, Bstr(TagInner(p), "corim-map.profile"));
      rim->profile = "oid:" + attest_internal::Hex(oid);
    } else {
      return ParseFail("corim-map.profile must be #6.32 (URI) or #6.111 (OID)");
    }
  }
  if (m.count(4)) CITADEL_RETURN_IF_ERROR(ReadValidity(m[4], "corim-map.validity", rim));
  if (!m.count(1)) return ParseFail("corim-map has no tags (1)");
  CITADEL_ASSIGN_OR_RETURN(auto tags, Array(m[1], "corim-map.tags"));
  if (tags.empty()) return ParseFail("corim-map.tags is empty");
  for (size_t i = 0; i < tags.size(); ++i) {
    const std::string where = "corim-map.tags[" + std::to_string(i) + "]";
    if (!cbor_isa_tag(tags[i])) return ParseFail(where + " is not a tagged concise tag");
    uint64_t t = cbor_tag_value(tags[i]);
    if (t == 505 || t == 508) {  // CoSWID, CoTL: no reference values for us
      ++rim->skipped_tags;
      continue;
    }
    if (t != 506) return ParseFail(where + " has the unsupported tag " + std::to_string(t));
    CITADEL_ASSIGN_OR_RETURN(Bytes comid, Bstr(TagInner(tags[i]), where));
    CITADEL_RETURN_IF_ERROR(ReadComid(comid, where + " (CoMID)", rim));
  }
  if (rim->references.empty()) return ParseFail("the CoRIM holds no reference values");
  return Status::Ok();
}

// Protected (or unprotected) header parameters this parser understands.
const std::set<int64_t> kHeaderLabels = {1, 2, 3, 4, 8, 15, 33};

Status ReadX5Chain(cbor_item_t* it, Rim* rim) {
  if (!rim->x5chain.empty()) return ParseFail("x5chain (33) appears in both header maps");
  if (cbor_isa_bytestring(it)) {
    CITADEL_ASSIGN_OR_RETURN(Bytes der, Bstr(it, "x5chain"));
    rim->x5chain.push_back(std::move(der));
    return Status::Ok();
  }
  CITADEL_ASSIGN_OR_RETURN(auto certs, Array(it, "x5chain"));
  if (certs.empty() || certs.size() > 8) return ParseFail("x5chain must hold 1 to 8 certificates");
  for (size_t i = 0; i < certs.size(); ++i) {
    CITADEL_ASSIGN_OR_RETURN(Bytes der, Bstr(certs[i], "x5chain[" + std::to_string(i) + "]"));
    rim->x5chain.push_back(std::move(der));
  }
  return Status::Ok();
}

Status ReadProtected(ByteSpan bytes, Rim* rim) {
  if (bytes.empty()) return ParseFail("the protected header is empty (it must name the algorithm)");
  CITADEL_ASSIGN_OR_RETURN(CborPtr doc, Load(bytes, "protected header"));
  if (!cbor_isa_map(doc.get())) return ParseFail("protected header must be a map");
  // Labels: integers we know are read below; unknown integer and text
  // labels are allowed unless listed in crit (RFC 9052 section 3.1).
  std::map<int64_t, cbor_item_t*> m;
  struct cbor_pair* pairs = cbor_map_handle(doc.get());
  for (size_t i = 0; i < cbor_map_size(doc.get()); ++i) {
    if (cbor_isa_string(pairs[i].key)) continue;
    CITADEL_ASSIGN_OR_RETURN(int64_t k, Int(pairs[i].key, "protected header label"));
    if (!m.emplace(k, pairs[i].value).second) return ParseFail("protected header has label " + std::to_string(k) + " twice");
  }
  if (m.count(2)) {
    CITADEL_ASSIGN_OR_RETURN(auto crit, Array(m[2], "crit"));
    if (crit.empty()) return ParseFail("crit (2) is empty");
    for (cbor_item_t* c : crit) {
      if (cbor_isa_string(c)) return ParseFail("crit lists a text label this verifier does not understand");
      CITADEL_ASSIGN_OR_RETURN(int64_t label, Int(c, "crit label"));
      if (kHeaderLabels.count(label) == 0 || label == 2) {
        return ParseFail("crit lists header label " + std::to_string(label) + ", which this verifier does not understand");
      }
    }
  }
  if (!m.count(1)) return ParseFail("the protected header has no algorithm (1)");
  CITADEL_ASSIGN_OR_RETURN(rim->alg, Int(m[1], "alg"));
  if (m.count(3)) {
    if (!cbor_isa_string(m[3])) return ParseFail("content type (3) must be text");
    CITADEL_ASSIGN_OR_RETURN(std::string ct, Text(m[3], "content type"));
    if (ct != "application/rim+cbor" && ct != "application/corim-unsigned+cbor") {
      return ParseFail("content type \"" + ct + "\" is not a CoRIM");
    }
  }
  if (m.count(8)) {  // corim-meta-map (draft-06): {0: signer {0: name, ? 1: uri}, ? 1: signature-validity}
    cbor_item_t* meta = m[8];
    if (cbor_isa_bytestring(meta)) {  // some encoders wrap it: bstr .cbor corim-meta-map
      CITADEL_ASSIGN_OR_RETURN(Bytes inner, Bstr(meta, "corim-meta"));
      CITADEL_ASSIGN_OR_RETURN(CborPtr metadoc, Load(inner, "corim-meta"));
      CITADEL_ASSIGN_OR_RETURN(auto mm, IntMap(metadoc.get(), "corim-meta", {0, 1}));
      if (mm.count(0)) {
        CITADEL_ASSIGN_OR_RETURN(auto signer, IntMap(mm[0], "corim-meta.signer", {0, 1}));
        if (signer.count(0)) {
    CITADEL_ASSIGN_OR_RETURN(rim->signer_name, Text(signer[0], "corim-meta.signer.name"));
  }
      }
      if (mm.count(1)) CITADEL_RETURN_IF_ERROR(ReadValidity(mm[1], "corim-meta.signature-validity", rim));
    } else {
      CITADEL_ASSIGN_OR_RETURN(auto mm, IntMap(meta, "corim-meta", {0, 1}));
      if (mm.count(0)) {
        CITADEL_ASSIGN_OR_RETURN(auto signer, IntMap(mm[0], "corim-meta.signer", {0, 1}));
        if (signer.count(0)) {
    CITADEL_ASSIGN_OR_RETURN(rim->signer_name, Text(signer[0], "corim-meta.signer.name"));
  }
      }
      if (mm.count(1)) CITADEL_RETURN_IF_ERROR(ReadValidity(mm[1], "corim-meta.signature-validity", rim));
    }
  }
  if (m.count(15)) {  // CWT claims (later drafts): 4 exp, 5 nbf
    CITADEL_ASSIGN_OR_RETURN(auto cwt, IntMap(m[15], "CWT claims", {}));
    if (cwt.count(4)) {
      CITADEL_ASSIGN_OR_RETURN(int64_t exp, Time(cwt[4], "CWT exp"));
      rim->not_after = rim->not_after ? std::min(*rim->not_after, exp) : exp;
    }
    if (cwt.count(5)) {
      CITADEL_ASSIGN_OR_RETURN(int64_t nbf, Time(cwt[5], "CWT nbf"));
      rim->not_before = rim->not_before ? std::max(*rim->not_before, nbf) : nbf;
    }
  }
  if (m.count(33)) CITADEL_RETURN_IF_ERROR(ReadX5Chain(m[33], rim));
  return Status::Ok();
}

void AppendBstrHead(Bytes* out, uint8_t major, uint64_t n) {
  uint8_t mt = static_cast<uint8_t>(major << 5);
  if (n < 24) {
    out->push_back(mt | static_cast<uint8_t>(n));
  } else if (n <= 0xff) {
    out->push_back(mt | 24);
    out->push_back(static_cast<uint8_t>(n));
  } else if (n <= 0xffff) {
    out->push_back(mt | 25);
    for (int s = 8; s >= 0; s -= 8) out->push_back(static_cast<uint8_t>(n >> s));
  } else if (n <= 0xffffffffu) {
    out->push_back(mt | 26);
    for (int s = 24; s >= 0; s -= 8) out->push_back(static_cast<uint8_t>(n >> s));
  } else {
    out->push_back(mt | 27);
    for (int s = 56; s >= 0; s -= 8) out->push_back(static_cast<uint8_t>(n >> s));
  }
}

// RFC 9052 Sig_structure for COSE_Sign1 with empty external AAD.
Bytes SigStructure(ByteSpan protected_bytes, ByteSpan payload) {
  Bytes out = {0x84, 0x6a, 'S', 'i', 'g', 'n', 'a', 't', 'u', 'r', 'e', '1'};
  AppendBstrHead(&out, 2, protected_bytes.size());
  out.insert(out.end(), protected_bytes.begin(), protected_bytes.end());
  out.push_back(0x40);
  AppendBstrHead(&out, 2, payload.size());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

Result<Bytes> DecodeInput(ByteSpan input) {
  size_t i = 0;
  while (i < input.size() && std::isspace(input[i])) ++i;
  if (i < input.size() && input[i] == '{') {  // NVIDIA RIM service response
    auto j = nlohmann::json::parse(input.begin(), input.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("rim") || !j["rim"].is_string()) {
      return ParseFail("JSON input needs a \"rim\" string (NVIDIA RIM service response)");
    }
    auto b = Base64Decode(j["rim"].get<std::string>());
    if (!b.ok()) return ParseFail("\"rim\" is not base64");
    return DecodeInput(*b);
  }
  if (i < input.size() && input[i] == '<') {
    return ParseFail("this is an XML (SWID tag) RIM, not a CoRIM (VerifyRim and VerifySwidRim read it)");
  }
  Bytes bin = attest_internal::DecodeBinaryOrHexText(input);
  if (bin.size() != input.size()) return bin;  // was hex text
  bool base64 = !input.empty();
  for (uint8_t c : input) {
    base64 = base64 && (std::isalnum(c) || c == '+' || c == '/' || c == '=' || std::isspace(c));
  }
  if (base64) {
    std::string text;
    for (uint8_t c : input) if (!std::isspace(c)) text += static_cast<char>(c);
    auto b = Base64Decode(text);
    if (b.ok()) return DecodeInput(*b);
  }
  return bin;
}

std::string Utc(int64_t t) {
  return FormatRfc3339(std::chrono::system_clock::time_point(std::chrono::seconds(t)));
}

}  // namespace

namespace rim_internal {

Status CheckSignerChain(std::vector<Bytes>* x5chain, ByteSpan signer_chain, const std::vector<Bytes>& trusted_roots,
                        time_t now, std::string_view missing, X509** leaf, std::vector<X509Ptr>* keep) {
  if (trusted_roots.empty()) return Fail("nvidia.rim_trust_anchor", "no trusted RIM signing root is configured");
  if (x5chain->empty() && !signer_chain.empty()) {
    auto certs = attest_internal::ParseCertificates(signer_chain);
    if (!certs.ok()) return Fail("nvidia.rim_chain_parse", "the RIM signer chain file: " + certs.status().message());
    if (certs->size() > 8) return Fail("nvidia.rim_chain_parse", "the RIM signer chain file has more than 8 certificates");
    for (auto& c : *certs) {
      int len = i2d_X509(c.get(), nullptr);
      if (len <= 0) return Fail("nvidia.rim_chain_parse", "a RIM signer certificate does not encode");
      Bytes der(static_cast<size_t>(len));
      unsigned char* p = der.data();
      i2d_X509(c.get(), &p);
      x5chain->push_back(std::move(der));
    }
  }
  if (x5chain->empty()) return Fail("nvidia.rim_chain_missing", missing);
  std::vector<X509*> certs;
  for (size_t i = 0; i < x5chain->size(); ++i) {
    auto c = attest_internal::ParseOneCertificate((*x5chain)[i]);
    if (!c.ok()) return Fail("nvidia.rim_chain_parse", "signer certificate " + std::to_string(i) + " is not a DER certificate");
    certs.push_back(c->get());
    keep->push_back(std::move(c).value());
  }
  CITADEL_RETURN_IF_ERROR(attest_internal::WalkChainToRoot(
      certs, trusted_roots, now, {.check_prefix = "nvidia.rim_", .noun = "RIM certificate"}));
  *leaf = certs.front();
  return Status::Ok();
}

std::string CurveName(EVP_PKEY* key) {
  char group[64] = {0};
  size_t glen = 0;
  if (key == nullptr || EVP_PKEY_is_a(key, "EC") != 1 || EVP_PKEY_get_group_name(key, group, sizeof group, &glen) != 1) {
    ERR_clear_error();
    return "";
  }
  std::string g(group);
  if (g == "prime256v1") return "P-256";
  if (g == "secp384r1") return "P-384";
  if (g == "secp521r1") return "P-521";
  return g;
}

}  // namespace rim_internal

Result<Rim> ParseCorim(ByteSpan input) {
  if (input.size() > kMaxRimBytes) return ParseFail("the RIM exceeds " + std::to_string(kMaxRimBytes) + " bytes");
  CITADEL_ASSIGN_OR_RETURN(Bytes bytes, DecodeInput(input));
  if (bytes.empty()) return ParseFail("the RIM is empty");
  CITADEL_ASSIGN_OR_RETURN(CborPtr doc, Load(bytes, "CoRIM"));
  cbor_item_t* it = doc.get();
  if (IsTag(it, 500)) it = TagInner(it);  // draft-06 "corim" wrapper
  if (IsTag(it, 501)) {
    return Fail("nvidia.rim_unsigned", "the CoRIM is unsigned (#6.501); only a signed CoRIM is evidence of its origin");
  }
  if (IsTag(it, 502)) it = TagInner(it);  // draft-06 signed-corim
  if (!IsTag(it, 18)) return ParseFail("not a signed CoRIM (expected a #6.18 COSE_Sign1, optionally in #6.502/#6.500)");
  CITADEL_ASSIGN_OR_RETURN(auto parts, Array(TagInner(it), "COSE_Sign1"));
  if (parts.size() != 4) return ParseFail("COSE_Sign1 must have 4 elements");
  Rim rim;
  CITADEL_ASSIGN_OR_RETURN(Bytes prot, Bstr(parts[0], "COSE_Sign1 protected header"));
  CITADEL_RETURN_IF_ERROR(ReadProtected(prot, &rim));
  {
    if (!cbor_isa_map(parts[1])) return ParseFail("COSE_Sign1 unprotected header must be a map");
    struct cbor_pair* pairs = cbor_map_handle(parts[1]);
    std::set<int64_t> seen;
    for (size_t i = 0; i < cbor_map_size(parts[1]); ++i) {
      if (cbor_isa_string(pairs[i].key)) continue;
      CITADEL_ASSIGN_OR_RETURN(int64_t k, Int(pairs[i].key, "unprotected header label"));
      if (!seen.insert(k).second) return ParseFail("unprotected header has label " + std::to_string(k) + " twice");
      if (k == 1 || k == 2) return ParseFail("label " + std::to_string(k) + " must be in the protected header");
      if (k == 33) CITADEL_RETURN_IF_ERROR(ReadX5Chain(pairs[i].value, &rim));
    }
  }
  if (cbor_is_null(parts[2])) return ParseFail("detached payloads are not supported");
  CITADEL_ASSIGN_OR_RETURN(Bytes payload, Bstr(parts[2], "COSE_Sign1 payload"));
  CITADEL_ASSIGN_OR_RETURN(rim.signature, Bstr(parts[3], "COSE_Sign1 signature"));
  CITADEL_ASSIGN_OR_RETURN(CborPtr corim, Load(payload, "CoRIM payload"));
  CITADEL_RETURN_IF_ERROR(ReadCorimMap(corim.get(), &rim));
  rim.to_be_signed = SigStructure(prot, payload);
  return rim;
}

Result<Rim> VerifyCorim(ByteSpan input, const std::vector<Bytes>& trusted_roots,
                        std::chrono::system_clock::time_point now_tp, ByteSpan signer_chain) {
  CITADEL_ASSIGN_OR_RETURN(Rim rim, ParseCorim(input));
  const time_t now = attest_internal::ToTimeT(now_tp);
  X509* leaf = nullptr;
  std::vector<X509Ptr> keep;  // owns the parsed x5chain while `leaf` is used
  CITADEL_RETURN_IF_ERROR(rim_internal::CheckSignerChain(
      &rim.x5chain, signer_chain, trusted_roots, now,
      "the RIM carries no signing certificate chain (COSE x5chain, label 33) and none was given (policy nvidia.rim_chain)",
      &leaf, &keep));

  const char* digest = nullptr;
  const char* curve = nullptr;
  size_t half = 0;
  switch (rim.alg) {
    case -7: digest = "SHA256", curve = "P-256", half = 32; break;
    case -35: digest = "SHA384", curve = "P-384", half = 48; break;
    case -36: digest = "SHA512", curve = "P-521", half = 66; break;
    default:
      return Fail("nvidia.rim_signature", "unsupported COSE algorithm " + std::to_string(rim.alg) +
                                              " (ES256, ES384 and ES512 are accepted)");
  }
  EVP_PKEY* key = X509_get0_pubkey(leaf);
  if (rim_internal::CurveName(key) != curve) {
    return Fail("nvidia.rim_signature", std::string("the algorithm needs a ") + curve +
                                            " key but the RIM signer's key is not one");
  }
  if (rim.signature.size() != 2 * half) {
    return Fail("nvidia.rim_signature", "the signature is " + std::to_string(rim.signature.size()) +
                                            " bytes, not " + std::to_string(2 * half));
  }
  ByteSpan sig(rim.signature);
  if (!attest_internal::VerifyEcdsaRaw(key, digest, rim.to_be_signed, sig.first(half), sig.subspan(half))) {
    return Fail("nvidia.rim_signature", "the COSE signature does not verify with the RIM signer's key (\"" +
                                            attest_internal::SubjectCommonName(leaf) + "\")");
  }
  if (rim.not_before && now < *rim.not_before) {
    return Fail("nvidia.rim_validity", "the RIM is not yet valid (not before " + Utc(*rim.not_before) + ")");
  }
  if (rim.not_after && now > *rim.not_after) {
    return Fail("nvidia.rim_validity", "the RIM has expired (not after " + Utc(*rim.not_after) + ")");
  }
  if (rim.signer_name.empty()) rim.signer_name = attest_internal::SubjectCommonName(leaf);
  return rim;
}

Result<Rim> VerifyRim(ByteSpan input, const std::vector<Bytes>& trusted_roots,
                      std::chrono::system_clock::time_point now, ByteSpan signer_chain) {
  if (input.size() > kMaxRimBytes) return ParseFail("the RIM exceeds " + std::to_string(kMaxRimBytes) + " bytes");
  auto first = [](ByteSpan b) {
    size_t i = 0;
    if (b.size() >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) i = 3;  // UTF-8 byte order mark
    while (i < b.size() && std::isspace(b[i])) ++i;
    return i < b.size() ? static_cast<int>(b[i]) : -1;
  };
  if (first(input) == '{') {  // NVIDIA RIM service response: {"rim": "<base64>"}
    auto j = nlohmann::json::parse(input.begin(), input.end(), nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.contains("rim") && j["rim"].is_string()) {
      auto b = Base64Decode(j["rim"].get<std::string>());
      if (b.ok() && first(*b) == '<') return VerifySwidRim(*b, trusted_roots, now, signer_chain);
    }
  } else if (first(input) == '<') {
    return VerifySwidRim(input, trusted_roots, now, signer_chain);
  }
  return VerifyCorim(input, trusted_roots, now, signer_chain);
}

Status ApplyPolicyRims(const NvidiaPolicy& policy, const VerifyOptions& options, VerifiedEvidence* evidence) {
  std::vector<Bytes> roots = options.trust_anchors;
  if (roots.empty()) {
    for (const auto& c : attest_internal::BuiltinCerts()) {
      if (c.trust_anchor && c.vendor == "nvidia-rim") roots.emplace_back(AsBytes(c.pem).begin(), AsBytes(c.pem).end());
    }
  }
  std::map<uint32_t, std::pair<size_t, std::vector<Bytes>>> merged;  // index -> (file, values)
  auto& claims = evidence->claims;
  for (size_t n = 0; n < policy.rims.size(); ++n) {
    const std::string name = n < policy.rim_files.size() ? policy.rim_files[n] : "#" + std::to_string(n);
    auto rim = VerifyRim(policy.rims[n], roots, options.now, policy.rim_chain);
    if (!rim.ok()) {
      const std::string& m = rim.status().message();
      size_t colon = m.find(':');
      std::string check = colon == std::string::npos ? "nvidia.rim_parse" : m.substr(0, colon);
      std::string detail = colon == std::string::npos ? m : m.substr(colon + 2);
      return Fail(check, "RIM file \"" + name + "\": " + detail);
    }
    for (auto& [index, values] : rim->references) {
      auto [it, fresh] = merged.emplace(index, std::make_pair(n, values));
      if (!fresh) {
        const std::string other = it->second.first < policy.rim_files.size() ? policy.rim_files[it->second.first] : "?";
        return Fail("nvidia.rim_conflict", "measurement index " + std::to_string(index) + " has reference values in "
                                               "two RIM files (\"" + other + "\" and \"" + name + "\")");
      }
    }
    const std::string p = "nvidia.rim." + std::to_string(n) + ".";
    claims[p + "file"] = name;
    claims[p + "id"] = rim->id;
    claims[p + "signer"] = rim->signer_name;
    if (!rim->profile.empty()) claims[p + "profile"] = rim->profile;
    if (!rim->vendor.empty() || !rim->model.empty()) claims[p + "class"] = rim->vendor + " " + rim->model;
    if (rim->not_after) claims[p + "not_after"] = Utc(*rim->not_after);
    claims[p + "references"] = std::to_string(rim->references.size());
    claims[p + "format"] = rim->format;
    if (!rim->version.empty()) claims[p + "version"] = rim->version;
  }
  for (const auto& [index, fv] : merged) {
    std::string list;
    for (const Bytes& v : fv.second) list += (list.empty() ? "" : ",") + attest_internal::Hex(v);
    claims["nvidia.rim.reference." + std::to_string(index)] = list;
  }
  claims["nvidia.rim.count"] = std::to_string(policy.rims.size());
  claims["nvidia.rim"] = "verified";
  return Status::Ok();
}

std::vector<std::string> CompareWithRimReferences(const std::map<std::string, std::string>& claims) {
  static const std::string kMeas = "nvidia.measurement.";
  static const std::string kRef = "nvidia.rim.reference.";
  std::map<uint32_t, std::string> report;
  std::map<uint32_t, std::vector<Bytes>> refs;
  auto index_of = [](const std::string& s) -> std::optional<uint32_t> {
    if (s.empty() || s.size() > 3 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    return static_cast<uint32_t>(std::stoul(s));
  };
  for (const auto& [k, v] : claims) {
    if (k.compare(0, kMeas.size(), kMeas) == 0) {
      if (auto i = index_of(k.substr(kMeas.size()))) report[*i] = v;
    } else if (k.compare(0, kRef.size(), kRef) == 0) {
      auto i = index_of(k.substr(kRef.size()));
      if (!i) continue;
      auto& list = refs[*i];
      size_t start = 0;
      while (start <= v.size()) {
        size_t comma = v.find(',', start);
        auto b = HexDecode(v.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (b.ok()) list.push_back(std::move(b).value());
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    }
  }
  std::vector<std::string> out;
  for (const auto& [index, hex] : report) {
    auto value = HexDecode(hex);
    Bytes v = value.ok() ? std::move(value).value() : Bytes();
    bool active = false;
    for (uint8_t b : v) active = active || b != 0;
    auto it = refs.find(index);
    if (it == refs.end()) {
      if (active) {
        out.push_back("policy.nvidia.rim_missing: measurement index " + std::to_string(index) +
                      " is active in the report but no RIM gives a reference value for it");
      }
      continue;
    }
    bool found = false;
    for (const Bytes& r : it->second) found = ConstantTimeEquals(r, v) || found;
    if (!found) {
      out.push_back("policy.nvidia.rim_measurement: measurement index " + std::to_string(index) + " (" +
                    hex.substr(0, 16) + "...) matches none of the RIM's " + std::to_string(it->second.size()) +
                    " reference value(s)");
    }
  }
  for (const auto& [index, list] : refs) {
    if (!report.count(index)) {
      out.push_back("policy.nvidia.rim_measurement: the RIM gives reference values for index " +
                    std::to_string(index) + " but the report has no such measurement");
    }
  }
  return out;
}

}  // namespace citadel::nvidia
