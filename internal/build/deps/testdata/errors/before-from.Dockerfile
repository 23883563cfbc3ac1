COPY a /b
FROM alpine
