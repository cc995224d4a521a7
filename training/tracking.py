"""MLflow logging. The only module that imports mlflow (lazily, so nothing else pays for it).

Store: $MLFLOW_TRACKING_URI, else an embedded SQLite file `mlflow.db` in the working
directory (MLflow 3 refuses the old ./mlruns file store).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

from training.config import Config, flatten


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlflow.db'}"


def _mlflow():
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # it otherwise looks up a remote host
    import logging
    import warnings

    import mlflow

    # MLflow configures its loggers on import; quiet them afterwards. The pickle-format
    # warning is expected (cloudpickle is chosen on purpose, see log_model).
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted")
    return mlflow


def git_state() -> dict:
    """Commit and dirtiness of the working tree ('unknown' outside a git checkout)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                                text=True, timeout=10)
        if commit.returncode == 0:
            return {"git_commit": commit.stdout.strip(), "git_dirty": bool(status.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        pass
    return {"git_commit": "unknown", "git_dirty": False}


@contextlib.contextmanager
def store_lock(uri: str):
    """An exclusive lock beside an SQLite store (`mlflow.db.lock`) while it is opened: two trainings
    started at once on a fresh store otherwise both run MLflow's schema migration, and one dies
    ("duplicate column name: step"). Other stores (a tracking server) need no lock."""
    if not uri.startswith("sqlite:///"):
        yield
        return
    import fcntl
    path = Path(uri[len("sqlite:///"):]).with_name(Path(uri[len("sqlite:///"):]).name + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextlib.contextmanager
def run(cfg: Config, run_name: str | None = None):
    """An MLflow run that ends KILLED when interrupted (SIGINT, SIGTERM), FAILED when the body
    raises, never RUNNING."""
    mlflow = _mlflow()
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    with store_lock(uri):  # the first process to open a fresh SQLite store migrates its schema
        experiment_id = _experiment(mlflow, cfg.tracking.experiment)
        mlflow.set_experiment(experiment_id=experiment_id)
        # MLflow 3 opens an experiment without this tag on a GenAI overview of traces; this
        # project logs training runs, so the UI should open on the runs table
        # (two trainings tagging a new experiment at once race on the server's insert: retry)
        if mlflow.get_experiment(experiment_id).tags.get(KIND) != "custom_model_development":
            _retry(lambda: mlflow.set_experiment_tag(KIND, "custom_model_development"), mlflow)
        active = mlflow.start_run(experiment_id=experiment_id, run_name=run_name or cfg.name)
    try:
        yield active
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM (errors.Terminated)
        mlflow.end_run(status="KILLED")
        raise
    except BaseException:
        mlflow.end_run(status="FAILED")
        raise
    else:
        mlflow.end_run(status="FINISHED")


KIND = "mlflow.experimentKind"


def _experiment(mlflow, name: str) -> str:
    """The experiment's id, creating it if needed. Two trainings creating the same experiment on a
    server at once: one create fails ("already exists"), so look it up again (without this one
    of two concurrent runs landed in the Default experiment)."""
    client = mlflow.MlflowClient()
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    try:
        return client.create_experiment(name)
    except mlflow.exceptions.MlflowException:
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise
        return exp.experiment_id


def name_run(cfg: Config, git: dict) -> str:
    """`<config name>-<short commit>-<UTC time>`: runs told apart in the UI's runs table."""
    import time
    return f"{cfg.name}-{git['git_commit'][:7]}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"


def log_setup(cfg: Config, corpus, versions: dict, git: dict) -> None:
    mlflow = _mlflow()
    params = {k: (",".join(map(str, v)) if isinstance(v, list) else v)
              for k, v in flatten(cfg.to_dict()).items()}
    mlflow.log_params(params)
    mlflow.set_tags({
        "git_commit": git["git_commit"], "git_dirty": str(git["git_dirty"]).lower(),
        "corpus_hash": corpus.hash, "config_path": cfg.source, "labels": ",".join(corpus.labels),
        "model_type": cfg.model.type, **{f"version.{k}": v for k, v in versions.items()},
    })
    for split in ("train", "dev", "test"):
        if len(corpus.splits[split]):
            df = corpus.frame(split)[["id", "doc_id", "claim_id", "claim", "sentence", "stance"]]
            dataset = mlflow.data.from_pandas(df, source=str(Path(corpus.source).resolve()),
                                              name=f"{cfg.name}-{split}", targets="stance",
                                              digest=f"{corpus.hash[:8]}-{split}")
            _retry(lambda: mlflow.log_input(dataset, context=split), mlflow)


def _retry(call, mlflow, attempts: int = 4):
    """Two runs logging the same dataset at once race to insert it (a unique-key error from a
    PostgreSQL-backed server); the second try finds it there and links it."""
    import time
    for k in range(attempts):
        try:
            return call()
        except mlflow.exceptions.MlflowException:
            if k == attempts - 1:
                raise
            time.sleep(0.2 * (k + 1))


def log_results(metrics: dict, artifact_dir: Path) -> None:
    mlflow = _mlflow()
    mlflow.log_metrics({k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))})
    mlflow.log_artifacts(str(artifact_dir))


def log_model(pipeline, cfg: Config, example, labels: list[str]) -> str | None:
    """Log the fitted pipeline with signature and input example, register it, and return the
    registered version. pyfunc's predict returns predict_proba, columns in the classifier's class
    order (metadata `proba_columns`; sorted, so `labels` order whenever the labels are sorted)."""
    mlflow = _mlflow()
    from mlflow.models import infer_signature

    from training.predict import decision_rule

    proba = pipeline.predict_proba(example)
    info = mlflow.sklearn.log_model(
        pipeline, name="model", signature=infer_signature(example, proba), input_example=example,
        registered_model_name=cfg.tracking.registered_model,
        # Listing requirements skips MLflow's slow environment inference; cloudpickle keeps
        # our custom transformers loadable (skops would reject them as untrusted types).
        pip_requirements=pip_requirements(), serialization_format="cloudpickle",
        pyfunc_predict_fn="predict_proba",
        code_paths=[str(Path(__file__).parent)],  # the custom transformers travel with the model
        metadata={"labels": labels, "proba_columns": [str(c) for c in pipeline.classes_],
                  "decision": decision_rule(pipeline[-1])},  # how the Spark engine labels rows
    )
    if not cfg.tracking.registered_model:
        return None
    version = str(info.registered_model_version)
    choose_alias(cfg.tracking.registered_model, version, mlflow.active_run().info.run_id)
    return version


def choose_alias(name: str, version: str, run_id: str) -> tuple[str, str]:
    """Alias the new version `champion` when its main-split macro-F1 is at least the current
    champion's, else `challenger`; the reason is printed and kept as run tags."""
    import sys

    mlflow = _mlflow()
    client = mlflow.MlflowClient(tracking_uri())  # the store of $MLFLOW_TRACKING_URI, as run() uses
    ours = client.get_run(run_id).data.metrics
    metric = next((k for k in ("test_macro_f1", "dev_macro_f1") if k in ours), None)
    try:
        champ = client.get_model_version_by_alias(name, "champion")
    except mlflow.exceptions.MlflowException:
        champ = None
    theirs = client.get_run(champ.run_id).data.metrics.get(metric) if champ and metric else None
    if champ is None:
        alias, why = "champion", "there was no champion"
    elif metric is None or theirs is None:
        alias, why = "challenger", f"no comparable macro-F1 beside champion version {champ.version}"
    elif ours[metric] >= theirs:
        alias, why = "champion", f"{metric} {ours[metric]:.4f} >= champion version {champ.version}'s {theirs:.4f}"
    else:
        alias, why = "challenger", f"{metric} {ours[metric]:.4f} < champion version {champ.version}'s {theirs:.4f}"
    _retry(lambda: client.set_registered_model_alias(name, alias, version), mlflow)  # two at once race
    client.set_tag(run_id, "registry.alias", alias)
    client.set_tag(run_id, "registry.alias_reason", why)
    print(f"registry: {name!r} version {version} is @{alias}: {why}", file=sys.stderr, flush=True)
    return alias, why


def pip_requirements() -> list[str]:
    from importlib.metadata import version
    return [f"{p}=={version(p)}" for p in ("scikit-learn", "numpy", "scipy", "pandas", "joblib", "cloudpickle")]
