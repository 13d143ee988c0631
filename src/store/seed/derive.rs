//! Derivation: the fields a fixture's tag leaves out (ids, digests, times),
//! computed deterministically from what it gives.

use std::sync::Arc;

use super::document::TagDoc;
use crate::store::model::{self, SwrTag, hex_sha256};

/// Builds a tag record from its fixture form, deriving what it leaves out;
/// `fallback_time` is used when it gives neither `created` nor `updated`.
/// Errors name the field.
pub(crate) fn derive_tag(
    d: &TagDoc,
    name: Arc<str>,
    repo_id: i64,
    id: i64,
    fallback_time: i64,
) -> Result<SwrTag, Vec<(String, String)>> {
    let mut problems = Vec::new();
    let mut time = |field: &Option<String>, name: &str| -> Option<i64> {
        let text = field.as_deref()?;
        match model::parse_time(text) {
            Ok(secs) if (0..=253_402_300_799).contains(&secs) => Some(secs),
            Ok(_) => {
                problems.push((
                    name.to_owned(),
                    format!("`{text}` is outside the years 1970-9999"),
                ));
                None
            }
            Err(message) => {
                problems.push((name.to_owned(), message));
                None
            }
        }
    };
    let created = time(&d.created, "created");
    let updated = time(&d.updated, "updated");
    if !problems.is_empty() {
        return Err(problems);
    }
    let (created, updated) = match (created, updated) {
        (Some(c), Some(u)) => (c, u),
        (Some(c), None) => (c, c),
        (None, Some(u)) => (u, u),
        (None, None) => (fallback_time, fallback_time),
    };
    let arc = |v: &Option<String>| v.as_deref().map(Arc::from);
    let explicit = model::Explicit {
        image_id: arc(&d.image_id),
        digest: arc(&d.digest),
        manifest: arc(&d.manifest),
        path: arc(&d.path),
        internal_path: arc(&d.internal_path),
        deleted: d.deleted.clone().flatten().map(Arc::from),
    };
    Ok(SwrTag {
        id,
        repo_id,
        name,
        schema: d.schema.unwrap_or(2),
        size: d.size,
        is_trusted: d.is_trusted.unwrap_or(false),
        created,
        updated,
        scanned: d.scanned.unwrap_or(false),
        tag_type: d.tag_type.unwrap_or(0),
        explicit: explicit.boxed(),
        json: Default::default(),
    })
}

/// A UUID-shaped (8-4-4-4-12 hex) id derived from a seed string.
pub(super) fn derived_uuid(seed: &str) -> String {
    let h = hex_sha256(seed.as_bytes());
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
