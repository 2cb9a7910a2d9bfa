"""The running app in headless Chromium: painting on the canvas, reload, train and review.

The server is `run_app.py` with its worker, bound to 127.0.0.1 on a free port,
on a temporary workspace with one 2-class project of four 64 x 96 (H x W) tiles.
Stroke checks are pixel-exact: the expected tile pixels come from the canvas
bounding box, the tile size and the brush width.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
from sqlalchemy import func, select

from core.store.engine import session_scope, upgrade_database
from core.store.models import Backbone, Label, Run, Tile
from core.store.workspace import Workspace

pytestmark = [pytest.mark.browser, pytest.mark.slow]

playwright_api = pytest.importorskip("playwright.sync_api")

VIEWPORT = {"width": 1400, "height": 1000}
TILE_HEIGHT, TILE_WIDTH = 64, 96
BRUSH_PX = 12  # the label page's default brush size in screen pixels
SAVE_WAIT_S = 30
TRAIN_WAIT_S = 240


@dataclass(frozen=True)
class Server:
    """A running app and the ids of its test project."""

    url: str
    workspace: Workspace
    project_id: int
    tile_ids: list[int]


@pytest.fixture(scope="module")
def server(tmp_path_factory, tile_folder_writer, project_factory, launch_app) -> Iterator[Server]:
    """Start run_app.py with its worker on a temporary workspace holding one project."""
    base = tmp_path_factory.mktemp("browser")
    workspace = Workspace(base / "workspace").create()
    upgrade_database(workspace.database_url)
    folder = tile_folder_writer(base / "tiles", count=4, height=TILE_HEIGHT, width=TILE_WIDTH, seed=7)
    created = project_factory(workspace, folder)
    save_stripes_label(workspace, created.tile_ids[2])

    url = launch_app(workspace, base / "server.log")
    yield Server(url, workspace, created.project_id, created.tile_ids)


def save_stripes_label(workspace: Workspace, tile_id: int) -> None:
    """Save a label with a soil stripe (rows 4-7) and a crop stripe (rows 56-59) on a tile."""
    from core.labels.versions import save_label

    with session_scope(workspace.database_url) as session:
        mask = np.full((TILE_HEIGHT, TILE_WIDTH), 255, dtype=np.uint8)
        mask[4:8, :] = 0
        mask[56:60, :] = 1
        save_label(session, workspace, session.get(Tile, tile_id), mask)


def label_versions(workspace: Workspace, tile_id: int) -> list[tuple[int, str]]:
    """Return (version, sha256) of every label of a tile, oldest first."""
    with session_scope(workspace.database_url) as session:
        rows = session.execute(select(Label.version, Label.sha256).where(Label.tile_id == tile_id).order_by(Label.version))
        return [(version, digest) for version, digest in rows]


def newest_mask(workspace: Workspace, tile_id: int) -> np.ndarray:
    from core.labels.versions import latest_label, load_label_mask

    with session_scope(workspace.database_url) as session:
        return load_label_mask(latest_label(session, tile_id))


def wait_for_version(workspace: Workspace, tile_id: int, version: int, timeout_s: float = SAVE_WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        versions = label_versions(workspace, tile_id)
        if versions and versions[-1][0] >= version:
            return
        time.sleep(0.25)
    raise TimeoutError(f"label version {version} of tile {tile_id} was not saved within {timeout_s} s")


def open_canvas(page, server: Server, tile_id: int) -> dict[str, float]:
    """Open the Label page on a tile and return the bounding box of the top canvas."""
    page.goto(f"{server.url}/label?project={server.project_id}&tile={tile_id}")
    top = page.locator("canvas.upper-canvas")
    top.wait_for(state="visible", timeout=SAVE_WAIT_S * 1000)
    page.wait_for_timeout(500)
    return top.bounding_box()


def paint_stroke(page, box: dict[str, float], start: tuple[float, float], end: tuple[float, float]) -> None:
    """Drag the mouse across the canvas between two points given as fractions of its size."""
    page.mouse.move(box["x"] + start[0] * box["width"], box["y"] + start[1] * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + end[0] * box["width"], box["y"] + end[1] * box["height"], steps=20)
    page.mouse.up()


def stroke_in_tile(box: dict[str, float], start, end) -> tuple[np.ndarray, np.ndarray, float]:
    """Return the stroke's end points and half width in tile pixel units (x, y)."""
    scale = np.array([TILE_WIDTH / box["width"], TILE_HEIGHT / box["height"]])
    size = np.array([box["width"], box["height"]])
    first = np.asarray(start) * size * scale
    last = np.asarray(end) * size * scale
    return first, last, BRUSH_PX / 2 * scale[0]


def distance_to_segment(first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Return each tile pixel centre's distance (tile px) to the segment, shape (H, W)."""
    rows, cols = np.mgrid[0:TILE_HEIGHT, 0:TILE_WIDTH]
    points = np.stack([cols + 0.5, rows + 0.5], axis=-1)
    direction = last - first
    t = np.clip(((points - first) @ direction) / (direction @ direction), 0, 1)
    nearest = first + t[..., None] * direction
    return np.linalg.norm(points - nearest, axis=-1)


def centre_line_pixels(first: np.ndarray, last: np.ndarray) -> set[tuple[int, int]]:
    """Return the (row, col) of every tile pixel the stroke's centre line passes through."""
    length = math.ceil(np.linalg.norm(last - first) * 4)
    points = [first + (last - first) * t for t in np.linspace(0, 1, length + 1)]
    return {(int(y), int(x)) for x, y in points}


def check_stroke(mask: np.ndarray, box, start, end, class_index: int) -> None:
    first, last, half_width = stroke_in_tile(box, start, end)
    on_line = centre_line_pixels(first, last)
    far = distance_to_segment(first, last) > half_width + 1

    unpainted_on_line = sorted(p for p in on_line if mask[p] != class_index)
    assert unpainted_on_line == []
    assert np.all(mask[far] == 255)
    assert set(np.unique(mask).tolist()) == {class_index, 255}


# The stroke goes down and to the right, so the mapping of rows and of columns
# are both checked. The canvas keeps the tile's aspect (480 x 320 CSS px).
STROKE_START = (0.21, 0.27)
STROKE_END = (0.73, 0.69)


def test_stroke_maps_to_tile_pixels(server, browser):
    tile_id = server.tile_ids[0]
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        box = open_canvas(page, server, tile_id)
        paint_stroke(page, box, STROKE_START, STROKE_END)
        wait_for_version(server.workspace, tile_id, 1)
    finally:
        context.close()

    assert box["width"] / box["height"] == pytest.approx(TILE_WIDTH / TILE_HEIGHT, abs=0.01)
    check_stroke(newest_mask(server.workspace, tile_id), box, STROKE_START, STROKE_END, class_index=0)


def test_stroke_maps_at_device_scale_2(server, browser):
    tile_id = server.tile_ids[1]
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=2)
    page = context.new_page()
    try:
        box = open_canvas(page, server, tile_id)
        page.locator('[data-testid="stSidebar"]').get_by_text("crop").click()
        crop = page.locator('[data-testid="stSidebar"] label:has-text("crop") input[type="radio"]')
        playwright_api.expect(crop).to_be_checked()
        # NOTE: a fixed wait for the rerun that sends the new stroke colour to the canvas.
        # On a slower server the stroke is painted as soil, and the class check fails.
        page.wait_for_timeout(2000)
        box = page.locator("canvas.upper-canvas").bounding_box()
        paint_stroke(page, box, STROKE_START, STROKE_END)
        wait_for_version(server.workspace, tile_id, 1)
    finally:
        context.close()

    check_stroke(newest_mask(server.workspace, tile_id), box, STROKE_START, STROKE_END, class_index=1)


def test_reload_keeps_label(server, browser):
    tile_id = server.tile_ids[2]
    before = newest_mask(server.workspace, tile_id)
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        box = open_canvas(page, server, tile_id)
        paint_stroke(page, box, (0.3, 0.5), (0.6, 0.5))
        wait_for_version(server.workspace, tile_id, 2)
        painted = label_versions(server.workspace, tile_id)

        page.reload()
        page.locator("canvas.upper-canvas").wait_for(state="visible", timeout=SAVE_WAIT_S * 1000)
        page.wait_for_timeout(3000)
        after_reload = label_versions(server.workspace, tile_id)
    finally:
        context.close()

    mask = newest_mask(server.workspace, tile_id)
    assert [version for version, _ in painted] == [1, 2]
    assert after_reload == painted
    assert np.array_equal(mask[4:8], before[4:8])
    assert np.array_equal(mask[56:60], before[56:60])
    assert np.all(mask[TILE_HEIGHT // 2, 35:55] == 0)


def test_two_tabs_keep_both_strokes(server, browser):
    tile_id = server.tile_ids[3]
    first_tab = browser.new_context(viewport=VIEWPORT)
    second_tab = browser.new_context(viewport=VIEWPORT)
    try:
        first_page = first_tab.new_page()
        second_page = second_tab.new_page()
        first_box = open_canvas(first_page, server, tile_id)
        second_box = open_canvas(second_page, server, tile_id)

        paint_stroke(first_page, first_box, (0.2, 0.25), (0.8, 0.25))
        wait_for_version(server.workspace, tile_id, 1)
        paint_stroke(second_page, second_box, (0.2, 0.75), (0.8, 0.75))
        wait_for_version(server.workspace, tile_id, 2)
    finally:
        first_tab.close()
        second_tab.close()

    mask = newest_mask(server.workspace, tile_id)
    assert np.all(mask[16, 25:70] == 0)
    assert np.all(mask[48, 25:70] == 0)


def wait_for_run(workspace: Workspace, timeout_s: float) -> Run:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with session_scope(workspace.database_url) as session:
            run = session.scalar(select(Run).order_by(Run.id.desc()).limit(1))
            if run is not None and run.status in ("succeeded", "failed", "cancelled"):
                return run
        time.sleep(1)
    raise TimeoutError(f"no training run finished within {timeout_s} s")


def test_train_then_review(server, browser):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        page.goto(f"{server.url}/train?project={server.project_id}")
        page.get_by_role("button", name="Add a random-init ResNet18 as a baseline").click()
        steps = page.get_by_label("Steps")
        steps.wait_for(state="visible", timeout=SAVE_WAIT_S * 1000)
        steps.fill("20")
        steps.press("Enter")
        page.wait_for_timeout(1500)
        page.get_by_role("button", name="Train", exact=True).click()
        run = wait_for_run(server.workspace, TRAIN_WAIT_S)

        page.goto(f"{server.url}/review?project={server.project_id}")
        overlay = page.locator('[data-testid="stMain"] img').first
        overlay.wait_for(state="visible", timeout=SAVE_WAIT_S * 1000)
        natural_width = overlay.evaluate("image => image.naturalWidth")
    finally:
        context.close()

    with session_scope(server.workspace.database_url) as session:
        backbones = session.scalar(select(func.count()).select_from(Backbone))
        runs = session.scalar(select(func.count()).select_from(Run))
    assert backbones == 1
    assert runs == 1
    assert run.status == "succeeded", run.message
    assert run.config["steps"] == 20
    assert natural_width > 0
