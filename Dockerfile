# One image for web, worker-cpu and worker-gpu.
# The GPU workers need a CUDA build of torch: build with --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128
FROM python:3.11-slim

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 VAR_DIR=/data

RUN useradd --create-home --uid 1000 app && mkdir -p /data && chown app /data
WORKDIR /app

# torch first, from the chosen index, so that installing the project adds nothing to it.
RUN pip install --no-cache-dir --index-url "$TORCH_INDEX" "torch==2.13.0"
COPY . .
# The rest at the locked versions (torch is already there, from the index chosen above).
RUN grep -v '^torch==' requirements/main.txt > /tmp/requirements.txt \
 && pip install --no-cache-dir -r /tmp/requirements.txt \
 && pip install --no-cache-dir --no-deps -e . \
 && SECRET_KEY=build-only-not-secret python manage.py collectstatic --noinput

USER app
EXPOSE 8000
CMD ["bin/docker-web"]
