# One image for both services (target `app`: `docker_service.sh migrate|auth|media`) and the
# gateway (target `gateway`: the official nginx image, which ships njs, with gateway/ rendered at
# start and the web app built in the `web` stage). docker-compose.yml builds both; see it for the
# environment. Both run as numeric,
# unprivileged users, so `runAsNonRoot` (Kubernetes) can check them.
# Nothing here needs a newer Dockerfile syntax than the builder's own, so there is no `# syntax=`
# line: it would make BuildKit download a frontend image from a registry before every build.

FROM python:3.11-slim-bookworm AS app
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MEDIA_ROOT=/app/media \
    DEV_SECRETS_FILE=/app/var/secrets/dev-secrets.json
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmagic1 ffmpeg \
    && rm -rf /var/lib/apt/lists/*
# Uploads are written 0640; the group's id is the nginx user's group in the nginx image (101),
# so the gateway container reads them from the shared volume and nothing else can.
RUN groupadd --system --gid 101 media \
    && useradd --system --uid 1000 --gid media --home-dir /app --shell /usr/sbin/nologin app
WORKDIR /app
COPY requirements.txt constraints.txt ./
COPY common ./common
RUN pip install -r requirements.txt
COPY auth_server ./auth_server
COPY backend_server ./backend_server
COPY gateway/gunicorn.conf.py ./gateway/gunicorn.conf.py
# The admin's and the API docs' static files, hashed and compressed once, at build time; the
# services serve them (WhiteNoise). The development secrets the settings make on the way are
# thrown away in the same layer: nothing secret is baked into the image. Written by root 0640
# (the uploads' mode); public files, readable by the app's user.
ENV STATIC_DIR=/app/static
RUN mkdir -p /tmp/build \
    && for project in auth_server backend_server; do \
      DEV_SECRETS_FILE=/tmp/build/secrets.json MEDIA_ROOT=/tmp/build/media \
        python "$project/manage.py" collectstatic --noinput --verbosity 0 --ignore rest_framework \
        || exit 1; \
    done \
    && chmod -R a+rX "$STATIC_DIR" \
    && rm -rf /tmp/build
COPY scripts/docker_service.sh /usr/local/bin/docker_service.sh
# Named volumes mounted here start with this ownership.
RUN mkdir -p /app/media /app/var/secrets && chown 1000:101 /app/media /app/var /app/var/secrets
# app:media, by number.
USER 1000:101
EXPOSE 8000 8001
ENTRYPOINT ["docker_service.sh"]
CMD ["auth"]

# The web app, built from its lockfile; only the built files reach the gateway image.
FROM node:20-bookworm-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM nginx:1.27-bookworm AS gateway
ENV GATEWAY_PREFIX=/var/cache/nginx/media-handler \
    GATEWAY_ACCESS_LOG=/dev/stdout \
    GATEWAY_ERROR_LOG=stderr \
    NJS_MODULE=/etc/nginx/modules/ngx_http_js_module.so \
    MEDIA_ROOT=/app/media \
    GATEWAY_WEB_ROOT=/usr/share/media-handler/web
COPY gateway/ /etc/nginx/media-handler/
COPY --from=web /web/dist /usr/share/media-handler/web
RUN mkdir -p "$GATEWAY_PREFIX" && chown 101:101 "$GATEWAY_PREFIX"
# nginx:nginx, by number: the master needs no root to listen on 3000, and its workers read the
# uploads through that group.
USER 101:101
EXPOSE 3000
ENTRYPOINT ["/etc/nginx/media-handler/docker-entrypoint.sh"]
