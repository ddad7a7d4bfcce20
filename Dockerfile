# Tsunagu's container image: `tsunagu serve` by default; `tsunagu work`, `tsunagu db upgrade` (or any
# other tsunagu command) by giving it as the command. See docs/deploy.md.
#
#   docker build -t tsunagu .
#   docker run tsunagu work --health-port 8081
#   docker run tsunagu db upgrade
#
# No key file or secret is in the image: the key file is mounted read-only (TSUNAGU_KEY_FILE),
# secrets come from the environment.

# Debian-based slim Python, pinned by version (the project supports 3.11+; its CI runs 3.11).
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A user of its own, without a login shell; its state (SQLite file, key store) in /var/lib/tsunagu.
RUN groupadd --system --gid 10001 tsunagu \
    && useradd --system --uid 10001 --gid tsunagu --home-dir /var/lib/tsunagu --shell /usr/sbin/nologin tsunagu \
    && install -d -o tsunagu -g tsunagu -m 0700 /var/lib/tsunagu /var/lib/tsunagu/keystore

WORKDIR /opt/tsunagu

# Dependencies in their own layer: only pyproject.toml (and the README it names) are copied, the
# packages are empty folders, so this layer is rebuilt only when the dependencies change.
# The install command is the README's, unchanged (tests/deploy checks that it stays so).
COPY pyproject.toml README.md ./
RUN mkdir bot flows routing storage \
    && python3 -m venv .venv && .venv/bin/pip install -q -e .

# The code, then the same command again: it registers the packages now there; the dependencies
# are already installed, so nothing is downloaded.
COPY bot ./bot
COPY flows ./flows
COPY routing ./routing
COPY storage ./storage
RUN python3 -m venv .venv && .venv/bin/pip install -q -e .

ENV PATH=/opt/tsunagu/.venv/bin:$PATH \
    TSUNAGU_DATABASE_URL=sqlite+aiosqlite:////var/lib/tsunagu/tsunagu.db \
    TSUNAGU_KEY_FILE=/run/secrets/tsunagu.key

USER tsunagu:tsunagu
WORKDIR /var/lib/tsunagu
EXPOSE 8080

# /healthz answers 200 when the database can be read and written. The worker has no web port:
# run it with `work --health-port 8081` and override this check (deploy/compose.yaml does).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]

# SIGTERM: the server closes gracefully and a worker finishes what it holds within
# TSUNAGU_SHUTDOWN_GRACE_SECONDS (20 s); give `docker stop` more than that (-t 30).
STOPSIGNAL SIGTERM
ENTRYPOINT ["tsunagu"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
