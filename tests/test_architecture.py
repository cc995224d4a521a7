"""The stages in README "Architecture" and what each may import: checked on the source, so a
new import that breaks the one-way flow fails here, not in review."""

import ast

from conftest import ROOT

# module -> the training modules it may import (its own subpackage's modules always allowed)
ALLOWED = {
    "errors": set(), "names": set(), "text": set(), "evaluate": set(), "stacking": set(), "two_stage": {"names"},
    "augment": set(),
    "typed_yaml": {"errors"},
    "config": {"errors", "names", "typed_yaml"},
    "predict": {"errors"},
    # relevance reads the documents (text) and reuses the cue lexicon (features)
    "relevance": {"features", "text"},
    "document": {"datasets", "errors", "names", "text"},
    "server": {"errors"},
    "datasets": {"config", "errors", "names", "text", "evaluate"},
    # features may name training.models only to re-export DenseTopK for old pickles
    "features": {"config", "errors", "text", "models"},
    "models": {"config", "errors", "features", "names", "stacking", "two_stage"},
    "external": {"datasets", "errors", "evaluate", "models"},
    "tracking": {"config", "predict"},
    "export": {"predict"},
    # pipeline.run hands a streamed corpus to streaming.run, which reuses pipeline's evaluate and publish
    "pipeline": {"augment", "datasets", "errors", "evaluate", "export", "external", "features", "models", "predict",
                 "relevance", "streaming", "tracking"},
    "streaming": {"evaluate", "export", "external", "features", "models", "pipeline", "predict", "streaming_data", "text",
                  "tracking"},
    "streaming_data": {"datasets", "errors", "names"},
    "tradeoff": {"datasets", "errors", "evaluate", "external", "features", "models", "pipeline"},
    "bench": {"config", "datasets", "document", "errors", "predict", "text"},
    "score": {"datasets", "errors", "features", "names"},
    "score_spark": {"errors", "predict", "score", "tracking"},
    "bench_scale": {"config", "datasets", "errors", "server", "streaming_data"},
    "cli": {"cli_ops", "config", "datasets", "document", "errors", "evaluate", "external", "names", "pipeline",
            "predict", "tradeoff"},
    "cli_ops": {"bench", "bench_scale", "cli", "config", "datasets", "errors", "names", "predict", "score",
                "score_spark", "server", "tracking"},
    "__main__": {"cli"},
}


def stage(path):
    rel = path.relative_to(ROOT / "training")
    return rel.parts[0].removesuffix(".py")


def imported(path):
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("training."):
            out.add(node.module.split(".")[1])
        elif isinstance(node, ast.ImportFrom) and node.module == "training":
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[1] for a in node.names if a.name.startswith("training.")}
    return out


def test_every_module_imports_only_what_its_stage_may():
    bad = {}
    for path in sorted((ROOT / "training").rglob("*.py")):
        if path.name == "__init__.py" and path.parent.name == "training":
            continue
        s = stage(path)
        extra = imported(path) - ALLOWED[s] - {s}
        if extra:
            bad[str(path.relative_to(ROOT))] = sorted(extra)
    assert not bad, bad


def test_every_stage_is_listed_and_the_cli_imports_no_sklearn():
    stages = {stage(p) for p in (ROOT / "training").rglob("*.py")} - {"__init__"}
    assert stages == set(ALLOWED)
    assert "sklearn" not in (ROOT / "training" / "cli.py").read_text(encoding="utf-8")


def test_modules_and_functions_stay_short():
    long = []
    for path in (ROOT / "training").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > 300:
            long.append(f"{path.name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno + 1 > 60:
                long.append(f"{path.name}:{node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert not long, long
