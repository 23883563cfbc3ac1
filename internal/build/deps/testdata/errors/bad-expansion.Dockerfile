FROM alpine
WORKDIR ${X:?must be set}
