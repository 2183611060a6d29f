// Copyright EMPI developers.
//
// client_cert.h: the identity of a verified TLS client certificate, for
// services that authenticate to `empi serve` with mutual TLS instead of a
// bearer token (`--client-ca`).
//
// The certificate's subject names the client, in the way Kubernetes reads
// client certificates: the common name (CN) is the subject (`sub`), the
// organisation (O) its organisation (`org`), and each organisational unit
// (OU) that names a role (kRoles in jwt.h) one of its roles; an OU of the
// form `purpose:<value>` gives its purpose of use (else "unspecified").
// For example, a certificate issued to
//   /CN=ed-viewer/O=RKB/OU=clinician/OU=purpose:direct-care
// is the service ed-viewer of organisation RKB, role clinician, purpose
// direct-care. Unknown OUs are ignored; a certificate naming no role
// authenticates but may do nothing (403).
//
// Thread-safety: a free function of its argument.
#ifndef EMPI_ENGINE_SERVER_CLIENT_CERT_H_
#define EMPI_ENGINE_SERVER_CLIENT_CERT_H_

#include <openssl/ssl.h>

#include <optional>

#include "engine/server/jwt.h"

namespace empi::server {

// The identity of the client certificate `ssl` presented, if it presented
// one that verified against the configured CA and whose subject has a
// common name and an organisation; nullopt otherwise.
std::optional<Identity> ClientCertificateIdentity(const SSL* ssl);

}  // namespace empi::server

#endif  // EMPI_ENGINE_SERVER_CLIENT_CERT_H_
