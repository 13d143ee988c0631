//! Step 2: validation against the JSON Schema compiled into the binary
//! (`fixtures/schema.json`), for a whole document or one tag or image, with
//! errors named by their JSON path.

use std::sync::LazyLock;

use serde_json::Value;

use super::document::{RawTag, TagDoc};
use super::{FixtureError, Problem, SCHEMA};

static VALIDATOR: LazyLock<Result<jsonschema::Validator, String>> = LazyLock::new(|| {
    let schema: Value = serde_json::from_str(SCHEMA).map_err(|e| e.to_string())?;
    jsonschema::validator_for(&schema).map_err(|e| e.to_string())
});

/// The validator of one tag: the schema's own `swrTag` definition.
static TAG_VALIDATOR: LazyLock<Result<jsonschema::Validator, String>> =
    LazyLock::new(|| def_validator("swrTag"));

/// The validator of one image: the schema's own `image` definition.
pub(super) static IMAGE_VALIDATOR: LazyLock<Result<jsonschema::Validator, String>> =
    LazyLock::new(|| def_validator("image"));

/// A validator of one definition (`$defs/NAME`) of the fixture schema.
fn def_validator(name: &str) -> Result<jsonschema::Validator, String> {
    let mut schema: Value = serde_json::from_str(SCHEMA).map_err(|e| e.to_string())?;
    let root = schema
        .as_object_mut()
        .ok_or("the schema is not an object")?;
    for keyword in [
        "properties",
        "additionalProperties",
        "required",
        "type",
        "title",
        "description",
    ] {
        root.remove(keyword);
    }
    root.insert("$ref".into(), Value::String(format!("#/$defs/{name}")));
    jsonschema::validator_for(&schema).map_err(|e| e.to_string())
}

/// Validates one raw tag against the schema and reads it. Errors are
/// `(path below the tag, message)`.
pub(crate) fn parse_tag(raw: &RawTag) -> Result<TagDoc, Vec<(String, String)>> {
    parse_item(raw, &TAG_VALIDATOR)
}

/// What the fixture schema finds wrong with `value` of the file `name`
/// (at most [`FixtureError::MAX_PROBLEMS`]); empty when it is valid.
pub(super) fn schema_problems(name: &str, value: &Value) -> Result<Vec<Problem>, FixtureError> {
    let validator = VALIDATOR
        .as_ref()
        .map_err(|e| FixtureError::one("fixtures/schema.json", "$", e.clone()))?;
    if validator.is_valid(value) {
        return Ok(Vec::new());
    }
    Ok(validator
        .iter_errors(value)
        .take(FixtureError::MAX_PROBLEMS)
        .map(|e| Problem {
            file: name.to_owned(),
            path: json_path(e.instance_path().segments().map(|s| s.to_string())),
            message: e.to_string(),
        })
        .collect())
}

/// Validates one raw item against its schema definition and reads it.
pub(super) fn parse_item<T: serde::de::DeserializeOwned>(
    raw: &RawTag,
    validator: &Result<jsonschema::Validator, String>,
) -> Result<T, Vec<(String, String)>> {
    let value: Value =
        serde_json::from_str(raw.get()).map_err(|e| vec![(String::new(), e.to_string())])?;
    let validator = validator
        .as_ref()
        .map_err(|e| vec![(String::new(), e.clone())])?;
    if !validator.is_valid(&value) {
        return Err(validator
            .iter_errors(&value)
            .take(FixtureError::MAX_PROBLEMS)
            .map(|e| {
                let below = json_path(e.instance_path().segments().map(|s| s.to_string()));
                (below.trim_start_matches('$').to_owned(), e.to_string())
            })
            .collect());
    }
    serde_json::from_value(value).map_err(|e| vec![(String::new(), e.to_string())])
}

/// Renders JSON Pointer segments as a JSONPath (`$.a.b[0]`).
pub(super) fn json_path(segments: impl Iterator<Item = String>) -> String {
    let mut out = String::from("$");
    for s in segments {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{s}]"));
        } else if s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$')
        {
            out.push('.');
            out.push_str(&s);
        } else {
            out.push_str(&format!("[{}]", Value::String(s)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::json_path;
    use crate::store::seed::tests::load_json;

    #[test]
    fn schema_errors_name_the_file_and_json_path() {
        let err = load_json(r#"{"swr":{"namespaces":[{"name":"ns","repositories":[{"name":"r","tags":[{"tag":"x","size":"big"}]}]}]}}"#)
            .unwrap_err();
        let p = &err.problems[0];
        assert_eq!(p.file, "t.json");
        assert_eq!(p.path, "$.swr.namespaces[0].repositories[0].tags[0].size");
        assert!(p.message.contains("integer"), "{}", p.message);
    }

    #[test]
    fn unknown_fields_are_rejected_with_their_path() {
        let err = load_json(r#"{"ims":{"projects":[{"id":"p","imagez":[]}]}}"#).unwrap_err();
        assert_eq!(err.problems[0].path, "$.ims.projects[0]");
        assert!(err.to_string().contains("imagez"), "{err}");
    }

    #[test]
    fn json_paths_quote_odd_property_names() {
        let segs = ["a", "0", "odd key"].map(String::from);
        assert_eq!(json_path(segs.into_iter()), r#"$.a[0]["odd key"]"#);
    }
}
