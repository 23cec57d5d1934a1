"""``make results``: every table of docs/results/ (and the README's result lines) regenerated from runs of this code.

Each section names the runs it reads; the runs are resumable JSONL files under ``--runs``,
so an interrupted ``make results`` continues where it stopped and a finished one rebuilds
the documents from the files alone. Models are served one at a time (two CPU servers would
fight over the same cores), each for every section that needs it, then every document is
written. ``--quick`` runs every section at toy size on the embedded model only, into
``runs/results-quick`` (minutes; the documented figures are never overwritten by it).

    python -m benchmarks.results [--quick] [--only demo,xiong,routing] [--models M,...] [--url MODEL=URL ...]
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from benchmarks import elicit as chain_speed
from benchmarks import peers, probe_cost, serving
from benchmarks.common import BenchmarkResult, questions
from elicit import defaults
from elicit.calibration.display.sentences import verdict_sentence
from elicit.calibration.fitting import HEAD, scored_records
from elicit.datasets.bigbench import TASKS
from elicit.evaluation.batch import load_records
from elicit.model.catalogue import QWEN, SMOLLM2
from elicit.model.hidden_states import HiddenStateEmbeddings
from elicit.model.loop import run_sync
from elicit.model.serving import ServerHandle, connect, serve
from elicit.results.decisions import DELTA, RISKS, SPLITS, Answers, agent_policies, decisions_document, validity
from elicit.results.demo import ademo, demo_document
from elicit.results.document import Document, Provenance, provenance
from elicit.results.fusion import (
    Case,
    cross_fit_case,
    fanout_split,
    fusion_document,
    held_out_case,
    learning_curve,
    plot_learning_curve,
    rule_cases,
    unfittable,
)
from elicit.results.routing import mix_config, routing_document
from elicit.results.runs import BUILTIN_MIX, RecordSet, arecords, run_time
from elicit.results.xiong import (
    TEST_LIMIT,
    TRAIN_LIMIT,
    load_task_runs,
    record_sets,
    replication_line,
    task_table,
    xiong_document,
)
from elicit.routing.figures import plot_curves
from elicit.routing.run import RouteEvalResult, arun_route_eval
from elicit.types import EvalRecord

README = Path("README.md")
MARKERS = ("<!-- results:start -->", "<!-- results:end -->")
"""The README's generated block lies between these lines."""


@dataclass(frozen=True)
class Sizes:
    """How many questions each section asks: the documented sizes, or toy ones for ``--quick``."""

    demo: int
    xiong_test: int
    xiong_train: int
    routing: dict[str, int]
    models: tuple[str, ...]
    mix: int
    """Questions of the built-in mix the fusion head is cross-fitted on."""
    fanout: int | None
    """FanOutQA questions (None: every one)."""
    draws: int
    """Random calibration/test halves per certification check."""

    @classmethod
    def of(cls, quick: bool) -> Sizes:
        if quick:
            return cls(24, 12, 24, {"train": 40, "dev": 20, "test": 40}, (SMOLLM2.key,), 60, 60, 20)
        return cls(
            300,
            TEST_LIMIT,
            TRAIN_LIMIT,
            {"train": 300, "dev": 100, "test": 300},
            (SMOLLM2.key, QWEN.key),
            1200,
            None,
            SPLITS,
        )

    def fusion_runs(self) -> dict[str, RecordSet]:
        """The fusion document's own runs (beside each BIG-bench task's vanilla train and test runs)."""
        return {
            "mix": RecordSet(BUILTIN_MIX, limit=self.mix, label="builtin"),
            "fanout": RecordSet(("fanout",), limit=self.fanout),
        }


@dataclass
class Context:
    """Where runs and documents go, and what the run was asked to do."""

    runs: Path
    docs: Path
    sizes: Sizes
    seed: int
    command: str
    summary: dict[str, str] = field(default_factory=dict)
    """Section -> its line in the README's generated block."""

    def origin(self) -> Provenance:
        return provenance(self.command, self.seed)

    def model_runs(self, model: str) -> Path:
        return self.runs / model


@dataclass(frozen=True)
class Section:
    """One results document: the models it asks, how it asks one, and how it is written from the files."""

    name: str
    models: Callable[[Sizes], tuple[str, ...]]
    generate: Callable[[ServerHandle, Context], None]
    write: Callable[[Context], Path]


# --------------------------------------------------------------------------- demo


def _demo_generate(server: ServerHandle, context: Context) -> None:
    run_sync(ademo(server, context.model_runs(server.model_name) / "demo", limit=context.sizes.demo, seed=context.seed))


def _demo_write(context: Context) -> Path:
    folder = context.model_runs(SMOLLM2.key) / "demo"
    result = run_sync(ademo(connect_offline(), folder, limit=context.sizes.demo, seed=context.seed, progress=False))
    document = demo_document(result, context.origin())
    accuracy = float(result.fit.correct.mean())
    head = next(v for v in result.report.verdicts if v.metric == "auroc" and v.method == HEAD)
    context.summary["demo"] = (
        f"The demo ({len(result.fit.records)} built-in questions, {SMOLLM2.title}, {accuracy:.1%} correct), out of "
        f"fold: {verdict_sentence(head)} ([demo](docs/results/demo.md))."
    )
    return document.write(context.docs / "demo.md")


# --------------------------------------------------------------------------- xiong


def _xiong_generate(server: ServerHandle, context: Context) -> None:
    folder = context.model_runs(server.model_name)
    for task in TASKS:
        for run in record_sets(task, context.sizes.xiong_test, context.sizes.xiong_train).values():
            run_sync(arecords(server, run, folder, seed=context.seed))


def _xiong_write(context: Context) -> Path:
    sizes = context.sizes
    tables, times = {}, {}
    for model in sizes.models:
        folder = context.model_runs(model)
        found = [load_task_runs(task, folder, sizes.xiong_test, sizes.xiong_train) for task in TASKS]
        if all(runs is None for runs in found):
            continue
        tables[model] = [task_table(runs, seed=context.seed) for runs in found if runs is not None]
        absent = [task for task, runs in zip(TASKS, found, strict=True) if runs is None]
        measured = [t for task in TASKS for run in record_sets(task, sizes.xiong_test, sizes.xiong_train).values()
                    if (t := run_time(run, folder)) is not None]  # fmt: skip
        runs = 5 * len(TASKS) + len(TASKS)
        times[model] = (
            f"Wall time of the runs behind this table: {sum(t.seconds for t in measured) / 3600:.2f} h for "
            f"{sum(t.asked for t in measured)} questions asked in {len(measured)} of its {runs} runs (the others "
            "were on file before this command ran, so their time was not measured here)."
            + (f" Not run for this model (no complete vanilla test run): {', '.join(absent)}." if absent else "")
        )
    context.summary["xiong"] = (
        "Xiong et al.'s findings, as they came out: "
        + " ".join(
            replication_line(model, model_tables, seed=context.seed) + "." for model, model_tables in tables.items()
        )
        + " ([table](docs/results/xiong.md))"
    )
    return xiong_document(tables, context.origin(), seed=context.seed, wall_times=times).write(
        context.docs / "xiong.md"
    )


# --------------------------------------------------------------------------- fusion


def _fusion_generate(server: ServerHandle, context: Context) -> None:
    folder = context.model_runs(server.model_name)
    sizes = context.sizes
    runs = [
        record_sets(task, sizes.xiong_test, sizes.xiong_train)[key] for task in TASKS for key in ("vanilla", "train")
    ]
    for run in [*runs, *sizes.fusion_runs().values()]:
        run_sync(arecords(server, run, folder, seed=context.seed))


def _on_file(run: RecordSet, folder: Path) -> list[EvalRecord]:
    """The run's records on file (a run cut short is used as far as it went: its n is in the table)."""
    path = run.path(folder)
    return load_records(path) if path.is_file() else []


def _judged_cases(
    model: str, context: Context, white_box: HiddenStateEmbeddings | None
) -> tuple[list[Case], list[EvalRecord], list[str]]:
    """One model's fusion cases from its runs on file, its built-in mix, and the cases that could not be fitted."""
    sizes, seed, folder = context.sizes, context.seed, context.model_runs(model)
    cases, skipped = [], []
    for task in TASKS:
        runs = record_sets(task, sizes.xiong_test, sizes.xiong_train)
        train, test = _on_file(runs["train"], folder), _on_file(runs["vanilla"], folder)
        if train and test:
            if reason := unfittable(train=train, test=test):
                skipped.append(f"{task} ({reason})")
            else:
                cases.append(held_out_case(task, train, test, seed=seed, white_box=white_box))
    fanout = _on_file(sizes.fusion_runs()["fanout"], folder)
    if fanout:
        train, test = fanout_split(fanout, seed)
        if reason := unfittable(train=train, test=test):
            skipped.append(f"FanOutQA ({reason})")
        else:
            cases.append(held_out_case("FanOutQA", train, test, seed=seed, white_box=white_box))
    mix = _on_file(sizes.fusion_runs()["mix"], folder)
    if mix:
        if reason := unfittable(records=mix):
            skipped.append(f"built-in mix ({reason})")
        else:
            cases.append(cross_fit_case("built-in mix", mix, seed=seed, white_box=white_box))
    return cases, mix, skipped


def _design_sets(model: str, context: Context) -> dict[str, list[EvalRecord]]:
    """The records the head's rule is chosen on: the built-in mix and FanOutQA's train split, as far as run."""
    runs, folder = context.sizes.fusion_runs(), context.model_runs(model)
    found = {
        "built-in mix": _on_file(runs["mix"], folder),
        "FanOutQA train": fanout_split(_on_file(runs["fanout"], folder), context.seed)[0],
    }
    return {label: records for label, records in found.items() if records and not unfittable(records=records)}


def _fusion_write(context: Context) -> Path:
    cases: dict[str, list[Case]] = {}
    probed: dict[str, list[Case]] = {}
    skipped: dict[str, list[str]] = {}
    rules: dict[str, list[Case]] = {}
    curves = {}
    for model in context.sizes.models:
        cases[model], mix, skipped[model] = _judged_cases(model, context, None)
        probed[model], _, _ = _judged_cases(model, context, HiddenStateEmbeddings(model))
        if design := _design_sets(model, context):
            rules[model] = rule_cases(design, seed=context.seed)
        if mix and not unfittable(records=mix) and (curve := learning_curve(mix, seed=context.seed))[0]:
            curves[model] = curve
    drawn = {model: points for model, (points, _) in curves.items()}
    figure = plot_learning_curve(drawn, context.docs / "learning-curve.png") if drawn else None
    document, tallies = fusion_document(
        cases, probed, curves, figure, context.origin(), seed=context.seed, skipped=skipped, rules=rules
    )
    context.summary["fusion"] = (
        "The fusion head out of sample: " + "; ".join(tallies) + " ([fusion](docs/results/fusion.md))."
    )
    return document.write(context.docs / "fusion.md")


# --------------------------------------------------------------------------- decisions


def _answers(records: Sequence[EvalRecord], context: Sequence[EvalRecord]) -> Answers:
    """Closed-book and with-passage records of the same questions, paired by id."""
    by_id = {record.id: record for record in context}
    paired = [(record, by_id[record.id]) for record in records if record.id in by_id]
    return Answers(
        np.array([a.confidence or 0.0 for a, _ in paired]), np.array([a.correct for a, _ in paired]),
        np.array([b.confidence or 0.0 for _, b in paired]), np.array([b.correct for _, b in paired]),
    )  # fmt: skip


def _decisions_write(context: Context) -> Path:
    sizes, seed = context.sizes, context.seed
    splits = sizes.draws
    route = context.model_runs(SMOLLM2.key) / "route-eval"
    passes = {name: load_records(route / f"{name}.jsonl") for name in ("train", "dev", "eval")}
    retrieved = {name: load_records(route / f"{name}-retrieval-k2.jsonl") for name in passes}
    rows = []
    for model in sizes.models:
        folder = context.model_runs(model)
        judged, _, _ = _judged_cases(model, context, None)
        sets = [(f"{model}: {case.label}", "head fitted on train", case.scores[HEAD], case.correct)
                for case in judged if case.label != "built-in mix"]  # fmt: skip
        mix, _ = scored_records(_on_file(sizes.fusion_runs()["mix"], folder))
        if mix:
            sets.append((f"{model}: built-in mix", "default combination", [r.confidence or 0.0 for r in mix],
                         [r.correct for r in mix]))  # fmt: skip
        if model == SMOLLM2.key:  # the answers the agent reads: the routing run's, answered from passages
            read = [record for records in retrieved.values() for record in records]
            sets.append((f"{model}: retrieval mix, from 2 passages", "default combination",
                         [r.confidence or 0.0 for r in read], [r.correct for r in read]))  # fmt: skip
        for label, source, confidence, correct in sets:
            for risk in RISKS:
                rows.append(validity(label, source, confidence, correct, risk=risk, splits=splits, seed=seed))
    calibration = _answers([*passes["train"], *passes["dev"]], [*retrieved["train"], *retrieved["dev"]])
    test = _answers(passes["eval"], retrieved["eval"])
    note = (
        f"Replayed on the routing run's records ({SMOLLM2.title}, the retrieval mix, BM25, top 2 passages): "
        f"both certificates (closed book, and with passages) are certified on its train and dev questions "
        f"({calibration.closed.size}), every policy is judged on its {test.closed.size} held-out questions. "
        "Confidence: the default combination, fitted on nothing. Abstaining counts as not right."
    )
    agent = [(risk, agent_policies(calibration, test, risk=risk)) for risk in RISKS]
    shown = [row for row in rows if row.certified]
    kept = sum(row.violated / row.splits <= row.bound for row in rows)
    context.summary["decisions"] = (
        f"Certified answering kept its promise (violations at most δ = {DELTA:g} plus Monte Carlo error) in {kept} "
        f"of {len(rows)} set × α checks over {splits} random calibration halves each; {len(shown)} of them certified "
        "a threshold at all ([decisions](docs/results/decisions.md))."
    )
    return decisions_document(rows, agent, note, context.origin()).write(context.docs / "decisions.md")


# --------------------------------------------------------------------------- routing


def _routing_result(server: ServerHandle, context: Context, progress: bool) -> RouteEvalResult:
    out = context.model_runs(server.model_name) / "route-eval"
    config = mix_config(server, out, sizes=context.sizes.routing, seed=context.seed, progress=progress)
    result = run_sync(arun_route_eval(config))
    plot_curves(result, out / "route-eval.png")
    return result


def _routing_generate(server: ServerHandle, context: Context) -> None:
    _routing_result(server, context, progress=True)


def _routing_write(context: Context) -> Path:
    result = _routing_result(connect_offline(), context, progress=False)
    designated = [r for r in result.budgets["0.3"] if r.policy == result.designated][0]
    interval = designated.vs_random_interval
    shown = "" if interval is None else f" [{100 * interval[0]:+.1f}, {100 * interval[1]:+.1f}]"
    context.summary["routing"] = (
        f"Retrieve only when unsure: the policy designated on dev ({result.designated}) against random routing at "
        f"a 30% budget on {result.n_eval} held-out questions: {100 * (designated.vs_random or 0.0):+.1f} "
        f"points{shown} ([routing](docs/results/routing.md))."
    )
    return routing_document(result, context.origin()).write(context.docs / "routing.md")


# --------------------------------------------------------------------------- speed

SPEED_QUESTIONS = 32
PROBE_TRAIN = 200
"""Labelled records of the built-in mix the cost benchmark fits its probe on."""
R = TypeVar("R", bound=BenchmarkResult)


def _speed_path(context: Context, model: str, kind: str) -> Path:
    """Where one speed benchmark's figures for ``model`` are kept (serving, chain, probe, peers)."""
    return context.model_runs(model) / f"speed-{kind}.json"


def _speed_generate(server: ServerHandle, context: Context) -> None:
    model = server.model_name
    run_sync(serving.measure(server)).write(_speed_path(context, model, "serving"))
    count = min(SPEED_QUESTIONS, context.sizes.demo)
    run_sync(chain_speed.measure(server, questions(count))).write(_speed_path(context, model, "chain"))
    if peers.available():
        run_sync(peers.measure(server, questions(count))).write(_speed_path(context, model, "peers"))
    mix = _on_file(context.sizes.fusion_runs()["mix"], context.model_runs(model))
    train = min(PROBE_TRAIN, len(mix) - count)
    if train >= count:  # the probe is fitted on the model's own graded answers: too few on file, nothing to time
        fit_on, asked = probe_cost.split(mix, train, count, context.seed)
        run_sync(probe_cost.measure(server, fit_on, asked, seed=context.seed)).write(
            _speed_path(context, model, "probe")
        )


def _measured(context: Context, kind: str) -> list[str]:
    return [model for model in context.sizes.models if _speed_path(context, model, kind).is_file()]


def _speed_result(context: Context, model: str, kind: str, result: type[R]) -> R:
    """One speed benchmark's figures for ``model``, read back from its JSON file."""
    return result.model_validate_json(_speed_path(context, model, kind).read_text())


def _speed_write(context: Context) -> Path:
    document = Document("Speed", context.origin())
    document.add(
        "Ratios measured in one process against a baseline on the same server and prompts, so the machine's "
        "speed cancels. Serving: one request asking for n = 5 samples against five requests, sequential or "
        f"concurrent (48 tokens each). Chain: `ConfidenceChain.abatch` ({chain_speed.N_SAMPLES} samples and "
        "P(True) per question, every signal computed) against a loop sending one request per sample. Each "
        "figure is one run: read the ratios, not the absolute times, which depend on what else the machine ran."
    )
    lines = [
        "| model | decode tokens/s | 5 sequential / one n = 5 request | 5 concurrent / one n = 5 request "
        "| questions | chain questions/s | naive questions/s | chain speed-up | measured |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [_speed_row(context, model) for model in _measured(context, "serving")]
    document.add("\n".join(lines))
    if compared := _measured(context, "peers"):
        document.add(
            "Against uqlm (`benchmarks/peers.py`, `make peers`): elicit's chain, then uqlm's `UQEnsemble` on the "
            "very prompts elicit sent, same server, sample count, temperature and token limit. elicit asks for "
            "the n samples in one request; uqlm 0.6.7 ignores its option to do so and sends one request per sample. "
            "uqlm's scorers are the ones closest to elicit's signals that need no model download. elicit runs "
            "first, so any server-side caching of the prompts favours uqlm."
        )
        rows = [
            "| model | questions | elicit questions/s | signals elicit computed | uqlm questions/s | uqlm scorers "
            "| elicit / uqlm | measured |",
            "|---|---|---|---|---|---|---|---|",
        ]
        ratios = [_speed_result(context, model, "peers", peers.PeerResult) for model in compared]
        rows += [_peer_row(model, peer) for model, peer in zip(compared, ratios, strict=True)]
        document.add("\n".join(rows))
        context.summary["speed"] = (
            "elicit against uqlm, same server and questions, questions per second: "
            + "; ".join(f"{r.settings['model']}: {r.ratio:.2f}× ({r.settings['questions']} questions)" for r in ratios)
            + " (the target: 4×; [speed](docs/results/speed.md))."
        )
    if probed := _measured(context, "probe"):
        document.add(
            "The answer probe (its layer and pooling chosen on its training rows, the built-in mix's graded answers): "
            "its read of one question and answer against one greedy answer of the same questions, sequential and "
            "uncached; the confidence chain's batch with the probe against the same batch without it; and the growth "
            "of the process's peak memory from loading the weights the probe reads and fitting it."
        )
        rows = [
            "| model | fitted on | layer, pooling | questions | one answer | probe read | probe / answer "
            "| chain with probe / without | peak memory growth | measured |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        rows += [_probe_row(context, model) for model in probed]
        document.add("\n".join(rows))
    return document.write(context.docs / "speed.md")


def _speed_row(context: Context, model: str) -> str:
    served = _speed_result(context, model, "serving", serving.ServingResult)
    chain = _speed_result(context, model, "chain", chain_speed.ChainSpeedResult)
    return (
        f"| {model} | {served.decode_tokens_per_second:.1f} | {served.sequential_ratio:.2f}× "
        f"| {served.concurrent_ratio:.2f}× | {chain.settings['questions']} | {chain.batched_questions_per_second:.3f} "
        f"| {chain.naive_questions_per_second:.3f} | {chain.speedup:.2f}× | {chain.created} |"
    )


def _peer_row(model: str, peer: peers.PeerResult) -> str:
    return (
        f"| {model} | {peer.settings['questions']} | {peer.elicit_questions_per_second:.3f} "
        f"| {len(peer.elicit_signals)} | {peer.uqlm_questions_per_second:.3f} | {', '.join(peer.uqlm_scorers)} "
        f"| {peer.ratio:.2f}× | {peer.created} |"
    )


def _probe_row(context: Context, model: str) -> str:
    cost = _speed_result(context, model, "probe", probe_cost.ProbeCostResult)
    return (
        f"| {model} | {cost.settings['train']} | {cost.layer}, {cost.pooling} | {cost.settings['questions']} "
        f"| {cost.answer_seconds:.3f} s | {cost.probe_seconds:.3f} s | {cost.probe_ratio:.2f}× "
        f"| {cost.chain_ratio:.2f}× | {cost.memory_mib:.0f} MiB | {cost.created} |"
    )


def connect_offline() -> ServerHandle:
    """A handle that answers no request: writing a document only reads files already complete."""
    return ServerHandle("http://127.0.0.1:9", SMOLLM2.key)


SECTIONS: dict[str, Section] = {
    section.name: section
    for section in (
        Section("demo", lambda sizes: (SMOLLM2.key,), _demo_generate, _demo_write),
        Section("xiong", lambda sizes: sizes.models, _xiong_generate, _xiong_write),
        Section("fusion", lambda sizes: sizes.models, _fusion_generate, _fusion_write),
        Section("routing", lambda sizes: (SMOLLM2.key,), _routing_generate, _routing_write),
        Section("decisions", lambda sizes: (), lambda server, context: None, _decisions_write),
        Section("speed", lambda sizes: sizes.models, _speed_generate, _speed_write),
    )
}


@contextmanager
def model_server(model: str, urls: dict[str, str]) -> Iterator[ServerHandle]:
    """The given server for ``model``, else a local vLLM server started for the block."""
    if model in urls:
        yield connect(urls[model], model)
        return
    print(f"starting a local vLLM server for {model}", flush=True)
    with serve(model) as handle:
        yield handle


def update_readme(summary: dict[str, str], readme: Path = README) -> None:
    """Rewrite the README's generated block with each section's line (sections not run keep theirs)."""
    text = readme.read_text(encoding="utf-8")
    start, end = MARKERS
    match = re.search(re.escape(start) + r"\n(.*?)" + re.escape(end), text, re.DOTALL)
    if match is None:
        raise SystemExit(f"{readme} has no generated block between {start} and {end}")
    lines = {m.group(1): m.group(0) for m in re.finditer(r"^- <!-- (\w+) -->.*$", match.group(1), re.MULTILINE)}
    lines |= {name: f"- <!-- {name} --> {line}" for name, line in summary.items()}
    block = "\n".join(lines[name] for name in SECTIONS if name in lines)
    readme.write_text(text[: match.start(1)] + block + "\n" + text[match.end(1) :], encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="toy sizes, embedded model only, into runs/results-quick")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"sections to run: {', '.join(SECTIONS)}")
    parser.add_argument("--runs", type=Path, help="where the runs' records go (default runs/results)")
    parser.add_argument("--docs", type=Path, help="where the documents go (default docs/results)")
    parser.add_argument("--url", action="append", default=[], help="MODEL=URL: a running server for MODEL")
    parser.add_argument("--seed", type=int, default=defaults.SEED)
    parser.add_argument(
        "--from-files", action="store_true", help="ask no model: write the documents from the runs on file"
    )
    parser.add_argument(
        "--models", help="ask only these models (comma-separated); documents still read every run on file"
    )
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        raise SystemExit(f"unknown sections {unknown}; choose from {', '.join(SECTIONS)}")
    root = Path("runs/results-quick" if args.quick else "runs/results")
    context = Context(
        runs=args.runs or root, docs=args.docs or (root / "docs" if args.quick else Path("docs/results")),
        sizes=Sizes.of(args.quick), seed=args.seed,
        command="python -m benchmarks.results " + shlex.join(argv if argv is not None else sys.argv[1:]),
    )  # fmt: skip
    urls = dict(spec.split("=", 1) for spec in args.url)
    asked = [] if args.from_files else [m for name in chosen for m in SECTIONS[name].models(context.sizes)]
    if args.models:
        allowed = {name.strip() for name in args.models.split(",")}
        if strangers := allowed - set(context.sizes.models):
            raise SystemExit(f"unknown models {sorted(strangers)}; choose from {', '.join(context.sizes.models)}")
        asked = [model for model in asked if model in allowed]
    for model in dict.fromkeys(asked):
        with model_server(model, urls) as server:
            for name in chosen:
                if model in SECTIONS[name].models(context.sizes):
                    print(f"{name}: asking {model}", flush=True)
                    SECTIONS[name].generate(server, context)
    for name in chosen:
        print(f"{name}: {SECTIONS[name].write(context)}", flush=True)
    if not args.quick:
        update_readme(context.summary)


if __name__ == "__main__":
    main()
