FROM scratch
COPY present.txt /

COPY present.txt missing.txt /app/
