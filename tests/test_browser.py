"""Every notebook in a real JupyterLab in headless Chromium: runs, renders, fits the column.

Debian's Chromium (`.ci/install-browser`) driven by Playwright for Python (the `test` extra;
never `playwright install`). JupyterLab serves a temporary copy of notebooks/ and solutions/
(nothing is saved back), with autosave off and cell windowing off so every cell is in the
page. For each notebook: Run All, wait, then check
- no error outputs (chapters catch the errors they mean to show and print them),
- every widget rendered: no "Loading widget..." and no `Widget(...)`-style plain repr,
- no output wider than the notebook column (`scrollWidth > clientWidth` on an output area),
- no text line over MAX_CHARS (JupyterLab wraps text, so no scrollbar shows: the text itself
  is measured; such lines are also listed in test-artifacts/long-lines.txt),
and save a screenshot to test-artifacts/screenshots/. The same lab drives
the compiler explorer in a scratch notebook. Skipped without Chromium, except under CI, where
it fails.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_lab import _dev, _free_port, _stop

CHROMIUM = os.environ.get("JITKIT_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
NOTEBOOKS = [
    p.relative_to(ROOT).as_posix()
    for folder in ("notebooks", "solutions")
    for p in sorted((ROOT / folder).glob("*.ipynb"))
]
NOTEBOOK_TIMEOUT = 600  # seconds for one notebook's Run All, on a slow 2-core CI machine
WINDOW = {"width": 1400, "height": 1000}  # the size the review used
WIDGET_REPR = r"^(Widget|VBox|HBox|Tab|Button|Dropdown|IntSlider|HTML|Output)\(.*\)$"

# the newest Python: chapter outputs that change with it (3.13's coloured tracebacks) show here
pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.once_per_ci(python="3.13"),
]


def _browser_or_skip() -> None:
    missing = [] if Path(CHROMIUM).exists() else [CHROMIUM]
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install -e '.[test]')")
    if missing:
        why = f"browser test needs {', '.join(missing)}: run .ci/install-browser"
        if os.environ.get("CI"):
            pytest.fail(why)  # CI must run it, never skip it quietly
        pytest.skip(why)


SETTINGS = {  # JupyterLab user settings: nothing saved, every cell rendered
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab on a free port over a copy of the notebooks; yields (base URL, token)."""
    _browser_or_skip()
    home = tmp_path_factory.mktemp("lab")
    served = home / "root"
    for folder in ("notebooks", "solutions"):
        shutil.copytree(ROOT / folder, served / folder,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))  # fmt: skip
    settings = home / "settings"
    for name, value in SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    port, token = _free_port(), secrets.token_hex(16)
    command = _dev().lab_command(
        "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        f"--IdentityProvider.token={token}", "--LabApp.expose_app_in_browser=True",
    )  # fmt: skip
    command[0] = sys.executable
    command = [c for c in command if not c.startswith("--ServerApp.root_dir=")]
    command.append(f"--ServerApp.root_dir={served}")
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(":"),
    }
    log = (home / "lab.log").open("w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                               start_new_session=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and process.poll() is None:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        else:
            pytest.fail((home / "lab.log").read_text()[-3000:])
        yield base, token
    finally:
        _stop(process)
        log.close()


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def _shutdown_kernels(base: str, token: str) -> None:
    """Delete every session (and so its kernel): the next notebook starts clean."""
    with urllib.request.urlopen(f"{base}/api/sessions?token={token}", timeout=10) as r:
        sessions = json.load(r)
    for session in sessions:
        request = urllib.request.Request(
            f"{base}/api/sessions/{session['id']}?token={token}", method="DELETE"
        )
        urllib.request.urlopen(request, timeout=30).close()


def open_notebook(browser, lab, path: str):
    """A fresh page with `path` open and its kernel idle."""
    base, token = lab
    page = browser.new_page(viewport=WINDOW)
    page.goto(f"{base}/lab/tree/{path}?reset&token={token}")
    page.wait_for_function(
        "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
        " const s = w && w.sessionContext && w.sessionContext.session;"
        " return s && s.kernel && s.kernel.status === 'idle'; }",
        timeout=120_000,
    )
    return page


STATE = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = panel.content.widgets.filter(c => c.model.type === 'code');
  const busy = cells.some(c => c.promptNode && c.promptNode.textContent.includes('*'));
  const errors = [];
  cells.forEach((c, i) => c.model.outputs.toJSON().forEach(o => {
    if (o.output_type === 'error') errors.push(
      {cell: panel.content.widgets.indexOf(c), ename: o.ename,
       evalue: String(o.evalue).slice(0, 300)});
  }));
  const ran = cells.filter(c => c.model.executionCount !== null).length;
  return {status: kernel ? kernel.status : 'none', busy, ran, total: cells.length, errors};
}"""

MAX_CHARS = 100  # a text line longer than this wraps in a ~900 px column: unreadable
CHECKS = """(pattern) => {
  const MAX_CHARS = MAX;
  const panel = window.jupyterapp.shell.currentWidget;
  const out = {loading: [], reprs: [], wide: [], long: []};
  out.sources = panel.content.widgets.map(c => {
    const source = c.model.toJSON().source;
    return Array.isArray(source) ? source.join('') : source;
  });
  panel.content.widgets.forEach((cell, index) => {
    cell.node.querySelectorAll('.jp-OutputArea-output').forEach(o => {
      if (o.innerText.includes('Loading widget')) out.loading.push(index);
      if (o.dataset.mimeType === 'text/plain' && new RegExp(pattern, 's').test(o.innerText.trim()))
        out.reprs.push({cell: index, text: o.innerText.slice(0, 80)});
      if (o.scrollWidth > o.clientWidth + 1)
        out.wide.push({cell: index, scrollWidth: o.scrollWidth, clientWidth: o.clientWidth,
                       mime: o.dataset.mimeType || o.className});
    });
    if (cell.model.type !== 'code') return;
    cell.model.outputs.toJSON().forEach(o => {  // lab wraps long text: look at the text itself
      let text = o.text || (o.data && o.data['text/plain']) || '';
      const rich = ['text/html', 'image/svg+xml', 'image/png'];
      if (o.data && rich.some(m => o.data[m])) text = '';  // shown rich, not as this text
      text = Array.isArray(text) ? text.join('') : text;
      const longest = Math.max(0, ...text.split('\\n').map(l => l.length));
      if (longest > MAX_CHARS) out.long.push({cell: index, chars: longest});
    });
  });
  return out;
}""".replace("MAX;", f"{MAX_CHARS};")


def run_all(page, timeout: float = NOTEBOOK_TIMEOUT) -> dict:
    """Run All, then wait until the kernel is idle and no cell is queued (or one failed)."""
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    deadline, idle_since = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        state = page.evaluate(STATE)
        quiet = state["status"] == "idle" and not state["busy"]
        finished = state["ran"] == state["total"] or state["errors"]
        if quiet and finished:
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > 2:  # widgets finish rendering
                return state
        else:
            idle_since = None
        time.sleep(0.5)
    pytest.fail(f"Run All did not finish in {timeout}s: {page.evaluate(STATE)}")


def screenshot(page, path: str) -> Path:
    """The whole notebook: the window made as tall as the notebook (capped), then a shot."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = page.evaluate(  # every cell is rendered (windowing is off): their heights add up
        "() => window.jupyterapp.shell.currentWidget.content.widgets"
        ".reduce((sum, cell) => sum + cell.node.offsetHeight, 0)"
    )
    tall = min(max(height + 300, WINDOW["height"]), 16000)
    page.set_viewport_size({"width": WINDOW["width"], "height": tall})
    page.evaluate(  # Run All left the notebook scrolled to its end: back to the top
        "() => window.jupyterapp.shell.currentWidget.node.querySelectorAll('*')"
        ".forEach(e => { if (e.scrollTop) e.scrollTop = 0; })"
    )
    page.wait_for_timeout(500)
    stem = path.replace("/", "__").replace(".ipynb", "")
    target = SCREENSHOTS / f"{stem}.png"
    page.screenshot(path=str(target))
    widgets = page.locator(".jp-OutputArea-output:has(.jupyter-widgets)")
    for i in range(widgets.count()):  # each widget on its own, at full size
        widgets.nth(i).screenshot(path=str(SCREENSHOTS / f"{stem}__widget{i}.png"))
    return target


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_notebook_runs_renders_and_fits_in_a_real_browser(browser, lab, path):
    page = open_notebook(browser, lab, path)
    try:
        started = time.monotonic()
        state = run_all(page)
        seconds = time.monotonic() - started
        checks = page.evaluate(CHECKS, WIDGET_REPR)
        shot = screenshot(page, path)
    finally:
        page.close()
        _shutdown_kernels(*lab)
    print(f"{path}: {state['ran']}/{state['total']} cells in {seconds:.1f}s, screenshot {shot}")
    found = [("error", e["cell"], f"{e['ename']}: {e['evalue']}") for e in state["errors"]]
    found += [("loading", cell, "Loading widget... never replaced") for cell in checks["loading"]]
    found += [("repr", r["cell"], f"a widget shown as {r['text']!r}") for r in checks["reprs"]]
    found += [("wide", w["cell"], f"{w['scrollWidth']} px in a {w['clientWidth']} px column "
               f"({w['mime']})") for w in checks["wide"]]  # fmt: skip
    long = [("long", n["cell"], f"a text line of {n['chars']} characters (> {MAX_CHARS}, wraps)")
            for n in checks["long"]]  # fmt: skip

    def where(cell: int) -> str:
        first = (checks["sources"][cell].splitlines() or [""])[0][:60]
        return f"cell {cell} ({first!r})"

    problems = [f"{check}: {where(cell)}: {detail}" for check, cell, detail in found]
    report = [f"{path} {where(cell)}: {detail}" for _, cell, detail in long]
    if report:  # kept as an artifact too, for CI
        with (SCREENSHOTS.parent / "long-lines.txt").open("a") as file:
            file.write("\n".join(report) + "\n")
        problems += report
    assert not problems, f"{path}:\n" + "\n".join(problems)


EXPLORE = """\
from jitkit.explore import explore
e = explore('''
def collatz(n):
    steps = 0
    while n != 1:
        if n % 2 == 0:
            n = n // 2
        else:
            n = 3 * n + 1
        steps = steps + 1
    return steps
''')
e
"""


def test_the_compiler_explorer_reacts_in_the_browser(browser, lab):
    path = put_notebook(lab, "scratch_explore.ipynb", [EXPLORE])
    page = open_notebook(browser, lab, path)
    try:
        state = run_all(page, 120)
        assert not state["errors"], state["errors"]
        page.locator(".jp-OutputArea-output .lm-TabBar-tab").first.wait_for(timeout=30_000)

        def pane(title: str) -> str:
            page.locator(".jp-OutputArea-output .lm-TabBar-tab", has_text=title).click()
            page.wait_for_timeout(300)
            shown = ".jp-OutputArea-output .widget-tab-contents .widget-html-content:visible"
            return page.locator(shown).last.inner_text()

        asm_before = pane("x86-64")
        ir_before = pane("SSA IR")
        # a pass: pick the first one in the SSA tab's dropdown
        page.locator(".jp-OutputArea-output select:visible").last.select_option(index=0)
        page.wait_for_timeout(500)
        ir_after_pass = pane("SSA IR")
        assert ir_after_pass != ir_before and "mul_ovf 3" in ir_after_pass
        # a source line: edit the textarea, leave it (continuous_update is off)
        box = page.locator(".jp-OutputArea-output textarea")
        box.fill(box.input_value().replace("3 * n + 1", "5 * n + 3"))
        box.blur()
        page.wait_for_function(
            "() => [...document.querySelectorAll('.jp-OutputArea-output .widget-html-content')]"
            ".some(e => e.innerText.includes('mul_ovf 5'))", timeout=60_000)  # fmt: skip
        assert "mul_ovf 5" in pane("SSA IR")
        assert pane("x86-64") != asm_before
        screenshot(page, "scratch_explore.ipynb")
    finally:
        page.close()
        _shutdown_kernels(*lab)


def put_notebook(lab, name: str, sources: list[str]) -> str:
    """A scratch notebook in the served copy, made through the contents API."""
    import nbformat

    base, token = lab
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    body = json.dumps({"type": "notebook", "content": json.loads(nbformat.writes(nb))}).encode()
    url = f"{base}/api/contents/notebooks/{name}?token={token}"
    json_type = {"Content-Type": "application/json"}
    urllib.request.urlopen(
        urllib.request.Request(url, data=body, method="PUT", headers=json_type), timeout=30
    ).close()
    return f"notebooks/{name}"


def test_the_checks_catch_an_error_a_widget_repr_and_a_wide_output(browser, lab):
    """The checks above can fail: each one fires on a scratch notebook made to trip it."""
    path = put_notebook(lab, "scratch_checks.ipynb", [
        "from IPython.display import HTML\n"
        "HTML('<div style=\"width: 3000px; white-space: nowrap\">wide</div>')",
        "class Fake:\n    def __repr__(self):\n        return 'VBox(children=(Button(),))'\nFake()",
        "print('x' * 101)",
        "1 / 0",
    ])  # fmt: skip
    page = open_notebook(browser, lab, path)
    try:
        state = run_all(page, 120)
        checks = page.evaluate(CHECKS, WIDGET_REPR)
    finally:
        page.close()
        _shutdown_kernels(*lab)
    assert [(e["cell"], e["ename"]) for e in state["errors"]] == [(3, "ZeroDivisionError")]
    assert [r["cell"] for r in checks["reprs"]] == [1]
    assert [w["cell"] for w in checks["wide"]] == [0]
    assert checks["long"] == [{"cell": 2, "chars": 101}]
