# Warp Panel: the `warp` binary (every service and operator command) in a small runtime image.
#   docker build -t warp-panel .        (or: docker compose build)
# Migrations (migrations/) and JetStream definitions (nats/) are embedded at build time.

FROM rust:1-bookworm AS builder
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY events events
COPY crates crates
COPY services services
COPY migrations migrations
COPY nats nats
RUN cargo build --release -p warp --locked \
 && install -m 0755 target/release/warp /usr/local/bin/warp

FROM debian:bookworm-slim
# Deploys run git (https and ssh remotes) and compose against the host's Docker Engine through
# its socket: Debian's docker CLI (docker.io) and docker-compose (v1); a `docker compose` v2
# plugin on the PATH is preferred when present.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git openssh-client docker.io docker-compose \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --create-home --home-dir /home/warp --shell /usr/sbin/nologin warp \
 && install -d -o warp -g warp -m 0755 /var/lib/warp /var/lib/warp/nats-auth \
 && install -d -o warp -g warp -m 0700 /var/lib/warp/nats-keys
COPY --from=builder /usr/local/bin/warp /usr/local/bin/warp
USER warp
# Inside a container the API must listen on all interfaces to be reachable through a port mapping.
ENV WARP_LISTEN=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/warp"]
CMD ["all"]
