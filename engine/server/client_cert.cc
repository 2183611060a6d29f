// Copyright EMPI developers.
#include "engine/server/client_cert.h"

#include <openssl/x509.h>

#include <algorithm>
#include <string>

#include "absl/strings/match.h"

namespace empi::server {
namespace {

// Every value of attribute `nid` in `name`, as UTF-8.
std::vector<std::string> Entries(const X509_NAME* name, int nid) {
  std::vector<std::string> out;
  for (int i = X509_NAME_get_index_by_NID(name, nid, -1); i >= 0; i = X509_NAME_get_index_by_NID(name, nid, i)) {
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char* utf8 = nullptr;
    const int n = ASN1_STRING_to_UTF8(&utf8, data);
    if (n >= 0) out.emplace_back(reinterpret_cast<const char*>(utf8), static_cast<size_t>(n));
    OPENSSL_free(utf8);
  }
  return out;
}

}  // namespace

std::optional<Identity> ClientCertificateIdentity(const SSL* ssl) {
  if (ssl == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return std::nullopt;
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return std::nullopt;
  const X509_NAME* subject = X509_get_subject_name(cert);
  const std::vector<std::string> cn = Entries(subject, NID_commonName);
  const std::vector<std::string> o = Entries(subject, NID_organizationName);
  const std::vector<std::string> ou = Entries(subject, NID_organizationalUnitName);
  X509_free(cert);
  if (cn.size() != 1 || o.size() != 1 || cn[0].empty() || o[0].empty()) return std::nullopt;
  Identity id{cn[0], o[0], "unspecified", {}};
  for (const std::string& unit : ou) {
    if (absl::StartsWith(unit, "purpose:") && unit.size() > 8) {
      id.purpose = unit.substr(8);
    } else if (std::find(std::begin(kRoles), std::end(kRoles), unit) != std::end(kRoles)) {
      id.roles.push_back(unit);
    }
  }
  return id;
}

}  // namespace empi::server
