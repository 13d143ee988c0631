//! Duplicate keys: a streaming pass that refuses a document in which an
//! object names a key twice, before any tree is built.

use std::collections::HashSet;
use std::fmt;

use super::FixtureError;
use super::schema::json_path;

/// Refuses a document in which an object names a key twice (JSON parsers
/// would silently keep one of the values), naming the object's JSONPath.
/// A streaming pass: no tree is built. Syntax errors are reported here too.
pub(crate) fn check_duplicate_keys(name: &str, bytes: &[u8]) -> Result<(), FixtureError> {
    let mut path = Vec::new();
    let mut found = None;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let walk = KeyWalk {
        path: &mut path,
        found: &mut found,
    };
    let result = serde::de::DeserializeSeed::deserialize(walk, &mut de).and_then(|()| de.end());
    match (result, found) {
        (_, Some((at, key))) => Err(FixtureError::one(
            name,
            &at,
            format!("duplicate key {key:?}: a key may appear only once in an object"),
        )),
        (Err(e), None) => Err(FixtureError::one(name, "$", format!("not valid JSON: {e}"))),
        (Ok(()), None) => Ok(()),
    }
}

/// One step of a JSONPath while [`check_duplicate_keys`] walks a document.
enum Step<'de> {
    Key(std::borrow::Cow<'de, str>),
    Index(usize),
}

/// A visitor that walks any JSON value, recording where it is.
struct KeyWalk<'p, 'de> {
    path: &'p mut Vec<Step<'de>>,
    /// Set to (JSONPath of the object, key) at the first duplicate.
    found: &'p mut Option<(String, String)>,
}

impl KeyWalk<'_, '_> {
    fn json_path(&self) -> String {
        json_path(self.path.iter().map(|s| match s {
            Step::Key(k) => k.to_string(),
            Step::Index(i) => i.to_string(),
        }))
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for KeyWalk<'_, 'de> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for KeyWalk<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        loop {
            self.path.push(Step::Index(i));
            let more = seq.next_element_seed(KeyWalk {
                path: &mut *self.path,
                found: &mut *self.found,
            })?;
            self.path.pop();
            if more.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // Borrowed from the input when the key has no escapes; a short
        // object (the usual case) is searched linearly, without hashing.
        let mut few: Vec<std::borrow::Cow<'de, str>> = Vec::new();
        let mut many: HashSet<std::borrow::Cow<'de, str>> = HashSet::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let seen = if many.is_empty() {
                few.contains(&key)
            } else {
                many.contains(&key)
            };
            if seen {
                *self.found = Some((self.json_path(), key.into_owned()));
                return Err(serde::de::Error::custom("duplicate key"));
            }
            self.path.push(Step::Key(key.clone()));
            map.next_value_seed(KeyWalk {
                path: &mut *self.path,
                found: &mut *self.found,
            })?;
            self.path.pop();
            if many.is_empty() && few.len() < 16 {
                few.push(key);
            } else {
                many.extend(few.drain(..));
                many.insert(key);
            }
        }
        Ok(())
    }
}

/// Reads an object key, borrowing it from the input when it can.
struct KeySeed;

impl<'de> serde::de::DeserializeSeed<'de> for KeySeed {
    type Value = std::borrow::Cow<'de, str>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for KeySeed {
    type Value = std::borrow::Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Owned(v.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::check_duplicate_keys;

    #[test]
    fn duplicate_keys_are_found_in_short_long_and_escaped_objects() {
        assert!(check_duplicate_keys("t", br#"{"a":[{"b":1},{"b":1}]}"#).is_ok());
        let err = check_duplicate_keys("t", br#"{"a":[{"b":1},{"b":1,"b":2}]}"#).unwrap_err();
        assert_eq!(err.problems[0].path, "$.a[1]");
        let long: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        let text = format!("{{\"x\":{{{},\"k33\":0}}}}", long.join(","));
        let err = check_duplicate_keys("t", text.as_bytes()).unwrap_err();
        assert_eq!(err.problems[0].path, "$.x");
        assert!(err.to_string().contains("\"k33\""), "{err}");
        let err = check_duplicate_keys("t", br#"{"\u0061":1,"a":2}"#).unwrap_err();
        assert_eq!(err.problems[0].path, "$");
        let err = check_duplicate_keys("t", b"[[[").unwrap_err();
        assert!(err.to_string().contains("not valid JSON"), "{err}");
    }
}
