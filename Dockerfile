# The service image: migrations on start, then uvicorn workers, as a non-root user.
#   docker build -t investment-pipeline .
#   docker run -e PIPELINE_DATABASE_URL=postgresql+asyncpg://user:pass@db:5432/pipeline -p 8000:8000 investment-pipeline
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 WORKERS=2 PORT=8000
RUN useradd --create-home --uid 10001 pipeline
COPY --from=build /install /usr/local
WORKDIR /srv/pipeline
COPY alembic.ini ./
COPY alembic ./alembic
USER pipeline
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/readyz', timeout=2)"
CMD ["sh", "-c", "pipeline migrate && exec pipeline serve --host 0.0.0.0 --port \"$PORT\" --workers \"$WORKERS\""]
