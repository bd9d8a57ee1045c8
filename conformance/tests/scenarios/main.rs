//! Scenarios: a fresh `tugboat server` per scenario and backend, driven only by stock clients (kubectl
//! 1.37, the official Python client and kube-rs), asserting what they print or return.
//!
//! Each scenario is declared with [`scenario!`], which names the upstream conformance tests it covers
//! and instantiates it on both datastores (`<module>::<scenario>::embedded` and `...::etcd`). A
//! scenario that needs a feature not built yet is written anyway and carries
//! `#[ignore = "needs <feature>"]`, so that `cargo test -- --ignored` shows what the feature must make
//! pass. Register every scenario in [`SCENARIOS`]; the `coverage` test checks the registry against
//! the test list and prints the coverage table:
//! `cargo test -p tugboat-conformance --test scenarios coverage -- --nocapture`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Declare a scenario: doc comment, optional `#[ignore = "needs ..."]`,
/// `fn name(server) covers [upstream tags] { body }`, optionally with
/// `server_args ["--flag=value", ...]` before the body for a server started with extra arguments.
/// Expands to a module holding `COVERS` and one test per backend.
macro_rules! scenario {
    (
        $(#[doc = $doc:literal])*
        $(#[ignore = $reason:literal])?
        fn $name:ident($server:ident) covers [$($tag:expr),* $(,)?]
        $(server_args [$($arg:expr),* $(,)?])?
        $body:block
    ) => {
        $(#[doc = $doc])*
        pub mod $name {
            #[allow(unused_imports)]
            use super::*;

            /// The upstream conformance tests whose behaviour this scenario exercises.
            pub const COVERS: &[&str] = &[$($tag),*];

            fn scenario($server: &tugboat_conformance::Server) $body

            #[test]
            $(#[ignore = $reason])?
            fn embedded() {
                scenario(&tugboat_conformance::Server::start_with_args(
                    tugboat_conformance::Backend::Embedded,
                    crate::server_args(&[$($($arg),*)?]),
                ));
            }

            #[test]
            $(#[ignore = $reason])?
            fn etcd() {
                scenario(&tugboat_conformance::Server::start_with_args(
                    tugboat_conformance::Backend::Etcd,
                    crate::server_args(&[$($($arg),*)?]),
                ));
            }
        }
    };
}

mod api_machinery;
/// A scenario's server arguments: its own `server_args [...]` (controller scenarios), else
/// [`tugboat_conformance::Server::API_ONLY_ARGS`].
fn server_args<'a>(given: &'a [&'a str]) -> &'a [&'a str] {
    if given.is_empty() {
        tugboat_conformance::Server::API_ONLY_ARGS
    } else {
        given
    }
}

mod cli;
mod controllers;
mod conversion;
mod crud;
mod daemonsets;
mod disruption;
mod endpoints;
mod errors;
mod helm;
mod jobs;
mod kube_rs;
mod lifecycle_core;
mod lifecycle_storage;
mod namespaces;
mod nodes;
mod openapi;
mod patch;
mod patch_table;
mod python;
mod resource_quota;
mod scale;
mod ssa;
mod statefulsets;
mod support;
mod watch;

use tugboat_conformance::coverage::{self, ScenarioCoverage};

/// `registry![module::scenario, ...]`: name and tags of each scenario.
macro_rules! registry {
    ($($($seg:ident)::+),* $(,)?) => {
        &[$((stringify!($($seg)::+), $($seg)::+::COVERS)),*]
    };
}

/// Every scenario, for the coverage report.
const SCENARIOS: &[(&str, &[&str])] = registry![
    api_machinery::last_finalizer_removal_deletes,
    api_machinery::continue_after_compaction,
    api_machinery::concurrent_watches_same_order,
    api_machinery::table_transformation,
    api_machinery::pod_qos_class,
    cli::kubectl_version,
    cli::api_resources,
    cli::api_versions,
    cli::discovery_documents,
    cli::aggregated_discovery,
    cli::cluster_info,
    cli::proxy_port_zero,
    cli::proxy_unix_socket,
    cli::gzip_large_lists,
    watch::protobuf_watch_stream,
    cli::discovery_trailing_slash,
    crud::namespace_and_configmap_outputs,
    crud::secret_generic,
    crud::label_and_field_selectors,
    crud::chunked_list,
    crud::all_namespaces_and_show_labels,
    crud::delete_by_name_label_and_all,
    crud::replace_configmap,
    crud::replace_pod_template,
    crud::update_namespace,
    crud::update_resource_quota,
    crud::update_service_account,
    crud::dry_run_server,
    crud::get_raw_list,
    crud::kubernetes_service,
    crud::per_kind_table_columns,
    crud::create_with_client_validation,
    crud::label_annotate_apply,
    crud::per_kind_defaults,
    crud::pod_graceful_deletion,
    crud::propagation_policy_recorded,
    patch::kubectl_patch_types,
    patch::kubectl_patch_commands,
    patch::bad_patches,
    patch_table::patch_table,
    helm::helm_release_client_side,
    helm::helm_release_server_side,
    helm::helm_template_kubectl_apply,
    disruption::budgets_and_evictions,
    disruption::eviction_edge_cases,
    endpoints::service_without_pods,
    endpoints::endpoints_follow_pods,
    endpoints::endpoints_are_mirrored,
    jobs::job_runs_to_completion,
    jobs::completions_and_parallelism,
    jobs::indexed_job,
    jobs::failures_fail_the_job,
    jobs::suspend_resume_and_deadline,
    jobs::finished_jobs_expire,
    jobs::terminated_pods_are_collected,
    statefulsets::ordered_pods_storage_scale_and_update,
    statefulsets::parallel_pods_and_claim_retention,
    daemonsets::one_pod_per_eligible_node,
    namespaces::deleting_a_namespace_deletes_its_content,
    namespaces::terminating_namespace_and_pods_first,
    namespaces::namespace_without_controller_stays_terminating,
    nodes::silent_nodes_and_cordon,
    resource_quota::object_counts,
    resource_quota::pod_usage,
    resource_quota::scoped_quotas,
    resource_quota::quota_without_controller_admits,
    ssa::server_side_apply_managers,
    ssa::updates_are_tracked,
    ssa::reset_fields_are_not_owned,
    ssa::client_side_and_server_side_apply_interoperate,
    ssa::bad_apply_requests,
    ssa::client_side_apply_and_diff,
    errors::malformed_json,
    errors::wrong_kind_for_url,
    errors::invalid_name,
    errors::missing_namespace,
    errors::unknown_field_server_validation,
    errors::unknown_field_kubectl_strict,
    errors::duplicate_fields,
    errors::request_too_large,
    errors::configmap_too_large,
    errors::empty_data_keys,
    errors::immutable_configmap_and_secret,
    conversion::core_event_read_as_events_v1,
    conversion::python_events_v1_api,
    conversion::events_v1_watch_sees_core_writes,
    conversion::hpa_v1_and_v2,
    python::configmap_crud,
    python::delete_collection,
    python::delete_collection_events_v1,
    python::chunked_list,
    python::chunked_list_remaining_count,
    python::api_operations_without_patch,
    python::api_operations,
    watch::kubectl_watch,
    watch::python_watch_stream,
    watch::label_selected_watchers,
    watch::from_resource_version,
    watch::restart_from_last_seen,
    watch::object_leaving_selector,
    scale::kubectl_scale_deployment,
    scale::kubectl_scale_replicaset_preconditions,
    scale::kubectl_scale_without_preconditions,
    scale::python_replication_controller_scale,
    scale::python_statefulset_scale,
    kube_rs::reflector_through_restart,
    kube_rs::reflector_streaming_list,
    kube_rs::api_pods_and_namespaces,
    kube_rs::api_watch_configmaps,
    kube_rs::api_errors,
    kube_rs::api_patch,
    openapi::structural_extensions,
    openapi::client_side_apply_merges_by_name,
    lifecycle_storage::csi_driver_lifecycle,
    lifecycle_storage::csi_inline_volume_pod,
    lifecycle_storage::csinode_lifecycle,
    lifecycle_storage::csi_storage_capacity_api,
    lifecycle_storage::pv_pvc_lifecycle,
    lifecycle_storage::pv_pvc_status,
    lifecycle_storage::storage_class_lifecycle,
    lifecycle_storage::volume_attributes_class_lifecycle,
    lifecycle_storage::volume_attachment,
    lifecycle_storage::dra_crud,
    lifecycle_storage::validating_admission_policy_api,
    lifecycle_core::configmap_lifecycle,
    lifecycle_core::secret_patch,
    lifecycle_core::podtemplate_lifecycle,
    lifecycle_core::lease_api,
    lifecycle_core::node_lifecycle,
    lifecycle_core::service_status_lifecycle,
    lifecycle_core::services_delete_collection,
    lifecycle_core::endpoint_lifecycle,
    lifecycle_core::ingress_api,
    lifecycle_core::cronjob_api,
    lifecycle_core::job_api,
    lifecycle_core::pod_disruption_budget_api,
    lifecycle_core::deployment_status_api,
    lifecycle_core::servicecidr_api,
    lifecycle_core::ipaddress_api,
    lifecycle_core::apiserver_endpoints,
    lifecycle_core::namespace_patch,
    lifecycle_core::namespace_status,
    lifecycle_core::namespace_finalizer,
    lifecycle_core::resourcequota_status,
    lifecycle_core::resourcequota_lifecycle,
    lifecycle_core::serviceaccount_lifecycle,
    lifecycle_core::event_lifecycle,
    lifecycle_core::events_api,
    lifecycle_core::limitrange_collection,
    lifecycle_core::csr_api,
    lifecycle_core::runtimeclass_rejects_pods,
    controllers::csr_signing,
    controllers::root_ca_and_default_service_account,
    controllers::disable_controller,
];

/// Test names from this very binary's `--list` (optionally only the ignored ones).
fn listed_tests(ignored: bool) -> Vec<String> {
    let exe = std::env::current_exe().expect("current test binary");
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["--list", "--format=terse"]);
    if ignored {
        cmd.arg("--ignored");
    }
    let out = cmd.output().expect("listing tests");
    assert!(out.status.success(), "listing tests failed: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(str::to_owned)
        .collect()
}

/// Checks that every scenario is registered and every tag names an upstream test, then prints the
/// coverage table (`-- --nocapture` to see it).
#[test]
fn coverage() {
    let all = listed_tests(false);
    let ignored = listed_tests(true);
    let registered: Vec<String> = SCENARIOS
        .iter()
        .map(|(name, _)| name.replace(' ', ""))
        .collect();
    for test in &all {
        if let Some(scenario) = test
            .strip_suffix("::embedded")
            .or_else(|| test.strip_suffix("::etcd"))
        {
            assert!(
                registered.iter().any(|r| r == scenario),
                "scenario {scenario} is not in SCENARIOS"
            );
        }
    }
    let scenarios: Vec<ScenarioCoverage> = SCENARIOS
        .iter()
        .zip(&registered)
        .map(|((_, covers), name)| {
            let embedded = format!("{name}::embedded");
            assert!(
                all.contains(&embedded),
                "{name} is in SCENARIOS but not a scenario"
            );
            ScenarioCoverage {
                name: name.clone(),
                covers: covers.to_vec(),
                enabled: !ignored.contains(&embedded),
            }
        })
        .collect();
    let unknown = coverage::unknown_tags(&scenarios);
    assert!(
        unknown.is_empty(),
        "tags naming no upstream test: {unknown:#?}"
    );
    let enabled = scenarios.iter().filter(|s| s.enabled).count();
    println!(
        "scenarios: {} ({enabled} enabled, {} ignored until a feature lands), each on 2 backends\n",
        scenarios.len(),
        scenarios.len() - enabled
    );
    print!("{}", coverage::report(&scenarios));
}
