"""The user reference is tested: every example in docs/ is compiled, loaded
or run, and every link in the README and docs/ points into the repository.

- ```sanad blocks are whole rule sets: each compiles without errors, or,
  when it starts with `# expect CODE`, fails with that diagnostic code.
- ```ndjson / ```csv blocks are claims that load without errors; marked
  `refused`, every record in them is refused. ```csv ref blocks are
  reference rows that load into a one-table rule set.
- docs/DATA.md's worked example (```sanad, ```csv ref=NAME, ```ndjson
  claims, ```csv output=KIND) is evaluated and its outputs compared byte for
  byte with what Sanad writes.
"""

import pathlib
import re

import pytest

import sanad

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS = sorted((ROOT / "docs").glob("*.md"))
BLOCK = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.S | re.M)


def blocks(path, lang):
    text = path.read_text(encoding="utf-8")
    out = []
    for m in BLOCK.finditer(text):
        if m.group(1) == lang:
            line = text.count("\n", 0, m.start()) + 1
            out.append((f"{path.name}:{line}", m.group(2).strip(), m.group(3)))
    return out


SANAD_BLOCKS = [b for p in DOCS for b in blocks(p, "sanad")]


def test_the_language_reference_has_examples_of_every_construct():
    text = "\n".join(body for _, _, body in SANAD_BLOCKS)
    for construct in ["ruleset", "calendar jalali", "field ", "set ", "table ", "pairs ", "dated = external",
                      "limit count", "limit sum(", "rolling", "repeat per", "conflict with", "conflict pairs",
                      "unless", "deduct excess", "deduct 50%", "stage 2", "code \"", "payer", "on remaining",
                      "deductible", "up to", "percent", "line ceiling", "ceiling", "starts_with", "days_between",
                      "year(", "month(", "is null", "is not null", " in "]:
        assert construct in text, construct


@pytest.mark.parametrize("where,info,body", SANAD_BLOCKS, ids=[b[0] for b in SANAD_BLOCKS])
def test_every_rules_example_in_the_docs_compiles_as_documented(where, info, body):
    first = body.lstrip().splitlines()[0]
    m = re.match(r"#\s*expect\s+([EW]\d{4})", first)
    if m:
        with pytest.raises(sanad.CompileError) as e:
            sanad.compile(body)
        assert m.group(1) in [d.code for d in e.value.diagnostics], str(e.value)
    else:
        rules = sanad.compile(body)  # raises CompileError with every diagnostic
        assert rules.rule_names or rules.payer_names


def _claim_blocks():
    out = []
    for p in DOCS:
        for lang in ("ndjson", "csv"):
            for where, info, body in blocks(p, lang):
                if info.startswith("ref") or info.startswith("output"):
                    continue
                out.append((where, lang, info, body))
    return out


@pytest.mark.parametrize("where,lang,info,body", _claim_blocks(), ids=[b[0] for b in _claim_blocks()])
def test_every_claims_example_in_the_docs_loads_or_is_refused_as_documented(tmp_path, where, lang, info, body):
    f = tmp_path / f"claims.{lang}"
    f.write_text(body, encoding="utf-8")
    read = sanad.read_ndjson if lang == "ndjson" else sanad.read_csv
    claims = read(f, on_error="skip")
    records = len([x for x in body.splitlines() if x.strip()]) - (1 if lang == "csv" else 0)
    assert claims.records_read == records
    if info == "refused":
        assert len(claims.errors) == records and len(claims) == 0, claims.errors
    else:
        assert len(claims.errors) == 0, claims.errors
        assert len(claims) > 0


def test_reference_data_examples_load(tmp_path):
    for p in DOCS:
        for where, info, body in blocks(p, "csv"):
            if info != "ref":
                continue
            f = tmp_path / "ref.csv"
            f.write_text(body, encoding="utf-8")
            cells = body.splitlines()[0].split(",")
            dated = " dated" if len(cells) >= 4 else ""
            sanad.compile(f'table t : string -> int{dated} = external\nrule r when t[service_code] > 0 warn',
                          refs={"t": str(f)})


def test_the_data_walkthrough_gives_exactly_the_outputs_it_shows(tmp_path):
    path = ROOT / "docs" / "DATA.md"
    (_, _, rules_text), = [b for b in blocks(path, "sanad")]
    refs = {}
    for _, info, body in blocks(path, "csv"):
        if info.startswith("ref="):
            f = tmp_path / (info[4:] + ".csv")
            f.write_text(body, encoding="utf-8")
            refs[info[4:]] = str(f)
    (_, _, claims_text), = [b for b in blocks(path, "ndjson") if b[1] == "claims"]
    (tmp_path / "claims.ndjson").write_text(claims_text, encoding="utf-8")
    rules = sanad.compile(rules_text, refs=refs)
    result = rules.evaluate(sanad.read_ndjson(tmp_path / "claims.ndjson", ruleset=rules))
    shown = {info[7:]: body for _, info, body in blocks(path, "csv") if info.startswith("output=")}
    assert set(shown) == {"verdicts", "hits", "settlement"}
    result.write(verdicts=str(tmp_path / "v.csv"), hits=str(tmp_path / "h.csv"), settlement=str(tmp_path / "s.csv"))
    assert (tmp_path / "v.csv").read_text() == shown["verdicts"]
    assert (tmp_path / "h.csv").read_text() == shown["hits"]
    assert (tmp_path / "s.csv").read_text() == shown["settlement"]
    # and Python's own verdicts frame has the same columns as the file
    assert list(result.verdicts.columns) == shown["verdicts"].splitlines()[0].split(",")


LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("doc", [ROOT / "README.md"] + DOCS, ids=lambda p: p.name)
def test_links_in_the_readme_and_docs_point_into_the_repository(doc):
    text = doc.read_text(encoding="utf-8")
    for target in LINK.findall(text):
        if re.match(r"[a-z]+://", target) or target.startswith("#"):
            continue
        f = (doc.parent / target.split("#")[0]).resolve()
        assert f.exists(), f"{doc.name}: link to {target}, which is not in the repository"
        assert ROOT in f.parents or f == ROOT, f"{doc.name}: link to {target} leaves the repository"
    assert "../shared" not in text, f"{doc.name} points to ../shared, which a clone does not have"
