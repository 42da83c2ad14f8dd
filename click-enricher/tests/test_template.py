"""The SAM template: valid for cfn-lint and wired to the code it deploys."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from enricher import handler as handler_module

HERE = Path(__file__).resolve().parents[1]  # click-enricher/
TEMPLATE = HERE / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !Sub, ...) as {"Ref": ...} style dicts."""


def _tag(loader: yaml.SafeLoader, tag: str, node: yaml.Node) -> dict:
    value = loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else None
    return {tag if tag in ("Ref", "Condition") else f"Fn::{tag}": value}


_CfnLoader.add_multi_constructor("!", _tag)


def test_cfn_lint_passes():
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(cfn_lint), str(TEMPLATE)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_function_runs_the_packaged_handler_with_the_catalog_url():
    template = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    function = template["Resources"]["ClickEnricherFunction"]["Properties"]
    module, name = function["Handler"].rsplit(".", 1)
    assert module == handler_module.__name__
    assert callable(getattr(handler_module, name))
    assert (HERE / function["CodeUri"]) == HERE / "build" / "click-enricher.zip"  # package.py's default output
    assert (function["Runtime"], function["Architectures"], function["Tracing"]) == ("python3.11", ["x86_64"], "Active")
    assert function["Environment"]["Variables"]["CATALOG_API_URL"] == {"Ref": "CatalogApiUrl"}
    assert "Policies" not in function  # logs and X-Ray only: no table access
    assert set(template["Outputs"]) == {"FunctionArn", "FunctionName"}
