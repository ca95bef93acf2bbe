# syntax=docker/dockerfile:1
# Build:  docker build --build-arg VERSION=$(git describe --tags --always) --build-arg REVISION=$(git rev-parse HEAD) -t entra_insights_exporter .
# Run:    docker run -p 9945:9945 entra_insights_exporter --demo

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG REVISION=unknown
ARG BRANCH=main
# The Graph SDK makes the first build slow (several minutes); the cache mount keeps later builds fast.
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w \
        -X github.com/prometheus/common/version.Version=${VERSION} \
        -X github.com/prometheus/common/version.Revision=${REVISION} \
        -X github.com/prometheus/common/version.Branch=${BRANCH} \
        -X github.com/prometheus/common/version.BuildUser=docker" \
      -o /out/entra_insights_exporter ./cmd/entra_insights_exporter \
 && /out/entra_insights_exporter --version

FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="entra_insights_exporter" \
      org.opencontainers.image.description="Prometheus exporter for Microsoft Entra External ID user insights" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/entra_insights_exporter /bin/entra_insights_exporter
USER 65532:65532
EXPOSE 9945
ENTRYPOINT ["/bin/entra_insights_exporter"]
