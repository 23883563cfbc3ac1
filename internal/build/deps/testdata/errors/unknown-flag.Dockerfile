FROM alpine

COPY --frmo=x a /b
