"""Rule files: every malformed rule is one clear error naming file, line and rule."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from peppers.drs.rules import FIELDS, parse_rule_file
from peppers.drs.ruleset import RuleSet
from peppers.errors import RuleError

GOOD = """\
rules:
  smooth:
    kind: local
    operator: peppers.operators.filters:BoxFilter
    inputs: {input: src}
    outputs: {output: smoothed}
    params: {size: t.size}
"""


def parse(tmp_path: Path, text: str, name: str = "r.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return parse_rule_file(path)


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(RuleError) as info:
        RuleSet(parse(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message
    return message


def test_good_rule_parses_with_lines(tmp_path):
    (rule,) = parse(tmp_path, GOOD)
    assert (rule.name, rule.kind, rule.inputs, rule.outputs) == (
        "smooth", "local", {"input": "src"}, {"output": "smoothed"})
    assert rule.line == 2 and rule.lines["params.size"] == 7
    assert rule.version == "1" and rule.store == "raw"
    assert rule.where("params.size") == f"{tmp_path / 'r.yaml'}, line 7, rule smooth"


@pytest.mark.parametrize("edit, line, words", [
    (("    params:", "    parms:"), 7, ["unknown field 'parms'", "known fields"]),
    (("kind: local", "kind: loco"), 2, ["kind must be one of"]),
    (("filters:BoxFilter", "filters:NoSuchFilter"), 4, ["unknown operator", "NoSuchFilter"]),
    (("peppers.operators.filters:BoxFilter", "no_such_module_xyz:Op"), 4,
     ["unknown operator", "cannot import no_such_module_xyz"]),
    (("peppers.operators.filters:BoxFilter", "peppers.drs.rules:Rule"), 4,
     ["is not an operator"]),
    (("kind: local", "kind: global"), 3, ["kind is global", "local operator"]),
    (("{input: src}", "{image: src}"), 5, ["input ports ['input']"]),
    (("{size: t.size}", "{sise: t.size}"), 7, ["params name ['sise']"]),
    (("{size: t.size}", "{size: 'not a key!'}"), 7, ["must be an HKV key"]),
    (("{output: smoothed}", "{output: smoothed, extra: x}"), 6, ["does not have"]),
    (("    outputs: {output: smoothed}\n", ""), 2, ["at least one output"]),
    (("kind: local", "kind: local\n    keep: yes please"), 4, ["keep must be a bool"]),
])
def test_malformed_rule_names_file_line_and_rule(tmp_path, edit, line, words):
    message = error_of(tmp_path, GOOD.replace(*edit))
    assert message.startswith(f"{tmp_path / 'r.yaml'}, line {line}"), message
    for word in words:
        assert word in message, message


def test_yaml_syntax_error_names_the_line(tmp_path):
    message = error_of(tmp_path, GOOD.replace("{input: src}", "{input: src"))
    assert "r.yaml, line " in message and "not valid YAML" in message


def test_key_given_twice_names_both_lines(tmp_path):
    message = error_of(tmp_path, GOOD.replace("    params:", "    kind: local\n    params:"))
    assert "line 7" in message and "given twice (first on line 3)" in message


def test_two_rules_making_one_output(tmp_path):
    text = GOOD + GOOD.split("\n", 1)[1].replace("smooth:", "again:", 1)
    message = error_of(tmp_path, text)
    assert "rule again" in message and "also made by rule smooth" in message
    assert "line 12, rule again" in message and "line 2, rule smooth" in message


def test_cycle_is_printed(tmp_path):
    text = """\
    rules:
      a:
        kind: local
        operator: peppers.ppe.testing:Scale
        inputs: {input: y}
        outputs: {output: x}
      b:
        kind: local
        operator: peppers.ppe.testing:Scale
        inputs: {input: x}
        outputs: {output: y}
    """
    message = error_of(tmp_path, text)
    assert "cycle: a -> b -> a" in message and "line 2, rule a" in message


def test_missing_input_is_named_with_its_line(tmp_path):
    rules = RuleSet(parse(tmp_path, GOOD))
    with pytest.raises(RuleError, match=r"line 5, rule smooth: input input: image 'src' is "
                                        r"made by no rule and is not a run input"):
        rules.check_inputs(["smooth"], lambda image: False)
    rules.check_inputs(["smooth"], lambda image: image == "src")


def test_command_rule_placeholders_are_checked(tmp_path):
    text = """\
    rules:
      convert:
        kind: command
        command: "tool {inputs.src} {outputs.dst} {params.level}"
        inputs: {src: a}
        outputs: {dst: b}
    """
    message = error_of(tmp_path, text)
    assert "line 4, rule convert" in message and "{params.level} names nothing" in message
    (rule,) = parse(tmp_path, text.replace(" {params.level}", ""))
    assert rule.store == "geotiff" and rule.output_path("b") == "images/b.tif"
    assert rule.version.startswith("cmd-")


def test_reduction_outputs_are_keys_and_overlaps_refused(tmp_path):
    text = """\
    rules:
      stats:
        kind: reduction
        operator: peppers.operators.statistics:ImageStats
        inputs: {input: a}
        outputs: {stats: t.stats}
      more:
        kind: reduction
        operator: peppers.operators.statistics:ImageStats
        inputs: {input: a}
        outputs: {stats: t.stats.mean}
    """
    message = error_of(tmp_path, text)
    assert "rule more" in message and "overlaps key t.stats made by rule stats" in message


def test_run_rules_override_packaged_ones(tmp_path):
    run = tmp_path / "run"
    (run / "rules").mkdir(parents=True)
    (run / "rules" / "a.yaml").write_text(GOOD)
    extra = tmp_path / "extra.yaml"
    extra.write_text(GOOD.replace("t.size", "t.other"))
    rules = RuleSet.load(run, package=False, extra=[extra])
    assert rules.rules["smooth"].params == {"size": "t.other"}
    assert rules.rules["smooth"].file == extra
    (run / "rules" / "b.yaml").write_text(GOOD)
    with pytest.raises(RuleError, match="defined twice"):
        RuleSet.load(run, package=False)


def test_target_resolution(tmp_path):
    rules = RuleSet(parse(tmp_path, GOOD))
    assert rules.resolve_target("smoothed") == ("smooth", "smoothed")
    assert rules.resolve_target("smooth") == ("smooth", None)
    with pytest.raises(RuleError, match="make target 'nothing': no rule"):
        rules.resolve_target("nothing")


@given(st.from_regex(r"[a-z_]{1,12}", fullmatch=True).filter(lambda f: f not in FIELDS))
def test_any_unknown_field_is_refused_at_its_line(tmp_path_factory, field):
    tmp = tmp_path_factory.mktemp("rules")
    text = GOOD.replace("    params:", f"    {field}: 1\n    params:")
    with pytest.raises(RuleError, match=rf"r.yaml, line 7, rule smooth: unknown field '{field}'"):
        parse(tmp, text)


def test_rule_variants_replace_packaged_rules_and_run_rules_win(tmp_path, monkeypatch):
    from peppers.drs import ruleset
    from peppers.hkv import RunDatabase

    package = tmp_path / "package"
    (package / "with_dem").mkdir(parents=True)
    (package / "chain.yaml").write_text(GOOD)
    (package / "with_dem" / "smooth.yaml").write_text(GOOD.replace("t.size", "t.dem_size"))
    monkeypatch.setattr(ruleset, "package_folder", lambda: package)
    assert ruleset.packaged_variants() == ["with_dem"]
    db = RunDatabase.create(tmp_path / "run", parameters={})
    assert RuleSet.for_run(db).rules["smooth"].params == {"size": "t.size"}
    db.set("drs.rule_variants", ["with_dem"])
    chosen = RuleSet.for_run(db).rules["smooth"]
    assert chosen.params == {"size": "t.dem_size"} and chosen.file.parent.name == "with_dem"
    (db.root / "rules").mkdir()
    (db.root / "rules" / "mine.yaml").write_text(GOOD.replace("t.size", "t.mine"))
    assert RuleSet.for_run(db).rules["smooth"].params == {"size": "t.mine"}
    db.set("drs.rule_variants", ["with_sar"])
    with pytest.raises(RuleError, match=r"no packaged rule variant 'with_sar' \(there are: with_dem\)"):
        RuleSet.for_run(db)
