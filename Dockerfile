# segd, the ingest server, with segcat beside it. Build: docker build -t segd .
# docs/operations.md shows the whole path to Elastic Beanstalk (build, tag, push to ECR, deploy).

# The build stage is the official image of our toolchain's version; tools/build-release links the
# Swift runtime statically, so the runtime stage needs no Swift at all.
FROM swift:6.3.1-noble AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
    && apt-get install -y --no-install-recommends zlib1g-dev liblz4-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so a change in our sources does not fetch them again.
COPY Package.* ./
RUN swift package resolve
COPY . .
RUN tools/build-release /out

# The runtime: the C libraries behind the codecs, CA certificates, tini, and nothing else (the
# health check below speaks HTTP through bash, so there is no curl).
FROM ubuntu:noble
RUN apt-get update \
    && apt-get install -y --no-install-recommends zlib1g liblz4-1 ca-certificates tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 segd \
    && useradd --system --uid 10001 --gid segd --home-dir /var/lib/segd --no-create-home --shell /usr/sbin/nologin segd \
    && install -d -o segd -g segd -m 0750 /var/lib/segd \
    && install -d -o segd -g segd -m 0755 /var/log/segd
COPY --from=build /out/segd /out/segcat /usr/local/bin/
# segd serves every *.schema.json here that has an x-segment section, and skips the others.
COPY schemas/ /etc/segd/schemas/

# The uid is fixed so the host directory mounted at /var/lib/segd can be owned by it
# (.ebextensions/02-data-directory.config).
USER 10001:10001
WORKDIR /var/lib/segd
# segd's log lines go to stdout and to /var/log/segd, the Logging directory of Dockerrun.aws.json.
ENV SEGD_DATA_DIR=/var/lib/segd \
    SEGD_SCHEMAS_DIR=/etc/segd/schemas \
    SEGD_LOG_FILE=/var/log/segd/segd.log \
    SEGD_PORT=3000
EXPOSE 3000
VOLUME ["/var/lib/segd"]
# GET /health answers 200 while segd accepts records and 503 while it drains.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${SEGD_PORT:-3000} && printf 'GET /health HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
# SIGTERM drains: health turns 503, in-flight requests finish, every segment is flushed and sealed.
STOPSIGNAL SIGTERM
# tini as PID 1: it forwards SIGTERM to segd and reaps what hooks leave behind (a hook's
# background child outlives it and is reparented to PID 1; segd waits only for its hooks).
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/segd"]
