"""Sanad for analysts: compile rule sets, evaluate claims, compare rule changes.

Quick start::

    import sanad
    rules = sanad.compile("examples/outpatient.sanad",
                          refs={"mri": "examples/mri.csv", "tariff": "examples/tariff.csv",
                                "ptp": "examples/ptp.csv"})
    claims = sanad.read_ndjson("examples/claims.ndjson", ruleset=rules)
    result = rules.evaluate(claims)
    result.verdicts            # one row per claim line (pandas DataFrame)
    result.hits                # one row per (line, rule) hit, with evidence
    result.summary             # per rule: population, hits, deduction
    result.explain("C-1", 1)   # every rule's decision for one line

    cheaper = sanad.compile(text_with_gp_cap_30, refs=...)
    diff = sanad.compare(rules, cheaper, claims)
    diff.lines, diff.by_rule, diff.by_provider; diff.plot(); diff.to_html()

Money is integer minor units (rials) everywhere; no floats in verdicts.
String columns come back as pandas Categoricals built from the engine's
dictionaries, so large results cost no per-line Python objects.
"""

from __future__ import annotations

import base64
import datetime
import io
import json
import os
import re
from typing import Any, Iterable, Mapping, Optional, Union

import numpy as np
import pandas as pd

from . import _sanad

__version__ = _sanad.__version__

__all__ = [
    "CompileError", "Diagnostic", "RuleSet", "Claims", "Result", "Comparison", "Engine",
    "compile", "read_ndjson", "read_csv", "compare", "release_cached_memory",
]

_STATUS = list(_sanad.status_names())  # by status code, spelled as the C++ writers spell them


def release_cached_memory() -> int:
    """Hand the evaluator's cached work buffers back to the OS.

    Evaluation keeps its large buffers (up to 4 GiB) after a run so that the
    next run of a similar size skips the kernel's page faults; call this
    after a big what-if session to shrink the process. Returns the bytes
    released."""
    return int(_sanad.release_cached_memory())


class Diagnostic:
    """One compile diagnostic: stable code (e.g. ``E0301``), severity
    (``error``/``warning``), message, 1-based line and column, and the
    rendered caret view."""

    __slots__ = ("code", "severity", "message", "line", "column", "rendered")

    def __init__(self, code, severity, message, line, column, rendered):
        self.code, self.severity, self.message = code, severity, message
        self.line, self.column, self.rendered = line, column, rendered

    def __repr__(self):
        return f"Diagnostic({self.code} {self.severity} {self.line}:{self.column} {self.message!r})"


class CompileError(Exception):
    """The rule set has errors. ``.diagnostics`` lists every one (and the
    warnings); ``str(err)`` shows them with the source line and a caret."""

    def __init__(self, diagnostics, rendered):
        super().__init__(rendered)
        self.diagnostics = diagnostics
        self.rendered = rendered

    def __str__(self):
        return self.rendered

    def _repr_html_(self) -> str:
        import html as _html
        return f"<pre style='color:#a02020'>{_html.escape(self.rendered)}</pre>"


def _looks_like_path(text: str) -> bool:
    """One line ending in .sanad, or one word with a path separator: a path
    (rules text always has a rule, so it has spaces or newlines)."""
    t = text.strip()
    return "\n" not in t and (t.endswith(".sanad") or (os.sep in t and not any(c.isspace() for c in t)))


def _read_text_or_path(text_or_path: Union[str, os.PathLike]):
    if isinstance(text_or_path, os.PathLike) or (
        isinstance(text_or_path, str) and "\n" not in text_or_path and (os.path.isfile(text_or_path) or _looks_like_path(text_or_path))
    ):
        path = os.fspath(text_or_path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"rules file not found: {path}")
        with open(path, "rb") as f:
            data = f.read()
        # The engine skips a UTF-8 byte order mark itself; keep the bytes so
        # diagnostics point at the same columns the CLI shows.
        return path, data.decode("utf-8")
    if not isinstance(text_or_path, str):
        raise TypeError(f"compile() takes rules text or a path, got {type(text_or_path).__name__}")
    return "<rules>", text_or_path


_PERIOD_COLUMNS = ("valid_from", "valid_to")


def _missing(x) -> bool:
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _cell(x) -> str:
    """One reference value as the text a CSV cell would hold."""
    if _missing(x):
        return ""
    if isinstance(x, bool) or isinstance(x, np.bool_):
        return "true" if x else "false"
    if isinstance(x, (pd.Timestamp, datetime.datetime, datetime.date, np.datetime64)):
        return pd.Timestamp(x).strftime("%Y-%m-%d")
    return str(x)


def _bypass_cell(x) -> str:
    """The bypass flag: 1/0, True/False, or missing (0); anything else is left for the loader to refuse."""
    if _missing(x):
        return ""
    if isinstance(x, (bool, np.bool_)):
        return "1" if x else "0"
    if isinstance(x, (float, np.floating)) and float(x).is_integer():
        return str(int(x))
    return str(x)


def _ref_rows(name: str, kind: str, value, dated: bool = False) -> list:
    """Reference data in memory as rows of text cells, checked against the object's kind.
    A dated object's rows end in valid_from, valid_to (pairs: and an optional bypass)."""
    base = 1 if kind == "set" else 2
    if dated:
        return _dated_rows(name, kind, base, value)
    if isinstance(value, pd.DataFrame):
        if value.shape[1] != base:
            raise TypeError(f"refs[{name!r}]: a {kind} needs a DataFrame of {base} column(s), got {value.shape[1]}")
        return [[_cell(x) for x in row] for row in value.itertuples(index=False, name=None)]
    if kind == "set":
        if isinstance(value, (Mapping, str, bytes)) or not isinstance(value, Iterable):
            raise TypeError(f"refs[{name!r}]: a set takes a list, set or 1-column DataFrame, got {type(value).__name__}")
        return [[_cell(x)] for x in value]
    if kind == "table":
        if isinstance(value, Mapping):
            return [[_cell(k), _cell(v)] for k, v in value.items()]
        raise TypeError(f"refs[{name!r}]: a table takes a dict or 2-column DataFrame, got {type(value).__name__}")
    # pairs
    if isinstance(value, (Mapping, str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"refs[{name!r}]: pairs take a list of (first, second) tuples or a 2-column DataFrame, got {type(value).__name__}")
    rows = []
    for p in value:
        if isinstance(p, (str, bytes)) or len(p) != 2:
            raise TypeError(f"refs[{name!r}]: every pair needs exactly two codes, got {p!r}")
        rows.append([_cell(p[0]), _cell(p[1])])
    return rows


def _dated_rows(name: str, kind: str, base: int, value) -> list:
    """A dated object from a DataFrame (columns valid_from and valid_to by
    name, else by position after the entry's own columns) or a list of tuples."""
    most = base + 3 if kind == "pairs" else base + 2
    what = {"set": "member", "table": "key, value", "pairs": "first, second"}[kind]
    shape = f"({what}, valid_from, valid_to{', bypass' if kind == 'pairs' else ''})"
    if isinstance(value, pd.DataFrame):
        cols = list(value.columns)
        if all(c in cols for c in _PERIOD_COLUMNS):
            extra = ["bypass"] if kind == "pairs" and "bypass" in cols else []
            own = [c for c in cols if c not in _PERIOD_COLUMNS and c not in extra]
            value = value[own + list(_PERIOD_COLUMNS) + extra]
        if not base + 2 <= value.shape[1] <= most:
            raise TypeError(f"refs[{name!r}]: a dated {kind} needs a DataFrame of columns {shape}, got {value.shape[1]} columns")
        rows = value.itertuples(index=False, name=None)
    elif isinstance(value, (Mapping, str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"refs[{name!r}]: a dated {kind} takes a DataFrame or a list of tuples {shape}, got {type(value).__name__}")
    else:
        rows = list(value)
        for r in rows:
            if isinstance(r, (str, bytes)) or not base + 2 <= len(r) <= most:
                raise TypeError(f"refs[{name!r}]: every entry of a dated {kind} is a tuple {shape}, got {r!r}")
    out = []
    for r in rows:
        cells = [_cell(x) for x in r[:base + 2]]
        if len(r) > base + 2:
            cells.append(_bypass_cell(r[base + 2]))
        out.append(cells)
    return out


def compile(text_or_path: Union[str, os.PathLike], refs: Optional[Mapping[str, Any]] = None) -> "RuleSet":
    """Compiles a rule set from ``.sanad`` text or a file path.

    ``refs`` supplies the ``external`` objects: a path to a CSV file, or in
    memory a list/set (sets), a dict (tables), a list of pairs (pairs), or a
    DataFrame of 1 or 2 columns. Raises :class:`CompileError` on errors,
    ``KeyError`` for an unknown external name, ``TypeError`` for data of the
    wrong shape and ``ValueError`` for values of the wrong type.
    """
    name, text = _read_text_or_path(text_or_path)
    core, diags, rendered = _sanad.compile(name, text)
    diagnostics = [Diagnostic(*d) for d in diags]
    if core is None:
        raise CompileError(diagnostics, rendered)
    rs = RuleSet(core, diagnostics, text)
    for ref_name, value in (refs or {}).items():
        rs._bind(ref_name, value)
    return rs


_UNPICKLED_RULESETS: dict = {}  # fingerprint -> RuleSet: one compile per process
_UNPICKLE_COUNT: dict = {}      # fingerprint -> times unpickled here (tests: once per worker)


def _ruleset_from_pickle(text, refs, fingerprint):
    _UNPICKLE_COUNT[fingerprint] = _UNPICKLE_COUNT.get(fingerprint, 0) + 1
    rs = _UNPICKLED_RULESETS.get(fingerprint)
    if rs is None:
        rs = compile(text, refs=refs)
        if rs.fingerprint != fingerprint:
            raise ValueError(f"the rule set unpickled with fingerprint {rs.fingerprint}, not {fingerprint} "
                             "(a reference file differs where it was unpickled)")
        _UNPICKLED_RULESETS[fingerprint] = rs
    return rs


class RuleSet:
    """A compiled rule set with its reference data. Evaluate claims with
    :meth:`evaluate`; open an online engine with :class:`Engine`."""

    def __init__(self, core, diagnostics, text):
        self._core = core
        self.diagnostics = diagnostics  #: warnings (a RuleSet never has errors)
        self.text = text
        self._refs = {}  # name -> the value bound (pickling recompiles from text and refs)
        self._fingerprint = None

    def __reduce__(self):
        # Pickled as its text and reference data (how sanad.dask ships a rule
        # set to workers, once per worker); a process compiles each rule set
        # once (by fingerprint). File refs must be readable where it is unpickled.
        return (_ruleset_from_pickle, (self.text, dict(self._refs), self.fingerprint))

    @property
    def name(self) -> str:
        """The ``ruleset`` name from the header."""
        return self._core.name

    @property
    def rule_names(self) -> list:
        """Rule names in declaration order."""
        return self._core.rule_names

    @property
    def payer_names(self) -> list:
        """Payer names in payment (declaration) order; empty without settlement."""
        return self._core.payer_names

    @property
    def rule_codes(self) -> list:
        """Each rule's reason code (``code "..."``, else its name), in declaration order."""
        return self._core.rule_codes

    @property
    def fingerprint(self) -> str:
        """32 hex digits naming these rules and the reference data bound to
        them: unchanged by comments and layout, different when any rule,
        declaration or reference entry changes (the summary's fingerprint)."""
        # Reference data is bound only while compile() runs, so the hash
        # (of every entry: large tables take a while) is computed once.
        if self._fingerprint is None:
            self._fingerprint = self._core.fingerprint
        return self._fingerprint

    def explain_plan(self) -> str:
        """The execution plan, as ``sanad explain-plan`` prints it."""
        return self._core.explain_plan()

    def _bind(self, name, value):
        kinds = {n: (k, dated) for n, k, _, dated in self._core.externals()}
        if name not in kinds:
            raise KeyError(f"refs: the rule set declares no external object {name!r} (externals: {sorted(kinds)})")
        if isinstance(value, (str, os.PathLike)) and not isinstance(value, bytes):
            self._core.bind_file(name, os.fspath(value))
        else:
            self._core.bind_rows(name, _ref_rows(name, kinds[name][0], value, dated=kinds[name][1]))
        self._refs[name] = value
        self._fingerprint = None

    def _check_bound(self):
        try:
            self._core.check_bound()
        except ValueError as e:
            msg = str(e).split(" (bind it:")[0]
            raise ValueError(f"{msg}: pass it in refs= to sanad.compile") from None

    def evaluate(self, claims, threads: Optional[int] = None) -> "Result":
        """Evaluates every rule over ``claims`` (a :class:`Claims`, or a
        DataFrame converted with :meth:`Claims.from_pandas`). Releases the
        GIL while it runs; ``threads`` defaults to all cores."""
        self._check_bound()
        if isinstance(claims, pd.DataFrame):
            claims = Claims.from_pandas(claims, ruleset=self)
        if not isinstance(claims, Claims):
            raise TypeError(f"evaluate() takes Claims or a DataFrame, got {type(claims).__name__}")
        return Result(self, claims, _sanad.evaluate(self._core, claims._core, threads or 0))

    def __repr__(self):
        return f"<sanad.RuleSet {self.name!r}: {len(self.rule_names)} rules>"


def _on_error(on_error: str) -> bool:
    if on_error not in ("fail", "skip"):
        raise ValueError(f"on_error must be 'fail' or 'skip', got {on_error!r}")
    return on_error == "skip"


def read_ndjson(path: Union[str, os.PathLike], ruleset: Optional[RuleSet] = None, on_error: str = "fail",
                threads: Optional[int] = None) -> "Claims":
    """Loads claims from an NDJSON file (flat lines and nested claims).

    Pass ``ruleset`` when it declares extra fields, so they are read too.
    ``on_error="skip"`` keeps going past bad records; they are listed in
    :attr:`Claims.errors`. With ``"fail"`` the first bad record raises ValueError.
    """
    return Claims(_sanad.read_file(os.fspath(path), ruleset._core if ruleset else None, _on_error(on_error), threads or 0))


def read_csv(path: Union[str, os.PathLike], ruleset: Optional[RuleSet] = None, on_error: str = "fail",
             threads: Optional[int] = None) -> "Claims":
    """Loads claims from a CSV file with a header row; see :func:`read_ndjson`."""
    return Claims(_sanad.read_file(os.fspath(path), ruleset._core if ruleset else None, _on_error(on_error), threads or 0))


def _fields(ruleset):
    return dict(ruleset._core.fields()) if ruleset else dict(_sanad.standard_fields())


_INT64_MIN, _INT64_MAX = -(2 ** 63), 2 ** 63 - 1
_DATE_RE = None
_EPOCH_ORDINAL = 719163  # date(1970, 1, 1).toordinal()


def _parse_date_cell(v):
    """Days since 1970-01-01 of one date cell, or an error message (the file
    readers' wording). Accepts 'YYYY-MM-DD' strings (0001-01-01 to
    9999-12-31, like the files), datetime.date/datetime and Timestamps
    (their own calendar date: a time-zone-aware value keeps its wall date)."""
    global _DATE_RE
    import datetime
    import re
    if isinstance(v, str):
        t = v.strip(" \t")
        if _DATE_RE is None:
            _DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
        m = _DATE_RE.fullmatch(t)
        try:
            if m is None:
                raise ValueError
            return datetime.date(int(m[1]), int(m[2]), int(m[3])).toordinal() - _EPOCH_ORDINAL, None
        except ValueError:
            return 0, f"invalid date '{t[:64]}' (expected YYYY-MM-DD)"
    if isinstance(v, (pd.Timestamp, datetime.datetime)):
        return datetime.date(v.year, v.month, v.day).toordinal() - _EPOCH_ORDINAL, None
    if isinstance(v, datetime.date):
        return v.toordinal() - _EPOCH_ORDINAL, None
    if isinstance(v, np.datetime64):
        return _parse_date_cell(pd.Timestamp(v))
    return 0, f"expected a date YYYY-MM-DD, got {type(v).__name__} {v!r}"[:120]


def _int_cell(v):
    """One int cell exactly, or an error message (the file readers' wording)."""
    if isinstance(v, (bool, np.bool_)):
        return 0, f"expected an integer, got '{v}'"
    if isinstance(v, (int, np.integer)):
        v = int(v)
        return (v, None) if _INT64_MIN <= v <= _INT64_MAX else (0, "integer out of the 64-bit range")
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if f != f or f in (float("inf"), float("-inf")) or not (-2.0 ** 63 <= f < 2.0 ** 63):
            return 0, "integer out of the 64-bit range"
        if f != int(f):
            return 0, "expected an integer, got a number with a fraction or exponent"
        return int(f), None
    return 0, f"expected an integer, got '{str(v)[:64]}'"


def _normalise_column(name: str, ftype: str, values):
    """A column as the extension expects it (see sanad_module.cpp FromColumns):
    (kind, values, present[, refused]) where refused lists (row, message)
    for cells that cannot be converted exactly. Those rows are refused like
    bad file records (on_error decides); a column of the wrong kind as a
    whole is a TypeError."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if ftype == "string":
        if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
            raise TypeError(f"column {name!r} must hold strings, got dtype {s.dtype} "
                            f"(ids read by pandas as numbers: read the file with dtype=str, or convert with .astype(str))")
        if isinstance(s.dtype, pd.CategoricalDtype):
            cats = s.cat.categories
            codes = s.cat.codes.to_numpy(dtype=np.int32)
        else:
            codes, cats = pd.factorize(s, use_na_sentinel=True)
            codes = codes.astype(np.int32, copy=False)
        # A cell that is not a string is refused like a wrong JSON type in a
        # file: that row only, with the reader's wording.
        refused = []
        # One C pass decides "all strings" (the usual case); only otherwise each value is looked at.
        all_str = pd.api.types.infer_dtype(cats, skipna=False) in ("string", "empty")
        bad = [] if all_str else [k for k, c in enumerate(cats) if not isinstance(c, str)]
        if bad:
            cats = list(cats)
            for k in bad:
                msg = f"expected a string, got {type(cats[k]).__name__} {str(cats[k])[:64]!r}"
                refused += [(int(row), msg) for row in np.flatnonzero(codes == k)]
                cats[k] = ""
        return ("cat", codes, list(cats) if all_str else [str(c) for c in cats], sorted(refused))
    present = (~s.isna()).to_numpy(dtype=np.uint8)
    refused = []
    if ftype == "date":
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            if getattr(s.dt, "tz", None) is not None:
                s = s.dt.tz_localize(None)  # the wall date in the value's own zone, not the UTC date
            days = s.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)
        elif s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            codes, uniques = pd.factorize(s, use_na_sentinel=True)
            parsed = [_parse_date_cell(u) for u in uniques]
            table = np.array([d for d, _ in parsed] + [0], dtype=np.int64)
            days = table[codes]  # code -1 (missing) picks the trailing 0
            for k in np.flatnonzero([m is not None for _, m in parsed]):
                for row in np.flatnonzero(codes == k):
                    refused.append((int(row), parsed[k][1]))
        else:
            raise TypeError(f"column {name!r} must hold dates (datetime64 or 'YYYY-MM-DD' strings), got dtype {s.dtype}")
        days = np.array(days, dtype=np.int64)
        days[present == 0] = 0
        return ("date", days, present, sorted(refused))
    if ftype == "bool":
        if not (pd.api.types.is_bool_dtype(s.dtype) or s.dtype == object):
            raise TypeError(f"column {name!r} must hold bools, got dtype {s.dtype}")
        vals = s.fillna(False)
        if vals.dtype == object and not all(isinstance(v, (bool, np.bool_)) for v in vals):
            raise TypeError(f"column {name!r} must hold bools")
        return ("bool", vals.to_numpy(dtype=np.int64), present)
    # int: converted exactly or refused per row, never wrapped.
    if pd.api.types.is_bool_dtype(s.dtype):
        raise TypeError(f"column {name!r} must hold integers, got dtype {s.dtype}")
    kind = getattr(s.dtype, "kind", "O")
    on = present.astype(bool)
    if kind == "i":  # int8..int64, Int8..Int64: exact
        ints = s.to_numpy(dtype=np.int64, na_value=0) if s.hasnans else s.to_numpy(dtype=np.int64)
        return ("int", np.ascontiguousarray(ints), present, [])
    if kind == "u":  # uint64 above INT64_MAX would wrap: refused instead
        u = s.to_numpy(dtype=np.uint64, na_value=0)
        over = on & (u > np.uint64(_INT64_MAX))
        ints = np.where(over, np.uint64(0), u).astype(np.int64)
        return ("int", ints, present, [(int(r), "integer out of the 64-bit range") for r in np.flatnonzero(over)])
    if kind == "f":
        f = s.to_numpy(dtype=np.float64, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            in_range = np.isfinite(f) & (f >= -(2.0 ** 63)) & (f < 2.0 ** 63)
            whole = in_range & (np.floor(f) == f)
        out_of_range = on & ~in_range
        fraction = on & in_range & ~whole
        ints = np.where(on & whole, f, 0.0).astype(np.int64)
        refused = [(int(r), "integer out of the 64-bit range") for r in np.flatnonzero(out_of_range)]
        refused += [(int(r), "expected an integer, got a number with a fraction or exponent") for r in np.flatnonzero(fraction)]
        return ("int", ints, present, sorted(refused))
    if s.dtype == object:  # Python ints (any size), floats, None
        if any(isinstance(v, str) for v in s if v is not None):
            raise TypeError(f"column {name!r} must hold integers, got strings")
        ints = np.zeros(len(s), dtype=np.int64)
        cells = s.to_numpy(dtype=object)
        for row in np.flatnonzero(on):
            v, msg = _int_cell(cells[row])
            if msg is None:
                ints[row] = v
            else:
                refused.append((int(row), msg))
        return ("int", ints, present, refused)
    raise TypeError(f"column {name!r} must hold integers, got dtype {s.dtype}")


class Claims:
    """Claim lines loaded into Sanad's columnar store."""

    def __init__(self, core, index: Optional[pd.Index] = None):
        self._core = core
        self._dictionaries = {}  # claim_id / provider_id categories, shared by every Result
        self._input_index = index  # from_pandas: the frame's index (labels name rows in errors)
        self._index = None         # the index of the loaded lines (results keep it)
        if index is not None:
            refused = sorted({int(x) - 1 for x in self._core.errors().get("line", [])})
            self._index = index.delete(refused) if refused else index

    @classmethod
    def from_pandas(cls, df: pd.DataFrame, ruleset: Optional[RuleSet] = None, on_error: str = "fail") -> "Claims":
        """Claims from a DataFrame with one column per field (docs/DATA.md names).

        Strings may be object or Categorical columns (categoricals are read
        through their codes: each distinct string is converted once); ints
        int64 (copied once, no per-row work) or nullable Int64; dates
        datetime64 or ``YYYY-MM-DD`` strings; bools bool or object with None.
        Rows are validated like file records (row k is "line k").

        Results keep the frame's index (the loaded rows' labels), and errors
        name each refused row by its index label as well as its position.
        """
        try:
            core = cls.from_arrays({c: df[c] for c in df.columns}, ruleset=ruleset, on_error=on_error, _rows=len(df))._core
        except ValueError as e:
            m = re.match(r"line (\d+): ", str(e))
            if m and 1 <= int(m.group(1)) <= len(df):
                raise ValueError(f"row {df.index[int(m.group(1)) - 1]!r} (line {m.group(1)}): {str(e)[m.end():]}") from None
            raise
        return cls(core, index=df.index)

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, Any], ruleset: Optional[RuleSet] = None, on_error: str = "fail",
                    _rows: Optional[int] = None) -> "Claims":
        """Claims from a dict of NumPy arrays (or lists / Series), one per field."""
        fields = _fields(ruleset)
        rows = _rows if _rows is not None else (len(next(iter(arrays.values()))) if arrays else 0)
        cols = {}
        for name, values in arrays.items():
            if name in fields:
                cols[name] = _normalise_column(name, fields[name], values)
        return cls(_sanad.from_columns(cols, rows, ruleset._core if ruleset else None, _on_error(on_error)))

    def __len__(self):
        return len(self._core)

    @property
    def records_read(self) -> int:
        """Input records read (lines loaded + records refused)."""
        return self._core.records_read

    @property
    def errors(self) -> pd.DataFrame:
        """Refused records (``on_error="skip"``): line, field, message; from a
        DataFrame also ``index``, the refused row's index label."""
        e = pd.DataFrame(self._core.errors())
        if self._input_index is not None:
            labels = [self._input_index[int(x) - 1] for x in e.get("line", [])]
            e.insert(0, "index", pd.Series(labels, dtype=object if not labels else None))
        return e

    def to_pandas(self) -> pd.DataFrame:
        """The loaded lines (with defaults applied) as a DataFrame."""
        return self._to_pandas(dates_as_days=False)

    def _to_pandas(self, dates_as_days: bool) -> pd.DataFrame:
        # dates_as_days: dates as nullable int days since 1970-01-01 (sanad.dask:
        # the engine's dates run to 9999, pandas timestamps end in 2262).
        out = {}
        for name, col in self._core.columns().items():
            kind = col[0]
            if kind == "cat":
                out[name] = pd.Categorical.from_codes(col[1], categories=col[2]) if len(col[2]) else pd.Categorical([None] * len(col[1]))
            elif kind == "date" and not dates_as_days:
                s = pd.Series(col[1].astype("datetime64[D]"))
                out[name] = s.where(col[2].astype(bool))
            elif kind == "bool":
                out[name] = pd.array(np.where(col[2].astype(bool), col[1].astype(bool), None), dtype="boolean")
            elif kind == "date" or not col[2].all():
                out[name] = pd.arrays.IntegerArray(np.asarray(col[1], dtype=np.int64), ~col[2].astype(bool))
            else:
                out[name] = col[1]
        return pd.DataFrame(out)

    def __repr__(self):
        return f"<sanad.Claims: {len(self)} lines>"


def _money(values) -> pd.array:
    """Sums of money as int64 when they fit (always, in practice), else exact Python ints."""
    vals = [int(v) for v in values]
    if all(_INT64_MIN <= v <= _INT64_MAX for v in vals):
        return pd.array(vals, dtype=np.int64)
    return pd.array(vals, dtype=object)


def _codes_of_rules(rule_codes, rules):
    """The reason code of each rule index in `rules` (-1: none) as a Categorical."""
    distinct = list(dict.fromkeys(rule_codes))
    if not distinct:
        return pd.Categorical([None] * len(rules))
    code_of_rule = np.array([distinct.index(x) for x in rule_codes] + [-1], dtype=np.int64)
    return pd.Categorical.from_codes(code_of_rule[np.asarray(rules, dtype=np.int64)], categories=distinct)


def _categorical(codes, categories):
    """A Categorical over a Sanad dictionary. Dictionary entries are unique by
    construction, so pandas' uniqueness check (a hash of every category) is
    skipped where this pandas offers the fast path."""
    codes = np.asarray(codes)
    if not len(categories):
        return pd.Categorical([None] * len(codes))
    cats = categories if isinstance(categories, pd.Index) else pd.Index(categories, dtype=object)
    fast = getattr(pd.CategoricalDtype, "_from_fastpath", None)
    simple = getattr(pd.Categorical, "_simple_new", None)
    if fast is not None and simple is not None:
        # Codes come from the same dictionary (-1 = null), so they are valid.
        try:
            from pandas.core.dtypes.cast import coerce_indexer_dtype
            return simple(coerce_indexer_dtype(codes, cats), fast(cats, False))
        except ImportError:
            pass
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(cats))


def _evidence(c) -> tuple:
    """A hit table's evidence as nullable ints: total and cap for limits (a
    total past int64 is <NA>), the other line's line_no for repeat/conflict."""
    ev = np.asarray(c["evidence"])
    is_limit, is_other = ev == 1, ev == 2
    total = pd.array(c["total"], dtype="Int64")
    total[~is_limit | (np.asarray(c["total_fits"]) == 0)] = pd.NA
    cap = pd.array(c["cap"], dtype="Int64")
    cap[~is_limit] = pd.NA
    other_line = pd.array(c["other_line_no"], dtype="Int64")
    other_line[~is_other] = pd.NA
    return total, cap, other_line


class Result:
    """The outcome of :meth:`RuleSet.evaluate` (docs/DATA.md §4), lines in input order."""

    def __init__(self, ruleset, claims, core):
        self.ruleset, self.claims, self._core = ruleset, claims, core
        self.fingerprint = ruleset.fingerprint  #: which rules and reference data produced this result
        self._verdicts = self._hits = self._summary = None

    @property
    def seconds(self) -> float:
        """Bind + evaluation time in the engine (no conversion to pandas)."""
        return self._core.seconds

    @property
    def verdicts(self) -> pd.DataFrame:
        """claim_id, line_no, status, deduction, payable, primary_rule,
        primary_code (the primary rule's reason code), rules (hit rule names
        joined by ';'), amount, provider_id — one row per line, the columns
        of the CLI's verdicts file (docs/DATA.md §4)."""
        if self._verdicts is None:
            cache = self.claims._dictionaries
            c = self._core.verdict_columns(with_dictionaries=not cache)
            if not cache:
                cache["claim_id"] = pd.Index(c["claim_id"][1], dtype=object)
                cache["provider_id"] = pd.Index(c["provider_id"][1], dtype=object)
            names = c["rule_names"]
            ints = c["ints"]  # line_no, amount, deduction, payable: one Fortran-ordered block
            n = ints.shape[0]
            df = pd.DataFrame(ints, columns=["line_no", "amount", "deduction", "payable"], copy=False)
            df.insert(0, "claim_id", _categorical(c["claim_id"][0], cache["claim_id"]))
            df.insert(2, "status", _categorical(c["status"], _STATUS))
            df["primary_rule"] = _categorical(c["primary_rule"], names)
            df["primary_code"] = _codes_of_rules(self.ruleset.rule_codes, c["primary_rule"])
            df["rules"] = _categorical(*c["rules"])
            df["amount"] = df.pop("amount")
            df["provider_id"] = _categorical(c["provider_id"][0], cache["provider_id"])
            if self.claims._index is not None:  # from a DataFrame: keep its index
                df.index = self.claims._index
            self._verdicts = df
        return self._verdicts

    def _settlement_columns(self):
        if getattr(self, "_settle", None) is None:
            self._settle = self._core.settlement_columns()
            if not self._settle:
                raise ValueError("the rule set declares no payers, so there is no settlement (docs/LANGUAGE.md §8)")
        return self._settle

    @property
    def settlement(self) -> pd.DataFrame:
        """Who pays each line (docs/LANGUAGE.md §8): claim_id, line_no, allowed,
        one column per payer (its pay), patient, patient_paid and balance
        (patient - patient_paid; nullable Int64, <NA> where the line was not
        settled by hand). One row per line, in input order."""
        c = self._settlement_columns()
        codes, names = c["claim_id"]
        df = pd.DataFrame({"claim_id": _categorical(codes, pd.Index(names, dtype=object)), "line_no": c["line_no"],
                           "allowed": c["allowed"]})
        for name, pay in c["payers"]:
            df[name] = pay
        df["patient"] = c["patient"]
        df["patient_paid"], df["balance"] = _paid_and_balance(c["patient_paid"], c["patient"] - c["patient_paid"][0])
        if self.claims._index is not None:
            df.index = self.claims._index
        return df

    @property
    def balances(self) -> pd.DataFrame:
        """Per insured (the refund / top-up list of a re-entry month):
        insured_id, allowed, what each payer paid, patient, patient_paid and
        balance (positive: the patient owes a top-up; negative: a refund;
        <NA> when no line of theirs was settled by hand)."""
        c = self._settlement_columns()["insured"]
        df = pd.DataFrame({"insured_id": pd.Series(c["insured_id"], dtype=object), "allowed": c["allowed"]})
        for name, paid in c["payers"]:
            df[name] = paid
        df["patient"] = c["patient"]
        df["patient_paid"], df["balance"] = _paid_and_balance(c["patient_paid"], c["balance"])
        return df

    @property
    def payer_totals(self) -> pd.DataFrame:
        """Per payer, in payment order: lines_covered (its population, paid
        or not), deductible (taken), paid."""
        rows = self._settlement_columns()["payer_totals"]
        return pd.DataFrame(rows, columns=["payer", "lines_covered", "deductible", "paid"])

    @property
    def hits(self) -> pd.DataFrame:
        """One row per (line, rule) hit: claim_id, line_no, rule, code, action,
        deduction, and evidence — ``total``/``cap`` for limits (R_i, L_i),
        ``other_claim_id``/``other_line_no`` for repeat and conflict."""
        if self._hits is None:
            c = self._core.hit_columns()
            total, cap, other_line = _evidence(c)
            self._hits = pd.DataFrame({
                "claim_id": _categorical(c["claim_id"], c["claim_ids"]),
                "line_no": c["line_no"],
                "rule": pd.Categorical.from_codes(c["rule"].astype(np.int64), categories=c["rule_names"]) if c["rule_names"]
                else pd.Categorical([]),
                "code": _codes_of_rules(self.ruleset.rule_codes, c["rule"]),
                "action": pd.Categorical.from_codes(c["action"].astype(np.int64), categories=["warn", "reject"]),
                "deduction": c["deduction"],
                "total": total,
                "cap": cap,
                "other_claim_id": _categorical(c["other_claim_id"], c["claim_ids"]),
                "other_line_no": other_line,
            })
        return self._hits

    def _summary_columns(self):
        if self._summary is None:
            self._summary = self._core.summary_columns()
        return self._summary

    @property
    def summary(self) -> pd.DataFrame:
        """Per rule, in declaration order: population, hits, deduction."""
        s = self._summary_columns()
        return pd.DataFrame({"rule": s["rule"], "population": pd.array(s["population"], dtype=np.int64),
                             "hits": pd.array(s["hits"], dtype=np.int64), "deduction": _money(s["deduction"])})

    @property
    def by_code(self) -> pd.DataFrame:
        """Per reason code, in order of first declaration: hits and the sum of
        their deductions (two rules of one code on one line count twice), and
        the lines and deduction for which it is the primary code."""
        s = self._summary_columns()
        return pd.DataFrame({"code": s["code"], "hits": pd.array(s["code_hits"], dtype=np.int64),
                             "deduction": _money(s["code_deduction"]),
                             "primary_lines": pd.array(s["code_primary_lines"], dtype=np.int64),
                             "primary_deduction": _money(s["code_primary_deduction"])})

    @property
    def provider_summary(self) -> pd.DataFrame:
        """Per provider (sorted by id): lines, rejected, warned, deduction."""
        s = self._summary_columns()
        df = pd.DataFrame({"provider_id": s["provider_id"], "lines": s["provider_lines"], "rejected": s["provider_rejected"],
                           "warned": s["provider_warned"], "deduction": s["provider_deduction"]})
        return df.sort_values("provider_id", kind="stable").reset_index(drop=True)

    @property
    def totals(self) -> dict:
        """Totals: lines, accepted, warned, rejected, amount, deduction, payable, load_errors."""
        return dict(self._summary_columns()["totals"])

    def explain(self, claim_id: str, line_no: int = 1) -> pd.DataFrame:
        """Every rule's decision for one line, in declaration order:
        ``hit`` (with deduction and evidence), ``pass`` (in the population,
        the check did not fire), ``not in population`` (with the reason) or
        ``hidden`` (rejected by an earlier stage)."""
        rows = self._core.explain(str(claim_id), int(line_no))
        cols = ["rule", "stage", "decision", "action", "deduction", "total", "cap", "other_claim_id", "other_line_no", "reason"]
        df = pd.DataFrame([{k: r.get(k) for k in cols} for r in rows], columns=cols, dtype=object)
        for c in ("stage", "deduction", "total", "cap", "other_line_no"):  # ints (nullable), never floats
            df[c] = pd.array([None if v is None else int(v) for v in df[c]], dtype="Int64")
        return df

    def explain_settlement(self, claim_id: str, line_no: int = 1) -> pd.DataFrame:
        """Each payer's step on one line (docs/LANGUAGE.md §8), in payment order:
        base, the deductible (its value, what earlier lines of the scope used,
        what this line took), the eligible amount, for tiered coverage the
        running eligible total before the line and ``bands`` (each band's
        percent, limit and share of this line), what the coverage gave, the
        ceiling room left before the line, the pay, and what is left."""
        rows = self._core.explain_settlement(str(claim_id), int(line_no))
        cols = ["payer", "in_population", "left_before", "base", "deductible", "deductible_used_before", "deductible_taken",
                "eligible", "eligible_total_before", "bands", "covered", "ceiling_left", "pay", "left_after"]
        df = pd.DataFrame([{k: r.get(k) for k in cols} for r in rows], columns=cols, dtype=object)
        for c in cols:  # money stays exact: nullable integers, never floats
            if c not in ("payer", "in_population", "bands"):
                df[c] = pd.array([None if v is None else int(v) for v in df[c]], dtype="Int64")
        return df

    def write(self, verdicts: Optional[str] = None, hits: Optional[str] = None, settlement: Optional[str] = None) -> None:
        """Writes verdicts/hits/settlement files exactly as ``sanad check`` does (.csv or .ndjson)."""
        self._core.write(verdicts or "", hits or "", settlement or "")

    def __repr__(self):
        t = self.totals
        return f"<sanad.Result: {t['lines']} lines, {t['rejected']} rejected, {t['warned']} warned, deduction {t['deduction']}>"

    def _repr_html_(self) -> str:
        """Notebook display: the totals and the rules that hit."""
        import html as _html
        t = self.totals
        hit = self.summary[self.summary["hits"] > 0]
        return (f"<p><b>sanad.Result</b> ({_html.escape(self.ruleset.name)}): {t['lines']:,} lines: "
                f"{t['accepted']:,} accepted, {t['warned']:,} warned, {t['rejected']:,} rejected; amount {t['amount']:,}, "
                f"deduction {t['deduction']:,}, payable {t['payable']:,}</p>" + _money_html(hit))


def _paid_and_balance(paid_and_has, balance):
    """patient_paid and balance as nullable Int64 (<NA> where nothing was paid by hand)."""
    paid, has = paid_and_has
    mask = has == 0
    return pd.arrays.IntegerArray(paid, mask), pd.arrays.IntegerArray(np.asarray(balance, dtype=np.int64), mask.copy())


def _side_by_side(old: pd.DataFrame, new: pd.DataFrame, key: str) -> pd.DataFrame:
    """Hits and deduction per `key` before and after (0 where one side lacks
    the key), and the changes; keys in order of first appearance."""
    so = old.set_index(key)[["hits", "deduction"]]
    sn = new.set_index(key)[["hits", "deduction"]]
    keys = list(dict.fromkeys(list(so.index) + list(sn.index)))
    so, sn = so.reindex(keys, fill_value=0), sn.reindex(keys, fill_value=0)
    out = pd.DataFrame({
        key: keys,
        "old_hits": so["hits"].to_numpy(dtype=np.int64), "new_hits": sn["hits"].to_numpy(dtype=np.int64),
        "old_deduction": [int(x) for x in so["deduction"]], "new_deduction": [int(x) for x in sn["deduction"]],
    })
    out["hits_delta"] = out["new_hits"] - out["old_hits"]
    out["deduction_delta"] = [n - o for n, o in zip(out["new_deduction"], out["old_deduction"])]
    return out


class Comparison:
    """What changes between two rule sets on the same claims (:func:`compare`)."""

    def __init__(self, old: Result, new: Result, labels: Optional[tuple] = None):
        self.old, self.new = old, new
        #: Names of the two versions in reports: ``labels``, else the rule set
        #: names (with "(old)"/"(new)" when they are the same).
        if labels is None:
            a_name, b_name = old.ruleset.name or "old", new.ruleset.name or "new"
            labels = (a_name, b_name) if a_name != b_name else (f"{a_name} (old)", f"{b_name} (new)")
        self.labels = (str(labels[0]), str(labels[1]))
        #: True when both rule sets (with their reference data) have one fingerprint.
        self.identical = old.ruleset.fingerprint == new.ruleset.fingerprint
        a, b = old.verdicts, new.verdicts
        changed = (a["status"].astype(str) != b["status"].astype(str)) | (a["deduction"] != b["deduction"])
        idx = np.flatnonzero(changed.to_numpy())
        #: Lines whose status or deduction changed, with both verdicts.
        self.lines = pd.DataFrame({
            "claim_id": a["claim_id"].iloc[idx].astype(str).to_numpy(),
            "line_no": a["line_no"].iloc[idx].to_numpy(),
            "provider_id": a["provider_id"].iloc[idx].astype(str).to_numpy(),
            "old_status": a["status"].iloc[idx].astype(str).to_numpy(),
            "new_status": b["status"].iloc[idx].astype(str).to_numpy(),
            "old_deduction": a["deduction"].iloc[idx].to_numpy(),
            "new_deduction": b["deduction"].iloc[idx].to_numpy(),
            "old_rules": a["rules"].iloc[idx].astype(str).to_numpy(),
            "new_rules": b["rules"].iloc[idx].astype(str).to_numpy(),
        })
        self.lines["delta"] = self.lines["new_deduction"] - self.lines["old_deduction"]
        # Each changed line's change in deduction goes to one rule, so the
        # attribution sums to the total change: a line's deduction is the max
        # over its hits, so per-rule hit deductions (by_rule) overlap and do
        # not add up. A rise goes to the new primary rule (the hit that now
        # sets the deduction), a fall to the old one (whose deduction went).
        old_primary = a["primary_rule"].iloc[idx].astype(object).to_numpy()
        new_primary = b["primary_rule"].iloc[idx].astype(object).to_numpy()
        delta = self.lines["delta"].to_numpy()
        def pick(d, o, n):
            for r in ((n, o) if d > 0 else (o, n)):
                if r is not None and not pd.isna(r):
                    return str(r)
            return "(no rule)"
        self.lines["attributed_to"] = [pick(d, o, n) for d, o, n in zip(delta, old_primary, new_primary)]
        g = self.lines.groupby("attributed_to", sort=False)
        #: Per rule, the lines whose change is attributed to it and the sum of
        #: their changes; the rows sum to ``totals["deduction_delta"]``.
        self.attribution = pd.DataFrame({"lines": g.size(), "deduction_delta": g["delta"].sum().astype("int64")}) \
            .reset_index().rename(columns={"attributed_to": "rule"}) \
            .sort_values(["deduction_delta", "rule"], ascending=[False, True], kind="stable").reset_index(drop=True)
        #: Per rule (by name; a rule in one set only counts 0 in the other): hits
        #: and deduction before and after, and the change.
        self.by_rule = _side_by_side(old.summary, new.summary, "rule")
        #: Per reason code, the same.
        self.by_code = _side_by_side(old.by_code, new.by_code, "code")
        #: Per provider with changed lines: lines changed and deduction change, largest change first.
        g = self.lines.groupby("provider_id", sort=True)
        self.by_provider = pd.DataFrame({
            "lines_changed": g.size(), "old_deduction": g["old_deduction"].sum(),
            "new_deduction": g["new_deduction"].sum(), "deduction_delta": g["delta"].sum(),
        }).reset_index().sort_values(["deduction_delta", "provider_id"], ascending=[False, True], kind="stable").reset_index(drop=True)
        #: Totals: lines changed and the change in total deduction.
        self.totals = {"lines_changed": len(self.lines),
                       "old_deduction": old.totals["deduction"], "new_deduction": new.totals["deduction"],
                       "deduction_delta": new.totals["deduction"] - old.totals["deduction"]}
        #: Settlement (docs/LANGUAGE.md §8) when either rule set declares payers: per
        #: payer (by name; a payer in one set only counts 0 in the other) what
        #: it paid, deducted and covered before and after — "what does raising
        #: the deductible do to what we pay?" — plus a "patient" row for the
        #: patients' share; None without payers on either side.
        self.by_payer = None
        if old.ruleset.payer_names or new.ruleset.payer_names:
            def payers(r):
                if not r.ruleset.payer_names:
                    return pd.DataFrame(columns=["payer", "paid", "deductible", "lines_covered"])
                t = r.payer_totals[["payer", "paid", "deductible", "lines_covered"]].copy()
                patient = int(r.settlement["patient"].sum())
                return pd.concat([t, pd.DataFrame([{"payer": "patient", "paid": patient, "deductible": 0,
                                                    "lines_covered": len(r.settlement)}])], ignore_index=True)
            a_, b_ = payers(old), payers(new)
            m = a_.merge(b_, on="payer", how="outer", suffixes=("_old", "_new"), sort=False)
            order = list(dict.fromkeys(list(a_["payer"]) + list(b_["payer"])))
            m = m.set_index("payer").loc[order].reset_index()
            out = pd.DataFrame({"payer": m["payer"]})
            for col in ("paid", "deductible", "lines_covered"):
                o = m[f"{col}_old"].fillna(0).astype("int64")
                n = m[f"{col}_new"].fillna(0).astype("int64")
                out[f"old_{col}"], out[f"new_{col}"], out[f"{col}_delta"] = o, n, n - o
            self.by_payer = out

    def plot(self, ax=None):
        """A bar chart of the change in deduction by rule, line by line
        attributed (bars sum to the total change; only rules with changed
        lines are drawn); returns the matplotlib Axes."""
        import matplotlib
        import matplotlib.ticker
        if ax is None:
            if matplotlib.get_backend().lower() == "agg" or not os.environ.get("DISPLAY"):
                matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            _, ax = plt.subplots(figsize=(8, 1.0 + 0.4 * max(1, len(self.attribution))))
        att = self.attribution
        colors = ["#b03030" if d > 0 else "#3060b0" for d in att["deduction_delta"]]
        ax.barh(att["rule"], [float(d) for d in att["deduction_delta"]], color=colors)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:+,.0f}" if v else "0"))
        ax.set_xlabel("change in deduction (rials), each line attributed to one rule")
        ax.set_title(f"{self.labels[0]} \u2192 {self.labels[1]}\n{self.totals['lines_changed']:,} lines change, "
                     f"deduction {_signed(self.totals['deduction_delta'])}", fontsize=10)
        ax.invert_yaxis()
        ax.figure.tight_layout()
        return ax

    def to_html(self) -> str:
        """A self-contained HTML report: the two versions, totals, the chart
        (embedded PNG), the rule-text diff, and the tables (money with digit
        groups; only rules that changed), laid out to stay inside the page."""
        import difflib
        import html as _html
        t = self.totals
        head = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Sanad rule change report</title>"
                "<style>body{font-family:sans-serif;margin:2em;max-width:60em}"
                "table{border-collapse:collapse;display:block;max-width:100%;overflow-x:auto;margin-bottom:1em}"
                "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right;font-size:0.9em}"
                "td:first-child,th:first-child{text-align:left}img{max-width:100%}"
                "pre{background:#f6f6f6;padding:1em;overflow-x:auto;max-width:100%}"
                ".add{color:#206020}.del{color:#a02020}</style></head><body>")
        title = f"<h1>Rule change: {_html.escape(self.labels[0])} &rarr; {_html.escape(self.labels[1])}</h1>"
        if self.identical:
            return (head + title + "<p>The two rule sets are identical (same rules and reference data, fingerprint "
                    f"{_html.escape(self.old.ruleset.fingerprint)}): nothing changes.</p></body></html>")
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        ax = self.plot()
        buf = io.BytesIO()
        ax.figure.savefig(buf, format="png", dpi=100)
        plt.close(ax.figure)
        png = base64.b64encode(buf.getvalue()).decode("ascii")
        diff = list(difflib.unified_diff(self.old.ruleset.text.splitlines(), self.new.ruleset.text.splitlines(),
                                         fromfile=self.labels[0], tofile=self.labels[1], lineterm="", n=2))
        diff_html = "\n".join(
            f"<span class='{'add' if d.startswith('+') and not d.startswith('+++') else 'del' if d.startswith('-') and not d.startswith('---') else ''}'>"
            f"{_html.escape(d)}</span>" for d in diff) or "(the rule texts are the same; the reference data differs)"
        changed_rules = self.by_rule[(self.by_rule["hits_delta"] != 0) | (self.by_rule["deduction_delta"] != 0)]
        return (
            head + title +
            f"<p>{t['lines_changed']:,} lines change; total deduction {t['old_deduction']:,} &rarr; "
            f"{t['new_deduction']:,} ({_signed(t['deduction_delta'])} rials).</p>"
            f"<img alt='change in deduction by rule' src='data:image/png;base64,{png}'/>"
            "<h2>Where the change comes from</h2><p>Each changed line's change is attributed to one rule "
            "(a rise to the rule that now sets its deduction, a fall to the rule that did), so these rows add "
            "up to the total.</p>" + _money_html(self.attribution) +
            "<h2>Rule text</h2><pre>" + diff_html + "</pre>"
            "<h2>Rules that changed</h2><p>Hits and the sum of their deductions per rule. A line's deduction is "
            "the largest of its hits', so these sums overlap and need not add up to the total.</p>" +
            _money_html(changed_rules) +
            ("<h2>By payer</h2>" + _money_html(self.by_payer) if self.by_payer is not None else "") +
            "<h2>By provider</h2>" + _money_html(self.by_provider) +
            "<h2>Changed lines</h2>" + _money_html(self.lines) + "</body></html>"
        )

    def _repr_html_(self) -> str:
        t = self.totals
        if self.identical:
            return f"<p><b>sanad.Comparison</b>: the two rule sets are identical; nothing changes.</p>"
        return (f"<p><b>sanad.Comparison</b> {self.labels[0]} &rarr; {self.labels[1]}: {t['lines_changed']:,} lines change, "
                f"deduction {_signed(t['deduction_delta'])}</p>" + _money_html(self.attribution))

    def __repr__(self):
        if self.identical:
            return "<sanad.Comparison: the two rule sets are identical; nothing changes>"
        return f"<sanad.Comparison: {self.totals['lines_changed']} lines change, deduction {self.totals['deduction_delta']:+d}>"


def _signed(v: int) -> str:
    return f"{v:+,}" if v else "0"


def _money_html(df: pd.DataFrame) -> str:
    """A table for reports: integer columns with digit groups."""
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_integer_dtype(out[c]) and c not in ("line_no",):
            out[c] = [f"{int(v):,}" for v in out[c]]
    return out.to_html(index=False, escape=True)


def compare(old: RuleSet, new: RuleSet, claims, threads: Optional[int] = None,
            labels: Optional[tuple] = None) -> Comparison:
    """Evaluates ``claims`` under both rule sets and reports what changes:
    ``.lines`` (status or deduction changed), ``.by_rule``, ``.by_provider``,
    ``.totals``; ``.plot()`` and ``.to_html()`` for notebooks and reports.
    Both rule sets must declare the same extra fields. ``labels`` names the
    two versions in reports (default: the rule set names)."""
    if isinstance(claims, pd.DataFrame):
        claims = Claims.from_pandas(claims, ruleset=old)
    return Comparison(old.evaluate(claims, threads), new.evaluate(claims, threads), labels=labels)


class Engine:
    """The online engine (docs/LANGUAGE.md §5): judges one claim at a time
    against history, in-process, thread-safe. A claim is a dict in the
    docs/DATA.md form (flat line, or claim fields plus a ``lines`` list) or its
    JSON text. Verdicts come back as a list of dicts, one per line."""

    def __init__(self, ruleset: RuleSet):
        ruleset._check_bound()
        self.ruleset = ruleset
        self._core = _sanad.Engine(ruleset._core)

    @staticmethod
    def _json(claim) -> str:
        if isinstance(claim, str):
            return claim
        if isinstance(claim, Mapping):
            return json.dumps(claim, ensure_ascii=False)
        raise TypeError(f"a claim is a dict or JSON text, got {type(claim).__name__}")

    def preload(self, claims: Claims, threads: Optional[int] = None) -> None:
        """Loads history from a batch (judged as a batch); only while empty."""
        self._core.preload(claims._core, threads or 0)

    def check(self, claim) -> list:
        """Judges the claim without changing history (a dry run)."""
        return self._core.check_json(self._json(claim), False)

    def check_and_commit(self, claim) -> list:
        """Judges the claim and appends it to history, atomically."""
        return self._core.check_json(self._json(claim), True)

    def retract(self, claim_id: str) -> None:
        """Voids a committed claim: history as if it never arrived. KeyError if unknown."""
        self._core.retract(claim_id)

    def compact(self, before: str) -> None:
        """Drops state no claim dated on or after ``before`` (YYYY-MM-DD) can see;
        later claims dated before it are refused."""
        self._core.compact(before)

    def snapshot(self, path: Union[str, os.PathLike]) -> None:
        """Writes the whole state (versioned, checksummed)."""
        self._core.snapshot(os.fspath(path))

    def restore(self, path: Union[str, os.PathLike]) -> None:
        """Replaces the state with a snapshot; a bad snapshot raises ValueError and changes nothing."""
        self._core.restore(os.fspath(path))

    def reconcile(self, claims: Claims) -> pd.DataFrame:
        """Lines whose batch verdict (authoritative) differs from the verdict they got online;
        with payers also lines whose settlement differs (online_settlement / batch_settlement:
        each payer's pay, and online_patient / batch_patient)."""
        cols = ["claim_id", "line_no", "seen_online", "online_status", "batch_status", "online_deduction",
                "batch_deduction", "online_primary_rule", "batch_primary_rule"]
        if self.ruleset._core.payer_names:
            cols += ["online_settlement", "batch_settlement", "online_patient", "batch_patient"]
        return pd.DataFrame(self._core.reconcile(claims._core), columns=cols)

    def set_key_budget(self, max_keys: int) -> None:
        """Bounds the distinct keys the engine keeps (0 = no bound); a claim that
        would exceed it raises ValueError and changes nothing."""
        self._core.set_key_budget(int(max_keys))

    def memory(self) -> dict:
        """history_lines, keys, groups, entries, state_bytes, history_bytes."""
        return dict(self._core.memory())
