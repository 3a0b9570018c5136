# syntax=docker/dockerfile:1.7
#
# Resonance in one container: s6-overlay v3 is PID 1 and supervises the web UI (gunicorn,
# :8080) and the three job runners, each its own process. See docs/deployment.md.
#
#   docker build -t resonance:0.1.0 .
#   docker run -d --name resonance -p 8080:8080 -e PUID=1000 -e PGID=1000 \
#     -v ./config:/config -v ./data:/data --stop-timeout 45 resonance:0.1.0
#
# Stages: wheels (the app and its dependencies built as wheels) -> s6 (the s6-overlay
# release tarballs, checksums verified, unpacked) -> rootfs (Python slim + s6-overlay + the
# app, trimmed) -> the image: rootfs copied as one layer, so what the trim deletes really
# leaves the image (target: under 150 MB).
#
# Bumping: PYTHON_IMAGE (keep 3.11, slim, bookworm) with the digest of its multi-arch index
# (`docker buildx imagetools inspect python:3.11.X-slim-bookworm`, the first "Digest:"),
# S6_OVERLAY_VERSION together with the three checksums below, from the release's .sha256 files.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d
ARG S6_OVERLAY_VERSION=3.2.0.2
ARG RESONANCE_VERSION=0.1.0

# --- wheels: the app and every dependency as wheels ------------------------------------
FROM ${PYTHON_IMAGE} AS wheels
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
COPY pyproject.toml setup.cfg README.md ./
COPY app/ app/
COPY jobs/ jobs/
RUN pip wheel --wheel-dir /wheels .

# --- s6: s6-overlay from its release tarballs, each checked against a pinned sha256 ------
FROM ${PYTHON_IMAGE} AS s6
ARG S6_OVERLAY_VERSION
ARG TARGETARCH
ARG S6_OVERLAY_NOARCH_SHA256=6dbcde158a3e78b9bb141d7bcb5ccb421e563523babbe2c64470e76f4fd02dae
ARG S6_OVERLAY_X86_64_SHA256=59289456ab1761e277bd456a95e737c06b03ede99158beb24f12b165a904f478
ARG S6_OVERLAY_AARCH64_SHA256=8b22a2eaca4bf0b27a43d36e65c89d2701738f628d1abd0cea5569619f66f785
ADD --checksum=sha256:${S6_OVERLAY_NOARCH_SHA256} \
    https://github.com/just-containers/s6-overlay/releases/download/v${S6_OVERLAY_VERSION}/s6-overlay-noarch.tar.xz /tmp/s6/
ADD --checksum=sha256:${S6_OVERLAY_X86_64_SHA256} \
    https://github.com/just-containers/s6-overlay/releases/download/v${S6_OVERLAY_VERSION}/s6-overlay-x86_64.tar.xz /tmp/s6/
ADD --checksum=sha256:${S6_OVERLAY_AARCH64_SHA256} \
    https://github.com/just-containers/s6-overlay/releases/download/v${S6_OVERLAY_VERSION}/s6-overlay-aarch64.tar.xz /tmp/s6/
# Python's tarfile reads .tar.xz, so the slim image needs no xz-utils for this.
RUN case "${TARGETARCH:-amd64}" in \
      amd64) arch=x86_64 ;; \
      arm64) arch=aarch64 ;; \
      *) echo "no s6-overlay tarball for ${TARGETARCH}: add it and its checksum" >&2; exit 1 ;; \
    esac \
 && mkdir /s6root \
 && python -c 'import sys, tarfile; [tarfile.open(p).extractall("/s6root", filter="fully_trusted") for p in sys.argv[1:]]' \
      /tmp/s6/s6-overlay-noarch.tar.xz "/tmp/s6/s6-overlay-${arch}.tar.xz"

# --- rootfs: Python slim + s6-overlay + the app, then trimmed --------------------------
FROM ${PYTHON_IMAGE} AS rootfs
ARG RESONANCE_VERSION
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
COPY --from=s6 /s6root/ /
# The zone files: TZ (the household's time zone, shown on the Jobs page) means nothing
# without them, and the slim image has none. Unpinned on purpose: time zone rules change
# and bookworm's updates carry the new ones.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install --yes --no-install-recommends tzdata \
 && rm -rf /var/lib/apt/lists/*
# 1. The app from the wheels, offline. 2. Bytecode for what the services import: the slim
# image ships the standard library without it, and the runtime user cannot write it, so
# every start would compile those modules again. 3. Out with what a running Resonance
# never uses: pip and its bundled wheels, IDLE, 2to3, tkinter, turtle, pydoc's topics.
# 4. The runtime user; init-resonance gives it PUID/PGID at each start.
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels "resonance==${RESONANCE_VERSION}" \
 && python -c "import app.cli, app.healthcheck, app.web, jobs.runner, gunicorn.app.wsgiapp, gunicorn.workers.gthread, gunicorn.glogging; from app import pipelines; [pipelines.load(name) for name in pipelines.PIPELINES]" \
 && python -m pip uninstall --yes pip setuptools wheel \
 && for unused in ensurepip idlelib lib2to3 pydoc_data tkinter turtledemo turtle.py; do \
      rm -rf "/usr/local/lib/python3.11/${unused}"; \
    done \
 && rm -f /usr/local/bin/idle* /usr/local/bin/pydoc* /usr/local/bin/2to3* \
 && groupadd --gid 1000 resonance \
 && useradd --uid 1000 --gid resonance --home-dir /data --no-create-home --shell /usr/sbin/nologin resonance \
 && mkdir -p /data /config \
 && chown resonance:resonance /data /config
# The web UI finds its templates and static files in <prefix>/share/resonance (app.web).
COPY templates/ /usr/local/share/resonance/templates/
COPY static/ /usr/local/share/resonance/static/
COPY s6-overlay/ /etc/s6-overlay/

# --- the image --------------------------------------------------------------------------
FROM scratch
ARG RESONANCE_VERSION
# One layer holding the whole rootfs on purpose: deleting pip & co. in a layer above the
# Python image would hide those files, not remove them (about 20 MB).
# hadolint ignore=DL3067
COPY --from=rootfs / /
LABEL org.opencontainers.image.title="Resonance" \
      org.opencontainers.image.description="Self-hosted music discovery: ListenBrainz and Last.fm suggestions, phone approvals, Soulseek downloads through slskd" \
      org.opencontainers.image.version="${RESONANCE_VERSION}" \
      org.opencontainers.image.licenses="MIT"
# No USER: /init (s6-overlay) starts as root to apply PUID/PGID and hand /data over, and
# every service drops to the runtime user with s6-setuidgid before it execs (see the run
# scripts in s6-overlay/s6-rc.d/*/run). Nothing of Resonance runs as root.
#
# Stopping: `docker stop` makes s6-rc bring every service down with SIGTERM. The runners
# finish the item in hand and exit; gunicorn drains for up to 20 s. Each service gets
# s6-rc.d/*/timeout-kill (20-25 s) before SIGKILL; slskd-downloader stops before lb-fetch,
# so give the container 45 s (--stop-timeout 45, compose stop_grace_period: 45s).
# S6_KILL_GRACETIME bounds what is still running after that (nothing, normally).
# A wrong setting fails init-resonance, and S6_BEHAVIOUR_IF_STAGE2_FAILS=2 stops the
# container with the reason in its log instead of starting half of it.
# MALLOC_ARENA_MAX: glibc would give each of gunicorn's threads a malloc arena of its own,
# each keeping freed memory. GUNICORN_CMD_ARGS: no control socket (nothing uses gunicornc,
# and it would go to root's HOME), and the worker heartbeat in memory, not on overlayfs.
ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=2 \
    GUNICORN_CMD_ARGS="--no-control-socket --worker-tmp-dir /dev/shm" \
    RESONANCE_DATA_DIR=/data \
    RESONANCE_CONFIG=/config/config.yaml \
    RESONANCE_WEB__HOST=0.0.0.0 \
    S6_BEHAVIOUR_IF_STAGE2_FAILS=2 \
    S6_CMD_WAIT_FOR_SERVICES_MAXTIME=0 \
    S6_KILL_GRACETIME=3000
VOLUME ["/config", "/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["/command/s6-setuidgid", "resonance", "python", "-m", "app.healthcheck"]
ENTRYPOINT ["/init"]
