# The API image: FastAPI under uvicorn, plus what the CPU worker and beat need (they run from this image too).
# torch comes from PyTorch's CPU index here: the API never loads a model, and CPU workers need no CUDA.
# Build from the repository root:  docker build -f docker/api.Dockerfile -t mindrender-api .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu \
    MR_DATA_DIR=/var/lib/mindrender MR_MODELS_DIR=/opt/mindrender/models

RUN apt-get update && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/mindrender --create-home mindrender

WORKDIR /opt/mindrender/app
COPY pyproject.toml README.md Makefile alembic.ini ./
COPY app ./app
COPY workers ./workers
COPY models ./models
COPY migrations ./migrations
# The same install step as a developer's machine: a venv, the project, the converted model weights.
RUN make install EXTRAS= && chown -R mindrender /var/lib/mindrender

ENV PATH=/opt/mindrender/app/.venv/bin:$PATH
USER mindrender
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --retries=6 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
CMD ["mindrender", "api", "--host", "0.0.0.0", "--port", "8000"]
