//! The cluster's certificates: the CAs, the API server's serving certificate and the admin client
//! certificate, kept under `<data-dir>/server/tls` and reused across restarts; and the TLS
//! configuration the API server serves with.
//!
//! Like k3s there are two CAs, so that a certificate meant for one role cannot be used in the
//! other:
//!
//! | file | what |
//! |---|---|
//! | `server-ca.crt`, `server-ca.key` | CA that signs serving certificates; clients trust it (kubeconfig `certificate-authority-data`) |
//! | `client-ca.crt`, `client-ca.key` | CA that signs client certificates; the server verifies client certificates against it |
//! | `serving-kube-apiserver.crt`, `.key` | the API server's serving certificate (CN `kube-apiserver`), signed by the server CA |
//! | `client-admin.crt`, `.key` | the admin's client certificate (CN `system:admin`, O `system:masters`), signed by the client CA |
//!
//! Keys are ECDSA P-256 as k3s uses. CAs are valid for 10 years, other certificates for 1 year.
//! Key files have mode 0600 and certificates 0644; every file is written atomically (temporary
//! file, then rename).
//!
//! [`ensure`] is idempotent. A CA is created only if neither of its files exists; a CA
//! certificate without its key is an error (re-creating it would silently invalidate every
//! certificate and kubeconfig issued from it). A leaf certificate is re-issued from the same CA
//! when it is missing or unreadable, its key does not match, it no longer verifies against the
//! CA, it expires within 90 days (k3s's renewal window), or, for the serving certificate, it lacks
//! a SAN now required (a new node address, `--tls-san` or cluster domain). A re-issued serving
//! certificate carries exactly the SANs now required.
//!
//! Client certificates carry one `O` attribute per group (rcgen can only write one per type, so
//! `der` rewrites the subject; see there). [`NodeAddresses`] detects the node's hostname and
//! interface addresses for the SANs. `files` does the atomic, mode-setting writes (also used by
//! [`crate::kubeconfig`]).
//!
//! Everything here is synchronous (file I/O, key generation): call [`ensure`] at start-up or
//! from `spawn_blocking`.

pub(crate) mod der;
mod files;
mod node;

pub(crate) use files::{PRIVATE_MODE, create_dir_all, write_atomic};
pub use node::NodeAddresses;

use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType, SerialNumber,
};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::time::ASN1Time;

/// The server CA's certificate file.
pub const SERVER_CA_CERT: &str = "server-ca.crt";
/// The server CA's key file.
pub const SERVER_CA_KEY: &str = "server-ca.key";
/// The client CA's certificate file.
pub const CLIENT_CA_CERT: &str = "client-ca.crt";
/// The client CA's key file.
pub const CLIENT_CA_KEY: &str = "client-ca.key";
/// The API server's serving certificate file.
pub const SERVING_CERT: &str = "serving-kube-apiserver.crt";
/// The API server's serving key file.
pub const SERVING_KEY: &str = "serving-kube-apiserver.key";
/// The admin client certificate file.
pub const ADMIN_CERT: &str = "client-admin.crt";
/// The admin client key file.
pub const ADMIN_KEY: &str = "client-admin.key";

/// The admin user, as k3s names it.
pub const ADMIN_USER: &str = "system:admin";
/// The group that RBAC's bootstrap policy makes cluster-admin.
pub const MASTERS_GROUP: &str = "system:masters";
/// The serving certificate's common name.
pub const SERVING_COMMON_NAME: &str = "kube-apiserver";

/// Validity of CA certificates.
const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);
/// Validity of leaf certificates.
const LEAF_VALIDITY: Duration = Duration::from_secs(365 * 24 * 60 * 60);
/// Leaf certificates expiring sooner than this are re-issued at start-up (k3s's window).
const RENEW_BEFORE: Duration = Duration::from_secs(90 * 24 * 60 * 60);
/// Certificates start being valid this long before they are made, for clock skew between nodes.
const BACKDATE: Duration = Duration::from_secs(5 * 60);

/// Errors of the PKI.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// The TLS directory could not be created.
    #[error("creating directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A certificate or key file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A certificate or key file could not be written.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A CA certificate exists but its key does not, so nothing can be signed with it.
    #[error(
        "CA certificate {cert} exists but its key {key} is missing; restore the key or remove both files to create a new CA"
    )]
    CaKeyMissing {
        /// The CA certificate file.
        cert: PathBuf,
        /// The missing key file.
        key: PathBuf,
    },
    /// A CA certificate file holds no PEM certificate.
    #[error("{path} holds no PEM certificate: {source}")]
    CertificatePem {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    /// A CA certificate is not a valid X.509 certificate.
    #[error("{path} is not a valid X.509 certificate: {source}")]
    CertificateParse {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: x509_parser::nom::Err<x509_parser::error::X509Error>,
    },
    /// A CA key file is not a usable private key, or is not the key of its certificate.
    #[error("{path}: {source}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: rcgen::Error,
    },
    /// A SAN is neither an IP address nor a valid DNS name.
    #[error("invalid subject alternative name {san:?}: {source}")]
    InvalidSan {
        /// The SAN as given.
        san: String,
        /// The underlying error.
        #[source]
        source: rcgen::Error,
    },
    /// Generating a key or signing a certificate failed.
    #[error("generating {what}: {source}")]
    Generate {
        /// What was being generated.
        what: String,
        /// The underlying error.
        #[source]
        source: rcgen::Error,
    },
    /// rustls rejected the certificates or key when building a TLS configuration.
    #[error("building TLS configuration: {0}")]
    Tls(#[source] rustls::Error),
    /// The client certificate verifier could not be built from the client CA.
    #[error("building the client certificate verifier: {0}")]
    Verifier(#[source] rustls::server::VerifierBuilderError),
}

/// Where the PKI lives and what the serving certificate must cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiConfig {
    /// The TLS directory, `<data-dir>/server/tls` (see [`PkiConfig::dir_for`]).
    pub dir: PathBuf,
    /// The cluster DNS domain (`--cluster-domain`, default `cluster.local`).
    pub cluster_domain: String,
    /// The first IP of the service CIDR, the `kubernetes` Service's ClusterIP (`10.43.0.1` for
    /// k3s's default CIDR).
    pub service_cidr_first_ip: IpAddr,
    /// More SANs: the node's names and addresses ([`NodeAddresses::to_sans`]) and `--tls-san`
    /// values. Each is an IP address if it parses as one, else a DNS name; empty ones are ignored.
    pub extra_sans: Vec<String>,
}

impl PkiConfig {
    /// The TLS directory under a data dir: `<data-dir>/server/tls`, as k3s.
    pub fn dir_for(data_dir: &Path) -> PathBuf {
        data_dir.join("server").join("tls")
    }

    /// Every SAN the serving certificate must carry, deduplicated, in a stable order: loopback
    /// addresses, `localhost`, the `kubernetes` Service names, the Service IP, then the extra ones.
    pub fn required_sans(&self) -> Vec<String> {
        let domain = self.cluster_domain.trim_matches('.');
        let fixed = [
            Ipv4Addr::LOCALHOST.to_string(),
            Ipv6Addr::LOCALHOST.to_string(),
            "localhost".to_owned(),
            "kubernetes".to_owned(),
            "kubernetes.default".to_owned(),
            "kubernetes.default.svc".to_owned(),
            format!("kubernetes.default.svc.{domain}"),
            self.service_cidr_first_ip.to_string(),
        ];
        let mut seen = BTreeSet::new();
        fixed
            .into_iter()
            .chain(self.extra_sans.iter().map(|s| s.trim().to_owned()))
            .filter(|s| !s.is_empty())
            .filter(|s| seen.insert(San::parse(s)))
            .collect()
    }
}

/// A certificate and its private key, both PEM.
#[derive(Clone, PartialEq, Eq)]
struct CertKeyPem {
    cert_pem: String,
    key_pem: String,
}

/// The loaded PKI: CAs that can issue certificates, the serving certificate and the admin
/// credentials.
pub struct Pki {
    dir: PathBuf,
    provider: Arc<CryptoProvider>,
    server_ca: Ca,
    client_ca: Ca,
    serving_cert: CertificateDer<'static>,
    serving_key: PrivatePkcs8KeyDer<'static>,
    admin: CertKeyPem,
}

/// The node's hostname and interface addresses as SANs ([`NodeAddresses::detect`]).
pub fn node_addresses() -> Vec<String> {
    NodeAddresses::detect().to_sans()
}

impl fmt::Debug for Pki {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pki")
            .field("dir", &self.dir)
            .field("server_ca", &self.server_ca.common_name)
            .field("client_ca", &self.client_ca.common_name)
            .finish_non_exhaustive()
    }
}

/// Loads the PKI under `config.dir`, creating or re-issuing what is missing or stale (see the
/// module docs).
pub fn ensure(config: &PkiConfig) -> Result<Pki, PkiError> {
    let dir = config.dir.clone();
    create_dir_all(&dir, files::DIR_MODE).map_err(|source| PkiError::CreateDir {
        path: dir.clone(),
        source,
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());

    let server_ca = Ca::load_or_create(
        &dir,
        SERVER_CA_CERT,
        SERVER_CA_KEY,
        "tugboat-server-ca",
        &provider,
    )?;
    let client_ca = Ca::load_or_create(
        &dir,
        CLIENT_CA_CERT,
        CLIENT_CA_KEY,
        "tugboat-client-ca",
        &provider,
    )?;

    let sans = config.required_sans();
    let serving_spec = LeafSpec::Server {
        common_name: SERVING_COMMON_NAME.to_owned(),
        sans: sans.clone(),
    };
    let serving = load_or_issue_leaf(
        &dir,
        SERVING_CERT,
        SERVING_KEY,
        &server_ca,
        &serving_spec,
        &provider,
    )?;
    let admin_spec = LeafSpec::Client {
        common_name: ADMIN_USER.to_owned(),
        organizations: vec![MASTERS_GROUP.to_owned()],
    };
    let admin = load_or_issue_leaf(
        &dir,
        ADMIN_CERT,
        ADMIN_KEY,
        &client_ca,
        &admin_spec,
        &provider,
    )?;

    let serving_cert = CertificateDer::from(serving.cert_der);
    let serving_key = PrivatePkcs8KeyDer::from(serving.key.serialize_der());
    Ok(Pki {
        dir,
        provider,
        server_ca,
        client_ca,
        serving_cert,
        serving_key,
        admin: CertKeyPem {
            cert_pem: admin.cert_pem,
            key_pem: admin.key.serialize_pem(),
        },
    })
}

// === impl Pki ===

impl Pki {
    /// The TLS directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The server CA certificate, PEM: what clients trust to verify the API server.
    pub fn server_ca_pem(&self) -> &str {
        &self.server_ca.cert_pem
    }

    /// The client CA certificate, PEM: what client certificates must be signed by.
    pub fn client_ca_pem(&self) -> &str {
        &self.client_ca.cert_pem
    }

    /// The CA bundle clients trust to verify the API server (kubeconfig
    /// `certificate-authority-data`): the server CA, PEM.
    pub fn ca_bundle_pem(&self) -> &str {
        self.server_ca_pem()
    }

    /// The admin's client certificate and key, PEM (`system:admin` in `system:masters`).
    pub fn admin_client_pem(&self) -> (&str, &str) {
        (&self.admin.cert_pem, &self.admin.key_pem)
    }

    /// The serving certificate, DER.
    pub fn serving_cert_der(&self) -> &CertificateDer<'static> {
        &self.serving_cert
    }

    /// The TLS configuration to serve with: the serving certificate, ALPN `h2` then `http/1.1`,
    /// and client certificates optional but, when presented, verified against the client CA
    /// (chain, validity period and the client-auth extended key usage).
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, PkiError> {
        let mut roots = RootCertStore::empty();
        roots
            .add(self.client_ca.cert_der.clone())
            .map_err(PkiError::Tls)?;
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), self.provider.clone())
                .allow_unauthenticated()
                .build()
                .map_err(PkiError::Verifier)?;
        let mut config = ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(PkiError::Tls)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![self.serving_cert.clone()],
                PrivateKeyDer::Pkcs8(self.serving_key.clone_key()),
            )
            .map_err(PkiError::Tls)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// Issues a client certificate from the client CA, valid for a year, with `common_name` as
    /// the user and `organizations` as the groups; returns `(cert_pem, key_pem)`. Nothing is
    /// written to disk. In-process components use it: `system:kube-controller-manager`,
    /// `system:kube-scheduler`, `system:node:<name>` in `system:nodes`.
    pub fn issue_client_cert(
        &self,
        common_name: &str,
        organizations: &[&str],
    ) -> Result<(String, String), PkiError> {
        let spec = LeafSpec::Client {
            common_name: common_name.to_owned(),
            organizations: organizations.iter().map(|o| (*o).to_owned()).collect(),
        };
        let leaf = issue_leaf(&self.client_ca, &spec, &self.provider)?;
        Ok((leaf.cert_pem, leaf.key.serialize_pem()))
    }
}

/// Which of the API server's CAs signs a CertificateSigningRequest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsrCa {
    /// Client certificates (`kubernetes.io/kube-apiserver-client`, `...-client-kubelet`).
    Client,
    /// Serving certificates (`kubernetes.io/kubelet-serving`).
    Server,
}

/// What a signed CSR certificate may be used for (the CSR's `spec.usages`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsrUsage {
    /// `client auth`.
    ClientAuth,
    /// `server auth`.
    ServerAuth,
    /// `digital signature`.
    DigitalSignature,
    /// `key encipherment`.
    KeyEncipherment,
}

impl Pki {
    /// Sign a PKCS#10 request (PEM) with `ca`: the request's subject (every O kept) and SANs, the
    /// given usages, valid from now (back-dated a little, as issued certificates are) for
    /// `valid_for`. Returns the certificate, PEM.
    pub fn sign_csr(
        &self,
        csr_pem: &str,
        ca: CsrCa,
        usages: &[CsrUsage],
        valid_for: Duration,
    ) -> Result<String, PkiError> {
        let generate = |source| PkiError::Generate {
            what: "certificate for a CertificateSigningRequest".to_owned(),
            source,
        };
        let request =
            rcgen::CertificateSigningRequestParams::from_pem(csr_pem).map_err(generate)?;
        let der =
            rustls_pki_types::CertificateSigningRequestDer::from_pem_slice(csr_pem.as_bytes())
                .map_err(|_| generate(rcgen::Error::CouldNotParseCertificationRequest))?;
        use x509_parser::prelude::FromDer as _;
        let (_, parsed) =
            x509_parser::certification_request::X509CertificationRequest::from_der(der.as_ref())
                .map_err(|_| generate(rcgen::Error::CouldNotParseCertificationRequest))?;
        let subject = parsed.certification_request_info.subject.as_raw().to_vec();
        let mut params = request.params;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = usages
            .iter()
            .filter_map(|u| match u {
                CsrUsage::DigitalSignature => Some(KeyUsagePurpose::DigitalSignature),
                CsrUsage::KeyEncipherment => Some(KeyUsagePurpose::KeyEncipherment),
                _ => None,
            })
            .collect();
        params.extended_key_usages = usages
            .iter()
            .filter_map(|u| match u {
                CsrUsage::ClientAuth => Some(ExtendedKeyUsagePurpose::ClientAuth),
                CsrUsage::ServerAuth => Some(ExtendedKeyUsagePurpose::ServerAuth),
                _ => None,
            })
            .collect();
        params.use_authority_key_identifier_extension = true;
        params.custom_extensions.clear();
        set_validity(&mut params, SystemTime::now(), valid_for);
        params.serial_number = Some(random_serial(&self.provider)?);
        let ca = match ca {
            CsrCa::Client => &self.client_ca,
            CsrCa::Server => &self.server_ca,
        };
        let signed = params
            .signed_by(&request.public_key, &ca.issuer)
            .map_err(generate)?;
        let cert_der = der::with_subject(signed.der(), &subject, ca.issuer.key())
            .ok_or_else(|| generate(rcgen::Error::CouldNotParseCertificate))?
            .map_err(generate)?;
        Ok(pem_encode_cert(&CertificateDer::from(cert_der.as_slice())))
    }
}

/// What the API server's CSR signers decide about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsrDecision {
    /// Not a signer tugboat's PKI signs for.
    NotOurs,
    /// The request breaks the signer's rules: the `Failed` condition's message.
    Invalid(String),
    /// The certificate, PEM.
    Signed(String),
}

/// The longest a signed CSR certificate lives (upstream's `--cluster-signing-duration`, 8760h).
pub const CSR_MAX_DURATION: Duration = Duration::from_secs(8760 * 3600);
/// The shortest `spec.expirationSeconds` honoured.
const CSR_MIN_DURATION: Duration = Duration::from_secs(600);

impl Pki {
    /// Sign an approved CertificateSigningRequest for one of the well-known signers, after their
    /// rules as upstream's: `kubernetes.io/kube-apiserver-client` (client usages only),
    /// `kubernetes.io/kube-apiserver-client-kubelet` (`system:node:<name>` in `system:nodes`, no
    /// SANs, client auth and digital signature) and `kubernetes.io/kubelet-serving` (the same
    /// subject, DNS and IP SANs only, server auth and digital signature).
    pub fn decide_csr(
        &self,
        csr_pem: &str,
        signer: &str,
        usages: &[String],
        expiration_seconds: Option<i32>,
    ) -> CsrDecision {
        let (ca, allowed, required): (CsrCa, &[&str], &[&str]) = match signer {
            "kubernetes.io/kube-apiserver-client" => (
                CsrCa::Client,
                &["digital signature", "key encipherment", "client auth"],
                &["client auth"],
            ),
            "kubernetes.io/kube-apiserver-client-kubelet" => (
                CsrCa::Client,
                &["digital signature", "key encipherment", "client auth"],
                &["digital signature", "client auth"],
            ),
            "kubernetes.io/kubelet-serving" => (
                CsrCa::Server,
                &["digital signature", "key encipherment", "server auth"],
                &["digital signature", "server auth"],
            ),
            _ => return CsrDecision::NotOurs,
        };
        if let Some(bad) = usages.iter().find(|u| !allowed.contains(&u.as_str())) {
            return CsrDecision::Invalid(format!("unsupported key usage: {bad}"));
        }
        if let Some(missing) = required.iter().find(|r| !usages.iter().any(|u| u == *r)) {
            return CsrDecision::Invalid(format!("missing required key usage: {missing}"));
        }
        if signer != "kubernetes.io/kube-apiserver-client"
            && let Err(message) = check_node_subject(csr_pem, ca == CsrCa::Server)
        {
            return CsrDecision::Invalid(message);
        }
        let usages: Vec<CsrUsage> = usages
            .iter()
            .filter_map(|u| match u.as_str() {
                "client auth" => Some(CsrUsage::ClientAuth),
                "server auth" => Some(CsrUsage::ServerAuth),
                "digital signature" => Some(CsrUsage::DigitalSignature),
                "key encipherment" => Some(CsrUsage::KeyEncipherment),
                _ => None,
            })
            .collect();
        let valid_for = expiration_seconds
            .and_then(|s| u64::try_from(s).ok())
            .map(Duration::from_secs)
            .map_or(CSR_MAX_DURATION, |d| {
                d.clamp(CSR_MIN_DURATION, CSR_MAX_DURATION)
            });
        match self.sign_csr(csr_pem, ca, &usages, valid_for) {
            Ok(pem) => CsrDecision::Signed(pem),
            Err(error) => CsrDecision::Invalid(error.to_string()),
        }
    }
}

/// The kubelet signers' subject rules: CN `system:node:<name>`, O exactly `system:nodes`; no SANs
/// for client certificates, only DNS and IP SANs for serving ones.
fn check_node_subject(csr_pem: &str, serving: bool) -> Result<(), String> {
    use x509_parser::prelude::FromDer as _;
    let der = rustls_pki_types::CertificateSigningRequestDer::from_pem_slice(csr_pem.as_bytes())
        .map_err(|_| "the request is not a PEM certificate request".to_owned())?;
    let (_, parsed) =
        x509_parser::certification_request::X509CertificationRequest::from_der(der.as_ref())
            .map_err(|e| format!("parsing the certificate request: {e}"))?;
    let subject = &parsed.certification_request_info.subject;
    let common_name = subject
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or_default();
    let organizations: Vec<&str> = subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok())
        .collect();
    if organizations != ["system:nodes"] {
        return Err("subject organization is not system:nodes".to_owned());
    }
    if !common_name.starts_with("system:node:") || common_name.len() == "system:node:".len() {
        return Err("subject common name does not begin with system:node:".to_owned());
    }
    let mut dns_or_ip = false;
    if let Some(extensions) = parsed.requested_extensions() {
        for extension in extensions {
            if let x509_parser::extensions::ParsedExtension::SubjectAlternativeName(sans) =
                extension
            {
                for name in &sans.general_names {
                    match name {
                        GeneralName::DNSName(_) | GeneralName::IPAddress(_) => dns_or_ip = true,
                        GeneralName::RFC822Name(_) => {
                            return Err("email subjectAltNames are not allowed".to_owned());
                        }
                        GeneralName::URI(_) => {
                            return Err("URI subjectAltNames are not allowed".to_owned());
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    if dns_or_ip && !serving {
        return Err("DNS or IP subjectAltNames are not allowed".to_owned());
    }
    if !dns_or_ip && serving {
        return Err("DNS or IP subjectAltNames are required".to_owned());
    }
    Ok(())
}

// === impl Ca ===

/// A CA that can sign.
struct Ca {
    common_name: String,
    cert_pem: String,
    cert_der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    fn load_or_create(
        dir: &Path,
        cert_file: &str,
        key_file: &str,
        name_prefix: &str,
        provider: &CryptoProvider,
    ) -> Result<Ca, PkiError> {
        let cert_path = dir.join(cert_file);
        let key_path = dir.join(key_file);
        let cert = read_optional(&cert_path)?;
        let key = read_optional(&key_path)?;
        match (cert, key) {
            (Some(cert), Some(key)) => Ca::load(&cert_path, &cert, &key_path, &key),
            (Some(_), None) => Err(PkiError::CaKeyMissing {
                cert: cert_path,
                key: key_path,
            }),
            (None, key) => {
                if key.is_some() {
                    tracing::warn!(key = %key_path.display(), "CA key without certificate (interrupted creation?); creating a new CA");
                }
                Ca::create(&cert_path, &key_path, name_prefix, provider)
            }
        }
    }

    fn load(cert_path: &Path, cert: &[u8], key_path: &Path, key: &[u8]) -> Result<Ca, PkiError> {
        restrict_key_mode(key_path);
        let cert_der =
            CertificateDer::from_pem_slice(cert).map_err(|source| PkiError::CertificatePem {
                path: cert_path.to_owned(),
                source,
            })?;
        let parsed = x509_parser::parse_x509_certificate(&cert_der)
            .map_err(|source| PkiError::CertificateParse {
                path: cert_path.to_owned(),
                source,
            })?
            .1;
        let common_name = last_common_name(&parsed).unwrap_or_default();
        if !parsed.validity().is_valid() {
            tracing::warn!(cert = %cert_path.display(), not_after = %parsed.validity().not_after, "CA certificate is outside its validity period");
        }
        let key_pair = parse_key(key_path, key)?;
        if parsed.public_key().subject_public_key.data.as_ref() != key_pair.public_key_raw() {
            return Err(PkiError::Key {
                path: key_path.to_owned(),
                source: rcgen::Error::X509(format!(
                    "key does not match certificate {}",
                    cert_path.display()
                )),
            });
        }
        let issuer =
            Issuer::from_ca_cert_der(&cert_der, key_pair).map_err(|source| PkiError::Key {
                path: cert_path.to_owned(),
                source,
            })?;
        let cert_pem = pem_encode_cert(&cert_der);
        Ok(Ca {
            common_name,
            cert_pem,
            cert_der,
            issuer,
        })
    }

    fn create(
        cert_path: &Path,
        key_path: &Path,
        name_prefix: &str,
        provider: &CryptoProvider,
    ) -> Result<Ca, PkiError> {
        let now = SystemTime::now();
        let common_name = format!("{name_prefix}@{}", unix_secs(now));
        let generate = |source| PkiError::Generate {
            what: format!("CA {common_name}"),
            source,
        };
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(generate)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name.clone());
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
        ];
        set_validity(&mut params, now, CA_VALIDITY);
        params.serial_number = Some(random_serial(provider)?);
        let cert = params.self_signed(&key).map_err(generate)?;

        write_file(key_path, key.serialize_pem().as_bytes(), PRIVATE_MODE)?;
        write_file(cert_path, cert.pem().as_bytes(), files::PUBLIC_MODE)?;
        tracing::info!(cert = %cert_path.display(), %common_name, "created CA");
        Ok(Ca {
            common_name,
            cert_pem: cert.pem(),
            cert_der: cert.der().clone(),
            issuer: Issuer::new(params, key),
        })
    }
}

// === leaf certificates ===

/// What a leaf certificate must be.
enum LeafSpec {
    /// A serving certificate.
    Server {
        common_name: String,
        sans: Vec<String>,
    },
    /// A client certificate: CN is the user, O the groups.
    Client {
        common_name: String,
        organizations: Vec<String>,
    },
}

impl LeafSpec {
    fn common_name(&self) -> &str {
        match self {
            LeafSpec::Server { common_name, .. } | LeafSpec::Client { common_name, .. } => {
                common_name
            }
        }
    }
}

/// A leaf certificate with its key.
struct Leaf {
    cert_pem: String,
    cert_der: Vec<u8>,
    key: KeyPair,
}

fn load_or_issue_leaf(
    dir: &Path,
    cert_file: &str,
    key_file: &str,
    ca: &Ca,
    spec: &LeafSpec,
    provider: &Arc<CryptoProvider>,
) -> Result<Leaf, PkiError> {
    let cert_path = dir.join(cert_file);
    let key_path = dir.join(key_file);
    let existing = match (read_optional(&cert_path)?, read_optional(&key_path)?) {
        (Some(cert), Some(key)) => {
            restrict_key_mode(&key_path);
            match check_leaf(&cert, &key, ca, spec, provider) {
                Ok(leaf) => Some(leaf),
                Err(reason) => {
                    tracing::info!(cert = %cert_path.display(), %reason, "re-issuing certificate");
                    None
                }
            }
        }
        _ => None,
    };
    if let Some(leaf) = existing {
        return Ok(leaf);
    }
    let leaf = issue_leaf(ca, spec, provider)?;
    write_file(&key_path, leaf.key.serialize_pem().as_bytes(), PRIVATE_MODE)?;
    write_file(&cert_path, leaf.cert_pem.as_bytes(), files::PUBLIC_MODE)?;
    tracing::info!(cert = %cert_path.display(), common_name = spec.common_name(), "issued certificate");
    Ok(leaf)
}

/// Accepts an existing leaf, or says why it must be re-issued.
fn check_leaf(
    cert: &[u8],
    key: &[u8],
    ca: &Ca,
    spec: &LeafSpec,
    provider: &Arc<CryptoProvider>,
) -> Result<Leaf, String> {
    let cert_der =
        CertificateDer::from_pem_slice(cert).map_err(|e| format!("no PEM certificate: {e}"))?;
    let key = KeyPair::from_pem(&String::from_utf8_lossy(key))
        .map_err(|e| format!("unusable key: {e}"))?;
    let (_, parsed) = x509_parser::parse_x509_certificate(&cert_der)
        .map_err(|e| format!("invalid certificate: {e}"))?;
    if parsed.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
        return Err("key does not match certificate".to_owned());
    }
    let not_after = parsed.validity().not_after.timestamp();
    let renew_at = unix_secs(SystemTime::now() + RENEW_BEFORE);
    if not_after < renew_at {
        return Err(format!("expires soon ({})", parsed.validity().not_after));
    }
    verify_leaf(&cert_der, ca, spec, provider)
        .map_err(|e| format!("does not verify against the CA: {e}"))?;
    match spec {
        LeafSpec::Server { sans, .. } => {
            let have = cert_sans(&parsed);
            let missing: Vec<&str> = sans
                .iter()
                .filter(|s| !have.contains(&San::parse(s)))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                return Err(format!("lacks SANs {missing:?}"));
            }
        }
        LeafSpec::Client {
            common_name,
            organizations,
        } => {
            let cn = last_common_name(&parsed);
            let orgs = organizations_of(&parsed);
            if cn.as_deref() != Some(common_name.as_str()) || &orgs != organizations {
                return Err(format!("subject is CN={cn:?} O={orgs:?}"));
            }
        }
    }
    let cert_pem = pem_encode_cert(&cert_der);
    Ok(Leaf {
        cert_pem,
        cert_der: cert_der.to_vec(),
        key,
    })
}

/// Verifies `cert` chains to `ca` for its purpose, as a peer would.
fn verify_leaf(
    cert: &CertificateDer<'_>,
    ca: &Ca,
    spec: &LeafSpec,
    provider: &Arc<CryptoProvider>,
) -> Result<(), String> {
    let mut roots = RootCertStore::empty();
    roots.add(ca.cert_der.clone()).map_err(|e| e.to_string())?;
    let roots = Arc::new(roots);
    let now = UnixTime::now();
    match spec {
        LeafSpec::Server { .. } => {
            let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| e.to_string())?;
            let name = ServerName::try_from("kubernetes").map_err(|e| e.to_string())?;
            verifier
                .verify_server_cert(cert, &[], &name, &[], now)
                .map_err(|e| e.to_string())?;
        }
        LeafSpec::Client { .. } => {
            let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| e.to_string())?;
            verifier
                .verify_client_cert(cert, &[], now)
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

fn issue_leaf(ca: &Ca, spec: &LeafSpec, provider: &CryptoProvider) -> Result<Leaf, PkiError> {
    let generate = |source| PkiError::Generate {
        what: format!("certificate for {}", spec.common_name()),
        source,
    };
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    match spec {
        LeafSpec::Server { common_name, sans } => {
            params
                .distinguished_name
                .push(DnType::CommonName, common_name.as_str());
            params.subject_alt_names =
                sans.iter().map(|s| san_type(s)).collect::<Result<_, _>>()?;
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        }
        LeafSpec::Client { common_name, .. } => {
            // The real subject (with every O) is put in below.
            params
                .distinguished_name
                .push(DnType::CommonName, common_name.as_str());
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        }
    }
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params, SystemTime::now(), LEAF_VALIDITY);
    params.serial_number = Some(random_serial(provider)?);
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(generate)?;
    let cert = params.signed_by(&key, &ca.issuer).map_err(generate)?;
    let cert_der = match spec {
        LeafSpec::Server { .. } => cert.der().to_vec(),
        LeafSpec::Client {
            common_name,
            organizations,
        } => {
            let subject = der::client_subject(organizations, common_name);
            der::with_subject(cert.der(), &subject, ca.issuer.key())
                .ok_or_else(|| generate(rcgen::Error::CouldNotParseCertificate))?
                .map_err(generate)?
        }
    };
    Ok(Leaf {
        cert_pem: pem_encode_cert(&CertificateDer::from(cert_der.as_slice())),
        cert_der,
        key,
    })
}

// === helpers ===

/// A SAN in comparable form: IPs by value, DNS names case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum San {
    Ip(IpAddr),
    Dns(String),
}

impl San {
    fn parse(s: &str) -> San {
        match s.parse::<IpAddr>() {
            Ok(ip) => San::Ip(ip),
            Err(_) => San::Dns(s.to_ascii_lowercase()),
        }
    }
}

fn san_type(s: &str) -> Result<SanType, PkiError> {
    match s.parse::<IpAddr>() {
        Ok(ip) => Ok(SanType::IpAddress(ip)),
        Err(_) => s
            .to_owned()
            .try_into()
            .map(SanType::DnsName)
            .map_err(|source| PkiError::InvalidSan {
                san: s.to_owned(),
                source,
            }),
    }
}

/// The DNS and IP SANs of a certificate.
fn cert_sans(cert: &X509Certificate<'_>) -> BTreeSet<San> {
    let mut sans = BTreeSet::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(dns) => {
                    sans.insert(San::Dns(dns.to_ascii_lowercase()));
                }
                GeneralName::IPAddress(bytes) => {
                    if let Ok(v4) = <[u8; 4]>::try_from(*bytes) {
                        sans.insert(San::Ip(IpAddr::from(v4)));
                    } else if let Ok(v6) = <[u8; 16]>::try_from(*bytes) {
                        sans.insert(San::Ip(IpAddr::from(v6)));
                    }
                }
                _ => {}
            }
        }
    }
    sans
}

/// The subject's common name as Go reads it: the last string-valued CN attribute.
pub(crate) fn last_common_name(cert: &X509Certificate<'_>) -> Option<String> {
    cert.subject()
        .iter_common_name()
        .filter_map(|attr| attr.as_str().ok())
        .last()
        .map(str::to_owned)
}

/// The subject's organizations as Go reads them: every string-valued O attribute, in order.
pub(crate) fn organizations_of(cert: &X509Certificate<'_>) -> Vec<String> {
    cert.subject()
        .iter_organization()
        .filter_map(|attr| attr.as_str().ok())
        .map(str::to_owned)
        .collect()
}

fn set_validity(params: &mut CertificateParams, now: SystemTime, validity: Duration) {
    let start = unix_secs(now).saturating_sub(BACKDATE.as_secs() as i64);
    let end = unix_secs(now).saturating_add(validity.as_secs() as i64);
    // Both are within ASN.1 time's range for any realistic clock; fall back to the defaults.
    if let (Ok(start), Ok(end)) = (
        ASN1Time::from_timestamp(start),
        ASN1Time::from_timestamp(end),
    ) {
        params.not_before = start.to_datetime();
        params.not_after = end.to_datetime();
    }
}

fn random_serial(provider: &CryptoProvider) -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 16];
    provider
        .secure_random
        .fill(&mut bytes)
        .map_err(|e| PkiError::Tls(e.into()))?;
    // Positive and of full length.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

fn unix_secs(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn pem_encode_cert(der: &CertificateDer<'_>) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

fn parse_key(path: &Path, pem: &[u8]) -> Result<KeyPair, PkiError> {
    KeyPair::from_pem(&String::from_utf8_lossy(pem)).map_err(|source| PkiError::Key {
        path: path.to_owned(),
        source,
    })
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, PkiError> {
    files::read_optional(path).map_err(|source| PkiError::Read {
        path: path.to_owned(),
        source,
    })
}

fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), PkiError> {
    write_atomic(path, contents, mode).map_err(|source| PkiError::Write {
        path: path.to_owned(),
        source,
    })
}

/// Key files found readable by group or others are narrowed to 0600 (best effort).
fn restrict_key_mode(path: &Path) {
    match files::restrict_private(path) {
        Ok(true) => {
            tracing::warn!(key = %path.display(), "key file was readable by others; set its mode to 0600")
        }
        Ok(false) => {}
        Err(err) => {
            tracing::warn!(key = %path.display(), %err, "could not check the key file's mode")
        }
    }
}

#[cfg(test)]
mod tests;
