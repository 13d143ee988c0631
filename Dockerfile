# ims-swr-mock: a Huawei Cloud IMS/SWR image-tag API emulator.
#   docker build -t ims-swr-mock .
#   docker run --rm -p 8080:8080 ims-swr-mock
#   docker run --rm -p 8080:8080 -v "$PWD/fixtures:/fixtures:ro" -e IMS_SWR_MOCK_FIXTURES=/fixtures ims-swr-mock

# ---- build ------------------------------------------------------------------
# cargo-chef caches the dependencies in their own layer. Its recipe is made from
# every manifest and target the sources declare, so a new bench, test or binary
# cannot break the dependency layer.
FROM rust:1.95-slim-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
# Dependencies only: this layer changes only when Cargo.toml or Cargo.lock does.
RUN cargo chef cook --release --locked --recipe-path recipe.json --bin ims-swr-mock
# The build has no .git: pass the commit in (docker build --build-arg GIT_HASH=$(git rev-parse --short=12 HEAD)).
ARG GIT_HASH=unknown
ENV IMS_SWR_MOCK_GIT_HASH=$GIT_HASH
COPY . .
RUN cargo build --release --locked --bin ims-swr-mock

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
