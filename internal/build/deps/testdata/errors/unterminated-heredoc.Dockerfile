FROM alpine
RUN <<EOF
echo hi
