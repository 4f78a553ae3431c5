FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends gdal-bin libgeos-c1v5 libsqlite3-mod-spatialite gettext \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Exactly the versions in uv.lock (what CI tested); --locked refuses a lock that disagrees with
# pyproject.toml. The dependencies come first so a code change reuses this layer.
ENV VIRTUAL_ENV=/opt/venv UV_PROJECT_ENVIRONMENT=/opt/venv PATH=/opt/venv/bin:$PATH
COPY pyproject.toml uv.lock ./
RUN python -m venv /opt/venv \
 && pip install --no-cache-dir "uv==0.13.9" \
 && uv sync --locked --no-dev --no-install-project --no-cache
COPY . .
RUN python manage.py compilemessages --ignore=.venv -v 0 \
 && python manage.py collectstatic --noinput -v 0

RUN useradd --create-home soukloop && mkdir -p /app/var && chown soukloop /app/var
USER soukloop
EXPOSE 8000
# Liveness as the load balancer sees it (/healthz: database and cache answer).
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
ENV GUNICORN_BIND=0.0.0.0:8000 GUNICORN_WORKER_CLASS=soukloop.workers.UvicornWorker
CMD ["sh", "-c", "python manage.py migrate --noinput && gunicorn -c deploy/gunicorn.conf.py soukloop.asgi:application"]
