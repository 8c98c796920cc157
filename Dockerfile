# syntax=docker/dockerfile:1
# orbit-server in a container: a static binary (pure-Go SQLite and pgx, no cgo) on
# a distroless base, run as a non-root user, with /data as the volume for the
# SQLite database and the secret key file next to it (orbit.db.key: back it up
# with the database, see OPERATIONS.md). With PostgreSQL, give ORBIT_DB_FILE (a
# mounted secret holding the URL) and ORBIT_SECRET_KEY instead.
#
#   docker build --build-arg VERSION=1.2.3 -t orbit-server .
#   docker run -p 8700:8700 -v orbit-data:/data orbit-server
#
# cmd/orbit-server/deploy_test.go checks this file's instructions and runs its
# build command (there is no container runtime in CI).

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
ARG VERSION=dev
ARG COMMIT=
# No `go mod download` layer: it fetches go.mod's whole graph, the development
# tools' (golangci-lint, tfplugindocs) included, 289 modules where orbit-server
# imports 25. go build fetches those; the cache mounts keep modules and compiled
# packages from one image build to the next.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/orbit-iac/terraform-provider-orbit/internal/version.Version=${VERSION} -X github.com/orbit-iac/terraform-provider-orbit/internal/version.Commit=${COMMIT}" -o /out/orbit-server ./cmd/orbit-server
RUN mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/orbit-server /usr/local/bin/orbit-server
# The volume's mount point belongs to the user the server runs as (65532, nonroot).
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV ORBIT_LISTEN=0.0.0.0:8700 \
    ORBIT_DB=/data/orbit.db
VOLUME ["/data"]
EXPOSE 8700
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/orbit-server", "healthcheck"]
# SIGTERM starts the graceful shutdown (--shutdown-delay, --drain-timeout): give
# `docker stop` a --time longer than both.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/orbit-server"]
