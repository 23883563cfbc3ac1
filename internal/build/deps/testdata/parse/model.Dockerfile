ARG REGISTRY=docker.io
FROM ${REGISTRY}/library/golang:1.22 AS build
ONBUILD COPY onbuild.txt ./
WORKDIR /go/src/app
ENV PKG=./cmd/server OUT=/out
COPY go.mod go.sum ./
COPY ${PKG} ${PKG}
RUN --mount=type=bind,target=.,rw \
    --mount=type=cache,from=cachestage,target=/cache \
    go build -o ${OUT}/server ${PKG}

FROM build AS child
COPY child.txt .

FROM scratch
WORKDIR app
WORKDIR static
COPY --from=build --chown=1000:1000 /out/server /bin/server
COPY --from=child /go/src/app/child.txt ../
COPY <<EOF /etc/motd
hello
EOF
ADD https://example.com/a.tgz local.tgz ./
COPY --parents ./pkgs/./**/*.json /cfg/
