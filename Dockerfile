# TradeDesk: one image for the three processes of the stack (daphne, celery worker, celery beat).
# The default command serves the web; docker-compose.yml runs the worker and beat from the same
# image with another command. Configuration and secrets come from the environment at run time.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The processes run as this user; the code stays owned by root so they cannot rewrite it.
RUN groupadd --system --gid 10001 tradedesk \
    && useradd --system --uid 10001 --gid tradedesk --create-home --shell /usr/sbin/nologin tradedesk

WORKDIR /app

# Requirements first, so a code change does not reinstall them. Runtime dependencies only:
# every one ships a wheel, so no compiler is needed.
COPY requirements/base.txt requirements/base.txt
RUN pip install --no-cache-dir -r requirements/base.txt

COPY . .

# settings.py needs both secrets to import. These throwaway values exist only for this command
# (not ENV, not ARG), so nothing is baked into the image and settings.py never writes a .env.
RUN env SECRET_KEY=build-only \
        FIELD_ENCRYPTION_KEY=YnVpbGQtb25seS1ub3QtYS1zZWNyZXQtMzItYnl0ZXM= \
        python manage.py collectstatic --noinput --verbosity 0

USER tradedesk

EXPOSE 8000

CMD ["daphne", "--bind", "0.0.0.0", "--port", "8000", "tradedesk.asgi:application"]
