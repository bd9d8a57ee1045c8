//! The write paths of issue 4 side by side on the same objects: a full update (PUT), a strategic
//! merge patch and a server-side apply of a Deployment, each changing one annotation, so their
//! rates compare the cost of the patch machinery itself; and how much `managedFields` adds to an
//! object.

use anyhow::Context as _;
use reqwest::{StatusCode, header};

use crate::{
    load::{self, NAMESPACE, Throughput, concurrent, expect},
    server::Server,
};

/// Deployments the writes spread over (each write picks `i % DEPLOYMENTS`).
pub const DEPLOYMENTS: usize = 100;

/// A Deployment manifest (JSON, which is also the YAML server-side apply accepts) with one
/// annotation.
pub fn deployment(name: &str, annotation: (&str, &str)) -> String {
    let (key, value) = annotation;
    format!(
        r#"{{"apiVersion":"apps/v1","kind":"Deployment","metadata":{{"name":"{name}","annotations":{{"{key}":"{value}"}}}},"spec":{{"replicas":1,"selector":{{"matchLabels":{{"app":"{name}"}}}},"template":{{"metadata":{{"labels":{{"app":"{name}"}}}},"spec":{{"containers":[{{"name":"web","image":"registry.k8s.io/pause:3.10","ports":[{{"containerPort":80}}],"env":[{{"name":"A","value":"1"}}]}}]}}}}}}}}"#
    )
}

/// Create the Deployments the write phases use.
pub async fn create_deployments(server: &Server) -> anyhow::Result<()> {
    let client = server.client()?;
    for d in 0..DEPLOYMENTS {
        load::create(
            &client,
            &server.base,
            &format!("/apis/apps/v1/namespaces/{NAMESPACE}/deployments"),
            deployment(&format!("deploy-{d}"), ("created", "yes")),
        )
        .await?;
    }
    Ok(())
}

/// Which write a phase makes.
#[derive(Debug, Clone, Copy)]
pub enum Write {
    /// PUT of the whole object, unconditional.
    Update,
    /// PATCH `application/strategic-merge-patch+json` of one annotation.
    StrategicMerge,
    /// PATCH `application/apply-patch+yaml` of the whole manifest, `fieldManager=bench`.
    Apply,
}

/// `n` writes of one kind over `concurrency` clients.
pub async fn writes(
    server: &Server,
    write: Write,
    n: usize,
    concurrency: usize,
) -> anyhow::Result<Throughput> {
    concurrent(server, n, concurrency, move |client, base, i| async move {
        let name = format!("deploy-{}", i % DEPLOYMENTS);
        let path = format!("/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{name}");
        let value = i.to_string();
        let request = match write {
            Write::Update => client
                .put(format!("{base}{path}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(deployment(&name, ("updated", &value))),
            Write::StrategicMerge => client
                .patch(format!("{base}{path}"))
                .header(
                    header::CONTENT_TYPE,
                    "application/strategic-merge-patch+json",
                )
                .body(format!(
                    r#"{{"metadata":{{"annotations":{{"patched":"{value}"}}}}}}"#
                )),
            Write::Apply => client
                .patch(format!("{base}{path}?fieldManager=bench"))
                .header(header::CONTENT_TYPE, "application/apply-patch+yaml")
                .body(deployment(&name, ("applied", &value))),
        };
        expect(
            request
                .header(header::ACCEPT, "application/json")
                .send()
                .await,
            StatusCode::OK,
            &format!("{write:?} {path}"),
        )
        .await?;
        Ok(())
    })
    .await
}

/// The size of one Deployment as served, and the part of it that is `metadata.managedFields`.
pub async fn managed_fields_overhead(server: &Server) -> anyhow::Result<(usize, usize)> {
    let client = server.client()?;
    let body = expect(
        client
            .get(format!(
                "{}/apis/apps/v1/namespaces/{NAMESPACE}/deployments/deploy-0",
                server.base
            ))
            .header(header::ACCEPT, "application/json")
            .send()
            .await,
        StatusCode::OK,
        "GET deploy-0",
    )
    .await?;
    let object: serde_json::Value = serde_json::from_slice(&body).context("GET deploy-0")?;
    let managed = serde_json::to_vec(&object["metadata"]["managedFields"])?.len();
    Ok((body.len(), managed))
}
