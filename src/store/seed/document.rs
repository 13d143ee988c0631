//! The fixture file types: the serde form of `fixtures/schema.json`, read
//! from fixtures and written by the export.
//!
//! An absent optional field stays absent on the way out: every struct with
//! `Option` fields carries `serde_with`'s `#[skip_serializing_none]`, and
//! serde reads a missing `Option` field as `None` by itself.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

/// A tag as it sits in a parsed file: its raw JSON (about 40 bytes), turned
/// into a [`TagDoc`] only when the store is built. A million-tag fixture thus
/// never holds a million `TagDoc`s or a million-node JSON tree at once.
pub(crate) type RawTag = Box<serde_json::value::RawValue>;

/// What a repository's `tags` list holds: [`TagDoc`]s (export) or [`RawTag`]s
/// (load); and what a project's `images` list holds: [`ImageDoc`]s or raw
/// JSON, the same way.
pub(crate) trait TagItem {
    /// Whether to leave the tags and images out when the rest of the
    /// document is serialised for schema validation (raw ones are validated
    /// one by one).
    const VALIDATED_APART: bool;
    /// An image of a project's `images` list.
    type Image: fmt::Debug + Clone + Serialize + serde::de::DeserializeOwned;
}

impl TagItem for TagDoc {
    const VALIDATED_APART: bool = false;
    type Image = ImageDoc;
}

impl TagItem for RawTag {
    const VALIDATED_APART: bool = true;
    type Image = RawTag;
}

fn validated_apart<T: TagItem>(_: &[T]) -> bool {
    T::VALIDATED_APART
}

fn images_validated_apart<T: TagItem>(_: &[T::Image]) -> bool {
    T::VALIDATED_APART
}

/// The top level of a fixture file. See `fixtures/schema.json` for the documentation
/// of every field.
#[skip_serializing_none]
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FixtureFile<T: TagItem = TagDoc> {
    #[serde(rename = "$schema")]
    pub(crate) _schema: Option<String>,
    #[serde(rename = "description")]
    pub(crate) _description: Option<String>,
    #[serde(default)]
    pub(crate) iam: IamSection,
    #[serde(default = "Default::default")]
    pub(crate) ims: ImsSection<T>,
    #[serde(default = "Default::default")]
    pub(crate) swr: SwrSection<T>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) faults: Vec<crate::control::faults::FaultRule>,
    /// The registry's blobs and links (exports carry them when any blob is
    /// held). Checked by the builder, not by the schema validator: its
    /// strings can be megabytes long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) registry: Option<RegistrySection>,
}

/// The `registry` section: every blob the registry holds (layers, configs
/// and manifests), by digest, as standard base64; and what each repository
/// (`namespace/repository`) may read.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegistrySection {
    /// Blob bytes by digest (`sha256:<hex>`).
    #[serde(default)]
    pub(crate) blobs: std::collections::BTreeMap<String, BlobData>,
    /// Links by repository name.
    #[serde(default)]
    pub(crate) repositories: std::collections::BTreeMap<String, RepoLinksDoc>,
}

/// What one repository of the registry links: blobs, and manifests with
/// their media types.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RepoLinksDoc {
    /// Digests of layers and configs.
    #[serde(default)]
    pub(crate) blobs: Vec<String>,
    /// Manifest digests to media types.
    #[serde(default)]
    pub(crate) manifests: std::collections::BTreeMap<String, String>,
}

/// A blob's bytes, written as standard base64 straight into the output (no
/// intermediate string) and decoded when read.
#[derive(Clone, Default)]
pub(crate) struct BlobData(pub(crate) bytes::Bytes);

impl fmt::Debug for BlobData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobData({} bytes)", self.0.len())
    }
}

impl Serialize for BlobData {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use base64::engine::general_purpose::STANDARD;
        serializer.collect_str(&base64::display::Base64Display::new(&self.0, &STANDARD))
    }
}

impl<'de> Deserialize<'de> for BlobData {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use base64::Engine as _;
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map(|v| Self(v.into()))
            .map_err(|e| serde::de::Error::custom(format!("not standard base64: {e}")))
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IamSection {
    #[serde(default)]
    pub(crate) domains: Vec<DomainDoc>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DomainDoc {
    pub(crate) id: String,
    #[serde(rename = "name")]
    pub(crate) _name: Option<String>,
    #[serde(default)]
    pub(crate) projects: Vec<IamProjectDoc>,
    #[serde(default)]
    pub(crate) access_keys: Vec<AccessKeyDoc>,
    #[serde(default)]
    pub(crate) tokens: Vec<TokenDoc>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IamProjectDoc {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) regions: Option<Vec<String>>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccessKeyDoc {
    pub(crate) access: String,
    /// Never exported: `None` in the export and in the persisted state.
    pub(crate) secret: Option<String>,
    pub(crate) projects: Option<Vec<String>>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenDoc {
    /// The token itself (fixtures); exports give `token_sha256` instead.
    pub(crate) token: Option<String>,
    /// Lowercase hex SHA-256 of the token.
    pub(crate) token_sha256: Option<String>,
    pub(crate) projects: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImsSection<T: TagItem = TagDoc> {
    #[serde(default = "Vec::new")]
    pub(crate) projects: Vec<ProjectDoc<T>>,
}

impl<T: TagItem> Default for ImsSection<T> {
    fn default() -> Self {
        Self {
            projects: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProjectDoc<T: TagItem = TagDoc> {
    pub(crate) id: String,
    #[serde(
        default = "Vec::new",
        skip_serializing_if = "images_validated_apart::<T>"
    )]
    pub(crate) images: Vec<T::Image>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImageDoc {
    pub(crate) id: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) status: Option<String>,
    /// `__description`; empty when absent.
    pub(crate) description: Option<String>,
    #[serde(default)]
    pub(crate) tags: Vec<ImageTagDoc>,
    pub(crate) imagetype: Option<String>,
    pub(crate) platform: Option<String>,
    pub(crate) os_type: Option<String>,
    pub(crate) min_disk: Option<i64>,
    pub(crate) member_status: Option<String>,
    pub(crate) virtual_env_type: Option<String>,
    pub(crate) enterprise_project_id: Option<String>,
    pub(crate) architecture: Option<String>,
    pub(crate) created_at: Option<String>,
    pub(crate) updated_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImageTagDoc {
    pub(crate) key: String,
    #[serde(default)]
    pub(crate) value: String,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SwrSection<T: TagItem = TagDoc> {
    pub(crate) internal_registry_host: Option<String>,
    #[serde(default = "Vec::new")]
    pub(crate) namespaces: Vec<NamespaceDoc<T>>,
}

impl<T: TagItem> Default for SwrSection<T> {
    fn default() -> Self {
        Self {
            internal_registry_host: None,
            namespaces: Vec::new(),
        }
    }
}

#[skip_serializing_none]
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NamespaceDoc<T: TagItem = TagDoc> {
    pub(crate) name: String,
    pub(crate) domain_id: Option<String>,
    /// Organization id; derived (the next free one, in name order) when absent.
    pub(crate) id: Option<i64>,
    /// `creator_name`; `admin` when absent.
    pub(crate) creator_name: Option<String>,
    #[serde(default = "Vec::new")]
    pub(crate) repositories: Vec<RepositoryDoc<T>>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RepositoryDoc<T: TagItem = TagDoc> {
    pub(crate) name: String,
    pub(crate) id: Option<i64>,
    /// `category`; `other` when absent.
    pub(crate) category: Option<String>,
    /// `description`; empty when absent.
    pub(crate) description: Option<String>,
    /// `is_public`; false when absent.
    pub(crate) is_public: Option<bool>,
    /// Creation time; the oldest tag's, else 2018-07-06T06:18:55Z, when absent.
    pub(crate) created: Option<String>,
    /// Last change of the repository itself; `created` when absent.
    pub(crate) updated: Option<String>,
    /// `num_download`; 0 when absent.
    pub(crate) num_download: Option<i64>,
    #[serde(default = "Vec::new", skip_serializing_if = "validated_apart")]
    pub(crate) tags: Vec<T>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TagDoc {
    pub(crate) tag: String,
    pub(crate) id: Option<i64>,
    pub(crate) image_id: Option<String>,
    pub(crate) manifest: Option<String>,
    pub(crate) digest: Option<String>,
    pub(crate) schema: Option<i64>,
    pub(crate) path: Option<String>,
    pub(crate) internal_path: Option<String>,
    pub(crate) size: Option<i64>,
    pub(crate) is_trusted: Option<bool>,
    pub(crate) created: Option<String>,
    pub(crate) updated: Option<String>,
    #[serde(default, deserialize_with = "explicit_null")]
    pub(crate) deleted: Option<Option<String>>,
    pub(crate) scanned: Option<bool>,
    pub(crate) tag_type: Option<i64>,
}

/// Tells `"deleted": null` (kept as `Some(None)`) from an absent field (`None`).
fn explicit_null<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::faults::FaultRule;

    /// Reads `json` as a `T` and writes it back.
    fn again<T: Serialize + serde::de::DeserializeOwned>(
        json: &str,
    ) -> Result<String, serde_json::Error> {
        serde_json::to_string(&serde_json::from_str::<T>(json)?)
    }

    #[test]
    fn absent_fields_stay_absent_and_unknown_ones_are_refused() {
        type Again = fn(&str) -> Result<String, serde_json::Error>;
        let cases: [(Again, &str); 8] = [
            (again::<TagDoc>, r#"{"tag":"v1"}"#),
            (again::<TagDoc>, r#"{"tag":"v1","deleted":null}"#),
            (again::<RepositoryDoc>, r#"{"name":"app","tags":[]}"#),
            (again::<NamespaceDoc>, r#"{"name":"org","repositories":[]}"#),
            (again::<ImageDoc>, r#"{"tags":[]}"#),
            (again::<TokenDoc>, r#"{"token_sha256":"ab"}"#),
            (again::<AccessKeyDoc>, r#"{"access":"AK"}"#),
            (
                again::<FaultRule>,
                r#"{"method":"GET","path":"/x","status":503,"priority":5}"#,
            ),
        ];
        for (again, json) in cases {
            assert_eq!(again(json).unwrap(), json);
            let unknown = json.replacen('{', r#"{"bogus":1,"#, 1);
            assert!(again(&unknown).is_err(), "{unknown}");
        }
    }
}
