//! Export round trip (issue 14, finding 7): after any write, accepted or
//! refused, the exported state loads into a fresh server and exports the same
//! bytes. Its operations (`StateOp`) are the doors that change the state.

use crate::common::{Http, Reply};
use crate::support::{call, call_allowing, config, runtime};
use ims_swr_mock::Server;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use reqwest::Method;
use serde_json::{Value, json};

/// Ids at and around the edges of the accepted range, and plain ones.
fn id_strategy() -> impl Strategy<Value = i64> {
    const MAX_ID: i64 = 9_007_199_254_740_991;
    prop_oneof![
        Just(1),
        Just(0),
        Just(-1),
        Just(MAX_ID - 1),
        Just(MAX_ID),
        Just(MAX_ID + 1),
        Just(i64::MAX),
        Just(i64::MIN),
        1i64..1000,
    ]
}

/// One write through one of the doors that change the state.
#[derive(Debug, Clone)]
enum StateOp {
    /// `PUT /_mock/swr/namespaces/{ns}/repos/app/tags/{tag}` with optional fields.
    Push {
        ns: usize,
        tag: usize,
        id: Option<i64>,
        size: Option<i64>,
    },
    /// `PUT /_mock/state` with one repository (explicit repo and tag ids).
    Import { repo_id: i64, tag_id: i64 },
    /// `CreateRepoTag` (v2) from `src` to `dst` in `ns/app`, overriding.
    Retag { ns: usize, src: usize, dst: usize },
    /// `DeleteRepoTag` (v3).
    Delete { ns: usize, tag: usize },
    /// IMS `AddImageTag` on the seed image.
    ImsTag { key: usize },
}

fn state_op_strategy() -> impl Strategy<Value = StateOp> {
    prop_oneof![
        4 => (0..2usize, 0..4usize, prop::option::of(id_strategy()), prop::option::of(prop_oneof![Just(0i64), Just(-5), Just(i64::MAX), 1i64..1_000_000]))
            .prop_map(|(ns, tag, id, size)| StateOp::Push { ns, tag, id, size }),
        1 => (id_strategy(), id_strategy()).prop_map(|(repo_id, tag_id)| StateOp::Import { repo_id, tag_id }),
        2 => (0..2usize, 0..4usize, 0..4usize).prop_map(|(ns, src, dst)| StateOp::Retag { ns, src, dst }),
        1 => (0..2usize, 0..4usize).prop_map(|(ns, tag)| StateOp::Delete { ns, tag }),
        1 => (0..4usize).prop_map(|key| StateOp::ImsTag { key }),
    ]
}

/// A `CreateRepoTag` that needs a new tag id once the ids have reached
/// 2^53-1 (an `id_strategy` edge) gets the server's deliberate refusal, 507
/// `SVCSTG.SWR.5000008` "No tag id is left": an answer, not a failure.
fn ids_exhausted(reply: &Reply) -> bool {
    reply.status == 507 && reply.body["error_code"] == "SVCSTG.SWR.5000008"
}

async fn apply_state_op(http: &Http, op: &StateOp) -> Result<Reply, TestCaseError> {
    let ns_name = |ns: usize| format!("ns{ns}");
    let tag_name = |t: usize| format!("t{t}");
    match op {
        StateOp::Push { ns, tag, id, size } => {
            let mut body = serde_json::Map::new();
            if let Some(id) = id {
                body.insert("id".into(), json!(id));
            }
            if let Some(size) = size {
                body.insert("size".into(), json!(size));
            }
            let path = format!(
                "/_mock/swr/namespaces/{}/repos/app/tags/{}",
                ns_name(*ns),
                tag_name(*tag)
            );
            call(http, Method::PUT, &path, Some(&Value::Object(body))).await
        }
        StateOp::Import { repo_id, tag_id } => {
            let state = json!({"swr": {"namespaces": [{"name": "ns0", "repositories": [
                {"name": "app", "id": repo_id, "tags": [{"tag": "t0", "id": tag_id}]}]}]}});
            call(http, Method::PUT, "/_mock/state", Some(&state)).await
        }
        StateOp::Retag { ns, src, dst } => {
            let path = format!("/v2/manage/namespaces/{}/repos/app/tags", ns_name(*ns));
            let body = json!({"source_tag": tag_name(*src), "destination_tag": tag_name(*dst), "override": true});
            call_allowing(http, Method::POST, &path, Some(&body), ids_exhausted).await
        }
        StateOp::Delete { ns, tag } => {
            let path = format!(
                "/v3/manage/namespaces/{}/repos/app/tags/{}",
                ns_name(*ns),
                tag_name(*tag)
            );
            call(http, Method::DELETE, &path, None).await
        }
        StateOp::ImsTag { key } => {
            let path = format!(
                "/v2/{PROJECT}/images/67e17426-359e-49fb-aa12-0bd1756ec240/tags",
                PROJECT = "fd73a4a14a4a4dfb9771a8475e5198ea"
            );
            let body = json!({"tag": {"key": format!("k{key}"), "value": "v"}});
            call(http, Method::POST, &path, Some(&body)).await
        }
    }
}

/// After every operation (accepted or refused, never a 5xx): the export
/// loads into a fresh server (as after a restart) and exports the same bytes.
async fn run_state_ops(ops: &[StateOp]) -> Result<(), TestCaseError> {
    let server = Server::builder()
        .start()
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let http = Http::new(server.uri());
    for op in ops {
        apply_state_op(&http, op).await?;
        let exported = server.export_state().to_string();
        let mirror = Server::builder()
            .start()
            .await
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        mirror.import_state(&exported).map_err(|e| {
            TestCaseError::fail(format!("after {op:?} the export does not load: {e}"))
        })?;
        prop_assert_eq!(
            mirror.export_state().to_string(),
            exported,
            "after {:?} the export reloads to another state",
            op
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config("export round trip", 24))]

    /// 24 cases of 1 to 12 writes through the admin push, the state import,
    /// the SWR and IMS APIs, with ids at the edges of their range.
    #[test]
    fn any_accepted_state_exports_and_reloads_to_the_same_state(
        ops in prop::collection::vec(state_op_strategy(), 1..=12)
    ) {
        runtime().block_on(run_state_ops(&ops))?;
    }
}
