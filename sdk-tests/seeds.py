"""Expected values taken from the example responses of the public API pages (cited by URL
below), adjusted where the default fixture fills in a placeholder."""

# Seed 001 ("Querying All Image Tags",
# https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0621.html), example
# response for project fd73a4a14a4a4dfb9771a8475e5198ea, in the page's order.
SEED_001_TAGS = [
    {"key": "key9", "values": ["value9"]},
    {"key": "key8", "values": [""]},  # a key-only tag has one empty value
    {"key": "key3", "values": ["valueXX", "value3"]},
]


# Seed 003 ("Querying the List of Image Repository Tags",
# https://support.huaweicloud.com/intl/en-us/api-swr/swr_02_0035.html),
# example response item, with the values the default fixture derives or assigns in place of the
# page's placeholders: id/repo_id 1 (page: 0), path from the default --registry-host (page:
# 192.158.24.86/...), and the fixture's domain_id (not part of the v2 page).
SEED_003_MANIFEST = (
    '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",'
    '"config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1862,'
    '"digest":"sha256:741f24a795d6d93d7c6edd11780d63c13e16c39615dd9d223378a57a836f2ee6"},'
    '"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":1292800,'
    '"digest":"sha256:8ac8bfaff55af948c796026ee867448c5b5b5d9dd3549f4006d9759b25d4a893"},'
    '{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":10240,'
    '"digest":"sha256:77ddbf3a9fe11e81761a0f9df43a28e3e6f29bbb53c0c8cf71cd7efa69729aed"}]}'
)
SEED_003_ITEM = {
    "id": 1,
    "repo_id": 1,
    "tag": "latest",  # JSON key `Tag`; the SDK model attribute is `tag`
    "image_id": "741f24a795d6d93d7c6edd11780d63c13e16c39615dd9d223378a57a836f2ee6",
    "manifest": SEED_003_MANIFEST,
    "digest": "sha256:57b605845a6367c34bfb6ea6477f16852f59aa1861a2b51d10ab77ae0a1dc9c3",
    "schema": 2,
    "path": "swr.cn-north-1.myhuaweicloud.com/namespace/busybox:latest",
    "internal_path": "10.125.0.198:20202/namespace/busybox:latest",
    "size": 1304902,
    "is_trusted": False,
    "created": "2018-07-06T06:18:55Z",
    "updated": "2018-07-06T06:18:55Z",
    "deleted": None,
    "domain_id": "0503dda878000fed0f75c0096d70a960",
    "scanned": False,
    "tag_type": 0,
}


# Seed 004 ("Querying the Image Tag List (V3)",
# https://support.huaweicloud.com/intl/en-us/api-swr/swr_02_0125.html),
# example response item, with the default fixture's values in place of the page's masked
# placeholders (path from the default --registry-host, the fixture's domain_id).
SEED_004_ITEM = {
    "id": 1,
    "repo_id": 1,
    "tag": "latest",
    "image_id": "741f24a795d6d93d7c6edd11780d63c13e16c39615dd9d223378a57a836f2ee6",
    "manifest": "",  # only filled in with with_manifest=true
    "digest": "sha256:57b605845a6367c34bfb6ea6477f16852f59aa1861a2b51d10ab77ae0a1dc9c3",
    "schema": 2,
    "path": "swr.cn-north-1.myhuaweicloud.com/namespace/busybox:latest",
    "internal_path": "10.125.0.198:20202/namespace/busybox:latest",
    "size": 1304902,
    "is_trusted": False,
    "created": "2018-07-06T06:18:55Z",
    "updated": "2018-07-06T06:18:55Z",
    "domain_id": "0503dda878000fed0f75c0096d70a960",
    "tag_type": 0,
}
