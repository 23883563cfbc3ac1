FROM scratch
COPY main.go /app/
COPY build/out.bin /app/
