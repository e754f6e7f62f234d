# ecrbase's own image: a static binary on an empty base, running as a user
# with no privileges. Every base image comes from ECR Public, so building it
# spends no Docker Hub pull.
#
#   docker build -t ecrbase \
#     --build-arg VERSION="$(git describe --tags --always)" \
#     --build-arg REVISION="$(git rev-parse HEAD)" .
#   docker run --rm ecrbase --version
#
# Behind a module proxy of your own (Athens, Artifactory, ...), pass it as
# --build-arg GOPROXY=https://goproxy.example.com; unset, Go's default applies.
#
# Push it once to the team's ECR and CodeBuild pulls it instead of compiling
# ecrbase (see the README's CodeBuild section).
ARG GO_IMAGE=public.ecr.aws/docker/library/golang:1.26-bookworm

FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
ARG GOPROXY
RUN go mod download
COPY . .
ARG VERSION=""
ARG REVISION=""
ARG MODIFIED=false
# CGO off: a static binary that needs no libc on the empty base below.
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION} -X main.revision=${REVISION} -X main.modified=${MODIFIED}" \
      -o /out/ecrbase . \
 && mkdir -p /out/home/ecrbase

FROM scratch
# TLS to ECR, STS and upstream registries needs the CA certificates.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build --chown=65532:65532 /out/home/ecrbase /home/ecrbase
COPY --from=build /out/ecrbase /usr/local/bin/ecrbase
ENV HOME=/home/ecrbase
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/ecrbase"]
