//! Steps 1 and 3: reading fixture files (a file or a directory of them) and
//! parsing a document into typed records, tags and images kept as raw JSON.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::FixtureError;
use super::document::{FixtureFile, RawTag};
use super::keys::check_duplicate_keys;
use super::schema::schema_problems;

/// The files a path stands for: itself, or a directory's `*.json` files.
pub(super) fn expand(path: &Path) -> Result<Vec<PathBuf>, FixtureError> {
    let name = path.display().to_string();
    let meta = std::fs::metadata(path)
        .map_err(|e| FixtureError::one(&name, "$", format!("cannot read the fixture: {e}")))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let entries = std::fs::read_dir(path)
        .map_err(|e| FixtureError::one(&name, "$", format!("cannot list the directory: {e}")))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension().is_some_and(|x| x == "json")
                && p.file_name().is_some_and(|n| n != "schema.json")
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(FixtureError::one(
            &name,
            "$",
            "the directory holds no *.json fixture files",
        ));
    }
    Ok(files)
}

/// Documents up to this size that fail the typed parse are parsed again
/// as one JSON tree, for the schema's precise messages; larger ones get
/// serde's message and path from a streaming pass (a tree takes tens of
/// times the document's size).
const TREE_PARSE_LIMIT: usize = 1 << 20;

/// Steps 1-3: parse, validate against the schema, deserialise.
///
/// No JSON tree of the whole document is built unless it is small and
/// invalid: a streaming pass refuses duplicate keys; a typed parse keeps
/// tags as raw text (checked one by one when the store is built); the
/// schema then checks the rest of the document, without its tags.
pub(super) fn parse(name: &str, bytes: &[u8]) -> Result<Document, FixtureError> {
    check_duplicate_keys(name, bytes)?;
    let file = match serde_json::from_slice::<FixtureFile<RawTag>>(bytes) {
        Ok(file) => file,
        Err(_) if bytes.len() <= TREE_PARSE_LIMIT => {
            // The whole tree against the schema, for its precise messages
            // and paths; then typed again.
            let file = parse_whole(name, bytes)?;
            let raw = serde_json::to_vec(&file).unwrap_or_default();
            serde_json::from_slice(&raw).map_err(|e| {
                FixtureError::one(name, "$", format!("cannot re-read the document: {e}"))
            })?
        }
        Err(_) => {
            let mut de = serde_json::Deserializer::from_slice(bytes);
            return Err(
                match serde_path_to_error::deserialize::<_, FixtureFile<RawTag>>(&mut de) {
                    Ok(_) => FixtureError::one(name, "$", "not a valid fixture document"),
                    Err(e) => {
                        let path = format!("$.{}", e.path()).replace(".[", "[");
                        FixtureError::one(name, path.trim_end_matches('.'), e.inner().to_string())
                    }
                },
            );
        }
    };
    // The rest of the document (tags and the registry's blobs are left
    // out) against the schema; the builder checks the blobs.
    let mut file = file;
    let registry = file.registry.take();
    let rest = serde_json::to_value(&file).unwrap_or(Value::Null);
    file.registry = registry;
    let problems = schema_problems(name, &rest)?;
    if !problems.is_empty() {
        return Err(FixtureError { problems });
    }
    Ok(Document {
        name: name.to_owned(),
        file,
        trusted: false,
    })
}

/// Parses a document known to be valid (the embedded default) without
/// compiling the schema validators.
pub(super) fn parse_trusted(name: &str, bytes: &[u8]) -> Result<Document, FixtureError> {
    let file = serde_json::from_slice::<FixtureFile<RawTag>>(bytes)
        .map_err(|e| FixtureError::one(name, "$", format!("not valid JSON: {e}")))?;
    Ok(Document {
        name: name.to_owned(),
        file,
        trusted: true,
    })
}

/// Parses and validates a whole document as one JSON tree.
fn parse_whole(name: &str, bytes: &[u8]) -> Result<FixtureFile, FixtureError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| FixtureError::one(name, "$", format!("not valid JSON: {e}")))?;
    let problems = schema_problems(name, &value)?;
    if !problems.is_empty() {
        return Err(FixtureError { problems });
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = format!("$.{}", e.path()).replace(".[", "[");
        FixtureError::one(name, path.trim_end_matches('.'), e.inner().to_string())
    })
}

/// A parsed fixture file and the name it is reported under.
pub(super) struct Document {
    pub(super) name: String,
    pub(super) file: FixtureFile<RawTag>,
    /// Already known valid: tags are read without the schema.
    pub(super) trusted: bool,
}

#[cfg(test)]
mod tests {
    use crate::store::seed::tests::load_json;

    #[test]
    fn syntax_errors_say_where() {
        let err = load_json("{\"ims\": ").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("bad fixture t.json: at $: not valid JSON"),
            "{err}"
        );
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
