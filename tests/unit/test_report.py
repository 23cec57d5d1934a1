from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from sklearn.metrics import roc_auc_score

from elicit.calibration import metrics
from elicit.calibration.display.markdown import markdown_table
from elicit.calibration.display.report_files import FORMAT_VERSION, write_report
from elicit.calibration.display.sentences import verdict_sentence
from elicit.calibration.display.terminal import print_table
from elicit.calibration.report import build_report
from elicit.calibration.rows import MetricRow, comparison_rows, dataset_rows
from elicit.calibration.stats import format_interval, paired_bootstrap_difference
from elicit.calibration.verdicts import Verdict, verdicts

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RNG = np.random.default_rng(11)
N = 200
CONF = RNG.uniform(0.0, 1.0, N)
CORRECT = RNG.uniform(size=N) < CONF
SCORES = {
    "fused": CONF,
    "verbal": np.clip(np.round(0.3 * CONF + 0.7, 1), 0.0, 1.0),
    "<script>alert(1)</script>": RNG.uniform(size=N),
}


def test_rows_match_summarize_on_the_same_data() -> None:
    rows = comparison_rows(CORRECT, SCORES, n_bins=15)
    assert [row.method for row in rows] == list(SCORES)
    for row in rows:
        expected = metrics.summarize(SCORES[row.method], CORRECT, n_bins=15)
        assert row.dataset is None
        assert row.model_dump(exclude={"ci", "dataset"}) == {"method": row.method, "coverage": 1.0, **expected}
        for metric, interval in row.ci.items():
            assert interval is not None
            low, high = interval
            assert low <= high
            if metric != "ece":  # ECE is biased upward on resamples; its interval may sit above it
                assert low <= getattr(row, metric) <= high
    assert rows[0].auroc == pytest.approx(roc_auc_score(CORRECT, CONF))


def test_missing_scores_are_evaluated_on_the_scored_questions() -> None:
    partial = CONF.copy()
    partial[:50] = np.nan
    (row,) = comparison_rows(CORRECT, {"token_prob": partial})
    assert row.n == 150
    assert row.coverage == pytest.approx(0.75)
    assert row.auroc == pytest.approx(roc_auc_score(CORRECT[50:], CONF[50:]))
    assert row.accuracy == pytest.approx(CORRECT[50:].mean())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=30))
def test_n_and_coverage_count_the_present_scores(items: list[tuple[bool, bool]]) -> None:
    present = np.array([p for p, _ in items])
    correct = np.array([c for _, c in items])
    if not present.any():
        present[0] = True
    scores = np.where(present, 0.5, np.nan)
    (row,) = comparison_rows(correct, {"m": scores})
    assert row.n == present.sum()
    assert row.coverage == pytest.approx(present.sum() / present.size)


@pytest.mark.parametrize(
    ("scores", "pattern"),
    [
        ({}, "scores is empty"),
        ({"short": CONF[:10]}, r"scores\['short'\] has shape \(10,\)"),
        ({"blank": np.full(N, np.nan)}, r"scores\['blank'\] has no score"),
        ({"wide": CONF * 2.0}, r"scores\['wide'\].*outside \[0, 1\]"),
        ({"text": ["high"] * N}, r"scores\['text'\] must be numeric"),
    ],
)
def test_bad_scores_raise_naming_the_method(scores: dict, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        comparison_rows(CORRECT, scores)


def test_unknown_highlight_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"highlight .*\['nope'\]"):
        build_report(CORRECT, SCORES, title="t", highlight=["fused", "nope"])


def test_write_report_writes_json_figures_and_escaped_html(tmp_path: Path) -> None:
    # Present only where the answer is right: on its questions AUROC is undefined (None).
    only_right = np.where(CORRECT, CONF, np.nan)
    perfect = np.where(CORRECT, 0.9, 0.1)
    scores = {**SCORES, "only_right": only_right, "perfect": perfect}
    report = build_report(CORRECT, scores, title="Run <1> & co", meta={"model": "smollm2", "questions": N})
    page = write_report(tmp_path / "out", report)
    assert page == tmp_path / "out" / "report.html"

    content = json.loads((page.parent / "report.json").read_text())
    assert content["format_version"] == FORMAT_VERSION
    assert content["title"] == "Run <1> & co"
    assert content["meta"] == {"model": "smollm2", "questions": N}
    assert [row["method"] for row in content["rows"]] == list(scores)
    assert {row["method"]: row["auroc"] for row in content["rows"]}["only_right"] is None
    for name, values in scores.items():
        scored = np.count_nonzero(~np.isnan(values))
        assert sum(b["count"] for b in content["reliability_bins"][name]) == scored
        curve = content["risk_coverage"][name]
        assert curve["coverage"][-1] == pytest.approx(1.0)
        assert curve["risk"][-1] == pytest.approx(1.0 - CORRECT[~np.isnan(values)].mean())
    # No highlight: the figures show the best four by AUROC, best first.
    assert content["figures"]["methods"] == ["perfect", "fused", "verbal", "<script>alert(1)</script>"]

    text = page.read_text(encoding="utf-8")
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "Run &lt;1&gt; &amp; co" in text
    for name in ("fused", "verbal", "only_right", "perfect", "smollm2"):
        assert f">{name}<" in text
    assert "<td>–</td>" in text
    assert "<td><b>1.000</b></td>" in text  # the perfect ranking's AUROC is the column's best
    sources = re.findall(r'<img src="([^"]+)"', text)
    assert len(sources) == 3
    for source in sources:
        assert (page.parent / source).read_bytes().startswith(PNG_SIGNATURE)


def test_highlight_chooses_the_figures(tmp_path: Path) -> None:
    page = write_report(tmp_path, build_report(CORRECT, SCORES, title="t", highlight=["verbal"]))
    content = json.loads((page.parent / "report.json").read_text())
    assert content["figures"]["methods"] == ["verbal"]
    assert len(content["rows"]) == len(SCORES)


def test_print_table_shows_every_method_literally() -> None:
    console = Console(record=True, width=200)
    rows = comparison_rows(CORRECT, {"fused": CONF, "[red]odd": np.where(CORRECT, 0.9, 0.1)})
    print_table(rows, console)
    output = console.export_text()
    assert "fused" in output
    assert "[red]odd" in output
    assert f"{rows[0].auroc:.3f}" in output
    assert "52.0%" in output


def test_intervals_shrink_as_the_number_of_questions_grows() -> None:
    rng = np.random.default_rng(3)

    def width(n: int) -> float:
        correct = rng.random(n) < 0.4
        scores = np.clip(rng.normal(np.where(correct, 0.65, 0.4), 0.2), 0, 1)
        [row] = comparison_rows(correct, {"m": scores})
        interval = row.ci["auroc"]
        assert interval is not None
        low, high = interval
        return high - low

    assert width(2000) < width(200) / 2


def test_per_dataset_tables_rank_methods_within_each_dataset(tmp_path: Path) -> None:
    datasets = ["a" if i % 2 else "b" for i in range(N)]
    rows = dataset_rows(CORRECT, SCORES, datasets, ["fused", "verbal"])
    assert [(r.dataset, r.method) for r in rows] == [
        ("a", "fused"),
        ("a", "verbal"),
        ("b", "fused"),
        ("b", "verbal"),
    ]
    report = build_report(CORRECT, SCORES, title="t", strata=datasets, by_dataset_methods=["fused", "verbal"])
    assert report.by_dataset == rows
    page = write_report(tmp_path, report)
    table = page.read_text().split("<h2>Per dataset</h2>")[1]
    for dataset in ("a", "b"):
        best = max((r for r in rows if r.dataset == dataset), key=lambda r: r.auroc or 0.0)
        cell = format_interval(best.auroc, best.ci["auroc"])
        assert f"<td><b>{cell}</b></td>" in table  # the best of each dataset, not only the best overall


def test_build_report_refuses_names_it_cannot_compare() -> None:
    with pytest.raises(ValueError, match=r"verdict_pairs names methods not in scores: \['nope'\]"):
        build_report(CORRECT, SCORES, title="t", verdict_pairs=[("fused", "nope")])
    with pytest.raises(ValueError, match="by_dataset_methods needs strata"):
        build_report(CORRECT, SCORES, title="t", by_dataset_methods=["fused"])


def _row(method: str, **values: object) -> MetricRow:
    """A hand-made row: every metric given, intervals only where the test says."""
    base: dict[str, object] = {
        "method": method, "n": 10, "coverage": 1.0, "accuracy": 0.5, "ece": 0.1, "mce": 0.2, "brier": 0.2,
        "nll": 0.6, "auroc": 0.8, "auprc_pos": 0.8, "auprc_neg": 0.7, "aurc": 0.3, "prr": 0.5, "ci": {},
    }  # fmt: skip
    return MetricRow.model_validate(base | values)


def test_markdown_table_shows_intervals_bold_best_and_missing_marks() -> None:
    rows = [
        _row("a|b", ci={"auroc": (0.7, 0.9), "ece": (0.05, 0.15), "brier": (0.15, 0.25), "prr": (0.3, 0.7)}),
        _row("one class", accuracy=1.0, ece=0.3, brier=0.25, auroc=None, prr=None),
    ]
    assert markdown_table(rows) == (
        "| method | n | accuracy | ECE [95% CI] | Brier [95% CI] | AUROC [95% CI] | PRR |\n"
        "|:---|---:|---:|---:|---:|---:|---:|\n"
        "| a\\|b | 10 | 50.0% | **0.100 [0.050, 0.150]** | **0.200 [0.150, 0.250]** | **0.800 [0.700, 0.900]** "
        "| **0.500** |\n"
        "| one class | 10 | 100.0% | 0.300 | 0.250 | – | – |\n"
    )


def test_markdown_table_ranks_within_each_dataset_and_takes_columns() -> None:
    rows = [_row("m", dataset="x", brier=0.1), _row("m", dataset="y", brier=0.3), _row("k", dataset="y", brier=0.2)]
    assert markdown_table(rows, columns=[("method", "method"), ("brier", "Brier")]).splitlines()[2:] == [
        "| x | m | **0.100** |",
        "| y | m | 0.300 |",
        "| y | k | **0.200** |",
    ]
    with pytest.raises(ValueError, match=r"columns name no row field: \['ci'\]"):
        markdown_table(rows, columns=[("ci", "intervals")])


@pytest.mark.parametrize(
    ("metric", "low", "high", "word"),
    [
        ("auroc", 0.01, 0.05, "better"),
        ("auroc", -0.05, -0.01, "worse"),
        ("auroc", -0.01, 0.05, "no difference distinguishable from noise"),
        ("brier", -0.05, -0.01, "better"),
        ("brier", 0.01, 0.05, "worse"),
        ("brier", -0.01, 0.05, "no difference distinguishable from noise"),
    ],
)
def test_the_verdict_word_follows_the_interval_and_the_metric_direction(
    metric: str, low: float, high: float, word: str
) -> None:
    verdict = Verdict(method="a", rival="b", metric=metric, estimate=(low + high) / 2, low=low, high=high, n=50, seed=0)
    assert verdict.word == word
    assert verdict_sentence(verdict).endswith(f"(paired bootstrap, n=50): {word}")
    assert verdict.model_dump()["word"] == word


def test_an_undefined_verdict_says_so_and_partial_numbers_are_refused() -> None:
    verdict = Verdict(method="a", rival="b", metric="auroc", estimate=None, low=None, high=None, n=5, seed=0)
    assert verdict.word is None
    assert verdict_sentence(verdict) == "auroc: undefined on these questions"
    with pytest.raises(ValueError, match="all given or all None"):
        Verdict(method="a", rival="b", metric="auroc", estimate=0.1, low=None, high=None, n=5, seed=0)
    with pytest.raises(ValueError, match="has no direction"):
        Verdict(method="a", rival="b", metric="accuracy", estimate=0.1, low=0.0, high=0.2, n=5, seed=0)


def test_verdicts_from_scores_hold_the_paired_bootstrap_numbers() -> None:
    noise = SCORES["<script>alert(1)</script>"]
    better, _ = verdicts(CORRECT, SCORES, "fused", "<script>alert(1)</script>", seed=4)
    difference = paired_bootstrap_difference(CONF, noise, CORRECT, metric="auroc", seed=4)
    assert difference is not None
    assert (better.estimate, better.low, better.high, better.n) == (
        difference.estimate,
        difference.low,
        difference.high,
        N,
    )
    assert better.word == "better"
    worse = verdicts(CORRECT, SCORES, "<script>alert(1)</script>", "fused", metrics=("auroc",), seed=4)
    assert [verdict.word for verdict in worse] == ["worse"]
    assert verdict_sentence(better) == (
        f"fused vs <script>alert(1)</script>, AUROC difference {difference.estimate:+.3f} "
        f"[{difference.low:+.3f}, {difference.high:+.3f}] (paired bootstrap, n={N}): better"
    )
