# syntax=docker/dockerfile:1
# leadflow: Kafka -> RocksDB -> HTTP report engine.
#
#   docker build -t leadflow .
#   docker compose up --build        (broker + topics + leadflow; see docker-compose.yml)
#
# Package names are Debian 12 (bookworm)'s; keep them in step with
# scripts/deps.sh, which installs the same -dev set on a developer machine.

############################ build ############################
FROM debian:bookworm AS build

ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config g++ \
      librdkafka-dev librocksdb-dev nlohmann-json3-dev \
      libboost-dev libboost-system-dev doctest-dev \
      libroaring-dev libsimdjson-dev libjemalloc-dev libcli11-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
 && cmake --build build --target leadflow \
 && strip --strip-unneeded build/app/leadflow

############################ runtime ############################
FROM debian:bookworm-slim AS runtime

ARG DEBIAN_FRONTEND=noninteractive
# Shared libraries of the -dev packages above (librdkafka++1 pulls librdkafka1,
# librocksdb7.8 pulls snappy/lz4/zstd/gflags). libsimdjson14 and
# libboost-system1.74.0 are small and cover what the build may link; libssl3
# is OpenSSL for --tls-cert (CLI11 is header-only).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      librdkafka++1 librocksdb7.8 libroaring0 libsimdjson14 libjemalloc2 \
      libboost-system1.74.0 libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home leadflow \
 && mkdir -p /data /etc/leadflow \
 && chown leadflow:leadflow /data

COPY --from=build /src/build/app/leadflow /usr/local/bin/leadflow
# Fail the image build, not the first start, if a runtime library is missing.
RUN if ldd /usr/local/bin/leadflow | grep 'not found'; then exit 1; fi

ENV LEADFLOW_LISTEN=0.0.0.0:8080 \
    LEADFLOW_DATA_DIR=/data \
    LEADFLOW_LOG_FORMAT=json
USER leadflow
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080

ENTRYPOINT ["leadflow"]
CMD ["serve"]
