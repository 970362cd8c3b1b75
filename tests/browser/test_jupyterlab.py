"""JupyterLab in a real browser: notebooks/04_compare.ipynb opened, switched to the pvfair kernel and run in full.

The venv's ``jupyter lab`` listens on 127.0.0.1 with a token; Playwright drives Debian's chromium
(``/usr/bin/chromium``, ``make browser``; no browser is ever downloaded) through the lab's own menus: Kernel >
Change Kernel > "Python (pvfair)" (``make kernel`` registers it in the venv), Run > Run All Cells. Then it waits
for the kernel to go idle and asserts what a person would look at: no error output, the verdict table, the forest
plot, and the cell picker switching cells. The notebook is a copy in a temporary folder (the committed notebook
stays without outputs); the lab's settings, workspaces and runtime files live there too. A screenshot is saved
under ``reports/jupyterlab/`` and its path printed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
KERNEL = "pvfair"
KERNEL_DISPLAY = "Python (pvfair)"
NOTEBOOK = "04_compare.ipynb"
#: a closed network and root: no sandbox, no GPU, nothing fetched in the background
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
RUN_TIMEOUT_S = 150


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bin(name: str) -> Path:
    return Path(sys.executable).with_name(name)


def _kernelspecs() -> dict:
    out = subprocess.run([str(_bin("jupyter")), "kernelspec", "list", "--json"], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out)["kernelspecs"]


def _settings(folder: Path) -> None:
    """User settings for this lab only: every cell rendered (no windowing), no news or update checks."""
    files = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                             "checkForUpdates": False},
    }
    for rel, body in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(body), encoding="utf-8")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (make browser)")
    if KERNEL not in _kernelspecs():
        pytest.fail(f"no {KERNEL!r} Jupyter kernel in the venv: register it (make kernel)")
    root = tmp_path_factory.mktemp("lab")
    work = root / "work"
    work.mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, work / NOTEBOOK)
    _settings(root / "settings")
    port, token = _free_port(), os.urandom(16).hex()
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(root / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(root / "workspaces"), "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    env.pop("PVFAIR_BATCH", None)  # a person at the lab: the cell picker is shown
    log = (root / "lab.log").open("w")
    proc = subprocess.Popen(
        [str(_bin("jupyter")), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}", "--ServerApp.open_browser=False",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.extension_manager=readonly",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=work,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"jupyter lab did not start: {(root / 'lab.log').read_text()[-2000:]}")
            time.sleep(0.5)
    yield {"url": f"{base}/lab/tree/{NOTEBOOK}?token={token}", "notebook": work / NOTEBOOK, "log": root / "lab.log"}
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def _menu(page, top: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{top}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).first.click()


def _select_kernel(page) -> None:
    _menu(page, "Kernel", "Change Kernel…")
    dialog = page.locator(".jp-Dialog")
    dialog.locator("select").select_option(label=KERNEL_DISPLAY)
    dialog.locator("button.jp-mod-accept").click()
    page.locator(".jp-Notebook-toolbarKernelName, .jp-KernelName", has_text=KERNEL_DISPLAY).first.wait_for(
        timeout=30_000)
    _wait_kernel_idle(page)


def _wait_kernel_idle(page) -> None:
    """The status bar reads "Python (pvfair) | Idle": the new kernel is up and the replaced one is gone.

    The toolbar shows the new kernel's name while the old kernel is still terminating; a "Run All" then meets
    the lab's "Kernel Terminating" dialog and runs nothing.
    """
    page.wait_for_function(
        """(name) => [...document.querySelectorAll('.jp-StatusBar-TextItem')]
                .some(e => e.textContent.includes(name) && /Idle/.test(e.textContent))
            && !document.querySelector('.jp-Dialog')""",
        arg=KERNEL_DISPLAY, timeout=60_000, polling=500,
    )


def _run_all(page) -> None:
    """Run > Run All Cells; where the lab answers with a dialog (a kernel still restarting), Ok, wait, again."""
    from playwright.sync_api import TimeoutError as NoDialog

    for _ in range(3):
        _menu(page, "Run", "Run All Cells")
        dialog = page.locator(".jp-Dialog")
        try:
            dialog.wait_for(timeout=3_000)
        except NoDialog:  # the cells are running
            return
        dialog.locator("button.jp-mod-accept").click()
        _wait_kernel_idle(page)
    raise AssertionError("Run All Cells kept meeting a dialog: " + dialog.inner_text()[:300])


def _wait_until_run(page) -> None:
    """Every code cell has an execution count (none ``[*]`` or blank) and the kernel is idle."""
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent);
            const ind = document.querySelector('.jp-Notebook-ExecutionIndicator');
            const idle = !ind || ind.getAttribute('data-status') === 'idle';
            return prompts.length > 0 && prompts.every(t => /\\[\\d+\\]/.test(t)) && idle;
        }""",
        timeout=RUN_TIMEOUT_S * 1000,
        polling=1000,
    )


#: natural width of the image in the code cell right after the "Forest plot" heading (0 when none or not decoded)
_FOREST_PLOT_WIDTH_JS = """() => {
    const cells = [...document.querySelectorAll('.jp-Notebook .jp-Cell')];
    const i = cells.findIndex(c => c.classList.contains('jp-MarkdownCell')
                                   && /^Forest plot/.test((c.querySelector('h2') || {}).textContent || ''));
    if (i < 0) return -1;
    const code = cells.slice(i + 1).find(c => c.classList.contains('jp-CodeCell'));
    const img = code && code.querySelector('.jp-OutputArea-output img');
    return img && img.complete ? img.naturalWidth : 0;
}"""


def _forest_plot_width(page) -> float:
    """The forest plot's natural width once it is decoded (an output's image decodes after the kernel goes idle;
    up to 30 s), else what it is then."""
    from playwright.sync_api import TimeoutError as NotYet

    try:
        page.wait_for_function(f"() => ({_FOREST_PLOT_WIDTH_JS})() > 300", timeout=30_000, polling=500)
    except NotYet:
        pass
    return page.evaluate(_FOREST_PLOT_WIDTH_JS)


def test_04_compare_runs_in_jupyterlab(lab):
    from playwright.sync_api import sync_playwright

    shots = ROOT / "reports" / "jupyterlab"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(lab["url"], timeout=60_000)
            page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
            _select_kernel(page)
            _run_all(page)
            _wait_until_run(page)

            errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
            tracebacks = [t for t in errors.all_inner_texts() if "Traceback" in t or re.search(r"\w+Error\b", t)]
            assert not tracebacks, f"error output in the notebook: {tracebacks[0][:1500]}"
            table = page.locator(".jp-RenderedHTMLCommon table.pvfair", has=page.locator("th", has_text="verdict"))
            assert table.count() >= 1, "verdict table not rendered"
            rows = table.first.locator("tbody tr").count()
            assert rows >= 1
            assert _forest_plot_width(page) > 300, "forest plot not rendered"

            picker = page.locator(".widget-dropdown select")  # the cell picker (ipywidgets)
            picker.wait_for(timeout=30_000)
            options = [o.replace("\xa0", " ") for o in picker.locator("option").all_inner_texts()]
            assert len(options) == rows  # one entry per compared cell and metric
            box = page.locator(".widget-vbox", has=picker)
            before = box.locator("table").first.inner_text()
            shown = picker.evaluate("s => s.selectedIndex")  # the showcase cell, as in the static section
            _, metric, verdict = options[shown].split(" · ")
            assert f"verdict\t{verdict}" in before and f"metric\t{metric}" in before
            other = (shown + 1) % rows
            picker.select_option(index=other)
            _, metric, verdict = options[other].split(" · ")
            # the outputs are replaced, not edited: query the route table afresh until it shows the new cell
            page.wait_for_function(
                """([before, want]) => {
                    const t = document.querySelector('.widget-vbox .jp-OutputArea-output table');
                    return t && t.innerText !== before && want.every(w => t.innerText.includes(w));
                }""",
                arg=[before, [f"verdict\t{verdict}", f"metric\t{metric}"]], timeout=30_000,
            )
            label = options[other].split(" · ")[0]
            box.locator(".jp-OutputArea-output img").first.wait_for(timeout=30_000)  # its estimation plot
            assert box.locator("h4", has_text="Runs").count() == 1
            assert label.split()[0] in box.inner_text()

            picker.scroll_into_view_if_needed()  # the picker with its route and plot: what the screenshot is for
            page.mouse.wheel(0, 150)
            shot = shots / "04_compare.png"
            page.screenshot(path=str(shot), full_page=False)
            print(f"\nscreenshot: {shot}")
            page.keyboard.press("Control+s")  # save, so the outputs can be read back
            page.wait_for_timeout(2000)
        except Exception as exc:
            failed = shots / "04_compare-failed.png"
            page.screenshot(path=str(failed))
            # the failure last: the end of a CI log (and the short summary) names it
            print("\nend of the lab's log:\n" + lab["log"].read_text(encoding="utf-8", errors="replace")[-3000:]
                  + f"\nscreenshot of the failure: {failed}\nfailed: {type(exc).__name__}: {str(exc)[:800]}")
            raise
        finally:
            browser.close()
    nb = nbformat.read(str(lab["notebook"]), as_version=4)
    assert nb.metadata["kernelspec"]["name"] == KERNEL
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert outputs and not [o for o in outputs if o.get("output_type") == "error"]
