# syntax=docker/dockerfile:1
# Build for this machine:
#   docker build --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg REVISION=$(git rev-parse HEAD) \
#     --build-arg CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ) -t entra_insights_exporter .
# Multi-arch (what the release workflow does):
#   docker buildx build --platform linux/amd64,linux/arm64 ... .
# Run:    docker run -p 9945:9945 entra_insights_exporter --demo
#
# The build stage always runs on the build machine's own platform and
# cross-compiles (CGO_ENABLED=0, GOOS/GOARCH from TARGETOS/TARGETARCH): the
# Graph SDK takes minutes and GBs of RAM to compile (hours under QEMU
# emulation). Each target platform is one such compile: build them one at a
# time (BuildKit max-parallelism = 1), or pull the released image
# (ghcr.io/entra-insights/entra_insights_exporter), which needs no build.

FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS
ARG TARGETARCH
ARG BUILDOS
ARG BUILDARCH
ARG VERSION=dev
ARG REVISION=unknown
ARG BRANCH=main
# Low-memory compile of the SDK's models package, the one that sets the peak
# (docs/performance.md, "Building: the compiler's memory"): with the
# compiler's defaults it peaks at 10.3 GiB; with these the whole build peaks
# at 4.6 GiB (8.5 minutes cold on 2 cores).
# -l (no inlining) and -dwarf=false apply to that package only: -dwarf=false
# drops debug info that -w below strips anyway, -l keeps calls into its
# getters and setters as calls. GOGC=25 and -p=1 (one compile at a time)
# trim garbage and concurrency. For the compiler's defaults:
#   --build-arg GO_GCFLAGS= --build-arg GOGC= --build-arg GOFLAGS=
ARG GO_GCFLAGS="github.com/microsoftgraph/msgraph-beta-sdk-go/models=-l -dwarf=false -c=1"
ARG GOGC=25
ARG GOFLAGS=-p=1
# Empty: no limit. 2GiB took the models compile from 4.5 to 4.3 GiB.
ARG GOMEMLIMIT=
# The cache mounts keep the compiled SDK between builds: a warm rebuild
# takes seconds instead of minutes (with the same GO_GCFLAGS).
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOGC="${GOGC}" GOMEMLIMIT="${GOMEMLIMIT}" GOFLAGS="${GOFLAGS}" \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath -gcflags="${GO_GCFLAGS}" \
      -ldflags "-s -w \
        -X github.com/prometheus/common/version.Version=${VERSION} \
        -X github.com/prometheus/common/version.Revision=${REVISION} \
        -X github.com/prometheus/common/version.Branch=${BRANCH} \
        -X github.com/prometheus/common/version.BuildUser=docker" \
      -o /out/entra_insights_exporter ./cmd/entra_insights_exporter \
 && if [ "${TARGETOS}/${TARGETARCH}" = "${BUILDOS}/${BUILDARCH}" ]; then /out/entra_insights_exporter --version; fi \
 && mkdir -p /out/state

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="entra_insights_exporter" \
      org.opencontainers.image.description="Prometheus exporter for Microsoft Entra External ID application user activity" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/entra-insights/entra_insights_exporter" \
      org.opencontainers.image.url="https://github.com/entra-insights/entra_insights_exporter" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
COPY LICENSE /LICENSE
COPY --from=build /out/entra_insights_exporter /bin/entra_insights_exporter
# The logs source's store (--storage.path, default entra_insights_exporter.db in here); the
# runtime user owns it so a fresh volume is writable.
COPY --from=build --chown=65532:65532 /out/state /var/lib/entra_insights_exporter
USER 65532:65532
VOLUME ["/var/lib/entra_insights_exporter"]
WORKDIR /var/lib/entra_insights_exporter
EXPOSE 9945
ENTRYPOINT ["/bin/entra_insights_exporter"]
