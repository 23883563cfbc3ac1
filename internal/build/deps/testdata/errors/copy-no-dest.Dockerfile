FROM alpine
RUN echo hi
COPY onlyone
