# The hub image: one image for every process (`hub serve`, `hub worker`, `hub migrate`).
#
#   docker build -t hub .
#   docker run --rm -p 8000:8000 -v hub-data:/data -e HUB_PUBLIC_URL=http://localhost:8000 hub
#
# Without DATABASE_URL the container runs the single-machine deployment (embedded PostgreSQL in
# /data); compose.yml runs the scale-out deployment. See docs/deploy.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Only what the package needs; nothing from the working tree (.venv, .hub, .env) enters the image.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY hub ./hub
COPY adapters ./adapters
COPY web ./web
RUN pip install . && rm -rf /src

# An unprivileged user owns the data folder (attachments, and the embedded database when
# DATABASE_URL is unset). A named volume mounted on /data inherits this ownership.
RUN useradd --create-home --uid 10001 --user-group hub \
    && mkdir -p /data \
    && chown hub:hub /data

# PICCOLO_CONF: the installed package carries its own Piccolo configuration; set it explicitly so
# every command (including `hub migrate`) finds it whatever the working directory.
ENV HUB_DATA_DIR=/data \
    HUB_LOG_FORMAT=json \
    PICCOLO_CONF=hub.db.piccolo_conf

VOLUME ["/data"]
WORKDIR /home/hub
USER hub
EXPOSE 8000

# Exec form: `hub` is PID 1 and receives SIGTERM itself, so shutdown is graceful.
ENTRYPOINT ["hub"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
