# ims-swr-mock: a Huawei Cloud IMS/SWR image-tag API emulator.
#   docker build -t ims-swr-mock .
#   docker run --rm -p 8080:8080 ims-swr-mock
#   docker run --rm -p 8080:8080 -v "$PWD/fixtures:/fixtures:ro" -e IMS_SWR_MOCK_FIXTURES=/fixtures ims-swr-mock

# ---- build ------------------------------------------------------------------
FROM rust:1.95-slim-bookworm AS builder
WORKDIR /src

# Dependencies first, in their own layer: build a placeholder crate with the
# real manifest and lockfile, so source edits do not rebuild every dependency.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src tests/it \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs tests/it/main.rs \
    && cargo build --release --locked --bin ims-swr-mock \
    && rm -rf src

# The build has no .git: pass the commit in (docker build --build-arg GIT_HASH=$(git rev-parse --short=12 HEAD)).
ARG GIT_HASH=unknown
ENV IMS_SWR_MOCK_GIT_HASH=$GIT_HASH
COPY build.rs openapi.json ./
COPY fixtures ./fixtures
COPY src ./src
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --bin ims-swr-mock

# ---- run ----------------------------------------------------------------------
# distroless/cc: glibc and nothing else; runs as the non-root user nonroot (65532).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /src/target/release/ims-swr-mock /usr/local/bin/ims-swr-mock
COPY fixtures /fixtures
# Bind every interface inside the container; the binary itself defaults to 127.0.0.1.
# IMS_SWR_MOCK_FIXTURES is deliberately unset: the embedded default fixture serves
# unless a user sets it (to /fixtures, say).
ENV IMS_SWR_MOCK_BIND=0.0.0.0 \
    IMS_SWR_MOCK_PORT=8080
EXPOSE 8080
USER 65532:65532
HEALTHCHECK --interval=10s --timeout=3s --start-period=3s --retries=3 \
    CMD ["/usr/local/bin/ims-swr-mock", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/ims-swr-mock"]
