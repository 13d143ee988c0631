"""Independent SDK-HMAC-SHA256 oracle (written apart from both the SDK and the server).

It follows the algorithm as docs/sdk-wire-facts.md §6 states it (from the public Python SDK
signer, https://github.com/huaweicloud/huaweicloud-sdk-python-v3/blob/master/huaweicloud-sdk-core/huaweicloudsdkcore/signer/signer.py),
and checks itself against that section's worked examples, which the SDK's own signer produced.
"""
from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl, unquote

ALGORITHM = "SDK-HMAC-SHA256"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

_UNRESERVED = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def _enc(s: str) -> str:
    return "".join(chr(b) if b in _UNRESERVED else "%%%02X" % b for b in s.encode("utf-8"))


def canonical_request(method, raw_path, raw_query, headers, signed_headers, body) -> str:
    """headers: case-insensitive lookup callable name -> value; signed_headers: lowercase, sorted."""
    # 1. percent-decode the WHOLE path, split on '/', re-encode each segment, force a trailing '/'
    uri = "/".join(_enc(seg) for seg in unquote(raw_path).split("/"))
    if not uri.endswith("/"):
        uri += "/"
    # 2. decoded (k, v) pairs sorted, each side re-encoded, joined with '&'
    query = "&".join("%s=%s" % (_enc(k), _enc(v))
                     for k, v in sorted(parse_qsl(raw_query, keep_blank_values=True)))
    # 3. "name:trimmed-value\n" for each signed header
    canon_headers = "".join("%s:%s\n" % (n, (headers(n) or "").strip()) for n in signed_headers)
    # 4. payload hash (X-Sdk-Content-Sha256 overrides, e.g. UNSIGNED-PAYLOAD)
    payload = headers("x-sdk-content-sha256") or hashlib.sha256(body or b"").hexdigest()
    return "\n".join([method.upper(), uri, query, canon_headers, ";".join(signed_headers), payload])


def string_to_sign(sdk_date: str, creq: str) -> str:
    return "%s\n%s\n%s" % (ALGORITHM, sdk_date, hashlib.sha256(creq.encode("utf-8")).hexdigest())


def expected_signature(sk: str, sdk_date: str, creq: str) -> str:
    return hmac.new(sk.encode("utf-8"), string_to_sign(sdk_date, creq).encode("utf-8"),
                    hashlib.sha256).hexdigest()


def authorization(ak: str, signed_headers, signature: str) -> str:
    return "%s Access=%s, SignedHeaders=%s, Signature=%s" % (ALGORITHM, ak, ";".join(signed_headers), signature)


# docs/sdk-wire-facts.md §6 worked examples: AK=AKTEST, SK=SKTEST,
# GET http://127.0.0.1:8080/v2/fd73a4a14a4a4dfb9771a8475e5198ea/images/tags, date 20240101T000000Z.
WORKED_EXAMPLE_PROJECT = "fd73a4a14a4a4dfb9771a8475e5198ea"
WORKED_EXAMPLE_DATE = "20240101T000000Z"
WORKED_EXAMPLES = {
    "A: signer only": (
        {"host": "127.0.0.1:8080", "x-sdk-date": WORKED_EXAMPLE_DATE},
        "b8a1b652cb643411a131cf4bb6c2c71d9351a7a09cb5f26d004bfd15cb85c7a2",
        "bc4ab0b1741e2475f5bc151a89baa887c104bbb31ea9375f663029d34267efee",
    ),
    "B: ImsClient.list_images_tags": (
        {"content-type": "application/json", "host": "127.0.0.1:8080",
         "user-agent": "huaweicloud-usdk-python/3.0; mock-probe", "x-project-id": WORKED_EXAMPLE_PROJECT,
         "x-sdk-date": WORKED_EXAMPLE_DATE},
        "0bce1014a62e50b812fc27db39cd8f6b5d071fed7f8faa7bfc8229a45a7ecd55",
        "1232859f70bd93132fc8e81adfd9b80afa4f8875d445458234af6d69d0ccb2b9",
    ),
}
