FROM golang:1.22
COPY ${GOPATH}/x rel/
