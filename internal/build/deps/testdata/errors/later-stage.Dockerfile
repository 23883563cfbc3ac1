FROM alpine
COPY --from=later /x /y
FROM alpine AS later
