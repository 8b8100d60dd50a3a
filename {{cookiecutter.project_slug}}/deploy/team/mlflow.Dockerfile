# The team MLflow server (compose.yml): mlflow with its login app, the PostgreSQL driver and
# boto3 for the S3 artifact store. MLFLOW_VERSION is the project's own mlflow pin (pyproject.toml,
# constraint-dependencies): client and server of one version agree on the database schema. To
# upgrade: bump both, and the image tag in compose.yml, then run `mlflow db upgrade` (docs).
ARG PYTHON_VERSION={{ cookiecutter.python_version }}

FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

# Build stage: a virtual environment in /opt/mlflow; only it leaves this stage.
FROM python:${PYTHON_VERSION}-slim AS build
ARG MLFLOW_VERSION=3.17.2
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_NO_CACHE=1
RUN uv venv /opt/mlflow \
    && uv pip install --python /opt/mlflow/bin/python \
        "mlflow[auth]==${MLFLOW_VERSION}" "psycopg[binary]==3.3.9" "boto3==1.44.8"

# Runtime stage: no uv, a non-root user.
FROM python:${PYTHON_VERSION}-slim
RUN groupadd --system --gid 10001 mlflow \
    && useradd --system --uid 10001 --gid mlflow --home-dir /home/mlflow --create-home mlflow
COPY --from=build /opt/mlflow /opt/mlflow
COPY basic_auth.ini init_stack.py /opt/mlflow-stack/
ENV PATH=/opt/mlflow/bin:$PATH PYTHONUNBUFFERED=1 \
    MLFLOW_AUTH_CONFIG_PATH=/opt/mlflow-stack/basic_auth.ini
USER 10001:10001
WORKDIR /home/mlflow
EXPOSE 5000
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/health', timeout=3)"]
CMD ["mlflow", "server", "--help"]
