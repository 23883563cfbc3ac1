FROM scratch
COPY missing.txt /x
