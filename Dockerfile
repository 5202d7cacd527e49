# syntax=docker/dockerfile:1
#
# SMS+ container image: the host and every bridge plugin, static, on distroless.
#
#   docker build -t smsplus .
#   docker run -p 8080:8080 --env-file .env smsplus
#
# The binaries are built by `make static`, the Makefile's own build command
# (CGO_ENABLED=0 go build -trimpath -ldflags='-s -w'), so a local `make static`
# and the image hold the same binaries. deploy/dockerfile_test.go checks that this
# file keeps calling it and builds nothing by itself.

ARG GO_VERSION=1.26

# ---- build ------------------------------------------------------------------
# Built on the build machine's platform, for the target's (docker buildx build
# --platform linux/amd64,linux/arm64): Go cross-compiles, nothing is emulated.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
# Modules first, so that a code change does not download them again.
COPY go.mod go.sum ./
COPY sdk/go.mod sdk/go.sum ./sdk/
RUN --mount=type=cache,target=/go/pkg/mod go mod download
# The whole tree, .git included when present: `smsplus version` then reports
# the VCS revision from the build information (see .dockerignore).
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH make static BIN=/out
# The runtime image has no shell: make the writable working directory here.
RUN mkdir -p /out/var/lib/smsplus

# ---- runtime ----------------------------------------------------------------
# distroless/static: CA certificates, time zone data, /etc/passwd with the
# nonroot user (65532), /tmp; no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="SMS+" \
      org.opencontainers.image.description="Protects SMS one-time passcodes with typing biometrics"
COPY --from=build /out/smsplus /opt/smsplus/smsplus
# The default plugin directory: the plugins/ folder next to the binary.
COPY --from=build /out/plugins/ /opt/smsplus/plugins/
COPY --from=build --chown=65532:65532 /out/var/lib/smsplus /var/lib/smsplus
USER 65532:65532
# ./data (the embedded store, DATA_DIR's default) lives here. Mount a volume on
# /var/lib/smsplus to keep it, or use DATA_STORE=redis|mongo|firestore.
WORKDIR /var/lib/smsplus
ENV PATH=/opt/smsplus:/usr/local/bin:/usr/bin:/bin \
    PORT=8080
EXPOSE 8080
# Exec form: there is no shell. smsplus healthcheck reads PORT like serve does.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["/opt/smsplus/smsplus", "healthcheck"]
ENTRYPOINT ["/opt/smsplus/smsplus"]
CMD ["serve"]
