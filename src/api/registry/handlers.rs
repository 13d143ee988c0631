//! The registry's handlers, one per route of [`super::Route`].

use axum::body::Body;
use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt as _;
use serde_json::{Value, json};

use super::auth::{self, RegistryCaller};
use super::{
    RegistryError, Route, check_digest, check_tag, empty, is_digest, media, split_name, versioned,
};
use crate::state::AppState;
use crate::store::blobs::{BlobError, sha256_digest};
use crate::store::registry::PushedManifest;

/// Largest manifest accepted, in bytes.
pub(crate) const MAX_MANIFEST: usize = 4 << 20;

type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// Answers one registry request.
pub(crate) async fn handle(state: AppState, route: Route, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let answer = async {
        if let Route::Token = route {
            let token = auth::token(&state, &parts)?;
            return Ok(versioned(axum::Json(token).into_response()));
        }
        if let Some(name) = route.name() {
            split_name(name)?;
        }
        let caller = auth::check(&state, &parts, &route)?;
        let writes = !matches!(parts.method, Method::GET | Method::HEAD);
        let answer = dispatch(&state, route, parts, body, caller).await;
        if writes {
            // With --persist, the answer waits until this is on disk.
            state.store.note_registry_change();
        }
        answer
    };
    match answer.await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn dispatch(
    state: &AppState,
    route: Route,
    parts: Parts,
    body: Body,
    caller: RegistryCaller,
) -> Result<Response> {
    let method = parts.method.clone();
    match route {
        Route::Base | Route::Token => Ok(versioned(axum::Json(json!({})).into_response())),
        Route::Blob { name, digest } => {
            check_digest(&digest)?;
            if method == Method::DELETE {
                delete_blob(state, &name, &digest)
            } else {
                get_blob(state, &parts, &name, &digest)
            }
        }
        Route::Upload { name, id: None } => start_upload(state, &parts, body, &name).await,
        Route::Upload { name, id: Some(id) } => match method {
            Method::PATCH | Method::PUT => continue_upload(state, &parts, body, &name, &id).await,
            Method::DELETE => {
                state.store.blobs().cancel(&name, &id)?;
                Ok(versioned(StatusCode::NO_CONTENT.into_response()))
            }
            _ => {
                let len = state.store.blobs().upload_len(&name, &id)?;
                Ok(upload_status(StatusCode::NO_CONTENT, &name, &id, len))
            }
        },
        Route::Manifest { name, reference } => match method {
            Method::PUT => put_manifest(state, &parts, body, &name, &reference, &caller).await,
            Method::DELETE => delete_manifest(state, &name, &reference),
            _ => get_manifest(state, &parts, &name, &reference),
        },
        Route::Tags { name } => list_tags(state, &parts, &name),
        Route::Referrers { name, digest } => {
            check_digest(&digest)?;
            referrers(state, &parts, &name, &digest)
        }
    }
}

/// The query parameters of a request.
fn query(parts: &Parts) -> Vec<(String, String)> {
    form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn param<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn set(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// Where the pieces of a body go as they arrive.
enum Sink {
    /// One buffer of the declared length.
    Whole(bytes::BytesMut),
    /// The pieces as they came (length unknown).
    Pieces(Vec<Bytes>),
    /// Nowhere: only hashed (a blob already held), so nothing is kept.
    Hash(sha2::Sha256, u64),
}

impl Sink {
    fn take(&mut self, chunk: Bytes) {
        use sha2::Digest as _;
        match self {
            Sink::Whole(buffer) => buffer.extend_from_slice(&chunk),
            Sink::Pieces(pieces) if !chunk.is_empty() => pieces.push(chunk),
            Sink::Pieces(_) => {}
            Sink::Hash(hasher, len) => {
                hasher.update(&chunk);
                *len += chunk.len() as u64;
            }
        }
    }
}

/// Reads a body, refusing it once it would exceed the blob budget or `cap`.
///
/// A body of declared length (`Content-Length`) is written into one buffer
/// of exactly that size as it arrives, each piece dropped once copied: the
/// blob is then held once, with no second copy at any time, and the
/// connection's read buffer is reused. A body of unknown length (chunked)
/// is kept as the pieces it arrived in.
async fn read_chunks(state: &AppState, body: Body, cap: Option<usize>) -> Result<Vec<Bytes>> {
    Ok(match read_into(state, body, cap, false).await? {
        Sink::Whole(buffer) => vec![buffer.freeze()],
        Sink::Pieces(pieces) => pieces,
        Sink::Hash(..) => Vec::new(),
    })
}

/// Reads the body of a blob that is held already: its bytes are hashed as
/// they arrive and dropped, so a second push of a layer costs no memory even
/// while it is sent. Returns the digest of what arrived.
async fn read_hashing(state: &AppState, body: Body) -> Result<String> {
    use sha2::Digest as _;
    match read_into(state, body, None, true).await? {
        Sink::Hash(hasher, _) => Ok(format!("sha256:{}", hex::encode(hasher.finalize()))),
        _ => Err(RegistryError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN",
            "the body was not hashed",
        )),
    }
}

async fn read_into(
    state: &AppState,
    body: Body,
    cap: Option<usize>,
    hash_only: bool,
) -> Result<Sink> {
    use axum::body::HttpBody as _;
    let blobs = state.store.blobs();
    let too_large = |total: u64| -> Result<()> {
        if hash_only {
            return Ok(()); // nothing is kept
        }
        if let Some(cap) = cap
            && total > cap as u64
        {
            return Err(RegistryError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "SIZE_INVALID",
                format!("the body exceeds {cap} bytes"),
            ));
        }
        let used = blobs.used();
        if used.saturating_add(total) > blobs.limit() {
            return Err(BlobError::Full {
                used,
                limit: blobs.limit(),
                wanted: total,
            }
            .into());
        }
        Ok(())
    };
    let declared = body.size_hint().exact();
    // Refused at once when it cannot fit, before any byte is read.
    too_large(declared.unwrap_or(0))?;
    let mut sink = match declared.and_then(|n| usize::try_from(n).ok()) {
        _ if hash_only => Sink::Hash(sha2::Sha256::default(), 0),
        Some(n) if n > 0 => Sink::Whole(bytes::BytesMut::with_capacity(n)),
        _ => Sink::Pieces(Vec::new()),
    };
    let mut total = 0u64;
    let mut stream = body.into_data_stream();
    // A blob may take long to arrive, but not stall: each piece must come
    // within --read-timeout of the last (the API's total deadline would cut
    // large blobs on slow links).
    let idle = state.body_limits.read_timeout;
    loop {
        let Ok(next) = tokio::time::timeout(idle, stream.next()).await else {
            return Err(RegistryError::new(
                StatusCode::REQUEST_TIMEOUT,
                "BLOB_UPLOAD_INVALID",
                format!(
                    "the request body stalled: nothing arrived for {} s (--read-timeout)",
                    idle.as_secs()
                ),
            ));
        };
        let Some(chunk) = next else {
            break;
        };
        let chunk = chunk.map_err(|e| {
            RegistryError::new(
                StatusCode::BAD_REQUEST,
                "BLOB_UPLOAD_INVALID",
                format!("the request body could not be read: {e}"),
            )
        })?;
        total += chunk.len() as u64;
        too_large(total)?;
        sink.take(chunk);
    }
    Ok(sink)
}

/// Links the held blob `digest` to `name` after its body, hashed by
/// [`read_hashing`], came out as `got`.
fn link_held(state: &AppState, name: &str, digest: &str, got: &str) -> Result<Response> {
    if got != digest {
        return Err(BlobError::DigestMismatch(digest.to_owned()).into());
    }
    if state.store.blobs().mount_any(name, digest) {
        Ok(blob_created(name, digest))
    } else {
        Err(RegistryError::new(
            StatusCode::CONFLICT,
            "BLOB_UPLOAD_INVALID",
            format!("blob {digest} was deleted while it was sent; push it again"),
        ))
    }
}

/// Reads a body into one buffer of exactly its length.
async fn read(state: &AppState, body: Body, cap: Option<usize>) -> Result<Bytes> {
    Ok(crate::store::blobs::join(
        read_chunks(state, body, cap).await?,
    ))
}

/// `GET`/`HEAD /v2/<name>/blobs/<digest>`, with a single `Range` if asked.
fn get_blob(state: &AppState, parts: &Parts, name: &str, digest: &str) -> Result<Response> {
    let data = state.store.blobs().get(name, digest).ok_or_else(|| {
        RegistryError::new(
            StatusCode::NOT_FOUND,
            "BLOB_UNKNOWN",
            format!("blob {digest} is unknown to repository {name}"),
        )
    })?;
    let total = data.len();
    let range = parts
        .headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| parse_range(r, total));
    let (status, body) = match range {
        Some((start, end)) => (StatusCode::PARTIAL_CONTENT, data.slice(start..=end)),
        None => (StatusCode::OK, data),
    };
    let mut response = content(parts, body, "application/octet-stream", digest);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    set(headers, "accept-ranges", "bytes");
    if let Some((start, end)) = range {
        set(
            headers,
            "content-range",
            &format!("bytes {start}-{end}/{total}"),
        );
    }
    Ok(versioned(response))
}

/// A blob or manifest answer: `bytes` (none to a `HEAD`, which gets the
/// same headers), with its type, length and digest.
fn content(parts: &Parts, bytes: Bytes, content_type: &str, digest: &str) -> Response {
    let len = bytes.len();
    let mut response = if parts.method == Method::HEAD {
        Response::new(empty())
    } else {
        Response::new(Body::from(bytes))
    };
    let headers = response.headers_mut();
    set(headers, "content-type", content_type);
    set(headers, "content-length", &len.to_string());
    set(headers, "docker-content-digest", digest);
    response
}

/// `bytes=a-b` or `bytes=a-` within `total`.
fn parse_range(text: &str, total: usize) -> Option<(usize, usize)> {
    let spec = text.strip_prefix("bytes=")?;
    let (a, b) = spec.split_once('-')?;
    let start: usize = a.trim().parse().ok()?;
    let end: usize = if b.trim().is_empty() {
        total.checked_sub(1)?
    } else {
        b.trim().parse::<usize>().ok()?.min(total.checked_sub(1)?)
    };
    (start <= end).then_some((start, end))
}

/// `DELETE /v2/<name>/blobs/<digest>`.
fn delete_blob(state: &AppState, name: &str, digest: &str) -> Result<Response> {
    if state.store.blobs().unlink_blob(name, digest) {
        Ok(versioned(StatusCode::ACCEPTED.into_response()))
    } else {
        Err(RegistryError::new(
            StatusCode::NOT_FOUND,
            "BLOB_UNKNOWN",
            format!("blob {digest} is unknown to repository {name}"),
        ))
    }
}

/// The answer to an upload step: `Location`, `Range` and the upload id.
fn upload_status(status: StatusCode, name: &str, id: &str, len: u64) -> Response {
    let mut response = status.into_response();
    let headers = response.headers_mut();
    set(
        headers,
        "location",
        &format!("/v2/{name}/blobs/uploads/{id}"),
    );
    // Inclusive end; an empty upload says 0-0, as the reference registry does.
    set(headers, "range", &format!("0-{}", len.saturating_sub(1)));
    set(headers, "docker-upload-uuid", id);
    set(headers, "content-length", "0");
    versioned(response)
}

/// The answer to a finished blob: 201 with its location and digest.
fn blob_created(name: &str, digest: &str) -> Response {
    let mut response = StatusCode::CREATED.into_response();
    let headers = response.headers_mut();
    set(headers, "location", &format!("/v2/{name}/blobs/{digest}"));
    set(headers, "docker-content-digest", digest);
    set(headers, "content-length", "0");
    versioned(response)
}

/// `POST /v2/<name>/blobs/uploads/`: a mount (`?mount=&from=`), a monolithic
/// upload (`?digest=`), or the start of a chunked one.
async fn start_upload(state: &AppState, parts: &Parts, body: Body, name: &str) -> Result<Response> {
    let query = query(parts);
    let blobs = state.store.blobs();
    if let Some(digest) = param(&query, "mount") {
        check_digest(digest)?;
        let mounted = match param(&query, "from") {
            Some(from) => blobs.mount(name, from, digest),
            // Without `from`, any repository holding it will do (the spec allows it).
            None => blobs.mount_any(name, digest),
        };
        if mounted {
            return Ok(blob_created(name, digest));
        }
    }
    if let Some(digest) = param(&query, "digest") {
        check_digest(digest)?;
        if blobs.held(digest) {
            let got = read_hashing(state, body).await?;
            return link_held(state, name, digest, &got);
        }
        let data = read(state, body, None).await?;
        blobs.put(name, digest, data)?;
        return Ok(blob_created(name, digest));
    }
    let id = blobs.start_upload(name)?;
    Ok(upload_status(StatusCode::ACCEPTED, name, &id, 0))
}

/// `Content-Range: <start>-<end>` of a chunk (with or without `bytes `).
fn chunk_start(parts: &Parts) -> Result<Option<u64>> {
    let Some(value) = parts.headers.get(header::CONTENT_RANGE) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("");
    let text = text.trim().trim_start_matches("bytes").trim();
    let start = text
        .split_once('-')
        .and_then(|(a, _)| a.trim().parse::<u64>().ok())
        .ok_or_else(|| {
            RegistryError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "BLOB_UPLOAD_INVALID",
                format!("invalid Content-Range {text:?}"),
            )
        })?;
    Ok(Some(start))
}

/// `PATCH /v2/<name>/blobs/uploads/<id>`: one more chunk; `PUT
/// …/<id>?digest=`: the last chunk (if any) and the digest, which must match.
async fn continue_upload(
    state: &AppState,
    parts: &Parts,
    body: Body,
    name: &str,
    id: &str,
) -> Result<Response> {
    if parts.method == Method::PATCH {
        let blobs = state.store.blobs();
        blobs.upload_len(name, id)?;
        let start = chunk_start(parts)?;
        let data = read_chunks(state, body, None).await?;
        let len = blobs.append(name, id, start, data)?;
        return Ok(upload_status(StatusCode::ACCEPTED, name, id, len));
    }
    let query = query(parts);
    let digest = param(&query, "digest").ok_or_else(|| {
        RegistryError::new(
            StatusCode::BAD_REQUEST,
            "DIGEST_INVALID",
            "the digest query parameter is missing",
        )
    })?;
    check_digest(digest)?;
    let blobs = state.store.blobs();
    if blobs.upload_len(name, id)? == 0 && blobs.held(digest) {
        // A monolithic upload (POST, then PUT with the body) of a held blob.
        let got = read_hashing(state, body).await?;
        blobs.cancel(name, id)?;
        return link_held(state, name, digest, &got);
    }
    let data = read_chunks(state, body, None).await?;
    if !data.is_empty() {
        let start = chunk_start(parts)?;
        blobs.append(name, id, start, data)?;
    }
    blobs.finish(name, id, digest)?;
    Ok(blob_created(name, digest))
}

/// The media type of a manifest: its `mediaType`, else inferred (an OCI
/// manifest may leave it out).
fn media_type_of(doc: &Value) -> &str {
    match doc.get("mediaType").and_then(Value::as_str) {
        Some(m) => m,
        None if doc.get("manifests").is_some() => media::OCI_INDEX,
        None => media::OCI_MANIFEST,
    }
}

fn is_index(media_type: &str) -> bool {
    media_type == media::OCI_INDEX || media_type == media::DOCKER_LIST
}

fn invalid(message: impl Into<String>) -> RegistryError {
    RegistryError::new(StatusCode::BAD_REQUEST, "MANIFEST_INVALID", message)
}

/// The digests and sizes of a manifest's descriptors.
fn descriptors<'a>(doc: &'a Value, key: &str) -> Vec<(&'a str, i64)> {
    doc.get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|d| {
                    (
                        d.get("digest").and_then(Value::as_str).unwrap_or(""),
                        d.get("size").and_then(Value::as_i64).unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Config plus layers of an image manifest.
fn image_size(doc: &Value) -> i64 {
    let config = doc
        .get("config")
        .and_then(|c| c.get("size"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    config
        + descriptors(doc, "layers")
            .iter()
            .map(|(_, s)| *s)
            .sum::<i64>()
}

/// `PUT /v2/<name>/manifests/<reference>`.
async fn put_manifest(
    state: &AppState,
    parts: &Parts,
    body: Body,
    name: &str,
    reference: &str,
    caller: &RegistryCaller,
) -> Result<Response> {
    let by_digest = is_digest(reference);
    if by_digest {
        check_digest(reference)?;
    } else {
        check_tag(reference)?;
    }
    let data = read(state, body, Some(MAX_MANIFEST)).await?;
    let digest = sha256_digest(&data);
    if by_digest && digest != reference {
        return Err(RegistryError::new(
            StatusCode::BAD_REQUEST,
            "DIGEST_INVALID",
            format!("the manifest's digest is {digest}, not {reference}"),
        ));
    }
    let text = std::str::from_utf8(&data).map_err(|_| invalid("the manifest is not UTF-8"))?;
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| invalid(format!("the manifest is not JSON: {e}")))?;
    if !doc.is_object() {
        return Err(invalid("the manifest is not a JSON object"));
    }
    let media_type = media_type_of(&doc).to_owned();
    if let Some(sent) = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        && doc.get("mediaType").is_some()
        && sent.split(';').next().unwrap_or("").trim() != media_type
        && !sent.starts_with("application/json")
    {
        return Err(invalid(format!(
            "Content-Type {sent} does not match the manifest's mediaType {media_type}"
        )));
    }
    let blobs = state.store.blobs();
    let (size, image_id, tag_type) = if is_index(&media_type) {
        let mut size = 0;
        for (child, declared) in descriptors(&doc, "manifests") {
            let (bytes, _) = blobs.manifest(name, child).ok_or_else(|| {
                RegistryError::new(
                    StatusCode::BAD_REQUEST,
                    "MANIFEST_BLOB_UNKNOWN",
                    format!("manifest {child} of the index is not in repository {name}"),
                )
            })?;
            size += serde_json::from_slice::<Value>(&bytes).map_or(declared, |d| image_size(&d));
        }
        (size, digest.trim_start_matches("sha256:").to_owned(), 1)
    } else {
        let config = doc
            .get("config")
            .and_then(|c| c.get("digest"))
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("the manifest has no config descriptor"))?;
        let layers = descriptors(&doc, "layers");
        for blob in std::iter::once(config).chain(layers.iter().map(|(d, _)| *d)) {
            if !blobs.has(name, blob) {
                return Err(RegistryError::new(
                    StatusCode::BAD_REQUEST,
                    "MANIFEST_BLOB_UNKNOWN",
                    format!("blob {blob} is not in repository {name}"),
                ));
            }
        }
        (
            image_size(&doc),
            config.trim_start_matches("sha256:").to_owned(),
            0,
        )
    };
    blobs.put_manifest(name, &digest, &media_type, data.clone())?;
    if !by_digest {
        let (org, repo) = split_name(name)?;
        let pushed = PushedManifest {
            tag: reference,
            digest: &digest,
            manifest: text,
            size,
            image_id: &image_id,
            tag_type,
        };
        state
            .store
            .push_manifest_tag(org, repo, caller.domain_id.as_deref(), &pushed)
            .map_err(|e| invalid(format!("the tag could not be written: {e}")))?;
    }
    let mut response = StatusCode::CREATED.into_response();
    let headers = response.headers_mut();
    set(
        headers,
        "location",
        &format!("/v2/{name}/manifests/{digest}"),
    );
    set(headers, "docker-content-digest", &digest);
    set(headers, "content-length", "0");
    if let Some(subject) = doc
        .get("subject")
        .and_then(|s| s.get("digest"))
        .and_then(Value::as_str)
    {
        set(headers, "oci-subject", subject);
    }
    Ok(versioned(response))
}

fn manifest_unknown(name: &str, reference: &str) -> RegistryError {
    RegistryError::new(
        StatusCode::NOT_FOUND,
        "MANIFEST_UNKNOWN",
        format!("manifest {reference} is unknown to repository {name}"),
    )
}

fn name_unknown(name: &str) -> RegistryError {
    RegistryError::new(
        StatusCode::NOT_FOUND,
        "NAME_UNKNOWN",
        format!("repository {name} is not known to the registry"),
    )
}

/// `GET`/`HEAD /v2/<name>/manifests/<reference>`: a tag is read from the SWR
/// store (so tags made by `CreateRepoTag` pull, and deleted ones do not); a
/// digest from the repository's manifests or its tags.
fn get_manifest(state: &AppState, parts: &Parts, name: &str, reference: &str) -> Result<Response> {
    let (org, repo) = split_name(name)?;
    let blobs = state.store.blobs();
    let (bytes, digest) = if is_digest(reference) {
        check_digest(reference)?;
        match blobs.manifest(name, reference) {
            Some((bytes, _)) => (bytes, reference.to_owned()),
            None => match state.store.manifest_by_digest(org, repo, reference) {
                Some(text) => (Bytes::from(text), reference.to_owned()),
                None => return Err(manifest_unknown(name, reference)),
            },
        }
    } else {
        check_tag(reference)?;
        let tag = state
            .store
            .pulled_tag(org, repo, reference)
            .map_err(|_| name_unknown(name))?
            .ok_or_else(|| manifest_unknown(name, reference))?;
        // The bytes pushed, when held, so the digest is theirs exactly.
        match blobs.get_any(&tag.digest) {
            Some(bytes) => (bytes, tag.digest),
            None => (Bytes::from(tag.manifest), tag.digest),
        }
    };
    let media_type = serde_json::from_slice::<Value>(&bytes).map_or_else(
        |_| media::DOCKER_MANIFEST.to_owned(),
        |d| media_type_of(&d).to_owned(),
    );
    Ok(versioned(content(parts, bytes, &media_type, &digest)))
}

/// `DELETE /v2/<name>/manifests/<reference>`: by digest, the manifest and
/// every tag pointing at it; by tag, the tag only.
fn delete_manifest(state: &AppState, name: &str, reference: &str) -> Result<Response> {
    let (org, repo) = split_name(name)?;
    if is_digest(reference) {
        check_digest(reference)?;
        let tags = state.store.tags_of_digest(org, repo, reference);
        let unlinked = state.store.blobs().unlink_manifest(name, reference);
        if tags.is_empty() && !unlinked {
            return Err(manifest_unknown(name, reference));
        }
        for tag in tags {
            let _ = state.store.remove_tag(org, repo, &tag);
        }
    } else {
        check_tag(reference)?;
        match state.store.remove_tag(org, repo, reference) {
            Ok(Some(_)) => {}
            Ok(None) => return Err(manifest_unknown(name, reference)),
            Err(_) => return Err(name_unknown(name)),
        }
    }
    Ok(versioned(StatusCode::ACCEPTED.into_response()))
}

/// `GET /v2/<name>/tags/list?n=&last=`: tags in name order, paged with a
/// `Link` header.
fn list_tags(state: &AppState, parts: &Parts, name: &str) -> Result<Response> {
    let (org, repo) = split_name(name)?;
    let names = state
        .store
        .tag_names(org, repo)
        .map_err(|_| name_unknown(name))?;
    let query = query(parts);
    let last = param(&query, "last");
    let n = match param(&query, "n") {
        Some(text) => Some(text.parse::<usize>().map_err(|_| {
            RegistryError::new(
                StatusCode::BAD_REQUEST,
                "PAGINATION_NUMBER_INVALID",
                format!("n={text:?} is not a count"),
            )
        })?),
        None => None,
    };
    let start = last.map_or(0, |l| names.partition_point(|t| &**t <= l));
    let rest = &names[start..];
    let page = match n {
        Some(n) => &rest[..n.min(rest.len())],
        None => rest,
    };
    let mut response = axum::Json(json!({"name": name, "tags": page})).into_response();
    if let (Some(n), Some(last)) = (n, page.last())
        && rest.len() > page.len()
    {
        set(
            response.headers_mut(),
            "link",
            &format!("</v2/{name}/tags/list?n={n}&last={last}>; rel=\"next\""),
        );
    }
    Ok(versioned(response))
}

/// `GET /v2/<name>/referrers/<digest>[?artifactType=]`: the manifests whose
/// `subject` is `digest`, as an image index.
fn referrers(state: &AppState, parts: &Parts, name: &str, digest: &str) -> Result<Response> {
    let query = query(parts);
    let filter = param(&query, "artifactType");
    let mut manifests = Vec::new();
    for (d, media_type, bytes) in state.store.blobs().manifests(name) {
        let Ok(doc) = serde_json::from_slice::<Value>(&bytes) else {
            continue;
        };
        if doc
            .get("subject")
            .and_then(|s| s.get("digest"))
            .and_then(Value::as_str)
            != Some(digest)
        {
            continue;
        }
        let artifact_type = doc
            .get("artifactType")
            .and_then(Value::as_str)
            .or_else(|| {
                doc.get("config")
                    .and_then(|c| c.get("mediaType"))
                    .and_then(Value::as_str)
            })
            .map(str::to_owned);
        if filter.is_some_and(|f| artifact_type.as_deref() != Some(f)) {
            continue;
        }
        let mut descriptor = json!({
            "mediaType": media_type,
            "digest": d,
            "size": bytes.len(),
        });
        if let Some(t) = artifact_type {
            descriptor["artifactType"] = json!(t);
        }
        if let Some(a) = doc.get("annotations") {
            descriptor["annotations"] = a.clone();
        }
        manifests.push(descriptor);
    }
    manifests.sort_by(|a, b| a["digest"].as_str().cmp(&b["digest"].as_str()));
    let body = json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_INDEX,
        "manifests": manifests,
    });
    let mut response =
        ([(header::CONTENT_TYPE, media::OCI_INDEX)], body.to_string()).into_response();
    if filter.is_some() {
        set(
            response.headers_mut(),
            "oci-filters-applied",
            "artifactType",
        );
    }
    Ok(versioned(response))
}
