"""Command line: python -m training {data,train,sweep,predict,evaluate,tradeoff} ...; the operations
(server, serve, score, bench, bench-fnc1, bench-scale) are in cli_ops.py.

User mistakes (StanceError) print one line to stderr and exit 2, with no traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from training.errors import StanceError, Terminated
from training.names import DOCUMENT_FORMATS

T0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


# --- train ---------------------------------------------------------------------------------

def train(cfg, models_dir: str = "models", register: bool = True, export_model: bool = True) -> dict:
    from training.pipeline import run
    return run(cfg, models_dir=models_dir, register=register, export_model=export_model, log=log)


def cmd_train(args) -> int:
    from training.config import load_config
    cfg = load_config(args.config)
    if args.experiment:
        cfg.tracking.experiment = args.experiment
    m = train(cfg, models_dir=args.models_dir)
    from training.evaluate import key, main_split
    main = main_split(m)
    ci = key(main, "macro_f1_ci_low"), key(main, "macro_f1_ci_high")
    print(f"{cfg.name}: {main} macro-F1 {m[key(main, 'macro_f1')]:.4f}"
          + (f" (95% CI {m[ci[0]]:.3f}-{m[ci[1]]:.3f})" if ci[0] in m else "")
          + (f", FNC {m[key(main, 'fnc_score')]:.2f}%" if key(main, "fnc_score") in m else "")
          + f", {m['total_seconds']:.1f}s; model in {args.models_dir}/{cfg.name}/")
    return 0


def cmd_sweep(args) -> int:
    from training.config import load_config
    from training.evaluate import external, key, main_split
    configs = [load_config(p) for p in args.configs]  # validate all before training any
    rows = []
    for cfg in configs:
        cfg.tracking.experiment = args.experiment
        log(f"=== sweep: {cfg.source}")
        m = train(cfg, models_dir=args.models_dir, register=False, export_model=False)
        main = main_split(m)
        rows.append((m[key(main, "macro_f1")], cfg, m, main))
    externals = [external(n) for n in sorted({n for cfg in configs for n in cfg.evaluation.external})]
    rows.sort(key=lambda r: -r[0])
    print(f"\nexperiment {args.experiment!r}, sorted by {rows[0][3]} macro-F1:")
    print(f"{'config':38} {'model':12} {'macro-F1':>8} {'natural':>7} {'hard':>6} {'CV mean±sd':>13} "
          + " ".join(f"{e[:16]:>16}" for e in externals) + f" {'sec':>6}")
    for f1, cfg, m, main in rows:
        cv = (f"{m[key('cv', 'macro_f1_mean')]:.3f}±{m[key('cv', 'macro_f1_std')]:.3f}"
              if key("cv", "macro_f1_mean") in m else "-")
        cell = lambda k: f"{m[k]:.3f}" if k in m else "-"  # noqa: E731
        print(f"{cfg.source:38} {cfg.model.type:12} {f1:8.4f} {cell(key(main, 'natural_macro_f1')):>7} "
              f"{cell(key(main, 'hard_macro_f1')):>6} {cv:>13} "
              + " ".join(f"{cell(key(e, 'macro_f1')):>16}" for e in externals) + f" {m['total_seconds']:6.1f}")
    return 0


# --- predict -------------------------------------------------------------------------------

def cmd_predict(args) -> int:
    from training.predict import load_predictor
    modes = [args.sentence is not None, args.input is not None, args.document is not None]
    if sum(modes) != 1:
        raise StanceError("predict: give exactly one of --sentence (with --claim), --input FILE, or --document FILE "
                          "(with --claim or --claims)")
    if args.sentence is not None and args.claim is None:
        raise StanceError("predict: --claim is required with --sentence")
    if args.document is not None and (args.claim is None) == (args.claims is None):
        raise StanceError("predict: --document needs exactly one of --claim TEXT or --claims FILE")
    for flag in ("claims", "format", "min_relevance", "min_confidence"):
        if args.document is None and getattr(args, flag) is not None:
            raise StanceError(f"predict: --{flag.replace('_', '-')} only applies with --document")
    p = load_predictor(args.model)
    if args.sentence is not None:
        (label,), (proba,) = p.predict_with_proba([args.claim], [args.sentence])
        print(label)
        print("  ".join(f"{lab} {x:.3f}" for lab, x in zip(p.labels, proba)))
    elif args.document is not None:
        from training import document
        claims = [args.claim] if args.claim is not None else document.read_claims(args.claims)
        rows = document.label_document(p, document.read_text(args.document), claims, args.min_relevance,
                                       args.min_confidence or 0.0)
        document.write_rows(rows, p.labels, args.format or "table", args.output, title=Path(args.document).name)
        if args.output:
            log(f"wrote {len(rows)} rows ({args.format or 'table'}) to {args.output}")
    else:
        from training import document
        records = document.read_pairs(Path(args.input))
        predicted, proba = p.predict_with_proba([r["claim"] for r in records], [r["sentence"] for r in records])
        document.write_output(document.predictions_jsonl(records, predicted, proba, p.labels), args.output, "predictions")
        if args.output:
            log(f"wrote {len(records)} predictions to {args.output}")
    return 0


# --- evaluate ------------------------------------------------------------------------------

def cmd_evaluate(args) -> int:
    from training.external import evaluate_set, format_report, read_labelled, write_output
    from training.predict import load_predictor
    p = load_predictor(args.model)
    labelled = read_labelled(args.input, p.labels)
    rule_map = p.metadata.get("config", {}).get("evaluation", {}).get("cue_rule_labels")
    result = evaluate_set(p, labelled, rule_map)
    print(format_report(result))
    if args.output:
        files = write_output(args.output, result)
        log(f"wrote {', '.join(str(f) for f in files)}")
    return 0


# --- trade-off ----------------------------------------------------------------------------

def cmd_tradeoff(args) -> int:
    from training import tradeoff
    from training.config import load_config
    cfg = load_config(args.config)
    chosen = tradeoff.chosen_point(cfg)
    weights = sorted(set(tradeoff.parse_floats(args.hard_weights, "--hard-weights")) | {chosen[0]})
    shares = sorted(set(tradeoff.parse_floats(args.meaning_shares, "--meaning-shares"))
                    | ({chosen[1]} if chosen[1] is not None else set()))
    rule = tradeoff.rule_scores(cfg, log)
    rows = tradeoff.measure(cfg, weights, shares, log)
    cols = list(rows[0])
    print(" ".join(f"{c.replace('external_', ''):>16}" for c in cols))
    for r in [{"hard_weight": "cue rule", "meaning_share": "", **rule}] + rows:
        print(" ".join(f"{v:16.3f}" if isinstance(v, float) else f"{'' if v is None else v:>16}"
                       for v in (r.get(c) for c in cols)))
    files = tradeoff.write(rows, Path(args.output), chosen, rule)
    log(f"wrote {', '.join(map(str, files))}")
    return 0


# --- data ----------------------------------------------------------------------------------

def cmd_data(args) -> int:
    from training.config import load_config
    from training.datasets import load_corpus
    from training.datasets.jsonl import agreement_table, check_quotas, corpus_stats, second_pass_agreement, stats_tables
    cfg = load_config(args.config)
    corpus = load_corpus(cfg)
    s = corpus_stats(corpus)
    jsonl = cfg.data.format == "jsonl"
    print(f"corpus {corpus.source}: {s['pairs']} pairs, {s['documents']} documents, {s['claims']} claims; "
          f"all rows valid; hash {corpus.hash[:16]}")
    print(stats_tables(s, corpus.labels, by_label_and_domain=jsonl))
    second_pass = args.second_pass or cfg.data.second_pass
    if second_pass and jsonl:
        print(agreement_table(second_pass_agreement(s["rows"], Path(second_pass), corpus.labels), second_pass,
                              corpus.labels))
    if args.quotas and not jsonl:
        print(f"\nquotas: they describe the bundled jsonl corpus; skipped for format {cfg.data.format!r}")
    elif args.quotas:
        print("\nquotas:")
        checks = check_quotas(s, Path(cfg.data.seeds_dir))
        for name, ok, detail in checks:
            print(f"  [{'ok' if ok else 'FAIL'}] {name}: {detail}")
        if not all(ok for _, ok, _ in checks):
            print("some quotas are not met", file=sys.stderr)
            return 1
    return 0


# --- entry point ---------------------------------------------------------------------------


CONFIG = ("--config", {"default": "configs/default.yaml"})
MODEL = ("--model", {"default": "models/stance"})
MODELS_DIR = ("--models-dir", {"default": "models"})
# command: (help, handler, arguments); each argument is (flag, argparse keywords)
COMMANDS = {
    "data": ("validate the corpus and print its statistics", cmd_data, [
        CONFIG, ("--quotas", {"action": "store_true", "help": "also check the bundled corpus quotas (exit 1 if unmet)"}),
        ("--second-pass", {"metavar": "JSONL", "help": "report agreement with this blind second annotation "
                                                       "(default: data.second_pass)"})]),
    "train": ("train, evaluate, log to MLflow and export models/<name>/", cmd_train, [
        CONFIG, ("--experiment", {"help": "MLflow experiment (default: tracking.experiment from the config)"}),
        MODELS_DIR]),
    "sweep": ("train several configs as runs of one experiment; print a table", cmd_sweep, [
        ("configs", {"nargs": "+"}), ("--experiment", {"default": "stance-sweep"}), MODELS_DIR]),
    "predict": ("label (claim, sentence) pairs with an exported model", cmd_predict, [
        MODEL, ("--claim", {}), ("--sentence", {}), ("--input", {"help": "JSONL with claim and sentence fields"}),
        ("--output", {"help": "where to write the predictions or the document report (default: stdout)"}),
        ("--document", {"help": "an article (UTF-8 text): a row per sentence toward --claim or each of --claims"}),
        ("--claims", {"metavar": "FILE", "help": "with --document: one claim per line"}),
        ("--format", {"choices": DOCUMENT_FORMATS, "help": "with --document: table (default), jsonl, csv or html"}),
        ("--min-relevance", {"type": float, "metavar": "R", "help": "stance none below R (default: the model's)"}),
        ("--min-confidence", {"type": float, "metavar": "P", "help": "stance uncertain below P (default 0)"})]),
    "evaluate": ("score a model and the cue-word rule on a labelled JSONL set", cmd_evaluate, [
        MODEL, ("--input", {"required": True, "help": "JSONL with claim, sentence and stance fields"}),
        ("--output", {"help": "a directory: write evaluation.json and confusion PNGs there"})]),
    "tradeoff": ("retrain with other hard-pair weights / meaning shares; table, CSV and plot", cmd_tradeoff, [
        CONFIG, ("--hard-weights", {"default": "0,0.1,0.25,0.5,1,2"}),
        ("--meaning-shares", {"default": "0,0.2,0.4,0.5,0.6,0.8,1"}),
        ("--output", {"default": "reports/tradeoff", "help": "directory for tradeoff.csv, .json and .png"})]),
}


def parser() -> argparse.ArgumentParser:
    from training.cli_ops import COMMANDS as OPS  # serving, batch scoring and benchmarks
    ap = argparse.ArgumentParser(prog="python -m training", description="Stance classification toward claims.")
    sub = ap.add_subparsers(dest="command", required=True)
    for name, (text, func, arguments) in {**COMMANDS, **OPS}.items():
        p = sub.add_parser(name, help=text)
        for flag, kwargs in arguments:
            p.add_argument(flag, **kwargs)
        p.set_defaults(func=func)
    return ap


def _terminated(signum, frame):
    raise Terminated()


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _terminated)  # SIGTERM ends a run as Ctrl-C does
    try:
        return args.func(args)
    except StanceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        what = "terminated (SIGTERM)" if isinstance(e, Terminated) else "interrupted"
        print(f"{what}: no model was written or replaced", file=sys.stderr)
        return 143 if isinstance(e, Terminated) else 130
    except BrokenPipeError:
        os._exit(0)
    finally:
        signal.signal(signal.SIGTERM, previous)
