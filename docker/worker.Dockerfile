# The CUDA worker image: one process per GPU, prefetch 1 (see docs/operations.md).
# PyPI's torch 2.14.1 wheels for Linux x86_64 are CUDA builds that bring their own CUDA runtime libraries,
# so the base stays python:3.11-slim; the host's NVIDIA driver arrives through the NVIDIA container toolkit.
# Build from the repository root:  docker build -f docker/worker.Dockerfile -t mindrender-worker .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MR_DATA_DIR=/var/lib/mindrender MR_MODELS_DIR=/opt/mindrender/models \
    NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility

# opencv-data: the frontal-face cascade the photo preset finds faces with (models/imaging/faces.py).
RUN apt-get update && apt-get install -y --no-install-recommends make opencv-data \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/mindrender --create-home mindrender

WORKDIR /opt/mindrender/app
COPY pyproject.toml README.md Makefile alembic.ini ./
COPY app ./app
COPY workers ./workers
COPY models ./models
COPY migrations ./migrations
# Same install step as everywhere; the official weights are converted into MR_MODELS_DIR at build time,
# so a worker never fetches weights when it starts.
RUN make install EXTRAS= && chown -R mindrender /var/lib/mindrender

ENV PATH=/opt/mindrender/app/.venv/bin:$PATH
USER mindrender
HEALTHCHECK --interval=30s --timeout=20s --retries=3 \
    CMD celery -A workers.celery_app inspect ping --destination "celery@$HOSTNAME" --timeout 10 || exit 1
CMD ["mindrender", "worker", "--queues", "gpu", "--concurrency", "1"]
