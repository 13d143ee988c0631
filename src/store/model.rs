//! Domain records held by the store: IMS images and SWR tags.
//!
//! Records are immutable once built and shared as `Arc`s, so a page of results
//! can be cloned out from under the store's lock in `O(page)` and serialised
//! after the lock is released. Fields that are cheap to derive and expensive to
//! keep for a million tags (the manifest and the pull paths) are stored as
//! `None` when the fixture left them out, and derived while serialising.

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use sha2::{Digest as _, Sha256};

/// Media type of a Docker image manifest, schema 2.
const MANIFEST_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// One IMS image with its tags, in fixture order.
#[derive(Debug, Clone)]
pub struct Image {
    /// Image id (a UUID in the real service).
    pub id: Arc<str>,
    /// Image name.
    pub name: Arc<str>,
    /// Image status, such as `active`.
    pub status: Arc<str>,
    /// `__description` (empty when none; `UpdateImage` changes it).
    pub description: Arc<str>,
    /// Tags as `(key, value)` pairs in the order they were added; a key-only
    /// tag has the value `""`.
    pub tags: Vec<(Arc<str>, Arc<str>)>,
    /// `__imagetype`: `gold` (public), `private`, `shared` or `market`.
    pub image_type: Arc<str>,
    /// `__platform`, such as `Ubuntu` or `Windows`.
    pub platform: Arc<str>,
    /// `__os_type`: `Linux`, `Windows` or `Other`.
    pub os_type: Arc<str>,
    /// `min_disk` in GB.
    pub min_disk: i64,
    /// `member_status` of a shared image: `accepted`, `rejected` or `pending`.
    pub member_status: Option<Arc<str>>,
    /// `virtual_env_type`: `FusionCompute`, `Ironic`, `DataImage` or `IsoImage`.
    pub virtual_env_type: Arc<str>,
    /// `enterprise_project_id` (`0` is the default project).
    pub enterprise_project_id: Arc<str>,
    /// `architecture`: `x86` or `arm`.
    pub architecture: Arc<str>,
    /// Creation time, epoch seconds.
    pub created_at: i64,
    /// Last update time (tag writes change it), epoch seconds.
    pub updated_at: i64,
}

/// One SWR image tag, as the v2 and v3 list APIs describe it.
///
/// Kept small, since a repository may hold a million: fields a fixture rarely
/// sets sit behind one optional box, and what can be derived (`image_id`,
/// `digest`, `size`, `manifest`, the pull paths) is derived when the tag is
/// first serialised (see `RepoContext`), not at load.
#[derive(Debug, Clone)]
pub struct SwrTag {
    /// Tag id (`id`).
    pub id: i64,
    /// Id of the repository the tag belongs to (`repo_id`).
    pub repo_id: i64,
    /// Tag name (`Tag` in v2, `tag` in v3).
    pub name: Arc<str>,
    /// Docker schema version, 1 or 2.
    pub schema: i64,
    /// Image size in bytes; `None` means "derive it".
    pub size: Option<i64>,
    /// Whether the image is trusted (always `false` in the real service).
    pub is_trusted: bool,
    /// Creation time, seconds since the Unix epoch (UTC).
    pub created: i64,
    /// Last update time, seconds since the Unix epoch (UTC). The `updated_at` sort key.
    pub updated: i64,
    /// Whether the image was scanned (v2 only).
    pub scanned: bool,
    /// 0 for a manifest, 1 for a manifest list.
    pub tag_type: i64,
    /// Values given explicitly instead of derived; `None` when all are derived.
    pub explicit: Option<Box<Explicit>>,
    /// Serialised forms, built on first use (a tag never changes: a write
    /// makes a new tag). Cloning gives an empty cache, so a modified copy
    /// never inherits the original's JSON.
    pub json: JsonCache,
}

/// Tag values a fixture (or a push) gave explicitly; `None` fields are derived.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Explicit {
    /// Image id: the config digest without its `sha256:` prefix.
    pub image_id: Option<Arc<str>>,
    /// Manifest digest, `sha256:<hex>`.
    pub digest: Option<Arc<str>>,
    /// The manifest as a JSON string.
    pub manifest: Option<Arc<str>>,
    /// External pull path.
    pub path: Option<Arc<str>>,
    /// Internal pull path.
    pub internal_path: Option<Arc<str>>,
    /// Deletion time as the API writes it (`null` when absent).
    pub deleted: Option<Arc<str>>,
}

impl Explicit {
    /// `None` when nothing is explicit (the common case costs no allocation).
    pub(crate) fn boxed(self) -> Option<Box<Self>> {
        (self != Self::default()).then(|| Box::new(self))
    }
}

impl SwrTag {
    /// The explicit values, or all-`None`.
    pub(crate) fn explicit(&self) -> &Explicit {
        static NONE: Explicit = Explicit {
            image_id: None,
            digest: None,
            manifest: None,
            path: None,
            internal_path: None,
            deleted: None,
        };
        self.explicit.as_deref().unwrap_or(&NONE)
    }
}

/// The JSON of a tag in each shape the APIs answer, built once per tag.
#[derive(Debug, Default)]
pub struct JsonCache(OnceLock<Box<Shapes>>);

/// The cached shapes (allocated on first use: one pointer per tag otherwise).
#[derive(Debug, Default)]
pub(crate) struct Shapes {
    /// The v2 list item (`Tag`, full manifest).
    pub v2: OnceLock<Bytes>,
    /// The v3 list item with `manifest: ""`.
    pub v3: OnceLock<Bytes>,
    /// The v3 item with the manifest (`with_manifest=true`, `ShowRepoTag`).
    pub v3_manifest: OnceLock<Bytes>,
}

impl JsonCache {
    /// The shapes, allocating them on first use.
    pub(crate) fn shapes(&self) -> &Shapes {
        self.0.get_or_init(Box::default)
    }
}

impl Clone for JsonCache {
    fn clone(&self) -> Self {
        Self::default()
    }
}

/// A deterministic schema-2 manifest for an image id and size, in the compact
/// form the registry stores (seed 003 shows this shape).
pub(crate) fn derived_manifest(image_id: &str, size: i64) -> String {
    let layer = hex_sha256(format!("layer:{image_id}").as_bytes());
    let mut m = String::with_capacity(420);
    let _ = write!(
        m,
        "{{\"schemaVersion\":2,\"mediaType\":\"{MANIFEST_V2}\",\"config\":{{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"size\":1862,\"digest\":\"sha256:{image_id}\"}},\"layers\":[{{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":{size},\"digest\":\"sha256:{layer}\"}}]}}"
    );
    m
}

/// A plausible image size (1 MB to 200 MB) derived from a tag reference.
pub(crate) fn derived_size(reference: &str) -> i64 {
    let h = hex_sha256(format!("size:{reference}").as_bytes());
    let n = i64::from_str_radix(&h[..8], 16).unwrap_or(0);
    1_000_000 + n % 199_000_000
}

/// Lowercase hex SHA-256 of `data`.
pub(crate) fn hex_sha256(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    let mut out = String::with_capacity(64);
    for b in digest {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Formats epoch seconds the way SWR writes times: `2018-07-06T06:18:55Z`.
pub fn format_time(secs: i64) -> String {
    match jiff::Timestamp::from_second(secs) {
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        // Out-of-range values are rejected when fixtures load; this is a fallback.
        Err(_) => "1970-01-01T00:00:00Z".to_owned(),
    }
}

/// Parses an RFC 3339 time (`2018-07-06T06:18:55Z`, offsets and fractions allowed)
/// into epoch seconds.
pub(crate) fn parse_time(text: &str) -> Result<i64, String> {
    text.parse::<jiff::Timestamp>()
        .map(jiff::Timestamp::as_second)
        .map_err(|e| format!("`{text}` is not an RFC 3339 time such as 2018-07-06T06:18:55Z ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_in_swr_format() {
        let secs = parse_time("2018-07-06T06:18:55Z").unwrap();
        assert_eq!(format_time(secs), "2018-07-06T06:18:55Z");
        assert_eq!(parse_time("2018-07-06T14:18:55+08:00").unwrap(), secs);
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn derived_manifest_is_valid_json_naming_the_image() {
        let m = derived_manifest(&"a".repeat(64), 42);
        let v: serde_json::Value = serde_json::from_str(&m).unwrap();
        assert_eq!(v["config"]["digest"], format!("sha256:{}", "a".repeat(64)));
        assert_eq!(v["layers"][0]["size"], 42);
    }
}
