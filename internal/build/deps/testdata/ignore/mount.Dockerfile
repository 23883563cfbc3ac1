FROM alpine
RUN --mount=type=bind,target=/src ls /src
