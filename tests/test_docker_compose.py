"""Static checks of the production-like stack (docker-compose.yml, Dockerfile, .env.example).

No Docker engine runs here, so the stack is validated as files: the YAML parses and has the
services the platform needs, everything it builds from or mounts exists, and every environment
variable it sets is one the code or Airflow actually reads -- a misspelt variable would
otherwise be ignored silently in production.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
COMPOSE_PATH = PROJECT_ROOT / "docker-compose.yml"
DOCKERFILE_PATH = PROJECT_ROOT / "Dockerfile"
ENV_EXAMPLE_PATH = PROJECT_ROOT / ".env.example"
CONFIG_PATH = PROJECT_ROOT / "include" / "config.py"

# Host folders the stack mounts that are created at run time, not shipped in the repository
# (both are git-ignored outputs): airflow-init creates them and hands them to AIRFLOW_UID.
RUNTIME_CREATED_HOST_PATHS = {
    "data": "DuckDB warehouse, published snapshot, reports, quality results (include/config.py data_dir)",
    "models": "model registry (include/config.py models_dir)",
}
AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")
MOUNTED_PROJECT_FOLDERS = ("dags", "dbt_project", "expectations", "ml", "include", "data", "models")
VARIABLE_REFERENCE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(?::?[-?+])[^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_PATH.read_text())


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    values = {}
    for number, line in enumerate(ENV_EXAMPLE_PATH.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        assert "=" in line, f".env.example line {number} is not NAME=value: {line!r}"
        name, value = line.split("=", 1)
        values[name.strip()] = value.strip()
    return values


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _all_environment(compose: dict) -> dict[str, set[str]]:
    """Variable name -> the services that set it."""
    names: dict[str, set[str]] = {}
    for service_name, service in compose["services"].items():
        for name in _environment(service):
            names.setdefault(name, set()).add(service_name)
    return names


def _config_env_names() -> set[str]:
    """Environment variables include/config.py reads: os.environ.get/os.getenv/os.environ[...]
    and any helper of config.py that passes its parameter on to os.environ.get."""
    tree = ast.parse(CONFIG_PATH.read_text())

    def is_environ_get(node: ast.AST) -> bool:
        return (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and (
                (node.func.attr == "get" and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "environ")
                or (node.func.attr == "getenv" and isinstance(node.func.value, ast.Name) and node.func.value.id == "os")
            )
        )

    helpers = set()
    for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        parameters = {arg.arg for arg in function.args.args}
        for call in ast.walk(function):
            if is_environ_get(call) and call.args and isinstance(call.args[0], ast.Name) and call.args[0].id in parameters:
                helpers.add(function.name)
    names = set()
    for node in ast.walk(tree):
        first = None
        if isinstance(node, ast.Call) and node.args:
            if is_environ_get(node) or (isinstance(node.func, ast.Name) and node.func.id in helpers):
                first = node.args[0]
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "environ":
            if isinstance(node.ctx, ast.Load):
                first = node.slice
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            names.add(first.value)
    return names


def _bind_mounts(compose: dict) -> list[tuple[str, str, str]]:
    mounts = []
    for service_name, service in compose["services"].items():
        for volume in service.get("volumes") or []:
            if isinstance(volume, dict):
                if volume.get("type") == "bind":
                    mounts.append((service_name, volume["source"], volume["target"]))
                continue
            source, target = volume.split(":")[:2]
            if source.startswith((".", "/", "~")):
                mounts.append((service_name, source, target))
    return mounts


def test_compose_has_the_production_services(compose: dict) -> None:
    services = compose["services"]
    for name in ("postgres", "mailpit", "airflow-init", *AIRFLOW_SERVICES):
        assert name in services, f"docker-compose.yml lacks service {name}"
        assert "profiles" not in services[name], f"{name} must run without a profile"
    commands = {name: services[name]["command"] for name in AIRFLOW_SERVICES}
    assert commands == {
        "airflow-apiserver": ["airflow", "api-server"],
        "airflow-scheduler": ["airflow", "scheduler"],
        "airflow-dag-processor": ["airflow", "dag-processor"],
        "airflow-triggerer": ["airflow", "triggerer"],
    }
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["mailpit"]["image"].startswith("axllent/mailpit:")
    for name in AIRFLOW_SERVICES:
        env = _environment(services[name])
        assert env["AIRFLOW__CORE__EXECUTOR"].startswith("${AIRFLOW_EXECUTOR:-LocalExecutor}")
        assert "@postgres:5432/" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    init_script = "\n".join(services["airflow-init"]["command"])
    assert "airflow db migrate" in init_script
    assert "passwords.json" in init_script  # the admin user's password, from .env


def test_airflow_init_prepares_what_the_dags_use(compose: dict) -> None:
    from include.orchestration import WAREHOUSE_POOL

    init_script = "\n".join(compose["services"]["airflow-init"]["command"])
    assert f"airflow pools set {WAREHOUSE_POOL} 1" in init_script
    for module in re.findall(r"python -m ([\w.]+)", init_script):
        assert (PROJECT_ROOT / (module.replace(".", "/") + ".py")).is_file(), f"airflow-init runs missing module {module}"


def test_celery_is_an_optional_profile(compose: dict) -> None:
    services = compose["services"]
    assert services["redis"]["profiles"] == ["celery"]
    assert services["airflow-worker"]["profiles"] == ["celery"]
    assert services["airflow-worker"]["command"] == ["airflow", "celery", "worker"]
    broker = _environment(services["airflow-worker"])["AIRFLOW__CELERY__BROKER_URL"]
    assert broker.startswith("redis://") and "@redis:6379/" in broker


def test_build_context_dockerfile_and_copied_paths_exist(compose: dict) -> None:
    for name, service in compose["services"].items():
        build = service.get("build")
        if build is None:
            continue
        context = PROJECT_ROOT / (build if isinstance(build, str) else build.get("context", "."))
        assert context.is_dir(), f"{name}: build context {context} does not exist"
        dockerfile = context / (build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile")
        assert dockerfile.is_file(), f"{name}: {dockerfile} does not exist"
    text = DOCKERFILE_PATH.read_text()
    for line in text.splitlines():
        if line.startswith("COPY"):
            sources = [part for part in line.split()[1:-1] if not part.startswith("--")]
            for source in sources:
                assert (PROJECT_ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"


def test_dockerfile_installs_the_hashed_locks() -> None:
    text = DOCKERFILE_PATH.read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    assert re.search(r"pip install --require-hashes -r requirements\.lock", text)
    assert re.search(r"pip install --require-hashes -r docker/requirements-celery\.lock", text)
    assert (PROJECT_ROOT / "requirements.lock").is_file()


def test_celery_lock_agrees_with_the_main_lock() -> None:
    pin = re.compile(r"^([A-Za-z0-9_.\-]+)==(\S+)", re.M)
    main = {name.lower(): version for name, version in pin.findall((PROJECT_ROOT / "requirements.lock").read_text())}
    celery = {
        name.lower(): version
        for name, version in pin.findall((PROJECT_ROOT / "docker" / "requirements-celery.lock").read_text())
    }
    assert "apache-airflow-providers-celery" in celery
    drift = {name: (main[name], version) for name, version in celery.items() if name in main and main[name] != version}
    assert not drift, f"regenerate docker/requirements-celery.lock (see its .in file): {drift}"


def test_mounted_host_paths_exist_or_are_created_at_run_time(compose: dict) -> None:
    mounts = _bind_mounts(compose)
    for service_name, source, _target in mounts:
        relative = Path(source).as_posix().removeprefix("./")
        assert not source.startswith(("/", "~")), f"{service_name} mounts absolute host path {source}"
        if relative in RUNTIME_CREATED_HOST_PATHS:
            ignored = subprocess.run(
                ["git", "check-ignore", "-q", "--no-index", f"{relative}/"], cwd=PROJECT_ROOT, check=False
            )
            assert ignored.returncode == 0, f"{relative}/ is created at run time and must be git-ignored"
            continue
        assert (PROJECT_ROOT / relative).exists(), f"{service_name} mounts ./{relative}, which does not exist"
    scheduler_sources = {Path(source).as_posix().removeprefix("./") for name, source, _ in mounts if name == "airflow-scheduler"}
    assert set(MOUNTED_PROJECT_FOLDERS) <= scheduler_sources
    declared = set(compose.get("volumes") or {})
    for service_name, service in compose["services"].items():
        for volume in service.get("volumes") or []:
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
            if isinstance(volume, str) and not source.startswith((".", "/", "~")):
                assert source in declared, f"{service_name} uses undeclared named volume {source}"


def test_mounts_land_where_the_code_looks(compose: dict) -> None:
    env = _environment(compose["services"]["airflow-scheduler"])
    targets = {Path(source).as_posix().removeprefix("./"): target for _, source, target in _bind_mounts(compose)}
    project_dir = Path(targets["include"]).parent.as_posix()
    # include/config.py takes the project root from its own location: the Dockerfile's WORKDIR.
    assert f"WORKDIR {project_dir}" in DOCKERFILE_PATH.read_text()
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == targets["dags"]
    assert env["CHURN_DATA_DIR"] == targets["data"]
    assert env["CHURN_MODELS_DIR"] == targets["models"]
    assert targets["dbt_project"] == f"{project_dir}/dbt_project"
    assert targets["expectations"] == f"{project_dir}/expectations"


def test_every_churn_variable_is_read_by_the_configuration(compose: dict, env_example: dict[str, str]) -> None:
    read = _config_env_names()
    assert {"CHURN_DATA_DIR", "CHURN_SIZE", "CHURN_WAREHOUSE", "CHURN_MODELS_DIR"} <= read  # the parser works
    set_by_compose = {name for name in _all_environment(compose) if name.startswith("CHURN_")}
    in_example = {name for name in env_example if name.startswith("CHURN_")}
    unread = sorted((set_by_compose | in_example) - read)
    assert not unread, f"set for the platform but never read by include/config.py: {unread}"


def test_every_airflow_option_exists() -> None:
    from airflow.configuration import conf

    compose_env = _all_environment(yaml.safe_load(COMPOSE_PATH.read_text()))
    options = [name for name in compose_env if name.startswith("AIRFLOW__")]
    assert len(options) >= 10
    unknown = []
    for name in options:
        section, key = name.removeprefix("AIRFLOW__").lower().split("__", 1)
        described = conf.configuration_description.get(section, {}).get("options", {})
        # has_option misses options that exist without a default, the description lists them
        if not (conf.has_option(section, key) or key in described):
            unknown.append(name)
    assert not unknown, f"not Airflow configuration options: {unknown}"


def test_connections_from_the_environment_parse_and_match_the_configuration(compose: dict) -> None:
    from airflow.sdk import Connection

    from include.config import Settings

    env = _environment(compose["services"]["airflow-scheduler"])
    connections = {name.removeprefix("AIRFLOW_CONN_").lower(): value for name, value in env.items() if name.startswith("AIRFLOW_CONN_")}
    defaults = Settings()
    assert defaults.smtp_conn_id in connections
    assert {defaults.source_conn_id, defaults.api_conn_id} <= set(connections)
    assert env["CHURN_SMTP_CONN_ID"] == defaults.smtp_conn_id
    assert env["AIRFLOW__EMAIL__EMAIL_CONN_ID"] == defaults.smtp_conn_id
    smtp_json = VARIABLE_REFERENCE.sub("churn-warning@bank.example", connections[defaults.smtp_conn_id])
    smtp = Connection.from_json(smtp_json, conn_id=defaults.smtp_conn_id)
    assert smtp.conn_type == "smtp"
    assert smtp.host in compose["services"], "the SMTP connection must point at the mail sink service"
    assert smtp.port == 1025
    assert json.loads(smtp_json)["extra"]["from_email"] == "churn-warning@bank.example"


def _compose_without_comments() -> str:
    return "\n".join(line for line in COMPOSE_PATH.read_text().splitlines() if not line.lstrip().startswith("#"))


def test_env_example_defines_every_referenced_variable(env_example: dict[str, str]) -> None:
    referenced = set(VARIABLE_REFERENCE.findall(_compose_without_comments()))
    missing = sorted(referenced - set(env_example))
    assert not missing, f".env.example lacks {missing}"
    unused = sorted(set(env_example) - referenced)
    assert not unused, f".env.example defines variables docker-compose.yml never uses: {unused}"


def test_no_secrets_are_shipped(env_example: dict[str, str]) -> None:
    secret_like = [name for name in env_example if re.search(r"PASSWORD|SECRET|FERNET|TOKEN", name)]
    assert len(secret_like) >= 5
    for name in secret_like:
        assert env_example[name] == "change-me", f"{name} in .env.example must be the change-me placeholder"
    for line in _compose_without_comments().splitlines():
        match = re.match(r"\s*([A-Z_]*(?:PASSWORD|SECRET|FERNET_KEY)[A-Z_]*):\s*(.+)", line)
        if match and not match.group(1).endswith("_FILE"):
            assert "${" in match.group(2), f"docker-compose.yml hard-codes {match.group(1)}"
    assert ".env" in (PROJECT_ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
    tracked = subprocess.run(["git", "ls-files", ".env"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert tracked.stdout.strip() == "", ".env must never be committed"
