# The realname application image: web (gunicorn + whitenoise), worker and beat all run it.
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/opt/venv PATH=/opt/venv/bin:$PATH

# A CJK font for the "for real-name verification only" watermark on licences staff review.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir uv && useradd --system --create-home --uid 10001 realname \
    && mkdir -p /data/private && chown realname /data/private
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
# Static files are collected at build time; the dummy values exist only for this one command.
RUN DJANGO_SETTINGS_MODULE=realname.settings.production SECRET_KEY=collectstatic \
    ALLOWED_HOSTS=build DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost \
    FIELD_ENCRYPTION_KEYS=build:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= BLIND_INDEX_KEY=build \
    SMS_BACKEND=build VERIFICATION_PROVIDERS=build TRUSTED_PROXY_COUNT=1 \
    python manage.py collectstatic --noinput
USER realname
EXPOSE 8000
# gthread workers, 4 threads each (bench/results.md, "Web throughput"); WEB_CONCURRENCY sets
# the number of processes (one per core).
CMD ["gunicorn", "realname.wsgi:application", "--bind=0.0.0.0:8000", "--worker-class=sync"]
