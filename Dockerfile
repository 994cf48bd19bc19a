# The server image (issue 14): built with cargo-leptos, run on a slim Debian
# as a non-root user with the site files beside the binary (the migrations
# are compiled into it; they are copied too, for operators to read).
#
#   docker build -t baedal/server .
#
# The build needs crates.io and the npm registry (cargo-leptos, wasm-bindgen
# and binaryen's wasm-opt are installed by .ci/tools.sh, as on a developer's
# machine) and the base images from a registry.

FROM rust:1.95-slim-bookworm AS build
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends npm pkg-config libssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN bash .ci/tools.sh \
    && PATH="$HOME/.cargo/bin:$PATH" cargo leptos build --release --precompress --split

FROM debian:bookworm-slim
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 baedal \
    && useradd --system --uid 10001 --gid baedal --home-dir /app --no-create-home baedal
WORKDIR /app
COPY --from=build /src/target/release/server /src/target/release/hash.txt /app/
COPY --from=build /src/target/site /app/site
COPY --from=build /src/migrations /app/migrations
ENV APP_HOST=0.0.0.0 \
    APP_PORT=3000 \
    APP_LOG_FORMAT=json \
    APP_DEMO=false \
    LEPTOS_SITE_ROOT=/app/site
USER 10001:10001
EXPOSE 3000
# Liveness: the server asks its own /healthz (no curl in the image).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 CMD ["/app/server", "healthcheck"]
ENTRYPOINT ["/app/server"]
