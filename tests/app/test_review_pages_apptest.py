"""The Review page's new controls and the Runs page, rendered with AppTest on one workspace with two trained runs."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.store.engine import session_scope, upgrade_database
from core.store.models import Label, Project, Run, Tile
from core.store.workspace import WORKSPACE_ENV, Workspace

MAIN = Path(__file__).resolve().parents[2] / "app" / "main.py"
TIMEOUT_S = 60


@dataclass(frozen=True)
class TrainedProject:
    """A workspace with a 2-class project of three tiles and two succeeded head runs."""

    workspace: Workspace
    project_id: int
    tile_ids: list[int]
    run_ids: list[int]


def train_run(workspace: Workspace, project_id: int, seed: int) -> int:
    """Queue a 12-step head run on the random baseline and execute it in this process."""
    from core.jobs.queue import enqueue_run
    from core.jobs.worker import run_worker
    from core.projects.backbones import create_random_baseline
    from core.training.trainer import HeadConfig

    with session_scope(workspace.database_url) as session:
        backbone = create_random_baseline(session, workspace, session.get(Project, project_id))
        config = HeadConfig(steps=12, batch_size=2, crop_size=64, eval_every=6, warmup_steps=4, seed=seed).to_dict()
        run_id = enqueue_run(session, project_id, "train", config, backbone_id=backbone.id).id
    # run_worker installs a SIGTERM handler for a clean stop; give pytest its own back.
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
def trained(tmp_path_factory, tile_folder_writer, project_factory) -> Iterator[TrainedProject]:
    """Create the workspace once per module and point $MULTISSL_WORKSPACE at it."""
    from core.labels.versions import save_label

    base = tmp_path_factory.mktemp("review_pages")
    workspace = Workspace(base / "workspace").create()
    upgrade_database(workspace.database_url)
    created = project_factory(workspace, tile_folder_writer(base / "tiles", count=3, seed=5))
    with session_scope(workspace.database_url) as session:
        tile = session.get(Tile, created.tile_ids[0])
        mask = np.full((tile.height, tile.width), 255, dtype=np.uint8)
        mask[8:56, 4:40] = 0
        mask[8:56, 56:92] = 1
        save_label(session, workspace, tile, mask)
    run_ids = [train_run(workspace, created.project_id, seed) for seed in (0, 1)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(WORKSPACE_ENV, str(workspace.root))
        patch.delenv("MULTISSL_DATABASE_URL", raising=False)
        yield TrainedProject(workspace, created.project_id, created.tile_ids, run_ids)


def open_page(page: str, project_id: int, tile_id: int | None = None) -> AppTest:
    """Run the app on a page with fresh Streamlit caches."""
    st.cache_resource.clear()
    st.cache_data.clear()
    app = AppTest.from_file(str(MAIN), default_timeout=TIMEOUT_S)
    app.query_params["project"] = str(project_id)
    if tile_id is not None:
        app.query_params["tile"] = str(tile_id)
    app.run()
    app.switch_page(page)
    app.run()
    return app


def label_rows(workspace: Workspace, tile_id: int) -> list[Label]:
    with session_scope(workspace.database_url) as session:
        rows = list(session.scalars(select(Label).where(Label.tile_id == tile_id).order_by(Label.version)))
        session.expunge_all()
    return rows


# Review page


def test_review_accept_controls(trained):
    app = open_page("views/review.py", trained.project_id)

    assert not app.exception
    assert app.radio(key="review_accept_mode").options == ["All predicted pixels", "Confident pixels only", "One class"]
    assert app.slider(key="review_accept_threshold").disabled is True
    assert app.button(key="review_accept_button").label == "Accept into label"
    assert app.button(key="review_open_label").label == "Correct on the Label page"


def test_review_accept_confident(trained):
    tile_id = trained.tile_ids[1]
    app = open_page("views/review.py", trained.project_id, tile_id=tile_id)
    app.sidebar.selectbox(key="review_tile").set_value(tile_id).run()

    app.radio(key="review_accept_mode").set_value("confident").run()
    app.slider(key="review_accept_threshold").set_value(0.5).run()
    app.button(key="review_accept_button").click().run()

    assert not app.exception
    rows = label_rows(trained.workspace, tile_id)
    assert [row.source for row in rows] == [f"accepted:run{app.selectbox(key='review_run').value}"]
    assert any("Saved label version 1" in success.value for success in app.success)


def test_review_error_map(trained):
    tile_id = trained.tile_ids[0]
    app = open_page("views/review.py", trained.project_id, tile_id=tile_id)
    app.sidebar.selectbox(key="review_tile").set_value(tile_id).run()

    app.toggle(key="review_error_toggle").set_value(True).run()

    assert not app.exception
    assert len(list(app.main.get("image"))) == 3
    assert any("labeled pixels" in caption.value and "right" in caption.value for caption in app.caption)


def test_review_label_next_order(trained):
    app = open_page("views/review.py", trained.project_id)

    app.sidebar.radio(key="review_order").set_value("Label next (uncertain and unlike labeled tiles)").run()

    assert not app.exception
    assert len(app.sidebar.selectbox(key="review_tile").options) == 3
    assert all("label-next score" in option for option in app.sidebar.selectbox(key="review_tile").options)


def test_review_confusion_and_areas(trained):
    app = open_page("views/review.py", trained.project_id)

    assert not app.exception
    subheaders = [header.value for header in app.subheader]
    assert "Predicted area per class" in subheaders
    assert "Accept into label" in subheaders
    areas = app.dataframe[0].value
    assert list(areas["class"]) == ["soil", "crop"]
    assert areas["share on this tile"].sum() == pytest.approx(1.0)
    charts = [chart for chart in app.get("plotly_chart")]
    assert len(charts) == 2


def test_review_warning_single_class(trained):
    run_id = trained.run_ids[1]
    with session_scope(trained.workspace.database_url) as session:
        run = session.get(Run, run_id)
        original = dict(run.metrics)
        run.metrics = {**original, "warning": "The run predicts class 0 on 100.0% of pixels."}
    try:
        app = open_page("views/review.py", trained.project_id)
        app.selectbox(key="review_run").set_value(run_id).run()
    finally:
        with session_scope(trained.workspace.database_url) as session:
            session.get(Run, run_id).metrics = original

    assert not app.exception
    assert any("predicts class 0" in warning.value for warning in app.warning)


# Runs page


def test_runs_lists_every_run(trained):
    app = open_page("views/runs.py", trained.project_id)

    assert not app.exception
    assert [title.value for title in app.title] == ["Runs"]
    table = app.dataframe[0].value
    assert sorted(table["run"]) == sorted(trained.run_ids)
    assert set(table["status"]) == {"succeeded"}
    assert set(table["labeled tiles"]) == {1}
    assert app.selectbox(key="runs_detail").value == max(trained.run_ids)


def test_runs_compare_two(trained):
    app = open_page("views/runs.py", trained.project_id)

    assert not app.exception
    first, second = sorted(trained.run_ids)
    assert app.selectbox(key="runs_compare_first").value == first
    assert app.selectbox(key="runs_compare_second").value == second
    comparison = app.dataframe[1].value
    assert list(comparison.columns) == ["metric", f"run {first}", f"run {second}"]
    assert "iou soil" in list(comparison["metric"])
    assert len(list(app.main.get("image"))) == 1
    assert any("pixels" in caption.value and "differ" in caption.value for caption in app.caption)


def test_runs_same_run_twice(trained):
    app = open_page("views/runs.py", trained.project_id)

    app.selectbox(key="runs_compare_first").set_value(app.selectbox(key="runs_compare_second").value).run()

    assert not app.exception
    assert any("two different runs" in info.value for info in app.info)



# Label page tools


def test_label_superpixel_tool_settings(trained):
    app = open_page("views/label.py", trained.project_id, tile_id=trained.tile_ids[2])

    app.sidebar.segmented_control(key="label_tool").set_value("Superpixel").run()

    assert not app.exception
    assert app.sidebar.slider(key="label_segment_size").value == 16
    canvases = [e for e in app.main if str(getattr(e, "key", "")).endswith("_superpixel16")]
    assert len(canvases) == 1


def test_label_flood_fill_tool_settings(trained):
    app = open_page("views/label.py", trained.project_id, tile_id=trained.tile_ids[2])

    app.sidebar.segmented_control(key="label_tool").set_value("Flood fill").run()
    app.sidebar.slider(key="label_flood_tolerance").set_value(50).run()

    assert not app.exception
    canvases = [e for e in app.main if str(getattr(e, "key", "")).endswith("_flood50")]
    assert len(canvases) == 1


def test_head_summary_names_mean_teacher_and_adapters():
    from app.widgets.run_compare import head_summary
    from core.store.models import Run

    run = Run(kind="train", config={"head": "fpn", "semi_supervised": True, "adapters": True})
    assert head_summary(run) == "fpn, mean teacher, adapters"
    assert head_summary(Run(kind="pretrain", config={})) == ""
