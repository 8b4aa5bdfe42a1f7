# The segments worker: `docker build -t segments-engine .`, then run it with
# TEMPORAL_ADDRESS (and SEGMENTS_* settings) in its environment. See
# docker-compose.temporal.yml for a full stack.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY . /app
RUN pip install /app \
    && useradd --system --uid 10001 --user-group --home-dir /app --no-create-home segments

USER segments
CMD ["python", "worker.py"]
