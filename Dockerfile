# The platform's image for the production-like stack (docker-compose.yml, docs/production.md):
# Airflow 3, dbt, Great Expectations, XGBoost -- exactly the versions of the laptop set-up,
# because it installs the same hashed lock file the Makefile installs into .venv.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AIRFLOW_HOME=/opt/airflow \
    PYTHONPATH=/opt/churn_warning

# libgomp1: the OpenMP runtime XGBoost needs; curl: container health checks;
# tini: a real PID 1, so Airflow's child processes are reaped and signals reach them.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 curl tini \
    && rm -rf /var/lib/apt/lists/*

# Group 0 owns the writable paths so the stack can run under any host UID (AIRFLOW_UID in .env)
# and still write the bind-mounted data/ and models/ folders.
ARG AIRFLOW_UID=50000
RUN useradd --uid "${AIRFLOW_UID}" --gid 0 --home-dir /opt/airflow --create-home --shell /bin/bash airflow \
    && mkdir -p /opt/churn_warning /opt/airflow/logs /opt/airflow/auth \
    && chown -R "${AIRFLOW_UID}:0" /opt/churn_warning /opt/airflow \
    && chmod -R g+rwX /opt/churn_warning /opt/airflow

WORKDIR /opt/churn_warning

# Every installed package is pinned by hash: the lock first (its own layer, rebuilt only when
# the lock changes), then the CeleryExecutor's few extras, pinned against the same lock.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY docker/requirements-celery.lock docker/
RUN pip install --require-hashes -r docker/requirements-celery.lock

# The project's own code is not pip-installed but put on PYTHONPATH at /opt/churn_warning:
# include/config.py then resolves the project root to this folder, and the folders that
# docker-compose.yml bind-mounts over these copies take effect without a rebuild.
COPY --chown=${AIRFLOW_UID}:0 pyproject.toml README.md ./
COPY --chown=${AIRFLOW_UID}:0 include ./include
COPY --chown=${AIRFLOW_UID}:0 ml ./ml
COPY --chown=${AIRFLOW_UID}:0 dags ./dags
COPY --chown=${AIRFLOW_UID}:0 dbt_project ./dbt_project
COPY --chown=${AIRFLOW_UID}:0 expectations ./expectations
COPY --chown=${AIRFLOW_UID}:0 benchmarks ./benchmarks

USER ${AIRFLOW_UID}:0
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["airflow", "version"]
