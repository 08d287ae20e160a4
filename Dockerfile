# syntax=docker/dockerfile:1
# The officex binary (serve, worker, dev, migrate, and the CLI) in a small runtime image.
# Migrations are embedded in the binary, so the image needs nothing else.
#   docker build -t officex .
#   docker compose up        (see docker-compose.yml)

# --- build: a static binary, so the runtime image needs no C library match.
FROM golang:1.26 AS build
# The image pins GOTOOLCHAIN=local; auto lets it fetch go.mod's exact patch
# release through the module proxy when the image's 1.26.x is older.
ENV GOTOOLCHAIN=auto
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# What officex version prints: docker build --build-arg VERSION=$(git describe --tags --always).
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/officex ./cmd/officex

# --- runtime: debian-slim keeps bash for the compose healthchecks; the CA
# bundle comes from the build image so HTTPS to Stripe, Solana and OpenAI works.
FROM debian:bookworm-slim
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/officex /usr/local/bin/officex
# The local upload store's directory (OFFICEX_UPLOAD_DIR in docker-compose.yml),
# owned by the runtime user so a volume mounted there starts writable.
RUN install -d -o 65532 -g 65532 /data/uploads
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["officex"]
CMD ["serve"]
