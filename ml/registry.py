"""The model registry: plain files in ``models_dir`` (plan 2.3 "deploy", 5.2, 5.3).

Layout::

    models_dir/
      registry.json            champion pointer, champion history, one summary per version
      versions/<version>/
        metadata.json          training window, features + hash, parameters, metrics, snapshot id
        signature.json         the feature signature scoring checks the panel against
        xgboost.json, *.joblib the fitted challengers (the champion among them)
        clusters.joblib        customer clusters (extra segmentation)

Every version is kept; the champion is a pointer. ``promote`` moves the pointer and records
the previous champion, ``rollback`` moves it back. Writes go through a lock file and an
atomic rename so a scoring run never reads a half-written registry.

Commands::

    python -m ml.registry list
    python -m ml.registry promote v0003
    python -m ml.registry rollback
    python -m ml.registry show v0003
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd


class RegistryError(RuntimeError):
    """A registry operation that cannot be done (no such version, nothing to roll back to)."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _json_default(o):
    if hasattr(o, "isoformat"):
        return o.isoformat()
    if hasattr(o, "item"):
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)


def write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False, default=_json_default)
    os.replace(tmp, path)


class Registry:
    def __init__(self, models_dir: str | Path):
        self.root = Path(models_dir)
        self.index_path = self.root / "registry.json"

    # ----------------------------------------------------------------- internals
    @contextlib.contextmanager
    def _locked(self):
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".registry.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> dict:
        if not self.index_path.exists():
            return {"champion": None, "champion_history": [], "versions": {}}
        return json.loads(self.index_path.read_text(encoding="utf-8"))

    def version_dir(self, version: str) -> Path:
        return self.root / "versions" / version

    # ----------------------------------------------------------------- versions
    def reserve_version(self) -> tuple[str, Path]:
        """A new, unused version id and its (empty) directory."""
        with self._locked():
            idx = self._read()
            (self.root / "versions").mkdir(parents=True, exist_ok=True)
            existing = {*idx["versions"], *(p.name for p in (self.root / "versions").iterdir())}
            n = 1 + max((int(v[1:]) for v in existing if v[1:].isdigit()), default=0)
            version = f"v{n:04d}"
            d = self.version_dir(version)
            d.mkdir(parents=True)
            return version, d

    def register(self, version: str, metadata: dict, *, promote: bool = True) -> None:
        """Record a trained version (its files already in its directory); optionally make it champion."""
        d = self.version_dir(version)
        if not d.exists():
            raise RegistryError(f"version directory {d} does not exist; reserve_version() first")
        metadata = {**metadata, "model_version": version, "registered_at": _now()}
        write_json(d / "metadata.json", metadata)
        with self._locked():
            idx = self._read()
            idx["versions"][version] = _summary(metadata)
            write_json(self.index_path, idx)
        if promote:
            self.promote(version, reason="trained and selected on the validation window")

    def versions(self) -> list[str]:
        return sorted(self._read()["versions"])

    def metadata(self, version: str) -> dict:
        path = self.version_dir(version) / "metadata.json"
        if not path.exists():
            raise RegistryError(f"model version {version!r} is not in the registry at {self.root}")
        return json.loads(path.read_text(encoding="utf-8"))

    def champion(self) -> str | None:
        return self._read()["champion"]

    def champion_metadata(self) -> dict:
        v = self.champion()
        if v is None:
            raise RegistryError(f"no champion model in {self.root}: train one first (ml.training.train_and_register)")
        return self.metadata(v)

    # ----------------------------------------------------------------- promote / rollback
    def promote(self, version: str, *, reason: str = "promoted by command") -> str | None:
        """Make ``version`` the champion; returns the previous champion."""
        with self._locked():
            idx = self._read()
            if version not in idx["versions"]:
                raise RegistryError(f"cannot promote {version!r}: not registered (known: {', '.join(sorted(idx['versions'])) or 'none'})")
            previous = idx["champion"]
            if previous != version:
                idx["champion"] = version
                idx["champion_history"].append({"version": version, "previous": previous,
                                                "at": _now(), "action": "promote", "reason": reason})
                write_json(self.index_path, idx)
            return previous

    def rollback(self) -> str:
        """Return to the champion before the current one; returns the new champion."""
        with self._locked():
            idx = self._read()
            current = idx["champion"]
            if current is None:
                raise RegistryError("cannot roll back: there is no champion")
            # Walk the history back to the promotion that made the current champion.
            previous = None
            for event in reversed(idx["champion_history"]):
                if event["version"] == current:
                    previous = event["previous"]
                    break
            if previous is None:
                raise RegistryError(f"cannot roll back: {current} has no earlier champion")
            idx["champion"] = previous
            idx["champion_history"].append({"version": previous, "previous": current, "at": _now(),
                                            "action": "rollback", "reason": f"rolled back from {current}"})
            # A rollback of the rollback should go further back, not forth: rewrite the link.
            for event in reversed(idx["champion_history"][:-1]):
                if event["version"] == previous and event["action"] == "promote":
                    idx["champion_history"][-1]["previous"] = event["previous"]
                    break
            write_json(self.index_path, idx)
            return previous

    def history(self) -> list[dict]:
        return list(self._read()["champion_history"])

    # ----------------------------------------------------------------- publishing
    def to_frame(self) -> pd.DataFrame:
        """One row per version, for the BI snapshot's ``model_registry`` table."""
        idx = self._read()
        rows = []
        for version, s in sorted(idx["versions"].items()):
            rows.append({**s, "model_version": version, "is_champion": version == idx["champion"]})
        cols = list(_summary({}).keys()) + ["is_champion"]
        df = pd.DataFrame(rows, columns=["model_version", *[c for c in cols if c != "model_version"]])
        for c in ("registered_at", "trained_at"):
            df[c] = pd.to_datetime(df[c], utc=True)
        for c in ("train_start", "train_end", "validation_start", "validation_end", "test_as_of_date"):
            df[c] = pd.to_datetime(df[c]).dt.date
        return df


def _summary(m: dict) -> dict:
    """The flat, publishable part of a version's metadata."""
    window = m.get("training_window", {})
    champ = m.get("champion_family")
    test = (m.get("metrics", {}).get(champ, {}) or {}).get("test", {}) if champ else {}
    val = (m.get("metrics", {}).get(champ, {}) or {}).get("validation", {}) if champ else {}
    bt = (m.get("backtest", {}) or {}).get("summary", {}).get(champ or "", {})
    return {
        "model_version": m.get("model_version"),
        "registered_at": m.get("registered_at"),
        "trained_at": m.get("trained_at"),
        "model_family": champ,
        "selection_metric": m.get("selection", {}).get("metric"),
        # "time" (train on earlier as_of_dates, test on the latest) or "cross_sectional" (one
        # labelled as_of_date, customers split at random); versions from before the field: time.
        "split_kind": m.get("split_kind") or window.get("split_kind") or ("time" if window else None),
        "train_start": window.get("train_start"),
        "train_end": window.get("train_end"),
        "validation_start": window.get("validation_start"),
        "validation_end": window.get("validation_end"),
        "test_as_of_date": window.get("test_as_of_date"),
        "horizon_days": window.get("horizon_days"),
        "training_rows": m.get("rows", {}).get("train"),
        "n_features": len(m.get("features", [])) if m.get("features") is not None else None,
        "feature_hash": m.get("feature_hash"),
        "data_snapshot_id": m.get("data_snapshot_id"),
        "operating_threshold": m.get("operating_threshold"),
        "validation_pr_auc": val.get("pr_auc"),
        "test_roc_auc": test.get("roc_auc"),
        "test_pr_auc": test.get("pr_auc"),
        "test_brier": test.get("brier"),
        "test_ece": test.get("ece"),
        "test_lift_top10": test.get("lift_top10"),
        "test_capture_top10": test.get("capture_top10"),
        "test_oracle_roc_auc": test.get("oracle_roc_auc"),
        "test_oracle_ratio": test.get("oracle_ratio"),
        "backtest_roc_auc_mean": (bt.get("roc_auc") or {}).get("mean"),
        "backtest_roc_auc_std": (bt.get("roc_auc") or {}).get("std"),
        "backtest_status": (m.get("backtest") or {}).get("status") or ("done" if bt else None),
        "backtest_reason": (m.get("backtest") or {}).get("reason"),
        "params_json": json.dumps((m.get("params") or {}).get(champ or "", {}), default=_json_default, sort_keys=True),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ml.registry", description="Inspect and move the champion model.")
    ap.add_argument("--models-dir", help="registry folder (default: the configured models_dir)")
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every version, champion marked")
    p = sub.add_parser("promote", help="make VERSION the champion")
    p.add_argument("version")
    sub.add_parser("rollback", help="return to the previous champion")
    s = sub.add_parser("show", help="a version's metadata (JSON)")
    s.add_argument("version", nargs="?")
    args = ap.parse_args(argv)
    if args.models_dir:
        models_dir = Path(args.models_dir)
    else:
        from include.config import get_settings

        models_dir = get_settings().models_dir
    reg = Registry(models_dir)
    try:
        if args.command == "list":
            df = reg.to_frame()
            if df.empty:
                print(f"no models registered in {models_dir}")
            else:
                cols = ["model_version", "is_champion", "model_family", "trained_at", "train_start", "train_end",
                        "test_as_of_date", "test_roc_auc", "test_pr_auc", "test_ece", "feature_hash"]
                print(df[cols].to_string(index=False))
        elif args.command == "promote":
            prev = reg.promote(args.version)
            print(f"champion: {args.version} (was {prev})")
        elif args.command == "rollback":
            now = reg.rollback()
            print(f"champion: {now} (rolled back)")
        elif args.command == "show":
            v = args.version or reg.champion()
            if v is None:
                raise RegistryError("no champion and no version given")
            print(json.dumps(reg.metadata(v), indent=2, ensure_ascii=False))
    except RegistryError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
