// NVIDIA SWID reference-integrity manifests (ISO/IEC 19770-2 tags signed with
// an enveloped XML-DSig). See include/citadel/attest/nvidia_rim.h and
// docs/attestation.md ("NVIDIA RIMs").
//
// Order of work on untrusted bytes: a size bound and a DOCTYPE refusal before
// libxml2 sees them; libxml2 without DTD loading, entity substitution or
// network; a strict structural walk that accepts only the SWID and ds:Signature
// shapes NVIDIA's RIM service produces (so the enveloped URI="" reference
// covers everything that is read); the signer chain with Citadel's own walk;
// then xmlsec checks the signature with the chain's leaf key, with no keys
// manager and only the expected transforms enabled.
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/io.h>
#include <xmlsec/keys.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "attest_util.h"
#include "citadel/attest/nvidia_rim.h"
#include "nvidia_rim_internal.h"

namespace citadel::nvidia {
namespace {

using attest_internal::Fail;

constexpr char kSwidNs[] = "http://standards.iso.org/iso/19770/-2/2015/schema.xsd";
constexpr char kDsigNs[] = "http://www.w3.org/2000/09/xmldsig#";
constexpr char kTcgRimNs[] =
    "https://trustedcomputinggroup.org/resource/tcg-reference-integrity-manifest-rim-information-model/";

constexpr char kEnveloped[] = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
constexpr char kEcdsaSha384[] = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384";
constexpr char kSha384[] = "http://www.w3.org/2001/04/xmldsig-more#sha384";
// Canonicalisations without comments (comments are not read, and a
// with-comments form would only make the signed bytes depend on them).
constexpr const char* kC14n[] = {"http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
                                 "http://www.w3.org/2006/12/xml-c14n11", "http://www.w3.org/2001/10/xml-exc-c14n#"};

struct HashAlg {
  const char* ns;
  size_t size;
};
// The namespace of a Resource's Hash<i> attribute names its algorithm.
constexpr HashAlg kHashAlgs[] = {{"http://www.w3.org/2001/04/xmlenc#sha256", 32},
                                 {"http://www.w3.org/2001/04/xmlenc#sha384", 48},
                                 {"http://www.w3.org/2001/04/xmlenc#sha512", 64}};

constexpr size_t kMaxResources = 1024;
constexpr unsigned kMaxAlternatives = 64;
constexpr size_t kMaxSignerCerts = 8;
constexpr size_t kMaxElements = 1 << 16;

Status ParseFail(const std::string& detail) { return Fail("nvidia.rim_parse", "SWID RIM: " + detail); }
Status SigFail(const std::string& detail) { return Fail("nvidia.rim_signature", "SWID RIM: " + detail); }

const xmlChar* X(const char* s) { return reinterpret_cast<const xmlChar*>(s); }

// A name from the document, bounded and printable, for messages.
std::string Printable(const xmlChar* s) {
  std::string out;
  for (size_t i = 0; s != nullptr && s[i] != 0 && i < 48; ++i) {
    out += (s[i] >= 0x20 && s[i] < 0x7f) ? static_cast<char>(s[i]) : '?';
  }
  return out;
}

bool InNs(const xmlNs* ns, const char* uri) { return ns != nullptr && xmlStrEqual(ns->href, X(uri)); }

bool Is(const xmlNode* n, const char* ns, const char* local) {
  return n->type == XML_ELEMENT_NODE && InNs(n->ns, ns) && xmlStrEqual(n->name, X(local));
}

std::string Describe(const xmlNode* n) {
  std::string s = "<" + Printable(n->name) + ">";
  if (n->ns == nullptr) return s + " (no namespace)";
  if (InNs(n->ns, kSwidNs) || InNs(n->ns, kDsigNs)) return s;
  return s + " (namespace " + Printable(n->ns->href) + ")";
}

std::string AttrValue(const xmlAttr* a) {
  xmlChar* v = xmlNodeListGetString(a->doc, a->children, 1);
  std::string out = v != nullptr ? reinterpret_cast<const char*>(v) : "";
  xmlFree(v);
  return out;
}

// A namespace-less attribute, or nullopt.
std::optional<std::string> Attr(const xmlNode* n, const char* name) {
  for (const xmlAttr* a = n->properties; a != nullptr; a = a->next) {
    if (a->ns == nullptr && xmlStrEqual(a->name, X(name))) return AttrValue(a);
  }
  return std::nullopt;
}

std::optional<std::string> NsAttr(const xmlNode* n, const char* ns, const char* name) {
  for (const xmlAttr* a = n->properties; a != nullptr; a = a->next) {
    if (InNs(a->ns, ns) && xmlStrEqual(a->name, X(name))) return AttrValue(a);
  }
  return std::nullopt;
}

// The element children of `parent`. Comments and processing instructions
// are skipped (never read); text must be whitespace unless `text_ok`.
Result<std::vector<xmlNode*>> Children(xmlNode* parent, const std::string& where, bool text_ok = false) {
  std::vector<xmlNode*> out;
  for (xmlNode* c = parent->children; c != nullptr; c = c->next) {
    switch (c->type) {
      case XML_ELEMENT_NODE:
        out.push_back(c);
        break;
      case XML_TEXT_NODE:
        if (!text_ok && !xmlIsBlankNode(c)) return ParseFail(where + " holds text");
        break;
      case XML_COMMENT_NODE:
      case XML_PI_NODE:
        break;
      default:
        return ParseFail(where + " holds an unsupported XML node (type " + std::to_string(c->type) + ")");
    }
  }
  return out;
}

// Text content of an element that holds only text (base64 values).
Result<std::string> TextOf(xmlNode* n, const std::string& where) {
  CITADEL_ASSIGN_OR_RETURN(auto kids, Children(n, where, true));
  if (!kids.empty()) return ParseFail(where + " holds elements");
  xmlChar* v = xmlNodeGetContent(n);
  std::string out = v != nullptr ? reinterpret_cast<const char*>(v) : "";
  xmlFree(v);
  return out;
}

Result<unsigned> Decimal(const std::string& s, unsigned max, const std::string& where) {
  if (s.empty() || s.size() > 6 || s.find_first_not_of("0123456789") != std::string::npos) {
    return ParseFail(where + " is not a decimal number");
  }
  unsigned long v = std::stoul(s);
  if (v > max) return ParseFail(where + " is above " + std::to_string(max));
  return static_cast<unsigned>(v);
}

struct DocDeleter {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using DocPtr = std::unique_ptr<xmlDoc, DocDeleter>;
struct ParserCtxtDeleter {
  void operator()(xmlParserCtxt* c) const { xmlFreeParserCtxt(c); }
};

// libxml2 and xmlsec report errors through callbacks that print to stderr by
// default; RIM content must not reach logs, so they are silenced. The first
// xmlsec error of a verification is kept for the failure message.
thread_local std::string g_xmlsec_error;

void QuietGeneric(void*, const char*, ...) {}
void QuietStructured(void*, xmlErrorPtr) {}

void RecordXmlSecError(const char*, int, const char*, const char*, const char* subject, int reason, const char* msg) {
  if (!g_xmlsec_error.empty()) return;
  // xmlsec's own text ("data and digest do not match"), else its reason's name.
  std::string text = msg != nullptr ? Printable(X(msg)) : "";
  for (xmlSecSize i = 0; text.empty() && xmlSecErrorsGetMsg(i) != nullptr; ++i) {
    if (xmlSecErrorsGetCode(i) == reason) text = xmlSecErrorsGetMsg(i);
  }
  g_xmlsec_error = text.empty() ? "xmlsec error " + std::to_string(reason) : text;
  if (subject != nullptr) g_xmlsec_error += std::string(" (") + Printable(X(subject)) + ")";
}

// Per thread: libxml2 keeps its error handlers in thread-local state.
void SilenceLibXml() {
  xmlSetGenericErrorFunc(nullptr, QuietGeneric);
  xmlSetStructuredErrorFunc(nullptr, QuietStructured);
}

void InitLibXml() {
  static const bool done = [] {
    xmlInitParser();
    xmlThrDefSetGenericErrorFunc(nullptr, QuietGeneric);
    xmlThrDefSetStructuredErrorFunc(nullptr, QuietStructured);
    return true;
  }();
  (void)done;
  SilenceLibXml();
}

Result<DocPtr> ReadXml(ByteSpan xml) {
  if (xml.empty()) return ParseFail("the RIM is empty");
  if (xml.size() > kMaxSwidBytes) return ParseFail("the RIM exceeds " + std::to_string(kMaxSwidBytes) + " bytes");
  // No DTD of any kind: no entities to expand, no external subset to fetch.
  static constexpr std::string_view kDoctype = "<!DOCTYPE";
  if (std::search(xml.begin(), xml.end(), kDoctype.begin(), kDoctype.end()) != xml.end()) {
    return ParseFail("a DOCTYPE is not accepted");
  }
  InitLibXml();
  std::unique_ptr<xmlParserCtxt, ParserCtxtDeleter> ctxt(xmlNewParserCtxt());
  if (ctxt == nullptr) return ParseFail("out of memory");
  // Not XML_PARSE_NOENT (entity substitution), XML_PARSE_DTDLOAD,
  // XML_PARSE_DTDATTR, XML_PARSE_XINCLUDE or XML_PARSE_HUGE (libxml2's
  // depth and size limits stay on).
  const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
  DocPtr doc(xmlCtxtReadMemory(ctxt.get(), reinterpret_cast<const char*>(xml.data()), static_cast<int>(xml.size()),
                               "rim.swidtag", nullptr, options));
  if (doc == nullptr || !ctxt->wellFormed || !ctxt->nsWellFormed) {
    const xmlError* e = xmlCtxtGetLastError(ctxt.get());
    return ParseFail("not well-formed (namespace-)XML" +
                     (e != nullptr ? " (libxml2 error " + std::to_string(e->code) + " at line " + std::to_string(e->line) + ")"
                                   : std::string()));
  }
  if (doc->intSubset != nullptr || doc->extSubset != nullptr) return ParseFail("a DOCTYPE is not accepted");
  return doc;
}

// Counts ds:Signature elements and all elements, bounded.
Status CountElements(xmlNode* n, size_t* elements, std::vector<xmlNode*>* signatures) {
  for (xmlNode* c = n; c != nullptr; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    if (++*elements > kMaxElements) return ParseFail("more than " + std::to_string(kMaxElements) + " elements");
    if (Is(c, kDsigNs, "Signature")) signatures->push_back(c);
    CITADEL_RETURN_IF_ERROR(CountElements(c->children, elements, signatures));
  }
  return Status::Ok();
}

Status ReadResource(xmlNode* r, Rim* rim, std::set<unsigned>* seen) {
  std::optional<std::string> type, index, active, alternatives, size;
  const HashAlg* alg = nullptr;
  std::map<unsigned, std::string> hashes;
  for (const xmlAttr* a = r->properties; a != nullptr; a = a->next) {
    const std::string name = Printable(a->name);
    if (a->ns == nullptr) {
      if (name == "type") type = AttrValue(a);
      else if (name == "index") index = AttrValue(a);
      else if (name == "active") active = AttrValue(a);
      else if (name == "alternatives") alternatives = AttrValue(a);
      else if (name == "size") size = AttrValue(a);
      else if (name != "name") return ParseFail("Resource attribute \"" + name + "\" is not supported");
      continue;
    }
    const HashAlg* this_alg = nullptr;
    for (const HashAlg& h : kHashAlgs) {
      if (InNs(a->ns, h.ns)) this_alg = &h;
    }
    if (this_alg == nullptr) {
      return ParseFail("Resource attribute \"" + name + "\" in namespace " + Printable(a->ns->href) + " is not supported");
    }
    if (alg != nullptr && alg != this_alg) return ParseFail("a Resource mixes hash algorithms");
    alg = this_alg;
    if (name.rfind("Hash", 0) != 0) return ParseFail("Resource hash attribute \"" + name + "\" is not Hash<n>");
    CITADEL_ASSIGN_OR_RETURN(unsigned i, Decimal(name.substr(4), kMaxAlternatives, "Resource attribute " + name));
    hashes[i] = AttrValue(a);
  }
  if (!type || *type != "Measurement") return ParseFail("a Resource's type is not \"Measurement\"");
  if (!index) return ParseFail("a Resource has no index");
  CITADEL_ASSIGN_OR_RETURN(unsigned idx, Decimal(*index, 255, "a Resource index"));
  const std::string at = "Resource index " + std::to_string(idx);
  if (!seen->insert(idx).second) return ParseFail(at + " occurs twice");
  bool is_active = false;
  if (active && (*active == "True" || *active == "true")) is_active = true;
  else if (!active || (*active != "False" && *active != "false")) return ParseFail(at + ": active must be True or False");
  if (!alternatives) return ParseFail(at + " has no alternatives count");
  CITADEL_ASSIGN_OR_RETURN(unsigned count, Decimal(*alternatives, kMaxAlternatives, at + " alternatives"));
  if (count == 0) return ParseFail(at + " has 0 alternatives");
  if (alg == nullptr || hashes.size() != count || hashes.rbegin()->first != count - 1) {
    return ParseFail(at + " does not have exactly Hash0..Hash" + std::to_string(count - 1));
  }
  if (size) {
    CITADEL_ASSIGN_OR_RETURN(unsigned sz, Decimal(*size, 1024, at + " size"));
    if (sz != alg->size) return ParseFail(at + " has size " + std::to_string(sz) + ", not its hash's " + std::to_string(alg->size));
  }
  CITADEL_ASSIGN_OR_RETURN(auto kids, Children(r, at));
  if (!kids.empty()) return ParseFail(at + " holds " + Describe(kids.front()));
  std::vector<Bytes> values;
  for (const auto& [i, hex] : hashes) {
    auto v = HexDecode(hex);
    if (!v.ok() || v->size() != alg->size) {
      return ParseFail(at + " Hash" + std::to_string(i) + " is not " + std::to_string(alg->size) + " bytes of hex");
    }
    values.push_back(std::move(v).value());
  }
  if (is_active) {
    rim->references[idx] = std::move(values);
  } else {
    ++rim->inactive;
  }
  return Status::Ok();
}

Status ReadPayload(xmlNode* payload, Rim* rim) {
  CITADEL_ASSIGN_OR_RETURN(auto kids, Children(payload, "Payload"));
  if (kids.size() > kMaxResources) return ParseFail("more than " + std::to_string(kMaxResources) + " Resources");
  std::set<unsigned> seen;
  for (xmlNode* k : kids) {
    if (!Is(k, kSwidNs, "Resource")) return ParseFail("Payload holds " + Describe(k) + "; only Resource is read");
    CITADEL_RETURN_IF_ERROR(ReadResource(k, rim, &seen));
  }
  if (seen.empty()) return ParseFail("the Payload has no Resource");
  return Status::Ok();
}

bool OneOf(const std::optional<std::string>& v, std::initializer_list<const char*> allowed) {
  if (!v) return false;
  for (const char* a : allowed) {
    if (*v == a) return true;
  }
  return false;
}

Status NoChildren(xmlNode* n, const std::string& where) {
  auto kids = Children(n, where);
  if (!kids.ok() || !kids->empty()) return SigFail(where + " has content; parameters are not accepted");
  return Status::Ok();
}

// The accepted ds:Signature shape (see nvidia_rim.h); collects the KeyInfo
// certificates.
Status ReadSignature(xmlNode* sig, Rim* rim) {
  auto kids_or = Children(sig, "ds:Signature");
  if (!kids_or.ok()) return SigFail("ds:Signature holds text or unsupported nodes");
  const auto& kids = *kids_or;
  if (kids.size() < 2 || !Is(kids[0], kDsigNs, "SignedInfo") || !Is(kids[1], kDsigNs, "SignatureValue") ||
      (kids.size() == 3 && !Is(kids[2], kDsigNs, "KeyInfo")) || kids.size() > 3) {
    for (xmlNode* k : kids) {
      if (!Is(k, kDsigNs, "SignedInfo") && !Is(k, kDsigNs, "SignatureValue") && !Is(k, kDsigNs, "KeyInfo")) {
        return SigFail("ds:Signature holds " + Describe(k) + ", which the signature does not cover");
      }
    }
    return SigFail("ds:Signature must hold SignedInfo, SignatureValue and KeyInfo, once each, in that order");
  }
  // SignedInfo.
  auto si_or = Children(kids[0], "ds:SignedInfo");
  if (!si_or.ok()) return SigFail("ds:SignedInfo holds text or unsupported nodes");
  const auto& si = *si_or;
  if (si.size() < 3 || !Is(si[0], kDsigNs, "CanonicalizationMethod") || !Is(si[1], kDsigNs, "SignatureMethod")) {
    return SigFail("ds:SignedInfo must hold CanonicalizationMethod, SignatureMethod and one Reference");
  }
  for (size_t i = 2; i < si.size(); ++i) {
    if (!Is(si[i], kDsigNs, "Reference")) return SigFail("ds:SignedInfo holds " + Describe(si[i]));
  }
  if (si.size() != 3) {
    return SigFail(std::to_string(si.size() - 2) + " References: only one, with URI=\"\" (the whole document), is accepted");
  }
  auto c14n = Attr(si[0], "Algorithm");
  if (!OneOf(c14n, {kC14n[0], kC14n[1], kC14n[2]})) {
    return SigFail("the canonicalization method is not C14N 1.0/1.1 or exclusive C14N (without comments)");
  }
  CITADEL_RETURN_IF_ERROR(NoChildren(si[0], "ds:CanonicalizationMethod"));
  if (!OneOf(Attr(si[1], "Algorithm"), {kEcdsaSha384})) {
    return SigFail("the signature method is not ECDSA-SHA384 (" + std::string(kEcdsaSha384) + ")");
  }
  CITADEL_RETURN_IF_ERROR(NoChildren(si[1], "ds:SignatureMethod"));
  // The one Reference: URI="" with the enveloped transform covers the whole
  // document except this ds:Signature, which is all that is read.
  xmlNode* ref = si[2];
  for (const xmlAttr* a = ref->properties; a != nullptr; a = a->next) {
    if (a->ns != nullptr || (!xmlStrEqual(a->name, X("URI")) && !xmlStrEqual(a->name, X("Id")))) {
      return SigFail("ds:Reference attribute \"" + Printable(a->name) + "\" is not accepted");
    }
  }
  auto uri = Attr(ref, "URI");
  if (!uri || !uri->empty()) {
    return SigFail("the Reference URI is " + (uri ? "\"" + Printable(X(uri->c_str())) + "\"" : std::string("absent")) +
                   "; only URI=\"\" (the whole document) is accepted");
  }
  auto rk_or = Children(ref, "ds:Reference");
  if (!rk_or.ok()) return SigFail("ds:Reference holds text or unsupported nodes");
  const auto& rk = *rk_or;
  if (rk.size() != 3 || !Is(rk[0], kDsigNs, "Transforms") || !Is(rk[1], kDsigNs, "DigestMethod") ||
      !Is(rk[2], kDsigNs, "DigestValue")) {
    return SigFail("ds:Reference must hold Transforms, DigestMethod and DigestValue");
  }
  auto tr_or = Children(rk[0], "ds:Transforms");
  if (!tr_or.ok()) return SigFail("ds:Transforms holds text or unsupported nodes");
  const auto& tr = *tr_or;
  if (tr.empty() || tr.size() > 2) return SigFail("the Reference must have the enveloped transform and at most one C14N");
  for (size_t i = 0; i < tr.size(); ++i) {
    if (!Is(tr[i], kDsigNs, "Transform")) return SigFail("ds:Transforms holds " + Describe(tr[i]));
    CITADEL_RETURN_IF_ERROR(NoChildren(tr[i], "ds:Transform"));
    auto alg = Attr(tr[i], "Algorithm");
    bool ok = i == 0 ? OneOf(alg, {kEnveloped}) : OneOf(alg, {kC14n[0], kC14n[1], kC14n[2]});
    if (!ok) return SigFail("the Reference transforms must be enveloped-signature, then at most one C14N");
  }
  if (!OneOf(Attr(rk[1], "Algorithm"), {kSha384})) return SigFail("the digest method is not SHA-384");
  CITADEL_RETURN_IF_ERROR(NoChildren(rk[1], "ds:DigestMethod"));
  // KeyInfo: X509Data with the signer chain (signer first).
  if (kids.size() == 3) {
    auto ki_or = Children(kids[2], "ds:KeyInfo");
    if (!ki_or.ok()) return SigFail("ds:KeyInfo holds text or unsupported nodes");
    if (ki_or->size() != 1 || !Is(ki_or->front(), kDsigNs, "X509Data")) {
      return SigFail("ds:KeyInfo must hold one X509Data and nothing else");
    }
    auto xd_or = Children(ki_or->front(), "ds:X509Data");
    if (!xd_or.ok()) return SigFail("ds:X509Data holds text or unsupported nodes");
    if (xd_or->size() > kMaxSignerCerts) return SigFail("ds:X509Data holds more than 8 certificates");
    for (xmlNode* c : *xd_or) {
      if (!Is(c, kDsigNs, "X509Certificate")) return SigFail("ds:X509Data holds " + Describe(c));
      auto text = TextOf(c, "ds:X509Certificate");
      if (!text.ok()) return SigFail("ds:X509Certificate holds elements");
      std::string b64;
      for (char ch : *text) {
        if (ch != ' ' && ch != '\n' && ch != '\r' && ch != '\t') b64 += ch;
      }
      auto der = Base64Decode(b64);
      if (!der.ok() || der->empty()) return Fail("nvidia.rim_chain_parse", "SWID RIM: an X509Certificate is not base64");
      rim->x5chain.push_back(std::move(der).value());
    }
  }
  return Status::Ok();
}

struct SwidDoc {
  DocPtr doc;
  xmlNode* signature = nullptr;
  Rim rim;
};

Result<SwidDoc> ParseDoc(ByteSpan xml) {
  SwidDoc out;
  CITADEL_ASSIGN_OR_RETURN(out.doc, ReadXml(xml));
  Rim& rim = out.rim;
  rim.format = "swid";
  xmlNode* root = xmlDocGetRootElement(out.doc.get());
  if (root == nullptr || !Is(root, kSwidNs, "SoftwareIdentity")) {
    return ParseFail("the root element is not an ISO 19770-2 (2015) SoftwareIdentity");
  }
  size_t elements = 0;
  std::vector<xmlNode*> signatures;
  CITADEL_RETURN_IF_ERROR(CountElements(root, &elements, &signatures));
  if (signatures.empty()) return SigFail("the SWID tag is unsigned (no ds:Signature)");
  if (signatures.size() > 1) return SigFail("the document holds " + std::to_string(signatures.size()) + " ds:Signature elements; one is accepted");
  if (signatures[0]->parent != root) return SigFail("the ds:Signature is not a child of SoftwareIdentity (not enveloped)");
  out.signature = signatures[0];
  if (auto id = Attr(root, "tagId")) rim.id = *id;
  CITADEL_ASSIGN_OR_RETURN(auto kids, Children(root, "SoftwareIdentity"));
  xmlNode* payload = nullptr;
  for (xmlNode* k : kids) {
    if (k == out.signature) continue;
    if (Is(k, kSwidNs, "Entity") || Is(k, kSwidNs, "Link")) {
      if (Is(k, kSwidNs, "Entity") && rim.vendor.empty()) {
        if (auto n = Attr(k, "name")) rim.vendor = *n;
      }
      continue;
    }
    if (Is(k, kSwidNs, "Meta")) {
      if (auto v = Attr(k, "colloquialVersion"); v && rim.version.empty()) rim.version = *v;
      if (auto p = Attr(k, "product"); p && rim.model.empty()) rim.model = *p;
      if (auto f = NsAttr(k, kTcgRimNs, "FirmwareManufacturer")) rim.vendor = *f;
      continue;
    }
    if (Is(k, kSwidNs, "Payload")) {
      if (payload != nullptr) return ParseFail("more than one Payload");
      payload = k;
      continue;
    }
    return ParseFail("SoftwareIdentity holds " + Describe(k) + ", which is not read (Entity, Link, Meta, Payload)");
  }
  if (payload == nullptr) return ParseFail("no Payload");
  CITADEL_RETURN_IF_ERROR(ReadPayload(payload, &rim));
  CITADEL_RETURN_IF_ERROR(ReadSignature(out.signature, &rim));
  return out;
}

struct DSigCtxDeleter {
  void operator()(xmlSecDSigCtx* c) const { xmlSecDSigCtxDestroy(c); }
};

Status VerifyXmlSignature(xmlNode* signature, EVP_PKEY* signer_key, const std::string& signer_name) {
  CITADEL_RETURN_IF_ERROR(InitXmlSec());
  SilenceLibXml();
  g_xmlsec_error.clear();
  // No keys manager: xmlsec has no certificates to trust and does not read
  // KeyInfo; the key is the chain leaf that Citadel's walk accepted.
  std::unique_ptr<xmlSecDSigCtx, DSigCtxDeleter> ctx(xmlSecDSigCtxCreate(nullptr));
  if (ctx == nullptr) return SigFail("xmlsec could not create a signature context");
  ctx->flags = XMLSEC_DSIG_FLAGS_IGNORE_MANIFESTS | XMLSEC_DSIG_FLAGS_STORE_SIGNEDINFO_REFERENCES;
  ctx->enabledReferenceUris = xmlSecTransformUriTypeEmpty;
  bool enabled = xmlSecDSigCtxEnableSignatureTransform(ctx.get(), xmlSecTransformInclC14NId) >= 0 &&
                 xmlSecDSigCtxEnableSignatureTransform(ctx.get(), xmlSecTransformInclC14N11Id) >= 0 &&
                 xmlSecDSigCtxEnableSignatureTransform(ctx.get(), xmlSecTransformExclC14NId) >= 0 &&
                 xmlSecDSigCtxEnableSignatureTransform(ctx.get(), xmlSecTransformEcdsaSha384Id) >= 0 &&
                 xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformEnvelopedId) >= 0 &&
                 xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformInclC14NId) >= 0 &&
                 xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformInclC14N11Id) >= 0 &&
                 xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformExclC14NId) >= 0 &&
                 xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformSha384Id) >= 0;
  if (!enabled) return SigFail("xmlsec could not restrict the transforms");
  if (EVP_PKEY_up_ref(signer_key) != 1) return SigFail("the signer key cannot be used");
  xmlSecKeyDataPtr data = xmlSecOpenSSLEvpKeyAdopt(signer_key);
  if (data == nullptr) {
    EVP_PKEY_free(signer_key);
    return SigFail("xmlsec does not accept the signer key");
  }
  xmlSecKeyPtr key = xmlSecKeyCreate();
  if (key == nullptr || xmlSecKeySetValue(key, data) < 0) {
    if (key != nullptr) xmlSecKeyDestroy(key);
    xmlSecKeyDataDestroy(data);
    return SigFail("xmlsec does not accept the signer key");
  }
  ctx->signKey = key;  // owned by the context from here
  const int rc = xmlSecDSigCtxVerify(ctx.get(), signature);
  ERR_clear_error();
  if (rc < 0) {
    return SigFail("the XML signature could not be checked (" + (g_xmlsec_error.empty() ? "xmlsec error" : g_xmlsec_error) + ")");
  }
  if (ctx->status != xmlSecDSigStatusSucceeded) {
    return SigFail("the XML signature does not verify with the RIM signer's key (\"" + signer_name + "\")" +
                   (g_xmlsec_error.empty() ? "" : ": " + g_xmlsec_error));
  }
  // What xmlsec processed is what the structure check accepted: one
  // reference, to the whole document, which verified.
  if (xmlSecPtrListGetSize(&ctx->signedInfoReferences) != 1) return SigFail("xmlsec processed other than one Reference");
  auto* r = static_cast<xmlSecDSigReferenceCtxPtr>(xmlSecPtrListGetItem(&ctx->signedInfoReferences, 0));
  if (r == nullptr || r->status != xmlSecDSigStatusSucceeded || r->uri == nullptr || r->uri[0] != 0) {
    return SigFail("the verified Reference is not URI=\"\"");
  }
  return Status::Ok();
}

}  // namespace

Status InitXmlSec() {
  // Static initialisation runs once, and other threads wait for it.
  static const Status* const status = [] {
    InitLibXml();
    if (xmlSecInit() < 0) return new Status(SigFail("xmlsec initialisation failed"));
    if (xmlSecCheckVersion() != 1) return new Status(SigFail("the loaded xmlsec library is not the version built against"));
    if (xmlSecOpenSSLAppInit(nullptr) < 0 || xmlSecOpenSSLInit() < 0) {
      return new Status(SigFail("xmlsec's OpenSSL backend did not initialise"));
    }
    xmlSecErrorsSetCallback(RecordXmlSecError);
    // No input callbacks at all: no reference URI can open a file or URL
    // (only URI="" is enabled anyway).
    xmlSecIOCleanupCallbacks();
    return new Status(Status::Ok());
  }();
  return *status;
}

Result<Rim> ParseSwidRim(ByteSpan xml) {
  CITADEL_ASSIGN_OR_RETURN(SwidDoc d, ParseDoc(xml));
  return std::move(d.rim);
}

Result<Rim> VerifySwidRim(ByteSpan xml, const std::vector<Bytes>& trusted_roots,
                          std::chrono::system_clock::time_point now, ByteSpan signer_chain) {
  CITADEL_ASSIGN_OR_RETURN(SwidDoc d, ParseDoc(xml));
  Rim& rim = d.rim;
  X509* leaf = nullptr;
  std::vector<X509Ptr> keep;
  CITADEL_RETURN_IF_ERROR(rim_internal::CheckSignerChain(
      &rim.x5chain, signer_chain, trusted_roots, attest_internal::ToTimeT(now),
      "the SWID RIM's KeyInfo holds no X509Certificate and none was given (policy nvidia.rim_chain)", &leaf, &keep));
  EVP_PKEY* key = X509_get0_pubkey(leaf);
  if (rim_internal::CurveName(key) != "P-384") {
    return SigFail("ECDSA-SHA384 needs a P-384 key but the RIM signer's key is not one");
  }
  const std::string signer = attest_internal::SubjectCommonName(leaf);
  CITADEL_RETURN_IF_ERROR(VerifyXmlSignature(d.signature, key, signer));
  rim.signer_name = signer;
  return std::move(rim);
}

}  // namespace citadel::nvidia
