FROM skiff-exp-base:1 AS base
ARG MSG=hello
RUN echo "$MSG from base"
FROM base
RUN echo line one && echo line two >&2 && exit 3
RUN echo never
