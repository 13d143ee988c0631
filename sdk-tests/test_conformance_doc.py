"""CONFORMANCE.md stays true: every test it names exists, and every operation of the README's
table has its section."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "CONFORMANCE.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")

REF = re.compile(r"`(it|sdk|unit):([A-Za-z0-9_:.]+)`")


def _defined(ref_kind: str, name: str) -> bool:
    if ref_kind == "it":
        module, _, function = name.partition("::")
        path = ROOT / "tests" / "it" / (module + ".rs")
        return path.is_file() and re.search(r"\bfn %s\b" % re.escape(function), path.read_text()) is not None
    if ref_kind == "sdk":
        module, _, function = name.partition("::")
        path = ROOT / "sdk-tests" / (module + ".py")
        if not path.is_file():
            return False
        return function == "" or re.search(r"^def %s\b" % re.escape(function), path.read_text(), re.M) is not None
    # unit:api::swr::shared::tests::names_follow_the_documented_rules -> src/api/swr/shared.rs, fn names_...
    parts = name.split("::")
    function = parts[-1]
    module = [p for p in parts[:-1] if p != "tests"]
    for candidate in (ROOT / "src" / Path(*module)).with_suffix(".rs"), ROOT / "src" / Path(*module) / "mod.rs":
        if candidate.is_file() and re.search(r"\bfn %s\b" % re.escape(function), candidate.read_text()):
            return True
    return False


def test_every_test_the_matrix_names_exists():
    refs = REF.findall(DOC)
    assert len(refs) >= 80, len(refs)
    missing = sorted({"%s:%s" % r for r in refs if not _defined(*r)})
    assert missing == [], missing


def test_every_operation_of_the_readme_table_has_a_section():
    operations = re.findall(r"^\| (?:IMS|SWR|IAM) \| `(\w+)`", README, re.M)
    assert len(operations) == 17, operations
    headings = [line for line in DOC.splitlines() if line.startswith("## ")]
    missing = [op for op in operations if not any("`%s`" % op in h or op in h for h in headings)]
    assert missing == [], missing
