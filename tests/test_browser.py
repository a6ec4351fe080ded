"""What a person sees, in a real browser: Debian's headless Chromium driven by Selenium and Debian's chromedriver.

- The Dagster UI (``dagster dev``, started here) shows the asset graph; a screenshot goes to tests/artifacts/.
- A page thumbnail made by ``overlay.thumbnail_markdown`` renders as an image in the asset's metadata
  (``MetadataValue.md`` with a ``data:image/png;base64`` image: does the UI really show it?).
- The HTML report of a real run loads all its images.

Skipped only where Chromium or chromedriver is missing and ``CI`` is not set; on CI they must run
(``apt-get install chromium chromium-driver``). No browser is downloaded.
"""

import os
import shutil
import tempfile
import time
from pathlib import Path
from unittest import mock

import pytest

from .dagster_dev import dagster_dev, fresh_instance_dirs, gql
from .viz_support import FIXTURES, pipeline_outputs, run_pipeline

ROOT = Path(__file__).parents[1]
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1600,1000"]

_have_browser = os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not _have_browser and not os.environ.get("CI"),
                                 reason="needs Debian's chromium and chromium-driver (/usr/bin/chromium)")]
OVERLAY_KEY = "overlay"


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    for flag in [*CHROME_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)  # a given driver: nothing downloaded
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def overlay_markdown_key(home: Path) -> str:
    """The metadata key under which ``ocr_pages`` attached its page image for ``A.1.0`` in the real run."""
    import dagster as dg

    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(home)}):
        instance = dg.DagsterInstance.get()
        try:
            records = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey("ocr_pages"), asset_partitions=["A.1.0"]), limit=1)
            metadata = records.records[0].asset_materialization.metadata
        finally:
            instance.dispose()
    keys = [key for key, value in metadata.items()
            if isinstance(value, dg.MarkdownMetadataValue) and "data:image/png;base64," in (value.md_str or "")]
    assert keys == [OVERLAY_KEY], f"ocr_pages carries no page image in its metadata: {sorted(metadata)}"
    return OVERLAY_KEY


@pytest.fixture(scope="module")
def dagster_ui(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser-ui")
    home, inbox, data = fresh_instance_dirs(tmp)
    # A real run into this instance first, so the UI has a materialized partition to show.
    assert run_pipeline(data, [FIXTURES / "A.1.0.pdf"], dagster_home=home) == 0
    key = overlay_markdown_key(home)
    env = {"PDF_OCR_DATA_DIR": str(data), "PDF_OCR_INBOX_DIR": str(inbox)}
    with dagster_dev(home, tmp / "dagster.log", env) as (client, base):
        names = sorted(n["assetKey"]["path"][-1] for n in
                       gql(client, "{ assetNodes { assetKey { path } } }")["assetNodes"])
        yield {"base": base, "names": names, "overlay_key": key}


def wait_for(driver, condition, timeout=60, message="condition"):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.5).until(condition, message)


def body_text(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").text


def dismiss_community_dialog(driver) -> None:
    """The first visit shows a 'Join the Dagster community' dialog; its Skip button closes it."""
    from selenium.webdriver.common.by import By

    for button in driver.find_elements(By.XPATH, "//button[normalize-space()='Skip']"):
        if button.is_displayed():
            button.click()


def screenshot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    return path


def loaded_images(driver, css: str = "img") -> list[dict]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0])).map(i => "
        "({src: i.src.slice(0, 30), complete: i.complete, width: i.naturalWidth, height: i.naturalHeight}))", css)


def expand_all_groups(driver) -> None:
    """With several asset groups the graph starts collapsed: graph settings (gear) -> 'Expand all groups'."""
    from selenium.webdriver.common.by import By

    gears = driver.find_elements(By.CSS_SELECTOR, "[aria-label='settings']")
    if not gears:
        return
    gears[-1].find_element(By.XPATH, "./ancestor::button[1]").click()  # the last gear is the graph's own
    menu_item = "//*[@role='menuitem'][contains(normalize-space(), 'Expand all groups')]"
    item = wait_for(driver, lambda d: d.find_elements(By.XPATH, menu_item), timeout=10,
                    message="the graph settings menu")
    item[0].click()
    from selenium.webdriver.common.keys import Keys

    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)  # close the menu before the screenshot


def test_asset_graph_page_shows_the_assets(browser, dagster_ui):
    names = dagster_ui["names"]
    assert {"raw_pdfs", "rendered_pages", "ocr_pages", "run_metrics"} <= set(names)
    browser.get(dagster_ui["base"] + "/asset-groups")
    wait_for(browser, lambda d: "Global asset lineage" in body_text(d) and "Materialize all" in body_text(d),
             message="the lineage page")
    time.sleep(1)
    dismiss_community_dialog(browser)
    try:
        if not all(n in body_text(browser) for n in names):
            expand_all_groups(browser)
        wait_for(browser, lambda d: all(n in body_text(d) for n in names), message="asset names")
    except Exception as e:
        screenshot(browser, "dagster-asset-graph.failed.png")
        raise AssertionError(f"asset names {names} not all on the page:\n{body_text(browser)[:2000]}") from e
    try:  # the graph's nodes fill in their status a moment later
        wait_for(browser, lambda d: "Loading" not in body_text(d), timeout=20)
    except Exception:  # noqa: BLE001 - a slow status is no failure of the graph
        pass
    path = screenshot(browser, "dagster-asset-graph.png")
    assert path.stat().st_size > 10_000
    # Each asset is a node of the graph, not only an entry of the sidebar.
    from selenium.webdriver.common.by import By

    for name in names:
        nodes = browser.find_elements(By.XPATH, f"//*[name()='foreignObject']//*[normalize-space()='{name}']")
        assert nodes, f"no graph node for {name}"


def test_page_thumbnail_renders_in_the_asset_metadata(browser, dagster_ui):
    from selenium.webdriver.common.by import By

    browser.get(dagster_ui["base"] + "/assets/ocr_pages?partition=A.1.0")
    key = dagster_ui["overlay_key"]
    link = f"//tr[td[normalize-space()='{key}']]//a[normalize-space()='[Show Markdown]']"
    wait_for(browser, lambda d: d.find_elements(By.XPATH, link), message=f"the {key} metadata entry")
    dismiss_community_dialog(browser)
    browser.find_elements(By.XPATH, link)[-1].click()
    css = "img[src^='data:image/png;base64,']"
    wait_for(browser, lambda d: any(i["complete"] and i["width"] for i in loaded_images(d, css)),
             message="the markdown image rendered")
    time.sleep(1)  # let the dialog finish fading in
    screenshot(browser, "dagster-overlay-metadata.png")
    images = loaded_images(browser, css)
    assert len(images) == 1 and images[0]["width"] > 100 and images[0]["height"] > 100


def test_html_report_shows_its_images(browser, tmp_path_factory, tmp_path):
    from pdf_ocr_pipeline.report import write_report

    data = pipeline_outputs(tmp_path_factory)
    out = write_report(data, tmp_path / "report.html")
    browser.get(out.resolve().as_uri())
    wait_for(browser, lambda d: d.execute_script("return document.readyState") == "complete")
    # Decoding large inline images can lag behind readyState on a busy machine: wait for every one.
    wait_for(browser, lambda d: all(i["complete"] and i["width"] for i in loaded_images(d)),
             message="every report image decoded")
    images = loaded_images(browser)
    assert len(images) == 3, images  # one overlay per document
    assert all(i["complete"] and i["width"] > 0 and i["src"].startswith("data:image/png") for i in images), images
    screenshot(browser, "report.png")
    from selenium.webdriver.common.by import By

    bpmn = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "a[href$='.bpmn']")]
    assert len(bpmn) == 1 and Path(bpmn[0].removeprefix("file://")).is_file()  # A.1.0's diagram
