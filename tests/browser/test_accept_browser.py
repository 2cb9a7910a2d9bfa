"""Accepting a prediction on the Review page, then correcting it with one brush stroke, in headless Chromium.

The server is `run_app.py` with its worker, bound to 127.0.0.1 on a free port,
on a temporary workspace whose project already has one trained head run.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
from sqlalchemy import select

from core.store.engine import session_scope, upgrade_database
from core.store.models import Label, Project, Run, Tile
from core.store.workspace import Workspace

pytestmark = [pytest.mark.browser, pytest.mark.slow]

playwright_api = pytest.importorskip("playwright.sync_api")

VIEWPORT = {"width": 1400, "height": 1000}
TILE_HEIGHT, TILE_WIDTH = 64, 96
WAIT_S = 30


@dataclass(frozen=True)
class TrainedServer:
    """A running app, its workspace, the project's tiles and the trained run."""

    url: str
    workspace: Workspace
    project_id: int
    tile_ids: list[int]
    run_id: int


def train_run(workspace: Workspace, project_id: int) -> int:
    """Label one tile, then train a 12-step head on the random baseline in this process."""
    from core.jobs.queue import enqueue_run
    from core.jobs.worker import run_worker
    from core.labels.versions import save_label
    from core.projects.backbones import create_random_baseline
    from core.training.trainer import HeadConfig

    with session_scope(workspace.database_url) as session:
        project = session.get(Project, project_id)
        first = session.scalar(select(Tile).where(Tile.project_id == project_id).order_by(Tile.name))
        mask = np.full((TILE_HEIGHT, TILE_WIDTH), 255, dtype=np.uint8)
        mask[8:56, 4:40] = 0
        mask[8:56, 56:92] = 1
        save_label(session, workspace, first, mask)
        backbone = create_random_baseline(session, workspace, project)
        config = HeadConfig(steps=12, batch_size=2, crop_size=64, eval_every=6, warmup_steps=4).to_dict()
        run_id = enqueue_run(session, project_id, "train", config, backbone_id=backbone.id).id
    previous = signal.getsignal(signal.SIGTERM)
    try:
        run_worker(workspace, once=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
    with session_scope(workspace.database_url) as session:
        run = session.get(Run, run_id)
        assert run.status == "succeeded", run.message
    return run_id


@pytest.fixture(scope="module")
def server(tmp_path_factory, tile_folder_writer, project_factory, launch_app) -> Iterator[TrainedServer]:
    """Train a run, then start run_app.py with its worker on the workspace."""
    base = tmp_path_factory.mktemp("accept_browser")
    workspace = Workspace(base / "workspace").create()
    upgrade_database(workspace.database_url)
    folder = tile_folder_writer(base / "tiles", count=2, height=TILE_HEIGHT, width=TILE_WIDTH, seed=11)
    created = project_factory(workspace, folder)
    run_id = train_run(workspace, created.project_id)

    url = launch_app(workspace, base / "server.log")
    yield TrainedServer(url, workspace, created.project_id, created.tile_ids, run_id)


def labels_of(workspace: Workspace, tile_id: int) -> list[tuple[int, str, np.ndarray]]:
    """Return (version, source, mask) of every label of a tile, oldest first."""
    from core.labels.versions import load_label_mask

    with session_scope(workspace.database_url) as session:
        rows = session.scalars(select(Label).where(Label.tile_id == tile_id).order_by(Label.version))
        return [(row.version, row.source, load_label_mask(row)) for row in rows]


def wait_for_versions(workspace: Workspace, tile_id: int, count: int) -> list[tuple[int, str, np.ndarray]]:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        rows = labels_of(workspace, tile_id)
        if len(rows) >= count:
            return rows
        time.sleep(0.25)
    raise TimeoutError(f"tile {tile_id} did not reach {count} label versions within {WAIT_S} s")


def stored_class_map(workspace: Workspace, run_id: int, tile_id: int) -> np.ndarray:
    from core.projects.render import read_prediction
    from core.store.models import Prediction

    with session_scope(workspace.database_url) as session:
        row = session.scalar(select(Prediction).where(Prediction.run_id == run_id, Prediction.tile_id == tile_id))
        return read_prediction(row.class_path, row.confidence_path)[0]


def test_accept_then_correct_stroke(server, browser):
    tile_id = server.tile_ids[1]
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        page.goto(f"{server.url}/review?project={server.project_id}&tile={tile_id}")
        page.get_by_role("button", name="Accept into label").click()
        accepted = wait_for_versions(server.workspace, tile_id, 1)

        page.get_by_role("button", name="Correct on the Label page").click()
        top = page.locator("canvas.upper-canvas")
        top.wait_for(state="visible", timeout=WAIT_S * 1000)
        page.wait_for_timeout(500)
        box = top.bounding_box()
        # A horizontal soil stroke across the middle row of the tile.
        y = box["y"] + 0.5 * box["height"]
        page.mouse.move(box["x"] + 0.2 * box["width"], y)
        page.mouse.down()
        page.mouse.move(box["x"] + 0.8 * box["width"], y, steps=20)
        page.mouse.up()
        corrected = wait_for_versions(server.workspace, tile_id, 2)
    finally:
        context.close()

    prediction = stored_class_map(server.workspace, server.run_id, tile_id)
    version, source, accepted_mask = accepted[0]
    assert (version, source) == (1, f"accepted:run{server.run_id}")
    assert np.array_equal(accepted_mask, prediction)

    _, stroke_source, mask = corrected[-1]
    assert stroke_source == "canvas"
    middle = TILE_HEIGHT // 2
    assert np.all(mask[middle, 25:70] == 0)
    # Rows far from the 12 px brush (about 2.4 tile px wide here) keep the accepted prediction.
    far = np.ones(mask.shape, dtype=bool)
    far[middle - 6 : middle + 6] = False
    assert np.array_equal(mask[far], accepted_mask[far])


def test_flood_fill_saves_region(server, browser):
    tile_id = server.tile_ids[0]
    versions = labels_of(server.workspace, tile_id)
    before = versions[-1][2]
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        page.goto(f"{server.url}/label?project={server.project_id}&tile={tile_id}")
        page.locator("canvas.upper-canvas").wait_for(state="visible", timeout=WAIT_S * 1000)
        sidebar = page.locator('[data-testid="stSidebar"]')
        sidebar.get_by_text("crop").click()
        sidebar.get_by_text("Flood fill", exact=True).click()
        sidebar.get_by_role("slider", name="Colour tolerance (0-255)").wait_for(state="visible", timeout=WAIT_S * 1000)
        page.wait_for_timeout(3000)
        # A tool change remounts the canvas; wait until the old one is gone.
        top = page.locator("canvas.upper-canvas")
        playwright_api.expect(top).to_have_count(1, timeout=WAIT_S * 1000)
        box = top.bounding_box()
        # A short dab near the top-left corner, above the labeled stripes.
        x, y = box["x"] + 0.06 * box["width"], box["y"] + 0.06 * box["height"]
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + 2, y + 1, steps=3)
        page.mouse.up()
        after = wait_for_versions(server.workspace, tile_id, len(versions) + 1)[-1][2]
    finally:
        context.close()

    from skimage.measure import label as connected_components

    changed = after != before
    # The 12 px brush dab covers about 3 x 3 tile pixels, so a larger change comes from the fill.
    assert changed.sum() >= 50
    assert np.all(after[changed] == 1)
    assert after[4, 5] == 1
    # The fill is one 4-connected region around the dab; pixels inside it that were crop already stay unchanged.
    crop_regions = connected_components(after == 1, connectivity=1)
    assert np.all(crop_regions[changed] == crop_regions[4, 5])
