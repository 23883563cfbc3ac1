ARG BASE=skiff-exp-base:1
FROM ${BASE} AS build
ARG MSG
RUN echo "building $MSG" && echo "$MSG" > /msg

FROM scratch AS final
COPY --from=build /msg /msg
COPY app.txt /app.txt
