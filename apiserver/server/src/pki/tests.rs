use super::*;
use crate::authn::{ALL_AUTHENTICATED, Authenticator, UserInfo};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn config(dir: &Path) -> PkiConfig {
    PkiConfig {
        dir: dir.join("server/tls"),
        cluster_domain: "cluster.local".to_owned(),
        service_cidr_first_ip: "10.43.0.1".parse().unwrap(),
        extra_sans: vec!["node-1".to_owned(), "192.0.2.10".to_owned()],
    }
}

fn read(dir: &Path, file: &str) -> String {
    fs::read_to_string(dir.join(file)).unwrap()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn parse_pem(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
}

fn sans_of(pem: &str) -> BTreeSet<San> {
    let der = parse_pem(pem);
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    cert_sans(&cert)
}

#[test]
fn required_sans_cover_the_kubernetes_service_and_node() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.extra_sans.push("LOCALHOST".to_owned());
    config.extra_sans.push(" ".to_owned());
    assert_eq!(
        config.required_sans(),
        [
            "127.0.0.1",
            "::1",
            "localhost",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
            "10.43.0.1",
            "node-1",
            "192.0.2.10",
        ]
    );
}

#[test]
fn ensure_creates_then_reuses() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let first = ensure(&config).unwrap();
    let tls = &config.dir;
    assert_eq!(mode(tls), 0o700);
    for key in [SERVER_CA_KEY, CLIENT_CA_KEY, SERVING_KEY, ADMIN_KEY] {
        assert_eq!(mode(&tls.join(key)), 0o600, "{key}");
    }
    for cert in [SERVER_CA_CERT, CLIENT_CA_CERT, SERVING_CERT, ADMIN_CERT] {
        assert_eq!(mode(&tls.join(cert)), 0o644, "{cert}");
    }
    assert_ne!(first.server_ca_pem(), first.client_ca_pem(), "two CAs");
    assert_eq!(first.server_ca_pem(), read(tls, SERVER_CA_CERT));
    assert_eq!(first.admin_client_pem().0, read(tls, ADMIN_CERT));
    assert_eq!(first.ca_bundle_pem(), first.server_ca_pem());

    let files_before: Vec<String> = [
        SERVER_CA_CERT,
        CLIENT_CA_CERT,
        SERVING_CERT,
        ADMIN_CERT,
        SERVING_KEY,
    ]
    .iter()
    .map(|f| read(tls, f))
    .collect();
    let second = ensure(&config).unwrap();
    assert_eq!(first.server_ca_pem(), second.server_ca_pem());
    assert_eq!(first.client_ca_pem(), second.client_ca_pem());
    assert_eq!(first.admin_client_pem(), second.admin_client_pem());
    assert_eq!(first.serving_cert_der(), second.serving_cert_der());
    let files_after: Vec<String> = [
        SERVER_CA_CERT,
        CLIENT_CA_CERT,
        SERVING_CERT,
        ADMIN_CERT,
        SERVING_KEY,
    ]
    .iter()
    .map(|f| read(tls, f))
    .collect();
    assert_eq!(files_before, files_after, "nothing rewritten on restart");
}

#[test]
fn certificates_have_the_expected_shape() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let pki = ensure(&config).unwrap();

    let want: BTreeSet<San> = config
        .required_sans()
        .iter()
        .map(|s| San::parse(s))
        .collect();
    assert_eq!(sans_of(&read(&config.dir, SERVING_CERT)), want);

    let der = parse_pem(pki.admin_client_pem().0);
    let (_, admin) = x509_parser::parse_x509_certificate(&der).unwrap();
    assert_eq!(last_common_name(&admin).as_deref(), Some(ADMIN_USER));
    assert_eq!(organizations_of(&admin), [MASTERS_GROUP]);
    let lifetime = admin.validity().not_after.timestamp() - admin.validity().not_before.timestamp();
    assert_eq!(lifetime, (LEAF_VALIDITY + BACKDATE).as_secs() as i64);

    let der = parse_pem(pki.server_ca_pem());
    let (_, ca) = x509_parser::parse_x509_certificate(&der).unwrap();
    assert!(ca.is_ca());
    let lifetime = ca.validity().not_after.timestamp() - ca.validity().not_before.timestamp();
    assert_eq!(lifetime, (CA_VALIDITY + BACKDATE).as_secs() as i64);
    assert!(
        last_common_name(&ca)
            .unwrap()
            .starts_with("tugboat-server-ca@")
    );
    // ECDSA P-256.
    assert_eq!(
        ca.public_key()
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .map(|o| o.to_id_string()),
        Some("1.2.840.10045.3.1.7".to_owned())
    );
}

#[test]
fn serving_cert_is_reissued_from_the_same_ca_when_a_san_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    let first = ensure(&config).unwrap();
    config.extra_sans.push("198.51.100.7".to_owned());
    config.cluster_domain = "example.internal".to_owned();
    let second = ensure(&config).unwrap();
    assert_eq!(first.server_ca_pem(), second.server_ca_pem());
    assert_ne!(first.serving_cert_der(), second.serving_cert_der());
    assert_eq!(first.admin_client_pem(), second.admin_client_pem());
    let sans = sans_of(&read(&config.dir, SERVING_CERT));
    assert!(sans.contains(&San::parse("198.51.100.7")));
    assert!(sans.contains(&San::parse("kubernetes.default.svc.example.internal")));
    // A third start with the same config keeps it.
    let third = ensure(&config).unwrap();
    assert_eq!(second.serving_cert_der(), third.serving_cert_der());
}

#[test]
fn leaves_from_another_ca_or_with_a_foreign_key_are_reissued() {
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let other_config = PkiConfig {
        dir: other.path().join("tls"),
        ..config.clone()
    };
    let pki = ensure(&config).unwrap();
    ensure(&other_config).unwrap();
    // Another PKI's serving and admin certificates and keys are copied in.
    for file in [SERVING_CERT, SERVING_KEY, ADMIN_CERT, ADMIN_KEY] {
        fs::copy(other_config.dir.join(file), config.dir.join(file)).unwrap();
    }
    let reloaded = ensure(&config).unwrap();
    assert_eq!(pki.server_ca_pem(), reloaded.server_ca_pem());
    assert_ne!(
        read(&config.dir, ADMIN_CERT),
        read(&other_config.dir, ADMIN_CERT)
    );
    assert_ne!(
        read(&config.dir, SERVING_CERT),
        read(&other_config.dir, SERVING_CERT)
    );
    // A key that does not match its certificate.
    fs::copy(other_config.dir.join(ADMIN_KEY), config.dir.join(ADMIN_KEY)).unwrap();
    let again = ensure(&config).unwrap();
    assert_ne!(again.admin_client_pem(), reloaded.admin_client_pem());
}

#[test]
fn ca_certificate_without_key_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    ensure(&config).unwrap();
    fs::remove_file(config.dir.join(CLIENT_CA_KEY)).unwrap();
    let err = ensure(&config).unwrap_err();
    assert!(matches!(err, PkiError::CaKeyMissing { .. }), "{err}");
}

#[test]
fn loose_key_modes_are_narrowed() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    ensure(&config).unwrap();
    let key = config.dir.join(SERVER_CA_KEY);
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    ensure(&config).unwrap();
    assert_eq!(mode(&key), 0o600);
}

// === handshakes ===

fn client_config(server_ca_pem: &str, client: Option<(&str, &str)>) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(parse_pem(server_ca_pem)).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match client {
        Some((cert_pem, key_pem)) => builder
            .with_client_auth_cert(
                vec![parse_pem(cert_pem)],
                PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}

struct Outcome {
    server: Result<(Option<UserInfo>, Option<Vec<u8>>), String>,
    client: Result<(), String>,
}

/// Runs one TLS connection over an in-memory pipe; the server authenticates the peer.
async fn handshake(pki: &Pki, client: Arc<rustls::ClientConfig>, server_name: &str) -> Outcome {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let acceptor = tokio_rustls::TlsAcceptor::from(pki.server_config().unwrap());
    let connector = tokio_rustls::TlsConnector::from(client);
    let name = ServerName::try_from(server_name.to_owned()).unwrap();
    let authenticator = Authenticator::new(None).unwrap();
    let server = async move {
        let mut tls = acceptor
            .accept(server_io)
            .await
            .map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
        let (_, conn) = tls.get_ref();
        let user = authenticator
            .authenticate(conn.peer_certificates(), None)
            .map_err(|e| e.to_string())?;
        let alpn = conn.alpn_protocol().map(<[u8]>::to_vec);
        tls.write_all(b"pong").await.map_err(|e| e.to_string())?;
        tls.shutdown().await.map_err(|e| e.to_string())?;
        Ok((user, alpn))
    };
    let client = async move {
        let mut tls = connector
            .connect(name, client_io)
            .await
            .map_err(|e| e.to_string())?;
        tls.write_all(b"ping").await.map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
        Ok(())
    };
    let (server, client) = tokio::join!(server, client);
    Outcome { server, client }
}

#[tokio::test]
async fn admin_certificate_authenticates_as_system_admin() {
    let dir = tempfile::tempdir().unwrap();
    let pki = ensure(&config(dir.path())).unwrap();
    let client = client_config(pki.server_ca_pem(), Some(pki.admin_client_pem()));
    let outcome = handshake(&pki, client, "127.0.0.1").await;
    outcome.client.unwrap();
    let (user, alpn) = outcome.server.unwrap();
    let user = user.unwrap();
    assert_eq!(user.name, "system:admin");
    assert_eq!(user.groups, ["system:masters", ALL_AUTHENTICATED]);
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
}

#[tokio::test]
async fn issued_client_certificates_authenticate() {
    let dir = tempfile::tempdir().unwrap();
    let pki = ensure(&config(dir.path())).unwrap();
    let node = pki
        .issue_client_cert("system:node:node-1", &["system:nodes"])
        .unwrap();
    let client = client_config(pki.server_ca_pem(), Some((&node.0, &node.1)));
    let outcome = handshake(&pki, client, "kubernetes.default.svc.cluster.local").await;
    let user = outcome.server.unwrap().0.unwrap();
    assert_eq!(user.name, "system:node:node-1");
    assert_eq!(user.groups, ["system:nodes", ALL_AUTHENTICATED]);
}

#[tokio::test]
async fn issued_client_certificates_keep_every_group() {
    let dir = tempfile::tempdir().unwrap();
    let pki = ensure(&config(dir.path())).unwrap();
    let cert = pki
        .issue_client_cert("jane", &["dev", "ops", "system:masters"])
        .unwrap();
    let client = client_config(pki.server_ca_pem(), Some((&cert.0, &cert.1)));
    let outcome = handshake(&pki, client, "localhost").await;
    let user = outcome.server.unwrap().0.unwrap();
    assert_eq!(user.name, "jane");
    assert_eq!(
        user.groups,
        ["dev", "ops", "system:masters", ALL_AUTHENTICATED]
    );
}

#[tokio::test]
async fn no_client_certificate_is_anonymous() {
    let dir = tempfile::tempdir().unwrap();
    let pki = ensure(&config(dir.path())).unwrap();
    let client = client_config(pki.server_ca_pem(), None);
    let outcome = handshake(&pki, client, "kubernetes").await;
    outcome.client.unwrap();
    let (user, _) = outcome.server.unwrap();
    assert_eq!(user, None);
}

#[tokio::test]
async fn client_certificate_from_another_ca_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let pki = ensure(&config(dir.path())).unwrap();
    let foreign = ensure(&config(other.path())).unwrap();
    let client = client_config(pki.server_ca_pem(), Some(foreign.admin_client_pem()));
    let outcome = handshake(&pki, client, "localhost").await;
    // Both CAs were made in the same second, so they share a name: the verifier finds the
    // "issuer" and rejects the signature instead of not finding it.
    let err = outcome.server.unwrap_err();
    assert!(err.contains("invalid peer certificate"), "{err}");
    assert!(outcome.client.is_err());
}

#[tokio::test]
async fn serving_certificate_from_another_ca_is_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let pki = ensure(&config(dir.path())).unwrap();
    let foreign = ensure(&config(other.path())).unwrap();
    let client = client_config(foreign.server_ca_pem(), None);
    let outcome = handshake(&pki, client, "localhost").await;
    let err = outcome.client.unwrap_err();
    assert!(err.contains("invalid peer certificate"), "{err}");
}

#[test]
fn certificate_signing_requests_are_signed_with_their_subject_and_usages() {
    let dir = tempfile::tempdir().unwrap();
    let pki = ensure(&config(dir.path())).unwrap();
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "system:node:n1");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "system:nodes");
    let csr = params.serialize_request(&key).unwrap().pem().unwrap();
    let pem = pki
        .sign_csr(
            &csr,
            CsrCa::Client,
            &[CsrUsage::DigitalSignature, CsrUsage::ClientAuth],
            Duration::from_secs(3600),
        )
        .unwrap();
    let der = parse_pem(&pem);
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    assert_eq!(last_common_name(&cert).as_deref(), Some("system:node:n1"));
    assert_eq!(organizations_of(&cert), ["system:nodes"]);
    assert!(!cert.is_ca());
    let lifetime = cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp();
    assert_eq!(
        lifetime,
        (Duration::from_secs(3600) + BACKDATE).as_secs() as i64
    );
    let eku = cert.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.client_auth && !eku.server_auth);
    let client_ca = parse_pem(pki.client_ca_pem());
    let (_, client_ca) = x509_parser::parse_x509_certificate(&client_ca).unwrap();
    assert_eq!(cert.issuer(), client_ca.subject());
    assert!(
        pki.sign_csr("not a csr", CsrCa::Client, &[], Duration::from_secs(600))
            .is_err()
    );
}

#[test]
fn well_known_signers_apply_their_rules() {
    let dir = tempfile::tempdir().unwrap();
    let pki = ensure(&config(dir.path())).unwrap();
    let request = |cn: &str, o: Option<&str>, sans: &[&str]| {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params =
            CertificateParams::new(sans.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, cn);
        if let Some(o) = o {
            params.distinguished_name.push(DnType::OrganizationName, o);
        }
        params.serialize_request(&key).unwrap().pem().unwrap()
    };
    let usages = |u: &[&str]| u.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let kubelet = request("system:node:n1", Some("system:nodes"), &[]);
    assert!(matches!(
        pki.decide_csr(
            &kubelet,
            "kubernetes.io/kube-apiserver-client-kubelet",
            &usages(&["digital signature", "client auth"]),
            Some(3600)
        ),
        CsrDecision::Signed(_)
    ));
    assert_eq!(
        pki.decide_csr(
            &kubelet,
            "kubernetes.io/kube-apiserver-client-kubelet",
            &usages(&["client auth"]),
            None
        ),
        CsrDecision::Invalid("missing required key usage: digital signature".to_owned())
    );
    let stranger = request("alice", Some("devs"), &[]);
    assert_eq!(
        pki.decide_csr(
            &stranger,
            "kubernetes.io/kube-apiserver-client-kubelet",
            &usages(&["digital signature", "client auth"]),
            None
        ),
        CsrDecision::Invalid("subject organization is not system:nodes".to_owned())
    );
    assert!(matches!(
        pki.decide_csr(
            &stranger,
            "kubernetes.io/kube-apiserver-client",
            &usages(&["client auth"]),
            None
        ),
        CsrDecision::Signed(_)
    ));
    assert_eq!(
        pki.decide_csr(
            &stranger,
            "kubernetes.io/kube-apiserver-client",
            &usages(&["server auth"]),
            None
        ),
        CsrDecision::Invalid("unsupported key usage: server auth".to_owned())
    );
    let serving = request(
        "system:node:n1",
        Some("system:nodes"),
        &["n1.example", "10.0.0.1"],
    );
    assert!(matches!(
        pki.decide_csr(
            &serving,
            "kubernetes.io/kubelet-serving",
            &usages(&["digital signature", "server auth"]),
            None
        ),
        CsrDecision::Signed(_)
    ));
    assert_eq!(
        pki.decide_csr(&serving, "example.com/other", &[], None),
        CsrDecision::NotOurs
    );
}
