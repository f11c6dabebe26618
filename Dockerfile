# Stairway's image: `stairway serve` on port 8080 as UID 10001. Configuration comes from the environment
# (STAIRWAY_DATABASE_URL, STAIRWAY_CONFIG, STAIRWAY_SCORECARDS, STAIRWAY_LOG_FORMAT); helm/stairway runs it.

FROM python:3.11-slim AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY catalog catalog
COPY scorecards scorecards
COPY service service
RUN /opt/venv/bin/pip install .

FROM python:3.11-slim
# git: git sources run the git CLI; no compilers, no package lists left behind.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 stairway \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin stairway \
    && install --directory --owner 10001 --group 10001 /var/lib/stairway
COPY --from=builder /opt/venv /opt/venv
COPY examples/scorecards /opt/stairway/scorecards
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    STAIRWAY_SCORECARDS=/opt/stairway/scorecards \
    STAIRWAY_LOG_FORMAT=json
# The default database, sqlite:///stairway.db, lands here: where the chart mounts the SQLite volume.
WORKDIR /var/lib/stairway
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["stairway"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
