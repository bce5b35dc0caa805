"""Tests of the sanad Python package (run by scripts/test.sh with /usr/bin/python3)."""

import json
import os
import pathlib
import shutil
import subprocess
import threading
import time

import numpy as np
import pandas as pd
import pytest

import sanad

ROOT = pathlib.Path(__file__).resolve().parents[2]
EX = ROOT / "examples"
REFS = {"mri": str(EX / "mri.csv"), "tariff": str(EX / "tariff.csv"), "ptp": str(EX / "ptp.csv")}
# The CLI whose outputs Python's must equal: $SANAD_CLI, else the one built
# beside the package (build/<config>/cli/sanad), else `sanad` on PATH.
CLI = pathlib.Path(os.environ.get("SANAD_CLI") or pathlib.Path(sanad.__file__).resolve().parents[2] / "cli" / "sanad")
if not CLI.exists() and shutil.which("sanad"):
    CLI = pathlib.Path(shutil.which("sanad"))


@pytest.fixture(scope="module")
def rules():
    return sanad.compile(EX / "outpatient.sanad", refs=REFS)


@pytest.fixture(scope="module")
def claims(rules):
    return sanad.read_ndjson(EX / "claims.ndjson", ruleset=rules)


# ---- compile ----

def test_compile_from_path_and_text_agree(rules):
    text = (EX / "outpatient.sanad").read_text(encoding="utf-8")
    again = sanad.compile(text, refs=REFS)
    assert again.rule_names == rules.rule_names
    assert rules.name == "outpatient-example"
    plan = rules.explain_plan()
    assert "gp_daily_cap" in plan
    # in an analyst's words, with the sizes of the reference data bound
    assert "  set mri: 3 members (external)\n" in plan and "  pairs ptp: 3 pairs (external)\n" in plan
    assert "then: reject, deducting 50% of the amount" in plan
    assert "is above 500_000_000" in plan and "[0 members]" not in plan


def test_compile_error_lists_every_diagnostic_with_position_and_caret():
    text = 'ruleset "bad"\nrule a\n  when amout > 100\n  reject\nrule b\n  when fund == 3\n  reject\n'
    with pytest.raises(sanad.CompileError) as err:
        sanad.compile(text)
    diags = [d for d in err.value.diagnostics if d.severity == "error"]
    assert len(diags) >= 2
    first = diags[0]
    assert first.code.startswith("E") and first.line == 3 and first.column == 8
    assert "amout" in first.message
    assert "^" in str(err.value) and "when amout > 100" in str(err.value)


REF_RULES = '''ruleset "refs"
set codes = external
table price : string -> int = external
pairs ptp = external
rule r1
  when service_code in codes and amount > price[service_code]
  reject
rule r2
  conflict pairs ptp per insured_id same day
  warn
'''


def test_refs_from_python_objects_and_dataframes():
    a = sanad.compile(REF_RULES, refs={"codes": ["A", "B"], "price": {"A": 10, "B": 20}, "ptp": [("A", "B")]})
    b = sanad.compile(REF_RULES, refs={"codes": pd.DataFrame({"c": ["A", "B"]}),
                                        "price": pd.DataFrame({"k": ["A", "B"], "v": [10, 20]}),
                                        "ptp": pd.DataFrame({"x": ["A"], "y": ["B"]})})
    df = pd.DataFrame({"claim_id": ["1", "2"], "insured_id": ["I", "I"], "fund": ["f", "f"], "provider_id": ["P", "P"],
                       "provider_sector": ["public"] * 2, "service_code": ["A", "B"],
                       "service_date": ["2025-01-01", "2025-01-01"], "amount": [50, 5]})
    va, vb = a.evaluate(df).verdicts, b.evaluate(df).verdicts
    assert list(va["status"].astype(str)) == ["rejected", "warned"]
    pd.testing.assert_frame_equal(va, vb)


def test_refs_of_the_wrong_shape_or_type_are_refused():
    with pytest.raises(KeyError):
        sanad.compile(REF_RULES, refs={"nope": []})
    with pytest.raises(TypeError):
        sanad.compile(REF_RULES, refs={"price": ["A", "B"]})
    with pytest.raises(TypeError):
        sanad.compile(REF_RULES, refs={"ptp": [("A", "B", "C")]})
    with pytest.raises(ValueError):
        sanad.compile(REF_RULES, refs={"price": {"A": "ten"}})
    rs = sanad.compile(REF_RULES, refs={"codes": ["A"]})
    with pytest.raises(ValueError, match="price"):
        rs.evaluate(pd.DataFrame({"claim_id": ["1"]}))


# ---- data in ----

def test_read_csv_and_from_pandas_and_from_arrays_equal_ndjson(rules, claims, tmp_path):
    df = claims.to_pandas()
    assert len(df) == len(claims) == 21
    csv = tmp_path / "claims.csv"
    out = df.copy()
    out["service_date"] = out["service_date"].dt.strftime("%Y-%m-%d")
    out["referral"] = out["referral"].map({True: "true", False: "false"})
    out.to_csv(csv, index=False)
    base = rules.evaluate(claims).verdicts
    for other in (sanad.read_csv(csv, ruleset=rules), sanad.Claims.from_pandas(df, ruleset=rules),
                  sanad.Claims.from_arrays({c: df[c].to_numpy() for c in df.columns}, ruleset=rules)):
        v = rules.evaluate(other).verdicts
        assert list(v["status"]) == list(base["status"])
        assert list(v["deduction"]) == list(base["deduction"])


def test_bad_records_fail_or_are_listed_with_line_field_message(tmp_path, rules):
    p = tmp_path / "bad.ndjson"
    good = {"claim_id": "A", "insured_id": "I", "fund": "f", "provider_id": "P", "provider_sector": "public",
            "service_code": "X", "service_date": "2025-01-01", "amount": 5}
    lines = [json.dumps(good), json.dumps({**good, "claim_id": "B", "service_date": "2023-02-30"}), "{oops",
             json.dumps({**good, "claim_id": "C", "amount": -5})]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        sanad.read_ndjson(p)
    c = sanad.read_ndjson(p, on_error="skip")
    assert len(c) == 1 and c.records_read == 4
    e = c.errors
    assert list(e["line"]) == [2, 3, 4]
    assert e["field"].iloc[0] == "service_date" and e["field"].iloc[2] == "amount"
    df = pd.DataFrame({"claim_id": ["A", "B"], "insured_id": ["I", None], "fund": ["f", "f"], "provider_id": ["P", "P"],
                       "provider_sector": ["public"] * 2, "service_code": ["X", "X"],
                       "service_date": ["2025-01-01", "2025-01-01"], "amount": [5, 5]})
    c = sanad.Claims.from_pandas(df, on_error="skip")
    assert len(c) == 1 and list(c.errors["field"]) == ["insured_id"]
    with pytest.raises(TypeError, match="amount"):
        sanad.Claims.from_pandas(df.assign(amount=["5", "5"]))
    with pytest.raises(ValueError, match="service_date"):
        sanad.Claims.from_pandas(df.assign(service_date=["2025-01-01", "2025-02-30"]))


# ---- results ----

def test_results_equal_the_cli_byte_for_byte(rules, claims, tmp_path):
    assert CLI.exists(), CLI
    cli_v, cli_h = tmp_path / "cli_v.csv", tmp_path / "cli_h.csv"
    refs = sum((["--ref", f"{k}={v}"] for k, v in REFS.items()), [])
    subprocess.run([str(CLI), "check", str(EX / "outpatient.sanad"), str(EX / "claims.ndjson"), *refs,
                    "--verdicts", str(cli_v), "--hits", str(cli_h)], check=True, capture_output=True)
    result = rules.evaluate(claims)
    py_v, py_h = tmp_path / "py_v.csv", tmp_path / "py_h.csv"
    result.write(verdicts=str(py_v), hits=str(py_h))
    assert py_v.read_bytes() == cli_v.read_bytes()
    assert py_h.read_bytes() == cli_h.read_bytes()
    # The DataFrames carry the same values as the CLI's files.
    cv = pd.read_csv(cli_v, keep_default_na=False)
    v = result.verdicts
    assert list(v["claim_id"].astype(str)) == list(cv["claim_id"].astype(str))
    assert list(v["status"].astype(str)) == list(cv["status"])
    assert list(v["deduction"]) == list(cv["deduction"])
    assert list(v["payable"]) == list(cv["payable"])
    assert list(v["rules"].astype(str)) == list(cv["rules"].astype(str))
    assert list(v["primary_rule"].astype(object).fillna("")) == list(cv["primary_rule"].astype(str))
    assert len(result.hits) == len(pd.read_csv(cli_h))
    assert result.totals["lines"] == 21 and result.totals["deduction"] == int(v["deduction"].sum())
    assert int(result.summary["hits"].sum()) == len(result.hits)
    assert result.provider_summary["lines"].sum() == 21


def test_hits_carry_limit_and_other_line_evidence(rules, claims):
    h = rules.evaluate(claims).hits
    limit = h[h["rule"] == "annual_ceiling"].iloc[0]
    assert limit["total"] > limit["cap"]
    other = h[h["rule"] == "injection_after_visit"].iloc[0]
    assert other["other_claim_id"] == "RX-1002" and other["other_line_no"] == 1


def test_explain_gives_each_rules_decision(rules, claims):
    r = rules.evaluate(claims)
    e = r.explain("RX-1002", 2)
    assert list(e["rule"]) == rules.rule_names
    row = e.set_index("rule")
    assert row.loc["injection_after_visit", "decision"] == "hit"
    assert row.loc["injection_after_visit", "other_claim_id"] == "RX-1002"
    assert set(e["decision"]) <= {"hit", "pass", "not in population", "hidden"}
    with pytest.raises(KeyError):
        r.explain("nope", 1)


def test_evaluate_releases_the_gil(tmp_path):
    # A larger generated batch so evaluation takes a while.
    subprocess.run([str(CLI), "gen", "--lines", "300000", "--seed", "3", "--format", "ndjson", "--out", str(tmp_path)],
                   check=True, capture_output=True)
    refs = {k: str(tmp_path / f"{k}.csv") for k in ("mri", "tariff", "ptp")}
    rs = sanad.compile(EX / "outpatient.sanad", refs=refs)
    big = sanad.read_ndjson(tmp_path / "claims.ndjson", ruleset=rs)
    spans, results = [], []

    def run():
        t0 = time.perf_counter()
        results.append(rs.evaluate(big, threads=1))
        spans.append((t0, time.perf_counter()))

    ticks = 0
    th = [threading.Thread(target=run) for _ in range(2)]
    for t in th:
        t.start()
    while any(t.is_alive() for t in th):
        ticks += 1  # the main thread keeps running Python while both evaluate
    for t in th:
        t.join()
    (a0, a1), (b0, b1) = spans
    assert max(a0, b0) < min(a1, b1), "the two evaluations did not overlap"
    assert ticks > 1000
    assert list(results[0].verdicts["deduction"]) == list(results[1].verdicts["deduction"])
    # Large buffers (4 MiB and more: here the results' hit arrays) stay
    # cached for the next run once freed, until released.
    results.clear()
    assert sanad.release_cached_memory() > 0
    assert sanad.release_cached_memory() == 0


# ---- compare ----

def test_compare_lowering_a_cap_lists_the_lines_rules_and_providers(rules, claims):
    # Lower the monthly visit cap and make it reject with the excess deducted.
    text = (EX / "outpatient.sanad").read_text(encoding="utf-8")
    lower = text.replace("limit count per insured_id per month <= 6\n  warn", "limit count per insured_id per month <= 1\n  reject")
    assert lower != text
    new = sanad.compile(lower, refs=REFS)
    diff = sanad.compare(rules, new, claims)
    assert len(diff.lines) >= 1
    assert (diff.lines["new_deduction"] >= diff.lines["old_deduction"]).all()
    assert set(diff.lines["new_status"]) == {"rejected"}
    row = diff.by_rule.set_index("rule").loc["insured_monthly_visits"]
    assert row["hits_delta"] >= 1 and row["deduction_delta"] > 0
    assert diff.by_provider["deduction_delta"].sum() == diff.totals["deduction_delta"]
    # line-level attribution sums to the total change; the chart draws it
    assert diff.attribution["deduction_delta"].sum() == diff.totals["deduction_delta"]
    assert set(diff.attribution["rule"]) <= set(diff.lines["attributed_to"])
    ax = diff.plot()
    assert len(ax.patches) == len(diff.attribution)
    assert diff.labels == ("outpatient-example (old)", "outpatient-example (new)")
    html = diff.to_html()
    assert html.startswith("<!DOCTYPE html>") and "data:image/png;base64," in html and "insured_monthly_visits" in html
    assert "outpatient-example (old) &rarr; outpatient-example (new)" in html
    assert "<span class='del'>-  limit count per insured_id per month &lt;= 6</span>" in html  # the rule-text diff
    assert "gp_daily_cap" not in html.split("<h2>Rules that changed</h2>")[1].split("<h2>")[0]  # only changed rules
    assert f"{diff.totals['deduction_delta']:+,}" in html  # money with digit groups
    assert "lines change" in diff._repr_html_() and "sanad.Result" in rules.evaluate(claims)._repr_html_()


def test_compare_of_identical_rule_sets_says_so(rules, claims):
    same = sanad.compare(rules, rules, claims, labels=("March", "March again"))
    assert same.identical and len(same.lines) == 0 and same.attribution.empty
    assert "identical" in repr(same) and "identical" in same.to_html() and "March again" in same.to_html()


def test_compile_error_has_a_notebook_display():
    with pytest.raises(sanad.CompileError) as e:
        sanad.compile("rule r when amout > 1 reject")
    assert "E0301" in e.value._repr_html_() and e.value._repr_html_().startswith("<pre")


# ---- online ----

def visit(cid, insured="I1", provider="P1", day="2025-05-01", code="V1"):
    return {"claim_id": cid, "insured_id": insured, "fund": "rural", "provider_id": provider, "provider_sector": "public",
            "service_date": day, "service_code": code, "amount": 100}


def test_engine_check_commit_retract_snapshot_restore_reconcile(tmp_path):
    rs = sanad.compile('ruleset "cap"\nrule cap\n  limit count per provider_id per day <= 2\n  reject\n')
    eng = sanad.Engine(rs)
    assert eng.check(visit("A"))[0]["status"] == "accepted"
    assert eng.memory()["history_lines"] == 0
    for cid in "ABC":
        last = eng.check_and_commit(visit(cid, insured=cid))
    assert last[0]["status"] == "rejected" and last[0]["hits"][0]["total"] == 3 and last[0]["seq"] == 3
    with pytest.raises(ValueError, match="already in history"):
        eng.check_and_commit(visit("A"))
    eng.retract("B")
    with pytest.raises(KeyError):
        eng.retract("B")
    snap = tmp_path / "s.snap"
    eng.snapshot(snap)
    other = sanad.Engine(rs)
    other.restore(snap)
    assert other.check(visit("D"))[0]["status"] == eng.check(visit("D"))[0]["status"] == "rejected"
    snap.write_bytes(snap.read_bytes()[:-3])
    with pytest.raises(ValueError, match="truncated"):
        other.restore(snap)
    # C was rejected online; without B the batch accepts it.
    batch = sanad.Claims.from_pandas(pd.DataFrame([visit("A", insured="A"), visit("C", insured="C")]), ruleset=rs)
    rec = eng.reconcile(batch)
    assert list(rec["claim_id"]) == ["C"] and rec["online_status"][0] == "rejected" and rec["batch_status"][0] == "accepted"
    eng.set_key_budget(eng.memory()["keys"])
    with pytest.raises(ValueError, match="budget"):
        eng.check_and_commit(visit("N", provider="P-new"))
    eng.set_key_budget(0)
    with pytest.raises(ValueError, match="compaction horizon"):
        eng.compact("2025-06-01")
        eng.check_and_commit(visit("E", day="2025-05-02"))


def test_public_objects_have_help():
    for obj in (sanad, sanad.compile, sanad.read_ndjson, sanad.read_csv, sanad.compare, sanad.RuleSet.evaluate,
                sanad.Claims.from_pandas, sanad.Result.explain, sanad.Result.verdicts, sanad.Comparison.to_html,
                sanad.Engine.check_and_commit, sanad.CompileError, sanad.release_cached_memory):
        assert obj.__doc__ and len(obj.__doc__.strip()) > 20, obj
    assert (pathlib.Path(sanad.__file__).parent / "__init__.pyi").exists()


# ---- reliability (issue: defect classes found by an adversarial run) ----

CSV_HEADER = "claim_id,insured_id,fund,provider_id,provider_sector,service_code,service_date,amount,diagnosis\n"


def _random_csv(rng, rows):
    """CSV text with quoted multi-line cells, "" escapes and literal quotes
    inside unquoted cells, CRLF and LF line ends (all valid CSV)."""
    def cell(plain):
        k = rng.integers(0, 8)
        if k == 0:
            return '"' + plain + '\nx""y"'
        if k == 1:
            return plain + '"q'            # a quote inside an unquoted cell is a literal
        if k == 2:
            return '"' + plain + ',\r\n"'
        if k == 3:
            return '5" ' + plain
        return plain
    out = [CSV_HEADER]
    for r in range(rows):
        out.append(",".join([cell(f"C{r}"), "I1", "rural", "P1", "private", "X", "2024-03-20", str(r), cell(f"D{r}")]))
        out.append("\r\n" if rng.integers(0, 3) == 0 else "\n")
    return "".join(out)


def test_csv_loads_like_pythons_csv_module_for_any_thread_count(tmp_path):
    import csv
    rng = np.random.default_rng(20261201)
    text = _random_csv(rng, 60000)  # several MB: split into parallel chunks
    p = tmp_path / "claims.csv"
    p.write_bytes(text.encode("utf-8"))
    with open(p, newline="", encoding="utf-8") as f:
        want = list(csv.DictReader(f))
    for threads in (1, 2, 4):
        got = sanad.read_csv(p, threads=threads).to_pandas()
        assert len(got) == len(want), threads
        assert list(got["claim_id"].astype(str)) == [w["claim_id"] for w in want], threads
        assert list(got["diagnosis"].astype(str)) == [w["diagnosis"] for w in want], threads


def _frame(**over):
    df = pd.DataFrame({"claim_id": ["A", "B", "C"], "insured_id": ["I"] * 3, "fund": ["f"] * 3, "provider_id": ["P"] * 3,
                       "provider_sector": ["public"] * 3, "service_code": ["X"] * 3,
                       "service_date": ["2025-01-01"] * 3, "amount": [5, 6, 7]})
    for k, v in over.items():
        df[k] = v
    return df


def test_pandas_conversions_are_exact_or_refused_like_file_records():
    cases = {
        "amount": (pd.Series([5.0, 1e19, 2.5]), {2: "integer out of the 64-bit range",
                                                3: "expected an integer, got a number with a fraction or exponent"}),
        "age": (pd.Series([1, 2 ** 64 - 1, 3], dtype=np.uint64), {2: "integer out of the 64-bit range"}),
        "quantity": (pd.Series([1, 10 ** 30, None], dtype=object), {2: "integer out of the 64-bit range"}),
        "service_date": (pd.Series(["2025-01-01", "2025-02-30", " 2025-03-01 "]),
                         {2: "invalid date '2025-02-30' (expected YYYY-MM-DD)"}),
    }
    for field, (values, errors) in cases.items():
        with pytest.raises(ValueError, match=rf"\(line {min(errors)}\): field '{field}'"):
            sanad.Claims.from_pandas(_frame(**{field: values}))
        c = sanad.Claims.from_pandas(_frame(**{field: values}), on_error="skip")
        e = c.errors
        assert dict(zip(e["line"], e["message"])) == errors, field
        assert set(e["field"]) == {field}
        assert len(c) == 3 - len(errors) and c.records_read == 3
    # Exact where exact is possible: 2**63 - 1 from Python ints, -2**63 from floats.
    c = sanad.Claims.from_pandas(_frame(age=pd.Series([2 ** 63 - 1, -(2 ** 63), 0], dtype=object)))
    assert list(c.to_pandas()["age"]) == [2 ** 63 - 1, -(2 ** 63), 0]
    c = sanad.Claims.from_pandas(_frame(age=pd.Series([-(2.0 ** 63), 3.0, np.nan])))
    assert list(c.to_pandas()["age"].astype(object).where(lambda s: s.notna(), None)) == [-(2 ** 63), 3, None]


def test_pandas_dates_keep_their_own_calendar_date_and_the_file_range():
    tehran = pd.Series(pd.to_datetime(["2025-03-21 01:30", "2025-03-20 23:30", "2025-03-20 00:00"])).dt.tz_localize("Asia/Tehran")
    c = sanad.Claims.from_pandas(_frame(service_date=tehran))
    got = [str(d.date()) for d in c.to_pandas()["service_date"]]
    assert got == ["2025-03-21", "2025-03-20", "2025-03-20"]  # the wall date, not the UTC date
    import datetime
    far = pd.Series(["0001-01-01", datetime.date(9999, 12, 31), "1900-02-28"], dtype=object)
    c = sanad.Claims.from_pandas(_frame(service_date=far))
    assert len(c) == 3
    f = c._core.columns()["service_date"][1]
    assert list(f) == [(datetime.date(1, 1, 1) - datetime.date(1970, 1, 1)).days,
                       (datetime.date(9999, 12, 31) - datetime.date(1970, 1, 1)).days,
                       (datetime.date(1900, 2, 28) - datetime.date(1970, 1, 1)).days]
    with pytest.raises(TypeError, match="service_date.*dates"):
        sanad.Claims.from_pandas(_frame(service_date=[20250101, 20250102, 20250103]))


def test_compile_of_a_missing_path_says_so():
    with pytest.raises(FileNotFoundError, match="missing/path.sanad"):
        sanad.compile("missing/path.sanad")


def test_rules_file_with_a_byte_order_mark_compiles(tmp_path):
    p = tmp_path / "bom.sanad"
    p.write_bytes(b"\xef\xbb\xbf" + (EX / "outpatient.sanad").read_bytes())
    assert sanad.compile(p, refs=REFS).rule_names == sanad.compile(EX / "outpatient.sanad", refs=REFS).rule_names
    assert subprocess.run([str(CLI), "lint", str(p)], capture_output=True).returncode == 0


def test_ndjson_from_a_fifo(tmp_path, rules):
    fifo = tmp_path / "claims.ndjson"
    os.mkfifo(fifo)
    data = (EX / "claims.ndjson").read_bytes()
    writer = threading.Thread(target=lambda: fifo.write_bytes(data))
    writer.start()
    c = sanad.read_ndjson(fifo, ruleset=rules)
    writer.join()
    assert len(c) == len(sanad.read_ndjson(EX / "claims.ndjson", ruleset=rules))


NASTY_IDS = ["a,b", 'q"uote', "new\nline", "cr\rx", "", " spaced ", "فارسی,中文", "tab\tx", "ctl\x01x",
             "line_no=1;claim_id=Z", "\\back"]


def test_outputs_are_unambiguous_for_any_string_value(tmp_path):
    import csv
    rs = sanad.compile('ruleset "n"\nrule again\n  repeat per insured_id within 30 days\n  warn\n')
    n = len(NASTY_IDS)
    df = pd.DataFrame({"claim_id": NASTY_IDS, "insured_id": ["I"] * n, "fund": ["f"] * n, "provider_id": ["P"] * n,
                       "provider_sector": ["s"] * n, "service_code": ["X"] * n,
                       "service_date": [f"2025-01-{d + 1:02d}" for d in range(n)], "amount": [10] * n})
    res = rs.evaluate(df)
    for ext in ("csv", "ndjson"):
        v, h = tmp_path / f"v.{ext}", tmp_path / f"h.{ext}"
        res.write(verdicts=str(v), hits=str(h))
        if ext == "csv":
            with open(v, newline="", encoding="utf-8") as f:
                ids = [r["claim_id"] for r in csv.DictReader(f)]
            with open(h, newline="", encoding="utf-8") as f:
                hits = list(csv.DictReader(f))
            others = [r["evidence"].split(";claim_id=", 1)[1] for r in hits]
            assert [r["evidence"].split(";", 1)[0] for r in hits] == ["line_no=1"] * (n - 1)
        else:
            ids = [json.loads(x)["claim_id"] for x in v.read_text(encoding="utf-8").splitlines()]
            hits = [json.loads(x) for x in h.read_text(encoding="utf-8").splitlines()]
            others = [x["evidence"]["claim_id"] for x in hits]
        assert ids == NASTY_IDS, ext
        assert [r["claim_id"] for r in hits] == NASTY_IDS[1:], ext
        assert others == NASTY_IDS[:-1], ext


def test_reason_codes_in_verdicts_hits_summary_and_compare(claims):
    text = (EX / "outpatient.sanad").read_text(encoding="utf-8")
    coded = text.replace('rule over_tariff "Claimed above tariff"', 'rule over_tariff "Claimed above tariff" code "K-203"')
    coded = coded.replace('rule unbundling "National edit pairs, same provider, same day"',
                          'rule unbundling "National edit pairs, same provider, same day" code "K-203"')
    assert coded != text
    rs = sanad.compile(coded, refs=REFS)
    assert rs.rule_codes.count("K-203") == 2 and "gp_daily_cap" in rs.rule_codes
    res = rs.evaluate(sanad.read_ndjson(EX / "claims.ndjson", ruleset=rs))
    v, h, c = res.verdicts, res.hits, res.by_code
    assert list(v.columns) == ["claim_id", "line_no", "status", "deduction", "payable", "primary_rule", "primary_code", "rules",
                               "amount", "provider_id"]
    has_primary = v["primary_rule"].notna()
    assert (v.loc[has_primary, "primary_code"].astype(str) ==
            v.loc[has_primary, "primary_rule"].astype(str).map(dict(zip(rs.rule_names, rs.rule_codes)))).all()
    assert v.loc[~has_primary, "primary_code"].isna().all()
    k = c.set_index("code")
    hits_k = h[h["code"] == "K-203"]
    assert k.loc["K-203", "hits"] == len(hits_k) == (h["rule"].isin(["over_tariff", "unbundling"])).sum()
    assert k.loc["K-203", "deduction"] == hits_k["deduction"].sum()
    assert k.loc["K-203", "primary_lines"] == (v["primary_code"] == "K-203").sum()
    assert sum(int(x) for x in c["primary_deduction"]) == res.totals["deduction"]
    base = sanad.compile(text, refs=REFS)
    diff = sanad.compare(base, rs, sanad.read_ndjson(EX / "claims.ndjson", ruleset=rs))
    assert set(diff.by_code["code"]) >= {"K-203", "over_tariff", "unbundling"}
    assert diff.totals["lines_changed"] == 0  # codes change no verdict


def test_string_columns_refuse_non_strings_per_row_and_numeric_columns_with_the_fix():
    c = sanad.Claims.from_pandas(_frame(fund=pd.Series(["f", 7, "f"], dtype=object)), on_error="skip")
    e = c.errors
    assert list(e["line"]) == [2] and list(e["field"]) == ["fund"]
    assert e["message"].iloc[0] == "expected a string, got int '7'"
    assert len(c) == 2
    with pytest.raises(ValueError, match=r"row 1 \(line 2\): field 'fund': expected a string"):
        sanad.Claims.from_pandas(_frame(fund=pd.Series(["f", 7, "f"], dtype=object)))
    with pytest.raises(TypeError, match="dtype=str"):
        sanad.Claims.from_pandas(_frame(claim_id=[1, 2, 3]))


def test_dated_refs_from_dataframes_and_tuples_equal_the_csv_files():
    """LANGUAGE.md §2.1: dated objects from pandas (valid_from/valid_to by
    name, Timestamps, NaT or None for open-ended, bool bypass) or tuples bind
    to exactly what the CSV files bind: same fingerprint, same verdicts."""
    d = EX / "dated"
    files = {n: str(d / f"{n}.csv") for n in ("tariff", "enrolled", "fund_of", "ptp")}
    from_files = sanad.compile(d / "outpatient-1404.sanad", refs=files)

    def frame(name, cols):
        return pd.read_csv(files[name], header=None, names=cols, dtype=str, keep_default_na=False)

    tariff = frame("tariff", ["code", "price", "valid_from", "valid_to"])
    tariff = tariff[["valid_to", "code", "valid_from", "price"]]  # columns by name, in any order
    tariff["valid_from"] = pd.to_datetime(tariff["valid_from"])
    tariff["valid_to"] = pd.to_datetime(tariff["valid_to"].replace("", None))  # NaT: open-ended
    enrolled = [tuple(x if x else None for x in row) for row in frame("enrolled", ["id", "from", "to"]).itertuples(index=False)]
    ptp = frame("ptp", ["a", "b", "valid_from", "valid_to", "bypass"])
    ptp["bypass"] = ptp["bypass"] == "1"
    mem = sanad.compile(d / "outpatient-1404.sanad",
                        refs={"tariff": tariff, "enrolled": enrolled, "fund_of": frame("fund_of", ["i", "f", "a", "b"]), "ptp": ptp})
    assert mem.fingerprint == from_files.fingerprint
    claims = sanad.read_ndjson(d / "claims.ndjson", ruleset=mem)
    got = mem.evaluate(claims).verdicts
    want = pd.read_csv(d / "expected" / "verdicts.csv", dtype=str, keep_default_na=False)
    assert list(got["status"].astype(str)) == list(want["status"])
    assert list(got["deduction"]) == [int(x) for x in want["deduction"]]
    assert list(got["primary_code"].astype(str).replace("nan", "")) == list(want["primary_code"])

    # Overlapping periods name both entries; a dated object needs its period columns.
    bad = tariff.copy()
    bad.loc[1, "valid_from"] = pd.Timestamp("2025-03-20")
    with pytest.raises(ValueError, match=r"key '970000' is in force \[2025-03-20, open\] here and \[2024-03-20, 2025-03-20\] at line 1"):
        sanad.compile(d / "outpatient-1404.sanad", refs={"tariff": bad})
    with pytest.raises(TypeError, match="a dated table needs a DataFrame of columns"):
        sanad.compile(d / "outpatient-1404.sanad", refs={"tariff": pd.DataFrame({"code": ["A"], "price": [1]})})
    with pytest.raises(TypeError, match="a dated set takes a DataFrame or a list of tuples"):
        sanad.compile(d / "outpatient-1404.sanad", refs={"enrolled": {"0012345678": 1}})


def test_settlement_and_balances_equal_the_cli_and_pandas_input(tmp_path):
    """SETTLEMENT.md §4 from Python: result.settlement equals the CLI's
    settlement file byte for byte (via write) and the checked example;
    patient_paid from a DataFrame settles like the NDJSON; balances is the
    refund / top-up list."""
    d = EX / "settlement"
    rs = sanad.compile(d / "village-clinic.sanad")
    claims = sanad.read_ndjson(d / "claims.ndjson", ruleset=rs)
    res = rs.evaluate(claims)
    out = tmp_path / "settlement.csv"
    res.write(settlement=str(out))
    assert out.read_bytes() == (d / "expected" / "settlement.csv").read_bytes()
    st = res.settlement
    assert list(st.columns) == ["claim_id", "line_no", "allowed", "basic", "critical_illness", "assistance", "patient",
                                "patient_paid", "balance"]
    assert (st["allowed"] == st["basic"] + st["critical_illness"] + st["assistance"] + st["patient"]).all()
    assert st["balance"].isna().sum() == 2 and str(st["balance"].dtype) == "Int64"
    bal = res.balances.set_index("insured_id")
    assert bal.loc["0011", "balance"] == -280000 and bal.loc["0022", "balance"] == 7060000
    assert res.payer_totals["paid"].tolist() == [48750000, 2280000, 4000000]

    # The same claims flattened into a DataFrame (patient_paid nullable).
    flat = pd.read_csv(d / "expected" / "verdicts.csv", dtype=str)[["claim_id", "line_no"]]
    rows = []
    for rec in map(json.loads, (d / "claims.ndjson").read_text().splitlines()):
        items = rec.pop("lines", None) or [{}]
        for it in items:
            rows.append({**rec, **it})
    df = pd.DataFrame(rows)
    df["patient_paid"] = df["patient_paid"].astype("Int64")
    res2 = rs.evaluate(sanad.Claims.from_pandas(df, ruleset=rs))
    assert res2.settlement.drop(columns="claim_id").equals(st.drop(columns="claim_id"))
    assert len(flat) == len(st)

    # A rule set without payers has no settlement.
    plain = sanad.compile(EX / "outpatient.sanad", refs=REFS)
    with pytest.raises(ValueError, match="declares no payers"):
        plain.evaluate(sanad.read_ndjson(EX / "claims.ndjson", ruleset=plain)).settlement


def test_engine_returns_each_lines_settlement_and_reconciles_it():
    """SETTLEMENT.md §5 from Python: check/check_and_commit give each line's
    pay per payer and the patient share; claims in date order settle exactly
    as the batch (reconcile is empty)."""
    d = EX / "settlement"
    rs = sanad.compile(d / "village-clinic.sanad")
    assert rs.payer_names == ["basic", "critical_illness", "assistance"]
    engine = sanad.Engine(rs)
    claims = [json.loads(x) for x in (d / "claims.ndjson").read_text().splitlines()]
    got = []
    for c in sorted(claims, key=lambda c: c["service_date"]):
        got += engine.check_and_commit(c)
    want = pd.read_csv(d / "expected" / "settlement.csv", dtype={"claim_id": str})
    by_line = {(l["claim_id"], l["line_no"]): l for l in got}
    for row in want.itertuples(index=False):
        line = by_line[(row.claim_id, row.line_no)]
        assert line["settlement"] == {"basic": row.basic, "critical_illness": row.critical_illness, "assistance": row.assistance}
        assert line["patient"] == row.patient
    batch = sanad.read_ndjson(d / "claims.ndjson", ruleset=rs)
    assert engine.reconcile(batch).empty


def test_compare_reports_what_raising_the_deductible_does_to_each_payer():
    """compare() by payer: raising basic's deductible shifts money from basic
    to the next payers and the patients; totals balance."""
    d = EX / "settlement"
    text = (d / "village-clinic.sanad").read_text()
    old = sanad.compile(text)
    new = sanad.compile(text.replace('"rural": 500_000', '"rural": 2_000_000'))
    claims = sanad.read_ndjson(d / "claims.ndjson", ruleset=old)
    c = sanad.compare(old, new, claims)
    bp = c.by_payer.set_index("payer")
    assert list(bp.index) == ["basic", "critical_illness", "assistance", "patient"]
    assert bp.loc["basic", "paid_delta"] < 0  # basic pays less...
    assert bp.loc["basic", "deductible_delta"] > 0
    assert bp["paid_delta"].sum() == 0  # ...and what it no longer pays moves to the others
    assert c.totals["deduction_delta"] == 0  # the verdicts do not change


def test_explain_settlement_shows_each_payers_step():
    """explain_settlement: the deductible used before and taken, the band
    split of the running total, the ceiling room, the pay (SETTLEMENT.md §2;
    line V-102 of examples/settlement, computed by hand in its README)."""
    d = EX / "settlement"
    rs = sanad.compile(d / "village-clinic.sanad")
    res = rs.evaluate(sanad.read_ndjson(d / "claims.ndjson", ruleset=rs))
    e = res.explain_settlement("V-102").set_index("payer")
    basic = e.loc["basic"]
    assert basic["deductible_used_before"] == 500000 and basic["deductible_taken"] == 0
    assert basic["eligible_total_before"] == 9500000
    assert [(b["percent"], b["amount"]) for b in basic["bands"]] == [(50.0, 10500000), (70.0, 19500000), (85.0, 0)]
    assert basic["pay"] == 18900000 and basic["ceiling_left"] == 300000000 - 4750000
    crit = e.loc["critical_illness"]
    assert crit["base"] == 11100000 and crit["deductible_taken"] == 9750000 and crit["pay"] == 810000
    assert e.loc["assistance", "covered"] == 2000000 and e.loc["assistance", "left_after"] == 8290000
    assert str(e["pay"].dtype) == "Int64"


def test_pandas_results_keep_the_frames_index_and_errors_name_its_labels():
    """A frame indexed by the analyst's own labels: verdicts and settlement
    rows carry them, refused rows are named by label (skip and fail)."""
    df = pd.DataFrame({"claim_id": ["A", "B", "C"], "insured_id": ["1", "1", "2"], "fund": ["f", "f", "f"],
                       "provider_id": ["P", "P", "P"], "provider_sector": ["public"] * 3,
                       "service_code": ["X", "X", "X"], "service_date": ["2025-01-01", "2025-02-30", "2025-01-02"],
                       "amount": [5, 6, 7]}, index=pd.Index(["r10", "r20", "r30"], name="row"))
    rs = sanad.compile('rule big when amount > 6 warn\npayer basic covers 50%')
    c = sanad.Claims.from_pandas(df, ruleset=rs, on_error="skip")
    assert list(c.errors["index"]) == ["r20"] and list(c.errors["line"]) == [2]
    res = rs.evaluate(c)
    assert list(res.verdicts.index) == ["r10", "r30"] and list(res.verdicts["status"].astype(str)) == ["accepted", "warned"]
    assert list(res.settlement.index) == ["r10", "r30"]
    with pytest.raises(ValueError, match=r"row 'r20' \(line 2\): field 'service_date'"):
        sanad.Claims.from_pandas(df, ruleset=rs)


def test_summaries_have_numeric_dtypes_and_explain_gives_ints(rules, claims):
    res = rules.evaluate(claims)
    for frame, cols in ((res.summary, ["population", "hits", "deduction"]),
                        (res.by_code, ["hits", "deduction", "primary_lines", "primary_deduction"])):
        for col in cols:
            assert pd.api.types.is_integer_dtype(frame[col]), (col, frame[col].dtype)
    e = res.explain("RX-1002", 2)
    for col in ("stage", "deduction", "total", "cap", "other_line_no"):
        assert str(e[col].dtype) == "Int64", (col, e[col].dtype)


def test_ctrl_c_during_read_or_evaluate_raises_keyboard_interrupt_and_leaves_nothing_broken(tmp_path):
    """SIGINT while the engine works without the GIL stops it (the loaders
    and the evaluator poll a stop flag) and raises KeyboardInterrupt; the
    next calls work as before."""
    import signal
    subprocess.run([str(CLI), "gen", "--lines", "300000", "--out", str(tmp_path), "--seed", "5"], check=True,
                   capture_output=True)
    refs = {k: str(tmp_path / f"{k}.csv") for k in ("mri", "tariff", "ptp")}
    rules = sanad.compile(EX / "outpatient.sanad", refs=refs)
    claims = sanad.read_ndjson(tmp_path / "claims.ndjson", ruleset=rules)
    expected = rules.evaluate(claims).verdicts
    for work in (lambda: sanad.read_ndjson(tmp_path / "claims.ndjson", ruleset=rules), lambda: rules.evaluate(claims)):
        timer = threading.Timer(0.02, lambda: os.kill(os.getpid(), signal.SIGINT))
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            work()
            time.sleep(5)  # the signal is due long before: fail rather than hang if it was lost
        timer.join()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Python's handler is back
    pd.testing.assert_frame_equal(rules.evaluate(claims).verdicts, expected)
