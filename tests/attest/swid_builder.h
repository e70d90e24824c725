// Test helpers for NVIDIA SWID RIMs: the XML text of a SWID tag shaped like
// NVIDIA's driver and VBIOS RIMs (written here by hand, independent of the
// parser under test), signed with xmlsec's signing API (enveloped XML-DSig,
// ECDSA-SHA384, C14N 1.1, as NVIDIA signs them) by the test CoRIM/RIM
// hierarchy of corim_builder.h, with the signer chain in KeyInfo.
#ifndef CITADEL_TESTS_ATTEST_SWID_BUILDER_H_
#define CITADEL_TESTS_ATTEST_SWID_BUILDER_H_

#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/x509.h>
#include <xmlsec/crypto.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>

#include <string>
#include <vector>

#include "citadel/attest/nvidia_rim.h"
#include "corim_builder.h"

namespace citadel::swidtest {

struct Resource {
  uint32_t index = 0;
  bool active = true;
  std::vector<Bytes> values;  // Hash0..Hash{n-1}, 48 bytes each (SHA-384)
};

struct SwidSpec {
  std::vector<Resource> resources;
  std::string version = "535.104.05";
  std::string tag_id = "test-swid-1";
  std::string reference_uri;  // "" (the whole document); "#meta" covers only Meta
  bool with_key_info = true;   // signer, sub-CA and root in KeyInfo/X509Data
};

inline std::string SwidXml(const SwidSpec& spec) {
  std::string x =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<SoftwareIdentity xmlns=\"http://standards.iso.org/iso/19770/-2/2015/schema.xsd\" "
      "xmlns:ns2=\"http://www.w3.org/2001/04/xmlenc#sha384\" corpus=\"false\" name=\"GH100\" patch=\"false\" "
      "supplemental=\"false\" tagId=\"" + spec.tag_id + "\" version=\"1.0\" tagVersion=\"0\">\n"
      "  <Entity name=\"NVIDIA Corporation\" role=\"softwareCreator tagCreator\"/>\n"
      "  <Meta xmlns:ns1=\"https://trustedcomputinggroup.org/resource/"
      "tcg-reference-integrity-manifest-rim-information-model/\" xml:id=\"meta\" colloquialVersion=\"" +
      spec.version + "\" edition=\"GPU\" product=\"GH100\" ns1:FirmwareManufacturer=\"NVIDIA Corporation\"/>\n"
      "  <Payload>\n";
  for (const Resource& r : spec.resources) {
    x += "    <Resource type=\"Measurement\" index=\"" + std::to_string(r.index) + "\" active=\"" +
         (r.active ? "True" : "False") + "\" alternatives=\"" + std::to_string(r.values.size()) + "\"";
    for (size_t i = 0; i < r.values.size(); ++i) x += " ns2:Hash" + std::to_string(i) + "=\"" + HexEncode(r.values[i]) + "\"";
    x += " name=\"Measurement_" + std::to_string(r.index) + "\" size=\"48\"/>\n";
  }
  x += "  </Payload>\n</SoftwareIdentity>\n";
  return x;
}

inline std::string CertBase64(X509* c) {
  int len = i2d_X509(c, nullptr);
  Bytes der(static_cast<size_t>(len));
  unsigned char* p = der.data();
  i2d_X509(c, &p);
  return Base64Encode(der);
}

// The signed document's text. Failures are test failures (and return "").
inline std::string SignedSwid(const rimtest::RimPki& pki, const SwidSpec& spec) {
  EXPECT_TRUE(nvidia::InitXmlSec().ok());
  const std::string xml = SwidXml(spec);
  xmlDocPtr doc = xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "test.swidtag", nullptr, XML_PARSE_NONET);
  EXPECT_NE(doc, nullptr);
  if (doc == nullptr) return "";
  xmlNodePtr sig = xmlSecTmplSignatureCreateNsPref(doc, xmlSecTransformInclC14N11Id, xmlSecTransformEcdsaSha384Id,
                                                   nullptr, BAD_CAST "ds");
  xmlAddChild(xmlDocGetRootElement(doc), sig);
  xmlNodePtr ref = xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha384Id, nullptr,
                                                   BAD_CAST spec.reference_uri.c_str(), nullptr);
  xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId);
  xmlSecTmplReferenceAddTransform(ref, xmlSecTransformInclC14N11Id);
  xmlSecDSigCtxPtr ctx = xmlSecDSigCtxCreate(nullptr);
  EVP_PKEY_up_ref(pki.signer_key.get());
  xmlSecKeyPtr key = xmlSecKeyCreate();
  xmlSecKeySetValue(key, xmlSecOpenSSLEvpKeyAdopt(pki.signer_key.get()));
  ctx->signKey = key;
  EXPECT_EQ(xmlSecDSigCtxSign(ctx, sig), 0);
  xmlSecDSigCtxDestroy(ctx);
  // KeyInfo is outside what the enveloped signature covers, as in NVIDIA's
  // RIMs; it is added after signing.
  if (spec.with_key_info) {
    xmlNodePtr x509 = xmlSecTmplKeyInfoAddX509Data(xmlSecTmplSignatureEnsureKeyInfo(sig, nullptr));
    for (X509* c : {pki.signer.get(), pki.sub.get(), pki.root.get()}) {
      xmlNewTextChild(x509, x509->ns, BAD_CAST "X509Certificate", BAD_CAST CertBase64(c).c_str());
    }
  }
  xmlChar* out = nullptr;
  int out_len = 0;
  xmlDocDumpMemory(doc, &out, &out_len);
  std::string text(reinterpret_cast<const char*>(out), static_cast<size_t>(out_len));
  xmlFree(out);
  xmlFreeDoc(doc);
  return text;
}

// Replaces the first occurrence of `from` (which must occur) with `to`.
inline std::string Replace(std::string s, const std::string& from, const std::string& to) {
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

}  // namespace citadel::swidtest

#endif  // CITADEL_TESTS_ATTEST_SWID_BUILDER_H_
