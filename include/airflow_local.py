"""``make airflow``: Airflow on the laptop with the project's DAGs, UI on http://localhost:8080.

Runs ``airflow standalone`` (api-server, scheduler, dag-processor and triggerer in one command)
on the embedded SQLite metadata DB under .airflow/. The admin password is printed by Airflow at
start-up and kept in .airflow/simple_auth_manager_passwords.json.generated.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from include.config import airflow_environment, get_settings
from include.run_main import prepare_airflow


def main() -> None:
    settings = get_settings()
    env = airflow_environment(settings)
    env.setdefault("AIRFLOW__API__PORT", "8080")
    prepare_airflow(settings, env)
    airflow = str(Path(sys.executable).with_name("airflow"))
    os.execve(airflow, [airflow, "standalone"], env)


if __name__ == "__main__":
    main()
