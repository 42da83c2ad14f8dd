"""The site as published: scripts and styles minified without changing what they do."""

import json
import shutil
import subprocess

from mysfits_deploy.site import published
from mysfits_deploy.stacks import ROOT

NODE = shutil.which("node") or "node"  # the site's tests need Node (npm installs axe-core)
SCRIPT = """// A comment that goes.
const url = 'http://example.test/a//b'; /* and this one */
const text = `line one
  // not a comment: inside a template literal ${url.length}`;
const pattern = /\\/\\/+/g;
export function describe() {
  return [url, text, 'a//b'.replace(pattern, '/')];
}
"""


def test_a_script_loses_comments_and_layout_but_not_its_meaning(tmp_path):
    source = tmp_path / "sample.js"
    source.write_text(SCRIPT)
    minified = published(source).decode()
    assert "A comment that goes" not in minified
    assert "and this one" not in minified
    assert len(minified) < len(SCRIPT) * 0.8
    runner = tmp_path / "run.mjs"
    results = []
    for name, text in (("original.mjs", SCRIPT), ("minified.mjs", minified)):
        (tmp_path / name).write_text(text)
        runner.write_text(f"import {{ describe }} from './{name}'; console.log(JSON.stringify(describe()));")
        ran = subprocess.run([NODE, str(runner)], capture_output=True, text=True, check=True)
        results.append(json.loads(ran.stdout))
    assert results[0] == results[1]
    assert results[1][1].endswith("// not a comment: inside a template literal 24")


def test_styles_are_minified_and_other_files_published_as_they_are():
    css = ROOT / "web/css/site.css"
    assert b"/*" not in published(css)
    assert len(published(css)) < len(css.read_bytes()) * 0.8
    for other in ("web/index.html", "web/favicon.svg"):
        assert published(ROOT / other) == (ROOT / other).read_bytes()
