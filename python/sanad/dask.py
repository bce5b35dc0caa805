"""Distributed batch adjudication on Dask, equal line for line to one machine.

    import dask.dataframe as dd, sanad, sanad.dask
    from distributed import Client
    client = Client("scheduler:8786")          # or a LocalCluster
    rules = sanad.compile("rules.sanad", refs={...})
    lines = sanad.dask.read_csv("claims-*.csv", rules)   # or any Dask DataFrame of claim lines
    result = sanad.dask.evaluate(rules, lines)
    result.verdicts.to_csv("out/verdicts-*.csv")       # Dask DataFrames, input order
    result.summary()                                   # pandas, as sanad.Result.summary

How (docs/DISTRIBUTED.md says more). A rule keyed ``per insured_id, ...``
is exact on a partition holding every line of each insured; a
``per provider_id per day`` cap needs every line of each provider. So the
plan is read for every rule's keys and stage, and each stage's stateful
rules are split into key classes: a field shared by the keys of every rule
of the class (greedily, the field most of the stage's unassigned rules
share). Per stage, the lines still visible are shuffled once per class by
that field, and every partition runs that class's rules with the C++ core
(a slice of the rule set; the GIL released). Lines rejected in a stage are
dropped before the next. The hits of all slices are merged per line by the
engine's own verdict rule (``_sanad.merge_hits``). Settlement runs the
same way per run of payers with a common key field, each line's ``left``
passed from one run to the next.

Order: every line carries its input position ``_pos``; a missing ``seq``
gets, after loading, the line's position among the loaded lines of the
whole input (as one machine's loader gives it), and each partition is
sorted by ``_pos`` before it is evaluated, so equal dates and equal ``seq``
order as on one machine. Loading shuffles by ``claim_id`` first, so duplicate line ids and
default ``line_no`` are decided over the whole input.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

import dask
import dask.dataframe as dd
from dask import delayed

from . import _sanad
from . import (Claims, RuleSet, _INT64_MAX, _INT64_MIN, _STATUS, _evidence, _fields, _money, _normalise_column,
               _paid_and_balance)

__all__ = ["evaluate", "read_csv", "DaskResult", "key_classes"]

_POS = "_pos"      # the line's 0-based position in the whole input
_REJ = "_rej"      # rejected by a rule of the current stage (a slice's output)
_DED = "_ded"      # the line's deduction (settlement input)
_LEFT = "_left"    # what the payers so far left to the patient
_SEQGIVEN = "_seqgiven"  # the input line has its own seq
_FILE = "_file"    # read_csv: the file a line came from


# ---- the plan: which lines each slice needs -------------------------------

def key_classes(ruleset: RuleSet) -> list:
    """The distributed plan: per stage (ascending), a list of
    ``(field, rule indices)``: the stage's rules that are exact on a
    partitioning by ``field`` (None: rules without a stateful check, exact on
    any partitioning; they run in the stage's first slice)."""
    info = ruleset._core.rule_info()
    stages = sorted({stage for _, stage, _, _, _ in info})
    plan = []
    for stage in stages:
        rules = [r for r, (_, s, _, _, _) in enumerate(info) if s == stage]
        stateful = [r for r in rules if info[r][3]]
        stateless = [r for r in rules if not info[r][3]]
        classes = []
        left = list(stateful)
        while left:
            counts = {}
            for r in left:  # first appearance breaks ties: deterministic
                for f in info[r][2]:
                    counts[f] = counts.get(f, 0) + 1
            best = max(counts, key=lambda f: counts[f])
            classes.append([best, [r for r in left if best in info[r][2]]])
            left = [r for r in left if best not in info[r][2]]
        if classes:
            classes[0][1] = sorted(classes[0][1] + stateless)
        else:
            classes.append([None, stateless])
        plan.append((stage, [(f, rs) for f, rs in classes]))
    return plan


def _payer_runs(ruleset: RuleSet) -> list:
    """Consecutive payers with a key field in common (payers without ``per``
    join any run): ``(field or None, first, last)``."""
    info = ruleset._core.payer_info()
    runs = []
    p = 0
    while p < len(info):
        common = None  # None: no scoped payer yet
        q = p
        while q < len(info):
            name, keys, has_per = info[q]
            if has_per:
                nxt = set(keys) if common is None else common & set(keys)
                if not nxt:
                    break
                common = nxt
            q += 1
        if common is None:
            field = None
        else:  # the first of the common fields in the first scoped payer's key order
            first_keys = next(keys for _, keys, has_per in info[p:q] if has_per)
            field = next(f for f in first_keys if f in common)
        runs.append((field, p, q))
        p = q
    return runs


def _exact_sum(values) -> int:
    """The exact sum of int64 values as a Python int (money totals may pass
    the int64 range), at NumPy speed: high and low 32-bit halves apart."""
    a = np.asarray(values, dtype=np.int64)
    return (int((a >> 32).sum(dtype=np.int64)) << 32) + int((a & 0xFFFFFFFF).astype(np.uint64).sum(dtype=np.uint64))


def _fit(v: int) -> int:
    """Saturated to int64, as one machine reports sums that pass it."""
    return min(max(v, _INT64_MIN), _INT64_MAX)


# ---- partitions -----------------------------------------------------------

def _shuffle(df: dd.DataFrame, field: Optional[str], npartitions: int) -> dd.DataFrame:
    if field is None:
        return df
    return df.shuffle(field, npartitions=npartitions, ignore_index=True)


def _sorted(part: pd.DataFrame) -> pd.DataFrame:
    """In input order; a new frame (callers add columns to it, never to Dask's)."""
    return part.sort_values(_POS, kind="stable").reset_index(drop=True)


def _claims_of(part: pd.DataFrame, ruleset: RuleSet, fields) -> Claims:
    """The engine's claims of a partition of loaded lines. Every cell came out
    of the engine's own loader, so nothing is refused here; dates travel as
    nullable int days (all of 0001-9999: pandas timestamps end in 2262)."""
    cols = {}
    for f, t in fields.items():
        if f not in part.columns:
            continue
        if t == "date":
            days = part[f]
            present = days.notna().to_numpy(dtype=np.uint8)
            cols[f] = ("date", days.fillna(0).to_numpy(dtype=np.int64), present, [])
        else:
            cols[f] = _normalise_column(f, t, part[f])
    return Claims(_sanad.from_columns(cols, len(part), ruleset._core, False))


def _to_frame(claims: Claims, pos: np.ndarray) -> pd.DataFrame:
    """Loaded lines as columns (Claims.to_pandas, but dates as nullable int
    days); string fields as Categoricals over this partition's dictionaries
    until ``_global_strings`` makes them shuffle-safe."""
    df = claims._to_pandas(dates_as_days=True)
    df[_POS] = pos
    return df


_FEW = 4096  # a string field with at most this many distinct values travels as codes (more: dtype checks cost)


def _distinct(part: pd.DataFrame, columns: list) -> dict:
    """Per string column, its distinct values here, or None when there are too many."""
    out = {}
    for c in columns:
        cats = part[c].cat.categories if isinstance(part[c].dtype, pd.CategoricalDtype) else pd.unique(part[c].dropna())
        out[c] = None if len(cats) > _FEW else list(cats)
    return out


def _global_strings(part: pd.DataFrame, categories: dict) -> pd.DataFrame:
    """String fields with few distinct values become Categoricals over one
    dictionary for the whole input (a shuffle then moves small codes, keeps
    the dtype, and the engine reads the codes without hashing a string);
    the others plain object strings (a shuffle hashes the values)."""
    part = part.copy()
    for c, cats in categories.items():
        s = part[c]
        if cats is not None:
            part[c] = s.cat.set_categories(cats) if isinstance(s.dtype, pd.CategoricalDtype) else pd.Categorical(s, categories=cats)
        elif isinstance(s.dtype, pd.CategoricalDtype):
            part[c] = s.astype(object).where(s.notna(), None)
    return part


_LINE_RE = re.compile(r"input line (\d+)")


def _load_part(part: pd.DataFrame, ruleset: RuleSet):
    """One claim_id partition of the raw input: validated and defaulted by the
    engine's loader (skip mode), errors renumbered to global input lines."""
    part = _sorted(part)
    pos = part[_POS].to_numpy(dtype=np.int64)
    fields = _fields(ruleset)
    raw = part[[c for c in part.columns if c in fields]]
    claims = Claims.from_pandas(raw, ruleset=ruleset, on_error="skip")
    err = claims._core.errors()
    local = np.asarray(err.get("line", []), dtype=np.int64)
    lines = pos[local - 1] + 1 if len(local) else np.zeros(0, dtype=np.int64)
    msgs = [_LINE_RE.sub(lambda m: f"input line {pos[int(m.group(1)) - 1] + 1}", str(x)) for x in err.get("message", [])]
    errors = pd.DataFrame({"line": lines, "field": pd.Series(list(err.get("field", [])), dtype=object),
                           "message": pd.Series(msgs, dtype=object)})
    refused = np.zeros(len(part), dtype=bool)
    refused[local - 1] = True
    out = _to_frame(claims, pos[~refused])
    out[_SEQGIVEN] = part[_SEQGIVEN].to_numpy(dtype=bool)[~refused]
    return out, errors


def _default_seq(part: pd.DataFrame, refused: np.ndarray, offsets: np.ndarray) -> pd.DataFrame:
    """Dense positions, and seq where the input gave none: the line's
    1-based position among the loaded lines of the whole input
    (docs/DATA.md), i.e. its input position less the refused records before it."""
    part = part.copy()
    pos = _dense_positions(part[_POS].to_numpy(dtype=np.int64), offsets)
    part[_POS] = pos
    default = pos + 1 - np.searchsorted(refused, pos)
    given = part.pop(_SEQGIVEN).to_numpy(dtype=bool)
    part["seq"] = np.where(given, part["seq"].to_numpy(dtype=np.int64), default)
    return part


def _eval_part(part: pd.DataFrame, ruleset: RuleSet, mask: list, threads: int):
    """One slice of the rule set over one partition of the visible lines:
    the lines with ``_rej`` updated, the slice's hits, and its populations."""
    part = _sorted(part)
    fields = _fields(ruleset)
    claims = _claims_of(part, ruleset, fields)
    res = _sanad.evaluate(ruleset._core, claims._core, threads, rules=mask, settle=False)
    h = res.hit_columns()
    pos = part[_POS].to_numpy(dtype=np.int64)
    rows = np.asarray(h["row"], dtype=np.int64)
    rej = part[_REJ].to_numpy(dtype=bool).copy()
    rej[rows[np.asarray(h["action"]) == 1]] = True
    part[_REJ] = rej
    total, cap, other_line = _evidence(h)
    ids = np.asarray(list(h["claim_ids"]) + [None], dtype=object)
    hits = pd.DataFrame({
        _POS: pos[rows],
        "rule": np.asarray(h["rule"], dtype=np.int32),
        "deduction": np.asarray(h["deduction"], dtype=np.int64),
        "total": total,
        "cap": cap,
        "other_claim_id": pd.Series(ids[np.asarray(h["other_claim_id"], dtype=np.int64)], dtype=object),
        "other_line_no": other_line,
    })
    pops = np.asarray(res.summary_columns()["population"], dtype=np.int64)
    return part, hits, pops


def _settle_part(part: pd.DataFrame, ruleset: RuleSet, first: int, last: int, threads: int):
    part = _sorted(part)
    claims = _claims_of(part, ruleset, _fields(ruleset))
    d = _sanad.settle_slice(ruleset._core, claims._core, part[_DED].to_numpy(dtype=np.int64),
                            part[_LEFT].to_numpy(dtype=np.int64), first, last, threads)
    for k, p in enumerate(range(first, last)):
        part[f"_pay{p}"] = d["pay"][k]
        part[f"_dedp{p}"] = d["deducted"][k]
        part[f"_cov{p}"] = np.asarray(d["covered"][k], dtype=np.int64)
    part[_LEFT] = d["left"]
    return part


_HITS_META = pd.DataFrame({_POS: pd.Series(dtype=np.int64), "rule": pd.Series(dtype=np.int32),
                           "deduction": pd.Series(dtype=np.int64), "total": pd.Series(dtype="Int64"),
                           "cap": pd.Series(dtype="Int64"),
                           "other_claim_id": pd.Series(dtype=object), "other_line_no": pd.Series(dtype="Int64")})
_ERRORS_META = pd.DataFrame({"line": pd.Series(dtype=np.int64), "field": pd.Series(dtype=object),
                             "message": pd.Series(dtype=object)})


# ---- input ----------------------------------------------------------------

def read_csv(urlpath, ruleset: Optional[RuleSet] = None, blocksize: Any = "64MB", **kwargs) -> dd.DataFrame:
    """Claim lines from CSV files (a path, a glob or a list), as
    ``dask.dataframe.read_csv`` reads them with every string field read as
    a string (ids that look like numbers stay ids) and empty cells absent.
    Files are concatenated in the order given (globs sorted): that is the
    input order ``seq`` and the outputs follow. Each line remembers its file,
    so a refused record is named by file and record number too."""
    fields = _fields(ruleset)
    dtype = {name: object for name, t in fields.items() if t in ("string", "date")}
    dtype.update({name: "Int64" for name, t in fields.items() if t == "int"})
    dtype.update({name: "boolean" for name, t in fields.items() if t == "bool"})
    dtype.update(kwargs.pop("dtype", {}))
    kwargs.setdefault("include_path_column", _FILE)
    return dd.read_csv(urlpath, blocksize=blocksize, dtype=dtype, keep_default_na=False, na_values=[""], **kwargs)


_PART_SHIFT = 40  # before the lengths are known, _pos is (partition << 40) + row: in input order, dense later


def _with_positions(df: dd.DataFrame):
    """Adds ``_pos`` (input order; ``_dense_positions`` makes it the 0-based
    position in the whole input) and ``_seqgiven`` (the line has its own
    ``seq``) before anything moves a line, without reading the input
    twice. Returns the frame and each partition's length (delayed)."""

    def add(part, k):
        part = part.drop(columns=[_FILE]) if _FILE in part.columns else part.copy()
        part[_POS] = (np.int64(k) << _PART_SHIFT) + np.arange(len(part), dtype=np.int64)
        part[_SEQGIVEN] = part["seq"].notna().to_numpy(dtype=bool) if "seq" in part.columns else np.zeros(len(part), dtype=bool)
        return part

    def info(part):  # a read_csv partition is a block of one file
        return len(part), (str(part[_FILE].iloc[0]) if _FILE in part.columns and len(part) else None)

    parts = df.to_delayed()
    meta = add(df._meta, 0)
    with_pos = [delayed(add)(p, k) for k, p in enumerate(parts)]
    return dd.from_delayed(with_pos, meta=meta, verify_meta=False), [delayed(info)(p) for p in parts]


def _dense_positions(sparse: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    sparse = np.asarray(sparse, dtype=np.int64)
    return offsets[sparse >> _PART_SHIFT] + (sparse & ((np.int64(1) << _PART_SHIFT) - 1))


def _dense_errors(err: pd.DataFrame, offsets: np.ndarray, lengths: list, files: list) -> pd.DataFrame:
    """Errors named by input line (1-based position in the whole input) and,
    for lines read by ``read_csv``, by file and record (the k-th data row of
    that file: its line k + 1 when no record spans lines)."""
    err = err.copy()
    sparse = err["line"].to_numpy(dtype=np.int64) - 1
    err["line"] = _dense_positions(sparse, offsets) + 1
    err["message"] = [_LINE_RE.sub(lambda m: f"input line {_dense_positions(np.array([int(m.group(1)) - 1]), offsets)[0] + 1}", x)
                      for x in err["message"]]
    if any(f is not None for f in files):
        before, rows_of = [], {}  # per partition: the rows of its file in earlier partitions
        for f, n in zip(files, lengths):
            before.append(rows_of.get(f, 0))
            rows_of[f] = rows_of.get(f, 0) + int(n)
        part = sparse >> _PART_SHIFT
        row = sparse & ((np.int64(1) << _PART_SHIFT) - 1)
        err["file"] = pd.Series([files[k] for k in part], dtype=object)
        err["record"] = pd.array([before[k] + int(r) + 1 if files[k] is not None else None for k, r in zip(part, row)],
                                 dtype="Int64")
    return err.sort_values("line", kind="stable").reset_index(drop=True)


# ---- evaluation -----------------------------------------------------------

class DaskResult:
    """The outcome of :func:`evaluate`. ``verdicts``, ``hits`` and
    ``settlement`` are Dask DataFrames in input order (the columns of
    :class:`sanad.Result`'s, string columns as plain strings); ``summary()``
    and the other tables are pandas, computed on demand, equal to
    :class:`sanad.Result`'s."""

    def __init__(self, ruleset, verdicts, hits, settlement, populations, errors):
        self.ruleset = ruleset
        self.fingerprint = ruleset.fingerprint
        self.verdicts = verdicts
        self.hits = hits
        self._settlement = settlement
        self._populations = populations
        self._errors = errors
        self._cache = {}

    @property
    def settlement(self) -> dd.DataFrame:
        if self._settlement is None:
            raise ValueError("the rule set declares no payers, so there is no settlement (docs/LANGUAGE.md §8)")
        return self._settlement

    @property
    def errors(self) -> pd.DataFrame:
        """Refused records: line (1-based position in the whole input), field, message."""
        return self._errors

    def _counts(self):
        if "counts" not in self._cache:
            pops, v, h = dask.compute(self._populations,
                                      self.verdicts[["status", "deduction", "payable", "amount", "provider_id", "primary_code"]],
                                      self.hits[["rule", "deduction"]])
            pop = np.zeros(len(self.ruleset.rule_names), dtype=np.int64)
            for p in pops:
                pop += p
            self._cache["counts"] = (pop, v, h)
        return self._cache["counts"]

    def summary(self) -> pd.DataFrame:
        """Per rule, in declaration order: population, hits, deduction."""
        pop, _, h = self._counts()
        names = self.ruleset.rule_names
        g = h.groupby(h["rule"].astype(object), observed=True)["deduction"]
        hits = g.size().reindex(names, fill_value=0)
        ded = g.agg(_exact_sum).reindex(names, fill_value=0)
        return pd.DataFrame({"rule": names, "population": pd.array(pop, dtype=np.int64),
                             "hits": pd.array(hits.to_numpy(dtype=np.int64), dtype=np.int64), "deduction": _money(ded)})

    def by_code(self) -> pd.DataFrame:
        """Per reason code, in order of first declaration (as sanad.Result.by_code)."""
        _, v, h = self._counts()
        codes = list(dict.fromkeys(self.ruleset.rule_codes))
        code_of = dict(zip(self.ruleset.rule_names, self.ruleset.rule_codes))
        hc = h["rule"].astype(object).map(code_of)
        hits = [int((hc == c).sum()) for c in codes]
        ded = [_exact_sum(h["deduction"][hc == c]) for c in codes]
        pc = v["primary_code"].astype(object)
        lines = [int((pc == c).sum()) for c in codes]
        pded = [_exact_sum(v["deduction"][pc == c]) for c in codes]
        return pd.DataFrame({"code": codes, "hits": pd.array(hits, dtype=np.int64), "deduction": _money(ded),
                             "primary_lines": pd.array(lines, dtype=np.int64), "primary_deduction": _money(pded)})

    def provider_summary(self) -> pd.DataFrame:
        """Per provider (sorted by id): lines, rejected, warned, deduction."""
        _, v, _ = self._counts()
        st = v["status"].astype(object)
        g = pd.DataFrame({"provider_id": v["provider_id"].astype(object), "lines": 1,
                          "rejected": (st == "rejected").astype(np.int64), "warned": (st == "warned").astype(np.int64),
                          "deduction": v["deduction"].astype(np.int64)}).groupby("provider_id", sort=False).sum()
        g = g.reset_index()
        g = g.iloc[sorted(range(len(g)), key=lambda k: g["provider_id"].iat[k].encode("utf-8"))].reset_index(drop=True)
        return g.astype({"lines": np.int64, "rejected": np.int64, "warned": np.int64, "deduction": np.int64})

    def totals(self) -> dict:
        """lines, accepted, warned, rejected, amount, deduction, payable, load_errors."""
        _, v, _ = self._counts()
        st = v["status"].astype(object)
        return {"lines": len(v), "accepted": int((st == "accepted").sum()), "warned": int((st == "warned").sum()),
                "rejected": int((st == "rejected").sum()), "amount": _exact_sum(v["amount"]),
                "deduction": _exact_sum(v["deduction"]), "payable": _exact_sum(v["payable"]),
                "load_errors": len(self.errors)}

    def payer_totals(self) -> pd.DataFrame:
        """Per payer, in payment order: lines_covered, deductible, paid."""
        if "payer_totals" not in self._cache:
            self._cache["payer_totals"] = self._payer_sums.compute()
        return self._cache["payer_totals"]

    def balances(self) -> pd.DataFrame:
        """Per insured (sorted by id): allowed, each payer's paid, patient,
        patient_paid and balance (as sanad.Result.balances)."""
        s = self.settlement
        payers = self.ruleset.payer_names
        cols = ["insured_id", "allowed"] + payers + ["patient", "patient_paid", "balance"]
        df = s.assign(insured_id=self._insured)[cols]
        df = df.assign(_has=df["patient_paid"].notnull().astype(np.int64), patient_paid=df["patient_paid"].fillna(0),
                       balance=df["balance"].fillna(0))
        money = [c for c in df.columns if c not in ("insured_id",)]
        # Exact sums (Python ints) per partition, combined here, then
        # saturated to int64 like sanad.Result.balances.
        def exact(d):
            return d.groupby("insured_id", sort=False, observed=True)[money].agg(_exact_sum)
        parts = dask.compute(*[delayed(exact)(p) for p in df.to_delayed()])
        g = pd.concat(parts) if parts else pd.DataFrame(columns=money)
        g.index = pd.Index(np.asarray(g.index, dtype=object), name="insured_id")
        g = g.astype(object).groupby(level=0, sort=False).agg(lambda s: sum(int(x) for x in s))
        g.index.name = "insured_id"
        g = g.reset_index()
        g = g.iloc[sorted(range(len(g)), key=lambda k: g["insured_id"].iat[k].encode("utf-8"))].reset_index(drop=True)
        for c in money:
            g[c] = np.asarray([_fit(int(x)) for x in g[c]], dtype=np.int64)
        out = pd.DataFrame({"insured_id": pd.Series(g["insured_id"].to_numpy(), dtype=object),
                            "allowed": g["allowed"].to_numpy(dtype=np.int64)})
        for name in payers:
            out[name] = g[name].to_numpy(dtype=np.int64)
        out["patient"] = g["patient"].to_numpy(dtype=np.int64)
        has = (g["_has"].to_numpy() > 0).astype(np.uint8)
        out["patient_paid"], out["balance"] = _paid_and_balance(
            (g["patient_paid"].to_numpy(dtype=np.int64), has), g["balance"].to_numpy(dtype=np.int64))
        return out

    def compute(self, progress: bool = False):
        """verdicts, hits (and settlement) as pandas DataFrames, computed together."""
        frames = [self.verdicts, self.hits] + ([self._settlement] if self._settlement is not None else [])
        out = _compute(frames, progress)
        return tuple(f.reset_index(drop=True) for f in out)

    def __repr__(self):
        return f"<sanad.dask.DaskResult {self.ruleset.name!r}: {self.verdicts.npartitions} partitions>"


def _compute(collections, progress: bool):
    if not progress:
        return dask.compute(*collections)
    try:
        from distributed import get_client, progress as dprogress
        client = get_client()
    except (ImportError, ValueError):
        from dask.diagnostics import ProgressBar
        with ProgressBar():
            return dask.compute(*collections)
    futures = client.compute(list(collections))
    dprogress(futures)
    return tuple(client.gather(futures))


def evaluate(ruleset: RuleSet, lines, npartitions: Optional[int] = None, threads: int = 1,
             on_error: str = "fail") -> DaskResult:
    """Evaluates ``ruleset`` over ``lines`` (a Dask DataFrame of claim lines,
    one column per field as in :meth:`sanad.Claims.from_pandas`, or a pandas
    DataFrame) and returns a :class:`DaskResult` equal, line for line, to
    ``ruleset.evaluate`` over the whole input on one machine.

    ``npartitions``: partitions of each shuffle (default: those of ``lines``).
    ``threads``: engine threads per task (1: let Dask's worker threads run
    tasks in parallel). ``on_error="skip"`` keeps going past bad records
    (listed in :attr:`DaskResult.errors`); ``"fail"`` raises ValueError for
    the first bad record in input order."""
    if on_error not in ("fail", "skip"):
        raise ValueError(f"on_error must be 'fail' or 'skip', got {on_error!r}")
    ruleset._check_bound()
    if isinstance(lines, pd.DataFrame):
        lines = dd.from_pandas(lines.reset_index(drop=True), npartitions=max(1, npartitions or 1), sort=False)
    if not isinstance(lines, dd.DataFrame):
        raise TypeError(f"evaluate() takes a Dask or pandas DataFrame, got {type(lines).__name__}")
    nparts = npartitions or lines.npartitions
    rs = _broadcast(ruleset)

    # Load: positions first, then every claim's lines together; the input is read once.
    raw, lengths = _with_positions(lines)
    raw = _shuffle(raw, "claim_id", nparts) if "claim_id" in raw.columns else raw
    loaded_parts = [delayed(_load_part, nout=2)(p, rs) for p in raw.to_delayed()]
    empty = pd.DataFrame({f: pd.Series([], dtype=object) for f in _fields(ruleset)})
    meta = _to_frame(Claims.from_pandas(empty, ruleset=ruleset, on_error="skip"), np.zeros(0, dtype=np.int64))
    meta[_SEQGIVEN] = np.zeros(0, dtype=bool)
    base = dd.from_delayed([p[0] for p in loaded_parts], meta=meta, verify_meta=False)
    errors = dd.from_delayed([p[1] for p in loaded_parts], meta=_ERRORS_META, verify_meta=False)
    base, errors, lengths = dask.persist(base, errors, lengths)
    loaded = (base, errors, lengths)
    infos, err = dask.compute(lengths, errors)
    offsets = np.concatenate([[0], np.cumsum(np.asarray([n for n, _ in infos], dtype=np.int64))])
    total = int(offsets[-1])
    err = _dense_errors(err, offsets[:-1], [n for n, _ in infos], [f for _, f in infos])
    if on_error == "fail" and len(err):
        first = err.iloc[0]
        where = f" ({first['file']}, record {first['record']})" if "file" in err.columns and first["file"] is not None else ""
        raise ValueError(f"line {first['line']}{where}: field '{first['field']}': {first['message']}")
    refused = np.unique(err["line"].to_numpy(dtype=np.int64) - 1)  # a refused row: one record
    base = base.map_partitions(_default_seq, refused, offsets[:-1], meta=base._meta.drop(columns=[_SEQGIVEN]))
    strings = [f for f, t in _fields(ruleset).items() if t == "string"]
    seen = dask.compute(*[delayed(_distinct)(p, strings) for p in base.to_delayed()])
    categories = {}
    for c in strings:
        parts = [d[c] for d in seen]
        union = None if any(p is None for p in parts) else sorted(set().union(*parts))
        categories[c] = union if union is not None and len(union) <= _FEW else None
    # Not persisted: the persisted load stays the one root every later step
    # (and every recomputation after a lost worker) starts from.
    base = base.map_partitions(_global_strings, categories, meta=_global_strings(base._meta, categories))
    # Output partitions: even ranges of input positions (known: no sampling pass).
    divisions = tuple(sorted(set(int(x) for x in np.linspace(0, max(total - 1, 0), nparts + 1))))
    if len(divisions) == 1:
        divisions = (divisions[0], divisions[0])

    # Stages: one shuffle per key class over the lines still visible.
    visible = base.assign(**{_REJ: False})
    hits, pops = [], []
    for _, classes in key_classes(ruleset):
        for field, rules in classes:
            mask = [0] * len(ruleset.rule_names)
            for r in rules:
                mask[r] = 1
            outs = [delayed(_eval_part, nout=3)(p, rs, mask, threads) for p in _shuffle(visible, field, nparts).to_delayed()]
            visible = dd.from_delayed([o[0] for o in outs], meta=visible._meta, verify_meta=False)
            hits.append(dd.from_delayed([o[1] for o in outs], meta=_HITS_META, verify_meta=False))
            pops.extend(o[2] for o in outs)
        visible = visible[~visible[_REJ]].assign(**{_REJ: False})
    all_hits = dd.concat(hits) if hits else dd.from_pandas(_HITS_META, npartitions=1)

    # Input order: lines by position, hits aligned to the same divisions.
    ordered = base.set_index(_POS, divisions=divisions)
    hit_sorted = all_hits.set_index(_POS, divisions=divisions)
    names = ruleset.rule_names
    codes = ruleset.rule_codes
    rejects = [int(r[4]) for r in ruleset._core.rule_info()]
    vmeta, hmeta, _ = _verdict_part(ordered._meta, hit_sorted._meta, names, codes, rejects)
    vd = [delayed(_verdict_part, nout=3)(a, b, names, codes, rejects)
          for a, b in zip(ordered.to_delayed(), hit_sorted.to_delayed())]
    verdicts = dd.from_delayed([x[0] for x in vd], meta=vmeta, divisions=divisions, verify_meta=False)
    out_hits = dd.from_delayed([x[1] for x in vd], meta=hmeta, verify_meta=False)
    with_ded = dd.from_delayed([x[2] for x in vd], meta=ordered._meta.assign(**{_DED: np.int64(0)}),
                               divisions=divisions, verify_meta=False)

    settlement = payer_sums = insured = None
    if ruleset.payer_names:
        settlement, payer_sums = _settle(ruleset, rs, with_ded, nparts, threads, divisions)
        insured = ordered["insured_id"]
    # Every output computed once, kept where it was computed (on the workers).
    verdicts, out_hits, pops, settlement, payer_sums, insured = dask.persist(
        verdicts, out_hits, pops, settlement, payer_sums, insured)
    res = DaskResult(ruleset, verdicts, out_hits, settlement, pops, err)
    res._payer_sums, res._insured = payer_sums, insured
    res._loaded = loaded
    res._ruleset_task = rs
    return res


def _broadcast(ruleset: RuleSet):
    """The rule set and its reference data as one task of the graph: built
    once (from its text and references), sent to each worker that needs it
    once, and, unlike scattered data, recomputed if every copy was on
    workers that died."""
    from . import _UNPICKLED_RULESETS, _ruleset_from_pickle
    _UNPICKLED_RULESETS.setdefault(ruleset.fingerprint, ruleset)  # this process has it compiled
    # Persisted: every graph of the run uses the one copy (held by the result).
    return delayed(_ruleset_from_pickle, pure=True)(ruleset.text, dict(ruleset._refs), ruleset.fingerprint).persist()


def _verdict_part(lines: pd.DataFrame, hits: pd.DataFrame, names, codes, rejects):
    """Verdicts and hits of a range of input positions, in input order."""
    lines = lines.sort_index(kind="stable")
    hits = hits.reset_index().sort_values([_POS, "rule"], kind="stable")
    pos = lines.index.to_numpy(dtype=np.int64)
    amount = lines["amount"].to_numpy(dtype=np.int64)
    at = np.searchsorted(pos, hits[_POS].to_numpy(dtype=np.int64))
    status, ded, primary = _sanad.merge_hits(amount, at, hits["rule"].to_numpy(dtype=np.int32),
                                             hits["deduction"].to_numpy(dtype=np.int64), rejects)
    name_arr = np.asarray(list(names) + [None], dtype=object)
    code_arr = np.asarray(list(codes) + [None], dtype=object)
    rule_lists = [[] for _ in range(len(pos))]
    for k, r in zip(at, hits["rule"].to_numpy()):
        rule_lists[k].append(names[r])
    prim = np.asarray(primary, dtype=np.int64)
    v = pd.DataFrame({
        "claim_id": lines["claim_id"].to_numpy(dtype=object),
        "line_no": lines["line_no"].to_numpy(dtype=np.int64),
        "status": pd.Categorical.from_codes(np.asarray(status, dtype=np.int64), categories=_STATUS),
        "deduction": np.asarray(ded, dtype=np.int64),
        "payable": amount - np.asarray(ded, dtype=np.int64),
        "primary_rule": name_arr[prim],
        "primary_code": code_arr[prim],
        "rules": np.asarray([";".join(x) for x in rule_lists], dtype=object),
        "amount": amount,
        "provider_id": lines["provider_id"].to_numpy(dtype=object),
    }, index=lines.index)
    claim = lines["claim_id"].to_numpy()
    line_no = lines["line_no"].to_numpy(dtype=np.int64)
    hv = pd.DataFrame({
        "claim_id": pd.Series(claim[at] if len(at) else np.zeros(0, dtype=object), dtype=object),
        "line_no": line_no[at] if len(at) else np.zeros(0, dtype=np.int64),
        "rule": pd.Series(name_arr[hits["rule"].to_numpy(dtype=np.int64)], dtype=object),
        "code": pd.Series(code_arr[hits["rule"].to_numpy(dtype=np.int64)], dtype=object),
        "action": pd.Categorical.from_codes(np.asarray([rejects[r] for r in hits["rule"].to_numpy()], dtype=np.int64),
                                            categories=["warn", "reject"]),
        "deduction": hits["deduction"].to_numpy(dtype=np.int64),
        "total": pd.array(hits["total"], dtype="Int64"),
        "cap": pd.array(hits["cap"], dtype="Int64"),
        "other_claim_id": pd.Series(hits["other_claim_id"].to_numpy(), dtype=object),
        "other_line_no": pd.array(hits["other_line_no"], dtype="Int64"),
    })
    with_ded = lines.assign(**{_DED: np.asarray(ded, dtype=np.int64)})
    return v, hv, with_ded


def _settle(ruleset, rs, with_ded, nparts, threads, divisions):
    """Runs of payers, one shuffle each, each line's left passed on."""
    payers = ruleset.payer_names
    lines = with_ded.reset_index()
    lines = lines.assign(**{_LEFT: lines["amount"] - lines[_DED]})
    for field, first, last in _payer_runs(ruleset):
        meta = lines._meta.copy()
        for p in range(first, last):
            meta[f"_pay{p}"] = np.int64(0)
            meta[f"_dedp{p}"] = np.int64(0)
            meta[f"_cov{p}"] = np.int64(0)
        parts = [delayed(_settle_part)(p, rs, first, last, threads) for p in _shuffle(lines, field, nparts).to_delayed()]
        lines = dd.from_delayed(parts, meta=meta, verify_meta=False)
    ordered = lines.set_index(_POS, divisions=divisions)

    def table(part):
        part = part.sort_index(kind="stable")
        df = pd.DataFrame({"claim_id": part["claim_id"].to_numpy(dtype=object),
                           "line_no": part["line_no"].to_numpy(dtype=np.int64),
                           "allowed": (part["amount"] - part[_DED]).to_numpy(dtype=np.int64)}, index=part.index)
        for p, name in enumerate(payers):
            df[name] = part[f"_pay{p}"].to_numpy(dtype=np.int64)
        df["patient"] = part[_LEFT].to_numpy(dtype=np.int64)
        paid = pd.array(part["patient_paid"], dtype="Int64")
        df["patient_paid"] = paid
        df["balance"] = pd.array(df["patient"].to_numpy(dtype=np.int64), dtype="Int64") - paid
        return df

    settlement = ordered.map_partitions(table, meta=table(ordered._meta))
    def part_sums(part):
        return [(int(part[f"_cov{p}"].sum()), _exact_sum(part[f"_dedp{p}"]), _exact_sum(part[f"_pay{p}"]))
                for p in range(len(payers))]

    sums = [delayed(part_sums)(p) for p in ordered.to_delayed()]

    @delayed
    def payer_table(per_part):
        rows = []
        for p, name in enumerate(payers):
            rows.append((name, sum(x[p][0] for x in per_part), _fit(sum(x[p][1] for x in per_part)),
                         _fit(sum(x[p][2] for x in per_part))))
        return pd.DataFrame(rows, columns=["payer", "lines_covered", "deductible", "paid"])

    return settlement, payer_table(sums)
