//! Hostile and fuzzed bodies for `PUT /_mock/state` (issue 14): every one
//! gets a clear 400 in the admin envelope with `X-Request-Id`, or is
//! imported whole; nothing panics, hangs or half-applies, and whatever is
//! accepted exports and reloads to the same state.

use std::time::Duration;

use ims_swr_mock::Server;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError};
use serde_json::{Value, json};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Sends `body` to `PUT /_mock/state`; returns the status, the error text and
/// whether the answer carried `X-Request-Id`.
async fn put_state(client: &reqwest::Client, uri: &str, body: Vec<u8>) -> (u16, String, bool) {
    let r = client
        .put(format!("{uri}/_mock/state"))
        .timeout(Duration::from_secs(20))
        .body(body)
        .send()
        .await
        .expect("an answer, not a dropped connection");
    let status = r.status().as_u16();
    let has_id = r.headers().contains_key("x-request-id");
    (status, r.text().await.unwrap_or_default(), has_id)
}

/// Bodies an attacker or a broken client might send, with a word each.
fn hostile_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let deep = |n: usize| {
        let mut s = "[".repeat(n);
        s.push_str(&"]".repeat(n));
        s.into_bytes()
    };
    let many_keys: String = {
        let keys: Vec<String> = (0..50_000).map(|i| format!("\"k{i}\":1")).collect();
        format!("{{\"ims\":{{{}}}}}", keys.join(","))
    };
    let tag_state = |tag: Value| {
        json!({"swr": {"namespaces": [{"name": "ns", "repositories": [{"name": "r", "tags": [tag]}]}]}})
            .to_string()
            .into_bytes()
    };
    vec![
        ("empty", Vec::new()),
        ("not JSON", b"hello".to_vec()),
        ("truncated", br#"{"swr": {"namespaces": [{"name": "#.to_vec()),
        ("invalid UTF-8", vec![b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}']),
        ("a top-level array", b"[]".to_vec()),
        ("a top-level string", b"\"state\"".to_vec()),
        ("deep nesting at the top", deep(100_000)),
        (
            "deep nesting inside a tag",
            tag_state(serde_json::from_slice::<Value>(&deep(100)).unwrap_or(Value::Null)),
        ),
        (
            "deep nesting inside a raw tag",
            {
                let mut s = br#"{"swr":{"namespaces":[{"name":"ns","repositories":[{"name":"r","tags":["#.to_vec();
                s.extend(deep(5_000));
                s.extend(b"]}]}]}}");
                s
            },
        ),
        ("50,000 unknown keys", many_keys.into_bytes()),
        (
            "a duplicate key in a tag",
            br#"{"swr":{"namespaces":[{"name":"ns","repositories":[{"name":"r","tags":[{"tag":"a","id":1,"id":2}]}]}]}}"#.to_vec(),
        ),
        (
            "a duplicate top-level key",
            br#"{"swr":{},"swr":{}}"#.to_vec(),
        ),
        ("a huge id", tag_state(json!({"tag": "a", "id": 1e300}))),
        ("an id past 2^53-1", tag_state(json!({"tag": "a", "id": 9_007_199_254_740_992_i64}))),
        ("a negative id", tag_state(json!({"tag": "a", "id": -1}))),
        ("a fractional id", tag_state(json!({"tag": "a", "id": 1.5}))),
        ("a time past 9999", tag_state(json!({"tag": "a", "created": "+10000-01-01T00:00:00Z"}))),
        ("a 4 MB tag name", tag_state(json!({"tag": "a".repeat(4 << 20)}))),
        ("null tags", br#"{"swr":{"namespaces":[{"name":"ns","repositories":[{"name":"r","tags":null}]}]}}"#.to_vec()),
        ("fault rules", br#"{"faults":[{"path":"/x","status":500}]}"#.to_vec()),
        (
            "an access key whose secret nobody knows",
            br#"{"iam":{"domains":[{"id":"d","projects":[{"id":"p"}],"access_keys":[{"access":"AKNEW"}]}]}}"#.to_vec(),
        ),
        (
            "a token digest that is not hex",
            br#"{"iam":{"domains":[{"id":"d","tokens":[{"token_sha256":"zz"}]}]}}"#.to_vec(),
        ),
        (
            "a token and its digest at once",
            br#"{"iam":{"domains":[{"id":"d","tokens":[{"token":"T","token_sha256":"0000000000000000000000000000000000000000000000000000000000000000"}]}]}}"#.to_vec(),
        ),
        (
            "two images with one id",
            br#"{"ims":{"projects":[{"id":"p","images":[{"id":"i"},{"id":"i"}]}]}}"#.to_vec(),
        ),
        (
            "an image with a bad field",
            br#"{"ims":{"projects":[{"id":"p","images":[{"id":"i","min_disk":"big"}]}]}}"#.to_vec(),
        ),
    ]
}

#[test]
fn hostile_state_bodies_get_a_clear_400_and_change_nothing() {
    runtime().block_on(async {
        let server = Server::builder().start().await.unwrap();
        let uri = server.uri();
        let client = reqwest::Client::new();
        let before = server.export_state();
        let started = std::time::Instant::now();
        for (what, body) in hostile_bodies() {
            let (status, text, has_id) = put_state(&client, &uri, body).await;
            assert_eq!(status, 400, "{what}: {text}");
            assert!(has_id, "{what}: no X-Request-Id");
            let error: Value = serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("{what}: not a JSON envelope: {text}"));
            assert_eq!(error["error_code"], "MOCK.0400", "{what}: {text}");
            assert!(
                error["error_msg"].as_str().is_some_and(|m| m.len() > 10),
                "{what}: {text}"
            );
            assert_eq!(server.export_state(), before, "{what} changed the state");
        }
        let health = client
            .get(format!("{uri}/_mock/health"))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
        assert!(started.elapsed() < Duration::from_secs(60));
    });
}

#[test]
fn errors_in_large_imports_still_name_the_path() {
    // Past the size where the whole tree is parsed for schema messages.
    let mut tags: Vec<Value> = (0..40_000)
        .map(|i| json!({"tag": format!("t{i}"), "id": i + 1, "size": 100}))
        .collect();
    tags.push(json!({"tag": "bad", "size": "big"}));
    let mut state = json!({"swr": {"namespaces": [{"name": "ns", "repositories": [{"name": "r", "tags": tags}]}]}});
    let body = state.to_string();
    assert!(body.len() > 1 << 20);
    runtime().block_on(async {
        let server = Server::builder().start().await.unwrap();
        let client = reqwest::Client::new();
        let (status, text, _) = put_state(&client, &server.uri(), body.into_bytes()).await;
        assert_eq!(status, 400, "{text}");
        assert!(
            text.contains("$.swr.namespaces[0].repositories[0].tags[40000].size"),
            "{text}"
        );
        // A type error outside the tags, in a large document.
        state["swr"]["namespaces"][0]["domain_id"] = json!(7);
        let (status, text, _) =
            put_state(&client, &server.uri(), state.to_string().into_bytes()).await;
        assert_eq!(status, 400, "{text}");
        assert!(text.contains("$.swr.namespaces[0].domain_id"), "{text}");
    });
}

/// A valid export of the default state with one pushed tag, as bytes.
fn seed_state() -> Vec<u8> {
    runtime().block_on(async {
        let server = Server::builder().start().await.unwrap();
        server
            .push_tag("team", "app", json!({"tag": "v1", "size": 42}))
            .unwrap();
        server.export_state().to_string().into_bytes()
    })
}

/// Damage done to a valid state: overwrite, delete or insert bytes.
#[derive(Debug, Clone)]
enum Mutation {
    Overwrite(usize, u8),
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
}

fn mutation_strategy() -> impl Strategy<Value = Mutation> {
    let byte = prop_oneof![
        Just(b'{'),
        Just(b'}'),
        Just(b'['),
        Just(b']'),
        Just(b'"'),
        Just(b','),
        Just(b':'),
        Just(b'9'),
        Just(b'-'),
        Just(0xff),
        any::<u8>(),
    ];
    prop_oneof![
        (any::<usize>(), byte).prop_map(|(at, b)| Mutation::Overwrite(at, b)),
        (any::<usize>(), 1..40usize).prop_map(|(at, n)| Mutation::Delete(at, n)),
        (
            any::<usize>(),
            prop_oneof![
                Just(br#","id":9007199254740992"#.to_vec()),
                Just(br#","id":1"#.to_vec()),
                Just(br#","tag":"dup""#.to_vec()),
                Just(br#"{"tag":"x"},"#.to_vec()),
                Just(b"null".to_vec()),
                prop::collection::vec(any::<u8>(), 1..8),
            ]
        )
            .prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
    ]
}

fn mutate(mut state: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = state.len().max(1);
        match m {
            Mutation::Overwrite(at, b) => {
                let at = at % len;
                if at < state.len() {
                    state[at] = *b;
                }
            }
            Mutation::Delete(at, n) => {
                let at = at % len;
                let end = (at + n).min(state.len());
                state.drain(at.min(end)..end);
            }
            Mutation::Insert(at, bytes) => {
                let at = at % (state.len() + 1);
                state.splice(at..at, bytes.iter().copied());
            }
        }
    }
    state
}

proptest! {
    #![proptest_config(Config { cases: 64, failure_persistence: None, ..Config::default() })]

    /// 64 damaged exports: each is refused with a 400 and changes nothing,
    /// or is imported, and then exports and reloads to the same state.
    #[test]
    fn damaged_states_are_refused_whole_or_imported_whole(
        mutations in prop::collection::vec(mutation_strategy(), 1..4)
    ) {
        let body = mutate(seed_state(), &mutations);
        runtime().block_on(async move {
            let server = Server::builder().start().await.unwrap();
            let client = reqwest::Client::new();
            let before = server.export_state();
            let (status, text, has_id) = put_state(&client, &server.uri(), body).await;
            prop_assert!(has_id);
            match status {
                200 => {
                    let exported = server.export_state().to_string();
                    let mirror = Server::builder().start().await.unwrap();
                    mirror.import_state(&exported).map_err(|e| TestCaseError::fail(format!("the export does not reload: {e}")))?;
                    prop_assert_eq!(mirror.export_state().to_string(), exported);
                }
                400 => prop_assert_eq!(server.export_state(), before, "a refused import changed the state: {}", text),
                other => prop_assert!(false, "status {} for a damaged state: {}", other, text),
            }
            Ok(())
        })?;
    }
}
