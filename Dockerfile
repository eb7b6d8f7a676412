# syntax=docker/dockerfile:1
# Concierge as a container: a build stage, then a small non-root runtime stage.
#
#   docker build -t concierge .                              # hybrid: model + libtorch
#   docker build --build-arg LEXICAL=1 -t concierge:lexical .  # lexical engine, no libtorch
#
# The shop's content (knowledge-base/, intents/, concierge.yaml) is baked in from this folder;
# mount your own over /srv/concierge to serve another shop. Conversations go to PostgreSQL
# when CONCIERGE_DATABASE_URL is set (several replicas), else SQLite under /srv/concierge/data.

ARG LEXICAL=0

FROM rust:1-bookworm AS build
ARG LEXICAL
# Where scripts/setup-model unpacks libtorch; the runtime stage copies the same folder, so the
# rpath the build records stays valid.
ENV CONCIERGE_CACHE=/opt/concierge \
    CARGO_TARGET_DIR=/opt/concierge/target \
    CONCIERGE_LEXICAL_ONLY=${LEXICAL}
# Unpinned on purpose: the distribution's current security updates, not a stale version.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-pip pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# scripts/setup installs libtorch and the model (unless LEXICAL=1) and builds the release
# binary; the lexical build has no libtorch folder, so an empty one stands in for the copy.
RUN scripts/setup \
 && mkdir -p /opt/concierge/libtorch-2.4.0 /src/models/all-MiniLM-L6-v2 \
 && cp /opt/concierge/target/release/concierge /usr/local/bin/concierge

FROM debian:bookworm-slim AS runtime
ARG LEXICAL
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 concierge \
 && useradd --system --uid 10001 --gid 10001 --home-dir /srv/concierge --shell /usr/sbin/nologin concierge
COPY --from=build /opt/concierge/libtorch-2.4.0 /opt/concierge/libtorch-2.4.0
COPY --from=build /usr/local/bin/concierge /usr/local/bin/concierge
WORKDIR /srv/concierge
COPY --from=build --chown=concierge:concierge /src/concierge.yaml ./
COPY --from=build --chown=concierge:concierge /src/knowledge-base ./knowledge-base
COPY --from=build --chown=concierge:concierge /src/intents ./intents
COPY --from=build --chown=concierge:concierge /src/models/all-MiniLM-L6-v2 ./models/all-MiniLM-L6-v2
RUN mkdir -p data && chown concierge:concierge data
USER 10001:10001
# The lexical build serves the same config with the semantic layer off.
ENV CONCIERGE_LOG=info \
    CONCIERGE_LEXICAL_ONLY=${LEXICAL}
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
  CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["/usr/local/bin/concierge"]
CMD ["serve", "--listen", "0.0.0.0:8080", "--data", "/srv/concierge/data"]
