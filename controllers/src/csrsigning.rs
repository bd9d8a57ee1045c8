//! The CSR signing controller (upstream `pkg/controller/certificates/signer`): signs approved
//! CertificateSigningRequests addressed to the signers the cluster's CAs serve
//! (`kubernetes.io/kube-apiserver-client`, `kubernetes.io/kube-apiserver-client-kubelet`,
//! `kubernetes.io/kubelet-serving`), writing `status.certificate`; a request that breaks its
//! signer's rules gets the `Failed` condition (`SignerValidationFailure`).
//!
//! The signing itself is a [`CsrSigner`] the server provides (the API server's PKI holds the CA
//! keys); the controller only decides when to ask and writes the outcome.

use std::sync::Arc;

use futures::StreamExt as _;
use k8s_openapi::{
    ByteString,
    api::certificates::v1::{CertificateSigningRequest, CertificateSigningRequestCondition},
    apimachinery::pkg::apis::meta::v1::Time,
    jiff::Timestamp,
};
use kube::{
    Api, Client, ResourceExt as _,
    api::PostParams,
    runtime::{Controller, controller::Action, watcher},
};
use tokio::sync::watch;

use crate::backoff::FailureBackoff;

const NAME: &str = "certificatesigningrequest-signing-controller";

/// What a signer makes of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignDecision {
    /// Not a signer this cluster signs for: left alone.
    NotOurs,
    /// Refused: the message of the `Failed` condition.
    Invalid(String),
    /// The certificate, PEM.
    Signed(String),
}

/// Signs requests with the cluster's CAs.
pub trait CsrSigner: std::fmt::Debug + Send + Sync + 'static {
    /// Decide on `csr_pem` for `signer` with the request's usages and `expirationSeconds`.
    fn decide(
        &self,
        csr_pem: &str,
        signer: &str,
        usages: &[String],
        expiration_seconds: Option<i32>,
    ) -> SignDecision;
}

/// Writing the outcome failed.
#[derive(Debug, thiserror::Error)]
#[error("updating the status of CertificateSigningRequest {name}: {source}")]
pub struct SyncError {
    name: String,
    #[source]
    source: kube::Error,
}

struct Context {
    client: Client,
    signer: Arc<dyn CsrSigner>,
    backoff: FailureBackoff,
}

fn has_condition(csr: &CertificateSigningRequest, kind: &str) -> bool {
    csr.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == kind && c.status == "True"))
}

/// Whether the controller should sign: approved, not denied or failed, no certificate yet.
pub fn wants_signing(csr: &CertificateSigningRequest) -> bool {
    let issued = csr
        .status
        .as_ref()
        .and_then(|s| s.certificate.as_ref())
        .is_some_and(|c| !c.0.is_empty());
    has_condition(csr, "Approved")
        && !has_condition(csr, "Denied")
        && !has_condition(csr, "Failed")
        && !issued
}

/// Run the controller until `shutdown` turns true.
pub async fn run(client: Client, signer: Arc<dyn CsrSigner>, shutdown: watch::Receiver<bool>) {
    tracing::info!(controller = NAME, "starting controller");
    let context = Arc::new(Context {
        client: client.clone(),
        signer,
        backoff: FailureBackoff::default(),
    });
    Controller::new(
        Api::<CertificateSigningRequest>::all(client),
        watcher::Config::default(),
    )
    .graceful_shutdown_on(crate::serviceaccount::shutdown_signal(shutdown))
    .run(reconcile, error_policy, context)
    .for_each(|result| async move {
        crate::manager::log_controller_result(NAME, result);
    })
    .await;
    tracing::info!(controller = NAME, "shutting down controller");
}

fn error_policy(
    csr: Arc<CertificateSigningRequest>,
    error: &SyncError,
    context: Arc<Context>,
) -> Action {
    let delay = context.backoff.next_delay(&csr.name_any());
    tracing::warn!(controller = NAME, %error, retry_in = ?delay, "sync failed");
    Action::requeue(delay)
}

async fn reconcile(
    csr: Arc<CertificateSigningRequest>,
    context: Arc<Context>,
) -> Result<Action, SyncError> {
    if !wants_signing(&csr) {
        return Ok(Action::await_change());
    }
    let spec = &csr.spec;
    let pem = String::from_utf8_lossy(&spec.request.0).into_owned();
    let usages = spec.usages.clone().unwrap_or_default();
    let decision = context
        .signer
        .decide(&pem, &spec.signer_name, &usages, spec.expiration_seconds);
    let mut updated = (*csr).clone();
    let status = updated.status.get_or_insert_with(Default::default);
    match decision {
        SignDecision::NotOurs => return Ok(Action::await_change()),
        SignDecision::Signed(certificate) => {
            status.certificate = Some(ByteString(certificate.into_bytes()));
        }
        SignDecision::Invalid(message) => {
            let now = Time(Timestamp::now());
            status.conditions.get_or_insert_with(Vec::new).push(
                CertificateSigningRequestCondition {
                    type_: "Failed".to_owned(),
                    status: "True".to_owned(),
                    reason: Some("SignerValidationFailure".to_owned()),
                    message: Some(message),
                    last_update_time: Some(now.clone()),
                    last_transition_time: Some(now),
                },
            );
        }
    }
    let api: Api<CertificateSigningRequest> = Api::all(context.client.clone());
    match api
        .replace_status(&csr.name_any(), &PostParams::default(), &updated)
        .await
    {
        Ok(_) => {}
        // Changed or gone meanwhile: the change requeues it.
        Err(error) if matches!(crate::api_code(&error), Some(404 | 409)) => {}
        Err(source) => {
            return Err(SyncError {
                name: csr.name_any(),
                source,
            });
        }
    }
    context.backoff.forget(&csr.name_any());
    Ok(Action::await_change())
}
