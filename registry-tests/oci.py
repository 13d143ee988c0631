"""Builds OCI image layouts on disk (no network): multi-layer images with real tar layers,
and multi-arch indexes, for the real registry clients to copy."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write_blob(layout: Path, data: bytes) -> str:
    digest = sha256(data)
    path = layout / "blobs" / "sha256" / digest.split(":", 1)[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return digest


def tar_layer(files: dict[str, bytes]) -> bytes:
    """An uncompressed tar of `files`, reproducible (fixed times and owners)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1_700_000_000, 0o644
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def noise(seed: int, size: int) -> bytes:
    """`size` incompressible bytes, deterministic in `seed`."""
    return hashlib.shake_256(str(seed).encode()).digest(size)


def image(layout: Path, layer_sizes: list[int], arch: str = "amd64", seed: int = 0) -> dict:
    """Writes one image's blobs into `layout`; returns its manifest descriptor (with the
    manifest bytes under `_bytes` and the config+layers size under `_size`)."""
    # gzip'd (fixed mtime): clients push compressed layers as they are, so every blob
    # round-trips byte for byte.
    tars = [tar_layer({f"layer{i}/data.bin": noise(seed * 100 + i, size)})
            for i, size in enumerate(layer_sizes)]
    layers = [gzip.compress(t, compresslevel=1, mtime=0) for t in tars]
    config = json.dumps({
        "architecture": arch, "os": "linux",
        "config": {"Cmd": ["/layer0/data.bin"]},
        "rootfs": {"type": "layers", "diff_ids": [sha256(t) for t in tars]},
    }, sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MANIFEST,
        "config": {"mediaType": CONFIG, "digest": write_blob(layout, config), "size": len(config)},
        "layers": [{"mediaType": LAYER, "digest": write_blob(layout, l), "size": len(l)} for l in layers],
    }, sort_keys=True).encode()
    return {"mediaType": MANIFEST, "digest": write_blob(layout, manifest), "size": len(manifest),
            "platform": {"architecture": arch, "os": "linux"},
            "_bytes": manifest, "_size": len(config) + sum(len(l) for l in layers)}


def finish(layout: Path, tag: str, descriptor: dict) -> None:
    public = {k: v for k, v in descriptor.items() if not k.startswith("_")}
    public["annotations"] = {"org.opencontainers.image.ref.name": tag}
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "mediaType": INDEX,
                                                   "manifests": [public]}))


def single(layout: Path, tag: str, layer_sizes: list[int], seed: int = 0) -> dict:
    """An OCI layout holding one image under `tag`."""
    layout.mkdir(parents=True, exist_ok=True)
    descriptor = image(layout, layer_sizes, seed=seed)
    finish(layout, tag, descriptor)
    return descriptor


def multi_arch(layout: Path, tag: str) -> dict:
    """An OCI layout holding an index of an amd64 and an arm64 image under `tag`."""
    layout.mkdir(parents=True, exist_ok=True)
    children = [image(layout, [4096, 2048], arch, seed=i + 10) for i, arch in enumerate(["amd64", "arm64"])]
    index = json.dumps({"schemaVersion": 2, "mediaType": INDEX, "manifests": [
        {k: v for k, v in c.items() if not k.startswith("_")} for c in children]}, sort_keys=True).encode()
    descriptor = {"mediaType": INDEX, "digest": write_blob(layout, index), "size": len(index),
                  "_bytes": index, "_children": children}
    finish(layout, tag, descriptor)
    return descriptor


def blob(layout: Path, digest: str) -> bytes:
    return (layout / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes()


def tagged_manifest(layout: Path) -> tuple[str, bytes]:
    """(digest, bytes) of the one manifest `index.json` names."""
    index = json.loads((layout / "index.json").read_text())
    digest = index["manifests"][0]["digest"]
    return digest, blob(layout, digest)
