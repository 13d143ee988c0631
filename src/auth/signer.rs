//! SDK-HMAC-SHA256, the request signature of the official Huawei Cloud SDKs,
//! as pure functions (no I/O), so each step can be tested on its own.
//!
//! The algorithm (docs/sdk-wire-facts.md §6, verified against the SDK signer):
//! 1. `CanonicalRequest` = `METHOD\nURI\nQUERY\nHEADERS\nSIGNED_HEADERS\nPAYLOAD_HASH`, where
//!    - `URI`: the path, percent-decoded, split on `/`, each segment encoded
//!      (`A-Za-z0-9-_.~` kept), joined, with a trailing `/` added. The Node
//!      SDK skips the decoding (so `%20` becomes `%2520`); [`UriForm`] names both.
//!    - `QUERY`: decoded pairs sorted by key then value, each side encoded the same way.
//!    - `HEADERS`: `name:value.trim()\n` for each signed header.
//!    - `PAYLOAD_HASH`: hex SHA-256 of the body; for a non-empty body an
//!      `X-Sdk-Content-Sha256` header (`UNSIGNED-PAYLOAD`) wins.
//! 2. `StringToSign` = `SDK-HMAC-SHA256\n{X-Sdk-Date}\n{hex SHA-256 of CanonicalRequest}`.
//! 3. `Signature` = hex HMAC-SHA256 keyed with the SK's UTF-8 bytes.

use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};

/// The algorithm name that opens the `Authorization` header.
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";

/// Hex SHA-256 of an empty payload.
pub const EMPTY_PAYLOAD_HASH: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Everything but `A-Za-z0-9-_.~` is percent-encoded.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The parts of an `Authorization: SDK-HMAC-SHA256 …` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization<'a> {
    /// `Access=`: the access key id (AK).
    pub access: &'a str,
    /// `SignedHeaders=`: lowercase header names joined with `;`.
    pub signed_headers: &'a str,
    /// `Signature=`: 64 hex digits.
    pub signature: &'a str,
}

impl<'a> Authorization<'a> {
    /// Parses the header value; the error says what is malformed.
    ///
    /// # Errors
    /// What is wrong with the header: a missing part, an unknown algorithm or a malformed field.
    pub fn parse(value: &'a str) -> Result<Self, String> {
        let rest = value
            .trim()
            .strip_prefix(ALGORITHM)
            .filter(|r| r.starts_with(' '))
            .ok_or_else(|| {
                format!("the Authorization header does not start with \"{ALGORITHM} \"")
            })?;
        let (mut access, mut signed_headers, mut signature) = (None, None, None);
        for part in rest.split(',') {
            let (key, val) = part.trim().split_once('=').ok_or_else(|| {
                format!(
                    "{:?} in the Authorization header is not key=value",
                    part.trim()
                )
            })?;
            let slot = match key {
                "Access" => &mut access,
                "SignedHeaders" => &mut signed_headers,
                "Signature" => &mut signature,
                other => return Err(format!("unknown Authorization field {other:?}")),
            };
            if slot.replace(val).is_some() {
                return Err(format!("Authorization field {key} appears twice"));
            }
        }
        let access = access
            .filter(|a| !a.is_empty())
            .ok_or("the Authorization header has no Access=")?;
        let signed_headers = signed_headers
            .filter(|s| !s.is_empty())
            .ok_or("the Authorization header has no SignedHeaders=")?;
        if signed_headers.split(';').any(|h| {
            h.is_empty()
                || h.bytes()
                    .any(|b| b.is_ascii_uppercase() || b.is_ascii_whitespace())
        }) {
            return Err(format!(
                "SignedHeaders={signed_headers:?} must be lowercase header names joined with ';'"
            ));
        }
        let signature = signature.ok_or("the Authorization header has no Signature=")?;
        if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("Signature= must be 64 hex digits".into());
        }
        Ok(Self {
            access,
            signed_headers,
            signature,
        })
    }

    /// The signed header names, in header order.
    pub fn header_names(&self) -> impl Iterator<Item = &'a str> {
        self.signed_headers.split(';')
    }
}

/// How a signer turns the path into the canonical URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriForm {
    /// Decode the whole path, split on `/`, encode each segment (Python, Go, Java).
    Python,
    /// Split the raw path and encode each raw segment (the Node SDK).
    Node,
}

/// The canonical URI of a raw (as received) path.
pub fn canonical_uri(raw_path: &str, form: UriForm) -> String {
    let decoded;
    let path = match form {
        UriForm::Python => {
            decoded = percent_decode_str(raw_path).decode_utf8_lossy();
            &*decoded
        }
        UriForm::Node => raw_path,
    };
    let mut uri = path
        .split('/')
        .map(|segment| utf8_percent_encode(segment, ENCODE).to_string())
        .collect::<Vec<_>>()
        .join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// The canonical query of a raw query string (without `?`).
pub fn canonical_query(raw_query: &str) -> String {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(raw_query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, ENCODE),
                utf8_percent_encode(v, ENCODE)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The payload hash: for an empty body always the empty hash; otherwise the
/// `X-Sdk-Content-Sha256` value if given, else the body's hex SHA-256.
pub fn payload_hash(body: &[u8], content_sha256: Option<&str>) -> String {
    match (body.is_empty(), content_sha256) {
        (true, _) => EMPTY_PAYLOAD_HASH.to_owned(),
        (false, Some(given)) => given.to_owned(),
        (false, None) => hex::encode(Sha256::digest(body)),
    }
}

/// The `X-Sdk-Content-Sha256` value that means "the body is not signed".
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Checks a payload-hash header against the body it came with.
///
/// `UNSIGNED-PAYLOAD` (or no header) claims nothing and always passes. Any
/// other value claims to be the body's SHA-256 and must be exactly that (hex,
/// either case), also for an empty body: otherwise a captured signature could
/// be replayed with any other body. On a mismatch, returns the body's real
/// hash (lower-case hex), for diagnostics.
///
/// # Errors
/// The mismatch, when `X-Sdk-Content-Sha256` is given and is neither the body's hash nor `UNSIGNED-PAYLOAD`.
pub fn check_content_sha256(body: &[u8], content_sha256: Option<&str>) -> Result<(), String> {
    match content_sha256 {
        None | Some(UNSIGNED_PAYLOAD) => Ok(()),
        Some(given) => {
            let actual = hex::encode(Sha256::digest(body));
            if given.eq_ignore_ascii_case(&actual) {
                Ok(())
            } else {
                Err(actual)
            }
        }
    }
}

/// The canonical request. `headers` are the signed headers' `(name, value)`
/// pairs in `SignedHeaders` order.
pub fn canonical_request(
    method: &str,
    uri: &str,
    query: &str,
    headers: &[(&str, &str)],
    payload_hash: &str,
) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(&method.to_ascii_uppercase());
    out.push('\n');
    out.push_str(uri);
    out.push('\n');
    out.push_str(query);
    out.push('\n');
    for (name, value) in headers {
        out.push_str(name);
        out.push(':');
        out.push_str(value.trim());
        out.push('\n');
    }
    out.push('\n');
    let names: Vec<&str> = headers.iter().map(|(n, _)| *n).collect();
    out.push_str(&names.join(";"));
    out.push('\n');
    out.push_str(payload_hash);
    out
}

/// The string to sign.
pub fn string_to_sign(sdk_date: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{sdk_date}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    )
}

fn mac(secret: &str) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length")
}

/// The hex signature of a string to sign.
pub fn sign(secret: &str, string_to_sign: &str) -> String {
    let mut m = mac(secret);
    m.update(string_to_sign.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

/// Whether `signature_hex` signs `string_to_sign` with `secret`, compared in
/// constant time (`Mac::verify_slice`).
pub fn verify(secret: &str, string_to_sign: &str, signature_hex: &str) -> bool {
    let Ok(given) = hex::decode(signature_hex) else {
        return false;
    };
    let mut m = mac(secret);
    m.update(string_to_sign.as_bytes());
    m.verify_slice(&given).is_ok()
}

/// Parses an `X-Sdk-Date` (`20240101T000000Z`) into epoch seconds.
pub fn parse_sdk_date(text: &str) -> Option<i64> {
    let valid = text.len() == 16
        && text.as_bytes()[8] == b'T'
        && text.ends_with('Z')
        && text[..8]
            .bytes()
            .chain(text[9..15].bytes())
            .all(|b| b.is_ascii_digit());
    if !valid {
        return None;
    }
    let iso = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &text[0..4],
        &text[4..6],
        &text[6..8],
        &text[9..11],
        &text[11..13],
        &text[13..15]
    );
    iso.parse::<jiff::Timestamp>()
        .ok()
        .map(jiff::Timestamp::as_second)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PID: &str = "fd73a4a14a4a4dfb9771a8475e5198ea";
    const DATE: &str = "20240101T000000Z";

    fn signature_for(headers: &[(&str, &str)]) -> (String, String) {
        let creq = canonical_request(
            "GET",
            &canonical_uri(&format!("/v2/{PID}/images/tags"), UriForm::Python),
            &canonical_query(""),
            headers,
            &payload_hash(b"", None),
        );
        let sts = string_to_sign(DATE, &creq);
        (
            hex::encode(Sha256::digest(creq.as_bytes())),
            sign("SKTEST", &sts),
        )
    }

    #[test]
    fn worked_example_a_signer_only_matches_byte_for_byte() {
        let (creq_hash, sig) = signature_for(&[("host", "127.0.0.1:8080"), ("x-sdk-date", DATE)]);
        assert_eq!(
            creq_hash,
            "b8a1b652cb643411a131cf4bb6c2c71d9351a7a09cb5f26d004bfd15cb85c7a2"
        );
        assert_eq!(
            sig,
            "bc4ab0b1741e2475f5bc151a89baa887c104bbb31ea9375f663029d34267efee"
        );
    }

    #[test]
    fn worked_example_b_list_images_tags_matches_byte_for_byte() {
        let (creq_hash, sig) = signature_for(&[
            ("content-type", "application/json"),
            ("host", "127.0.0.1:8080"),
            ("user-agent", "huaweicloud-usdk-python/3.0; mock-probe"),
            ("x-project-id", PID),
            ("x-sdk-date", DATE),
        ]);
        assert_eq!(
            creq_hash,
            "0bce1014a62e50b812fc27db39cd8f6b5d071fed7f8faa7bfc8229a45a7ecd55"
        );
        assert_eq!(
            sig,
            "1232859f70bd93132fc8e81adfd9b80afa4f8875d445458234af6d69d0ccb2b9"
        );
    }

    #[test]
    fn the_authorization_header_of_example_b_parses_and_verifies() {
        let header = "SDK-HMAC-SHA256 Access=AKTEST, SignedHeaders=content-type;host;user-agent;x-project-id;x-sdk-date, Signature=1232859f70bd93132fc8e81adfd9b80afa4f8875d445458234af6d69d0ccb2b9";
        let auth = Authorization::parse(header).unwrap();
        assert_eq!(auth.access, "AKTEST");
        assert_eq!(auth.header_names().count(), 5);
        let creq = canonical_request(
            "GET",
            &canonical_uri(&format!("/v2/{PID}/images/tags"), UriForm::Python),
            "",
            &[
                ("content-type", "application/json"),
                ("host", "127.0.0.1:8080"),
                ("user-agent", "huaweicloud-usdk-python/3.0; mock-probe"),
                ("x-project-id", PID),
                ("x-sdk-date", DATE),
            ],
            EMPTY_PAYLOAD_HASH,
        );
        let sts = string_to_sign(DATE, &creq);
        assert!(verify("SKTEST", &sts, auth.signature));
        assert!(!verify("SKTESt", &sts, auth.signature));
        assert!(!verify("SKTEST", &sts, &"0".repeat(64)));
    }

    #[test]
    fn malformed_authorization_headers_say_what_is_wrong() {
        for (header, want) in [
            ("Bearer x", "does not start"),
            ("SDK-HMAC-SHA256", "does not start"),
            (
                "SDK-HMAC-SHA256 Access=A, SignedHeaders=host",
                "no Signature",
            ),
            (
                "SDK-HMAC-SHA256 SignedHeaders=host, Signature=00",
                "no Access",
            ),
            (
                "SDK-HMAC-SHA256 Access=A, SignedHeaders=Host, Signature=00",
                "lowercase",
            ),
            (
                "SDK-HMAC-SHA256 Access=A, SignedHeaders=host, Signature=zz",
                "64 hex",
            ),
            ("SDK-HMAC-SHA256 Access=A, Access=B", "twice"),
            ("SDK-HMAC-SHA256 Access", "key=value"),
        ] {
            let err = Authorization::parse(header).unwrap_err();
            assert!(err.contains(want), "{header}: {err}");
        }
    }

    #[test]
    fn python_and_node_uri_forms_differ_only_on_escapes() {
        let raw = "/v2/p/images/i/tags/k%201%2Fx";
        assert_eq!(
            canonical_uri(raw, UriForm::Python),
            "/v2/p/images/i/tags/k%201/x/"
        );
        assert_eq!(
            canonical_uri(raw, UriForm::Node),
            "/v2/p/images/i/tags/k%25201%252Fx/"
        );
        let plain = "/v2/manage/namespaces/ns/repos/group$app/tags";
        assert_eq!(
            canonical_uri(plain, UriForm::Python),
            canonical_uri(plain, UriForm::Node)
        );
        assert_eq!(
            canonical_uri(plain, UriForm::Python),
            "/v2/manage/namespaces/ns/repos/group%24app/tags/"
        );
    }

    #[test]
    fn queries_are_decoded_sorted_and_reencoded() {
        assert_eq!(canonical_query("b=2&a=x%20y&a=1&c="), "a=1&a=x%20y&b=2&c=");
        assert_eq!(
            canonical_query("limit=100&marker=a%20b&with_manifest=true"),
            "limit=100&marker=a%20b&with_manifest=true"
        );
        assert_eq!(canonical_query("q=a+b"), "q=a%20b");
        assert_eq!(canonical_query(""), "");
    }

    #[test]
    fn payload_hashes_follow_the_sdk() {
        assert_eq!(
            payload_hash(b"", Some("UNSIGNED-PAYLOAD")),
            EMPTY_PAYLOAD_HASH
        );
        assert_eq!(
            payload_hash(b"{}", Some("UNSIGNED-PAYLOAD")),
            "UNSIGNED-PAYLOAD"
        );
        assert_eq!(
            payload_hash(b"{}", None),
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }

    #[test]
    fn a_concrete_payload_hash_must_be_the_bodys() {
        let hash = hex::encode(Sha256::digest(b"{}"));
        assert_eq!(check_content_sha256(b"{}", Some(&hash)), Ok(()));
        assert_eq!(
            check_content_sha256(b"{}", Some(&hash.to_ascii_uppercase())),
            Ok(())
        );
        assert_eq!(check_content_sha256(b"{}", None), Ok(()));
        assert_eq!(check_content_sha256(b"{}", Some(UNSIGNED_PAYLOAD)), Ok(()));
        assert_eq!(check_content_sha256(b"", Some(UNSIGNED_PAYLOAD)), Ok(()));
        assert_eq!(check_content_sha256(b"", Some(EMPTY_PAYLOAD_HASH)), Ok(()));
        assert_eq!(
            check_content_sha256(b"[]", Some(&hash)),
            Err(hex::encode(Sha256::digest(b"[]")))
        );
        assert_eq!(
            check_content_sha256(b"", Some(&hash)),
            Err(EMPTY_PAYLOAD_HASH.to_owned())
        );
        assert!(check_content_sha256(b"{}", Some("unsigned-payload")).is_err());
    }

    #[test]
    fn sdk_dates_parse_strictly() {
        assert_eq!(parse_sdk_date("20240101T000000Z"), Some(1_704_067_200));
        for bad in [
            "2024-01-01T00:00:00Z",
            "20240101T000000",
            "20241301T000000Z",
            "2024010AT000000Z",
            "",
        ] {
            assert_eq!(parse_sdk_date(bad), None, "{bad}");
        }
    }
}
