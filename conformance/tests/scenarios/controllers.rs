//! The controller manager inside `tugboat server`: leader election over the
//! `kube-system/kube-controller-manager` Lease, the serviceaccount controller (a `default`
//! ServiceAccount in every namespace, recreated when deleted) and the root-ca-cert-publisher (the
//! `kube-root-ca.crt` ConfigMap with the admin kubeconfig's CA in every namespace, recreated when
//! deleted and reset when changed), driven through kube-rs as upstream's e2e test drives client-go;
//! and `--disable-controller`.

use std::{
    collections::BTreeMap,
    future::Future,
    time::{Duration, Instant},
};

use k8s_openapi::api::{
    coordination::v1::Lease,
    core::v1::{ConfigMap, Namespace, ServiceAccount},
};
use kube::{
    Api, Client, Config, ResourceExt,
    api::{DeleteParams, ObjectMeta, PostParams},
    config::{KubeConfigOptions, Kubeconfig},
};
use tugboat_conformance::Server;

/// How long a controller may take to act (upstream's e2e allows `wait.ForeverTestTimeout`, 30 s).
const DEADLINE: Duration = Duration::from_secs(30);
/// How often the scenario looks again.
const POLL: Duration = Duration::from_millis(100);

const ROOT_CA: &str = "kube-root-ca.crt";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("building a tokio runtime")
}

async fn client(server: &Server) -> Client {
    let kubeconfig = Kubeconfig::read_from(server.kubeconfig()).expect("reading the kubeconfig");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("a kube Config from the kubeconfig");
    Client::try_from(config).expect("a kube Client")
}

/// Poll `check` until it yields a value, or panic after [`DEADLINE`].
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(POLL).await;
    }
}

/// The admin kubeconfig's `certificate-authority-data`, decoded.
fn admin_ca_pem(server: &Server) -> String {
    let kubeconfig = Kubeconfig::read_from(server.kubeconfig()).expect("reading the kubeconfig");
    let data = kubeconfig.clusters[0]
        .cluster
        .as_ref()
        .and_then(|c| c.certificate_authority_data.clone())
        .expect("certificate-authority-data");
    String::from_utf8(base64_decode(&data)).expect("PEM text")
}

/// Standard base64 (padded), enough for a kubeconfig's data fields.
fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
    {
        let value = ALPHABET
            .iter()
            .position(|c| *c == byte)
            .expect("base64 character") as u32;
        buffer = (buffer << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    out
}

async fn create_namespace(client: &Client, name: &str) {
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .expect("creating the namespace");
}

fn ca_data(cm: &ConfigMap) -> Option<&str> {
    cm.data.as_ref()?.get("ca.crt").map(String::as_str)
}

scenario! {
    /// Upstream's e2e test: in a new namespace `kube-root-ca.crt` appears; deleted (grace period
    /// 0) it comes back; replaced without a resourceVersion by one with an empty `ca.crt` it is
    /// reconciled. Also: its `ca.crt` is the admin kubeconfig's CA, it carries upstream's
    /// description annotation and `kube-controller-manager` as field manager; the `default`
    /// ServiceAccount appears and comes back when deleted; the controller manager holds the
    /// `kube-system/kube-controller-manager` Lease with upstream's 15 s duration.
    fn root_ca_and_default_service_account(server) covers [
        "[sig-auth] ServiceAccounts should guarantee kube-root-ca.crt exist in any namespace [Conformance]",
    ]
        server_args ["--kube-controller-manager-arg", "leader-elect=true"]
    {
        runtime().block_on(async {
            let client = client(server).await;
            let expected_ca = admin_ca_pem(server);

            let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-system");
            let lease = eventually("the controller manager's lease", || async {
                let lease = leases.get_opt("kube-controller-manager").await.ok()??;
                let holder = lease.spec.as_ref()?.holder_identity.clone()?;
                (!holder.is_empty()).then_some(lease)
            })
            .await;
            let spec = lease.spec.expect("lease spec");
            assert_eq!(spec.lease_duration_seconds, Some(15));
            let holder = spec.holder_identity.expect("holder");
            let (host, uuid) = holder.rsplit_once('_').expect("holder is <hostname>_<uuid>");
            assert!(!host.is_empty() && uuid.len() == 36, "holder {holder}");
            assert!(spec.acquire_time.is_some() && spec.renew_time.is_some());

            let ns = "ctl-root-ca";
            create_namespace(&client, ns).await;
            let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
            let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);

            let cm = eventually("kube-root-ca.crt in a new namespace", || async {
                config_maps.get_opt(ROOT_CA).await.ok()?
            })
            .await;
            assert_eq!(ca_data(&cm), Some(expected_ca.as_str()));
            assert_eq!(cm.data.as_ref().map(BTreeMap::len), Some(1));
            let description = cm
                .annotations()
                .get("kubernetes.io/description")
                .cloned()
                .unwrap_or_default();
            assert!(
                description.starts_with("Contains a CA bundle that can be used to verify the kube-apiserver"),
                "description {description:?}"
            );
            let managers: Vec<String> = cm
                .managed_fields()
                .iter()
                .filter_map(|m| m.manager.clone())
                .collect();
            assert_eq!(managers, vec!["kube-controller-manager".to_owned()]);

            let account = eventually("the default ServiceAccount in a new namespace", || async {
                accounts.get_opt("default").await.ok()?
            })
            .await;

            // Deleted, it comes back (a new object).
            config_maps
                .delete(ROOT_CA, &DeleteParams { grace_period_seconds: Some(0), ..DeleteParams::default() })
                .await
                .expect("deleting kube-root-ca.crt");
            let original_uid = cm.uid();
            let recreated = eventually("kube-root-ca.crt recreated", || async {
                let new = config_maps.get_opt(ROOT_CA).await.ok()??;
                (new.uid() != original_uid).then_some(new)
            })
            .await;
            assert_ne!(recreated.uid(), cm.uid());
            assert_eq!(ca_data(&recreated), Some(expected_ca.as_str()));

            // Replaced without a resourceVersion, as the e2e test does: reconciled.
            let emptied = ConfigMap {
                metadata: ObjectMeta { name: Some(ROOT_CA.to_owned()), ..ObjectMeta::default() },
                data: Some(BTreeMap::from([("ca.crt".to_owned(), String::new())])),
                ..ConfigMap::default()
            };
            config_maps
                .replace(ROOT_CA, &PostParams::default(), &emptied)
                .await
                .expect("updating kube-root-ca.crt");
            let reconciled = eventually("kube-root-ca.crt reconciled", || async {
                let cm = config_maps.get_opt(ROOT_CA).await.ok()??;
                ca_data(&cm).is_some_and(|ca| !ca.is_empty()).then_some(cm)
            })
            .await;
            assert_eq!(ca_data(&reconciled), Some(expected_ca.as_str()));
            assert!(reconciled.annotations().contains_key("kubernetes.io/description"));

            // The default ServiceAccount comes back too.
            accounts
                .delete("default", &DeleteParams::default())
                .await
                .expect("deleting the default ServiceAccount");
            let account_uid = account.uid();
            let again = eventually("the default ServiceAccount recreated", || async {
                let sa = accounts.get_opt("default").await.ok()??;
                (sa.uid() != account_uid).then_some(sa)
            })
            .await;
            assert!(again.uid().is_some());

            // Every namespace has both, the bootstrap ones included.
            for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
                let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
                let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
                eventually(&format!("{ROOT_CA} and default in {ns}"), || async {
                    cms.get_opt(ROOT_CA).await.ok()??;
                    sas.get_opt("default").await.ok()?
                })
                .await;
            }
        });
    }
}

scenario! {
    /// `--disable-controller serviceaccount`: a new namespace still gets `kube-root-ca.crt` but no
    /// `default` ServiceAccount.
    fn disable_controller(server) covers []
        server_args ["--disable-controller", "serviceaccount"]
    {
        runtime().block_on(async {
            let client = client(server).await;
            let ns = "ctl-disabled";
            create_namespace(&client, ns).await;
            let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
            eventually("kube-root-ca.crt in a new namespace", || async {
                config_maps.get_opt(ROOT_CA).await.ok()?
            })
            .await;
            // The publisher acted; give a running serviceaccount controller the same time again.
            tokio::time::sleep(Duration::from_secs(2)).await;
            let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
            assert!(accounts.get_opt("default").await.expect("get").is_none());
        });
        assert!(server.log().contains("controllers=root-ca-cert-publisher"), "{}", server.log());
    }
}

/// A PKCS#10 request and its key, PEM.
fn certificate_request(common_name: &str, organization: Option<&str>) -> (String, String) {
    let key = rcgen::KeyPair::generate().expect("a key");
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, common_name);
    if let Some(o) = organization {
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, o);
    }
    let request = params
        .serialize_request(&key)
        .expect("a request")
        .pem()
        .expect("PEM");
    (request, key.serialize_pem())
}

fn csr_manifest(name: &str, request: &str, signer: &str, usages: &[&str]) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(request);
    format!(
        "apiVersion: certificates.k8s.io/v1\nkind: CertificateSigningRequest\nmetadata: {{name: {name}}}\nspec:\n  request: {encoded}\n  signerName: {signer}\n  expirationSeconds: 3600\n  usages: [{}]\n",
        usages
            .iter()
            .map(|u| format!("\"{u}\""))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

scenario! {
    /// The csrsigning controller signs an approved request for the kube-apiserver-client signer;
    /// the certificate authenticates its subject (`kubectl auth whoami`); a kubelet-client request
    /// whose subject is not a node fails with SignerValidationFailure; an unapproved one waits.
    fn csr_signing(server) covers []
    server_args ["--disable-controller", "serviceaccount"]
    {
        let (request, key) = certificate_request("alice", Some("devs"));
        server
            .kubectl_with_stdin(&["create", "-f", "-"], Some(csr_manifest("alice", &request, "kubernetes.io/kube-apiserver-client", &["client auth"]).as_bytes()))
            .ok();
        server.kubectl(&["certificate", "approve", "alice"]).ok();
        let start = Instant::now();
        let certificate = loop {
            let out = server.kubectl(&["get", "csr", "alice", "-o", "jsonpath={.status.certificate}"]).ok();
            if !out.stdout.trim().is_empty() {
                use base64::Engine as _;
                break String::from_utf8(base64::engine::general_purpose::STANDARD.decode(out.stdout.trim()).unwrap()).unwrap();
            }
            assert!(start.elapsed() < DEADLINE, "no certificate issued");
            std::thread::sleep(POLL);
        };
        assert!(certificate.starts_with("-----BEGIN CERTIFICATE-----"), "{certificate}");
        let cert_file = server.write_file("alice.crt", certificate.as_bytes());
        let key_file = server.write_file("alice.key", key.as_bytes());
        let whoami = server
            .kubectl(&[
                "auth", "whoami", "-o", "json",
                &format!("--client-certificate={}", cert_file.display()),
                &format!("--client-key={}", key_file.display()),
                "--username=", "--token=",
            ])
            .ok()
            .json();
        assert_eq!(whoami["status"]["userInfo"]["username"], "alice", "{whoami:#}");
        assert!(whoami["status"]["userInfo"]["groups"].as_array().unwrap().contains(&serde_json::json!("devs")));

        let (request, _) = certificate_request("mallory", Some("system:nodes"));
        server
            .kubectl_with_stdin(&["create", "-f", "-"], Some(csr_manifest("fake-node", &request, "kubernetes.io/kube-apiserver-client-kubelet", &["digital signature", "client auth"]).as_bytes()))
            .ok();
        server.kubectl(&["certificate", "approve", "fake-node"]).ok();
        let start = Instant::now();
        loop {
            let csr = server.kubectl(&["get", "csr", "fake-node", "-o", "json"]).ok().json();
            let failed = csr["status"]["conditions"].as_array().and_then(|c| c.iter().find(|c| c["type"] == "Failed").cloned());
            if let Some(failed) = failed {
                assert_eq!(failed["reason"], "SignerValidationFailure");
                assert_eq!(failed["message"], "subject common name does not begin with system:node:");
                assert!(csr["status"].get("certificate").is_none());
                break;
            }
            assert!(start.elapsed() < DEADLINE, "no Failed condition: {csr:#}");
            std::thread::sleep(POLL);
        }

        let (request, _) = certificate_request("bob", None);
        server
            .kubectl_with_stdin(&["create", "-f", "-"], Some(csr_manifest("waiting", &request, "kubernetes.io/kube-apiserver-client", &["client auth"]).as_bytes()))
            .ok();
        std::thread::sleep(Duration::from_secs(2));
        let waiting = server.kubectl(&["get", "csr", "waiting", "-o", "jsonpath={.status.certificate}"]).ok();
        assert!(waiting.stdout.trim().is_empty(), "{waiting}");
    }
}
