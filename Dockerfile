# orgsync as a container: a static (musl) binary, CA certificates, a non-root user, nothing else.
#   docker build -t orgsync . && docker run --rm -v "$PWD:/work" orgsync validate
# The release workflow builds it for linux/amd64 and linux/arm64 and pushes it to ghcr.io.

# Build: Alpine's Rust targets musl, whose binaries are statically linked by default.
FROM rust:1.89-alpine3.22 AS build
# musl-dev for the C runtime; cmake, make and perl for aws-lc-sys (rustls' crypto) where its
# build wants them.
RUN apk add --no-cache musl-dev cmake make perl
WORKDIR /src
COPY . .
RUN cargo build --locked --release \
    && install -D -m 0755 target/release/orgsync /out/orgsync \
    && /out/orgsync --version

# CA certificates for HTTPS to Auth0 (rustls reads the system roots).
FROM alpine:3.22 AS certs
RUN apk add --no-cache ca-certificates

FROM scratch
COPY --from=certs /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/orgsync /usr/local/bin/orgsync
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
# nobody-like ids: no home, no shell, no root. Mount the config repository at /work; to let
# `--out`/`--audit-log` write there, run with `--user "$(id -u):$(id -g)"`.
USER 65532:65532
WORKDIR /work
# Runs with no libc, no shell: proof at build time that the binary is static.
RUN ["/usr/local/bin/orgsync", "--version"]
ENTRYPOINT ["/usr/local/bin/orgsync"]
CMD ["--help"]
