"""Every page of the Streamlit app rendered with AppTest against a temporary workspace.

AppTest renders the drawable canvas as an unknown component but cannot paint
on it; strokes are tested in Chromium (tests/browser).
"""

from __future__ import annotations

import signal
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from core.store.engine import session_scope
from core.store.models import Backbone, Label, LabelClass, Project, Run, Tile
from core.store.workspace import Workspace
from core.training.trainer import HeadConfig

REPO_ROOT = Path(__file__).resolve().parents[2]
MAIN = REPO_ROOT / "app" / "main.py"
TIMEOUT_S = 60


def open_app(page: str | None = None, project_id: int | None = None, tile_id: int | None = None) -> AppTest:
    """Run the app once (optionally on another page) with fresh Streamlit caches."""
    st.cache_resource.clear()
    st.cache_data.clear()
    app = AppTest.from_file(str(MAIN), default_timeout=TIMEOUT_S)
    if project_id is not None:
        app.query_params["project"] = str(project_id)
    if tile_id is not None:
        app.query_params["tile"] = str(tile_id)
    app.run()
    if page is not None:
        app.switch_page(page)
        app.run()
    return app


def count_rows(workspace: Workspace, model: type) -> int:
    with session_scope(workspace.database_url) as session:
        return session.scalar(select(func.count()).select_from(model))


def save_two_class_label(workspace: Workspace, tile_id: int) -> None:
    """Save a label with a soil stripe and a crop stripe on a tile through the core API."""
    from core.labels.versions import save_label

    with session_scope(workspace.database_url) as session:
        tile = session.get(Tile, tile_id)
        mask = np.full((tile.height, tile.width), 255, dtype=np.uint8)
        mask[10:20, 5:40] = 0
        mask[10:20, 55:90] = 1
        mask[40:50, 5:40] = 0
        mask[40:50, 55:90] = 1
        save_label(session, workspace, tile, mask)


def images(app: AppTest) -> list:
    """Return the st.image elements of the main area."""
    return list(app.main.get("image"))


# Projects page


def test_projects_empty_workspace(workspace):
    app = open_app()

    assert not app.exception
    assert [title.value for title in app.title] == ["Projects"]
    assert app.text_input(key="import_folder").value == ""
    assert len(app.selectbox) == 0


def test_projects_import_form_scans(workspace, write_tiles):
    folder = write_tiles(count=2)
    app = open_app()

    app.text_input(key="import_folder").input(str(folder)).run()

    assert not app.exception
    table = app.dataframe[0].value
    assert list(table["file"]) == ["tile_00.tif", "tile_01.tif"]
    assert set(table["size (W x H)"]) == {"96 x 64"}
    assert any("2 tiles with 4 bands" in markdown.value for markdown in app.markdown)


def test_projects_create_adds_row(workspace, write_tiles):
    folder = write_tiles(count=2)
    app = open_app()
    app.text_input(key="import_folder").input(str(folder)).run()
    app.text_input(key="import_name").input("vineyard").run()

    app.button(key="import_create").click().run()

    assert not app.exception
    with session_scope(workspace.database_url) as session:
        names = list(session.scalars(select(Project.name)))
        tiles = session.scalar(select(func.count()).select_from(Tile))
    assert names == ["vineyard"]
    assert tiles == 2
    assert app.query_params["project"] == "1"


def test_projects_bad_folder_error(workspace, tmp_path):
    app = open_app()

    app.text_input(key="import_folder").input(str(tmp_path / "missing")).run()

    assert not app.exception
    assert len(app.error) == 1
    assert count_rows(workspace, Project) == 0


def test_projects_gallery_shows_tiles(workspace, project):
    app = open_app(project_id=project.project_id)

    assert not app.exception
    assert app.selectbox(key="projects_select").value == project.project_id
    assert [header.value for header in app.subheader] == ["field"]
    assert len(images(app)) == 3
    assert app.button(key=f"gallery_open_{project.tile_ids[0]}").label == "Label"


# Label page


def test_label_without_project(workspace):
    app = open_app(page="views/label.py")

    assert not app.exception
    assert "No project selected" in app.info[0].value


def test_label_renders_canvas(workspace, project):
    tile_id = project.tile_ids[1]
    app = open_app(page="views/label.py", project_id=project.project_id, tile_id=tile_id)

    assert not app.exception
    assert [title.value for title in app.title] == ["tile_01.tif"]
    assert "96 x 64 px" in app.caption[0].value
    assert app.slider(key="label_zoom").value == 480
    canvases = [element for element in app.main if str(getattr(element, "key", "")).startswith(f"label_canvas_{tile_id}_")]
    assert len(canvases) == 1
    assert app.radio(key="label_active_class").options == ["soil  (#a6761d)", "crop  (#1b9e77)"]
    assert app.sidebar.slider(key="label_brush").value == 12


def test_label_render_saves_nothing(workspace, project):
    app = open_app(page="views/label.py", project_id=project.project_id, tile_id=project.tile_ids[0])
    app.run()

    assert not app.exception
    assert count_rows(workspace, Label) == 0


def test_label_next_tile(workspace, project):
    app = open_app(page="views/label.py", project_id=project.project_id, tile_id=project.tile_ids[0])

    app.button(key="label_next").click().run()

    assert not app.exception
    assert [title.value for title in app.title] == ["tile_01.tif"]
    assert app.query_params["tile"] == str(project.tile_ids[1])


def test_label_history_lists_versions(workspace, project):
    save_two_class_label(workspace, project.tile_ids[0])
    save_two_class_label(workspace, project.tile_ids[0])

    app = open_app(page="views/label.py", project_id=project.project_id, tile_id=project.tile_ids[0])

    assert not app.exception
    history = next(expander for expander in app.main.expander if expander.label == "Label history")
    texts = [markdown.value for markdown in history.markdown]
    assert any(text.startswith("v2 ") for text in texts)
    assert any(text.startswith("v1 ") for text in texts)
    assert len(history.button) == 1


# Train page


def test_train_without_backbone(workspace, project):
    app = open_app(page="views/train.py", project_id=project.project_id)

    assert not app.exception
    assert [title.value for title in app.title] == ["Train"]
    assert any("No backbone yet" in info.value for info in app.info)
    assert app.button(key="train_add_baseline").label == "Add a random-init ResNet18 as a baseline"


def test_train_add_baseline_registers(workspace, project):
    app = open_app(page="views/train.py", project_id=project.project_id)

    app.button(key="train_add_baseline").click().run()

    assert not app.exception
    with session_scope(workspace.database_url) as session:
        methods = list(session.scalars(select(Backbone.method)))
    assert methods == ["random"]
    assert app.selectbox(key="train_backbone").value is not None
    assert [button for button in app.button if button.key == "train_add_baseline"] == []


def test_random_baseline_is_marked_not_pretrained(workspace, project):
    app = open_app(page="views/train.py", project_id=project.project_id)
    app.button(key="train_add_baseline").click().run()

    assert any("not pretrained" in info.value for info in app.info)


def test_train_submit_needs_labels(workspace, project):
    app = open_app(page="views/train.py", project_id=project.project_id)
    app.button(key="train_add_baseline").click().run()

    assert app.button(key="train_submit").disabled

    save_two_class_label(workspace, project.tile_ids[0])
    app.run()

    assert not app.button(key="train_submit").disabled


def test_train_queues_one_run(workspace, project):
    save_two_class_label(workspace, project.tile_ids[0])
    app = open_app(page="views/train.py", project_id=project.project_id)
    app.button(key="train_add_baseline").click().run()
    app.number_input(key="train_steps_semi").set_value(40).run()

    app.button(key="train_submit").click().run()
    app.run()

    assert not app.exception
    with session_scope(workspace.database_url) as session:
        runs = list(session.scalars(select(Run)))
        assert len(runs) == 1
        assert runs[0].kind == "train"
        assert runs[0].config["steps"] == 40
        assert runs[0].config["semi_supervised"] is True
        assert runs[0].config["preview"] is True
        assert runs[0].config["adapters"] is False
        assert runs[0].status == "queued"
    assert app.button(key="train_submit").disabled


def test_train_options_reach_the_run_config(workspace, project):
    save_two_class_label(workspace, project.tile_ids[0])
    app = open_app(page="views/train.py", project_id=project.project_id)
    app.button(key="train_add_baseline").click().run()
    assert app.number_input(key="train_steps_semi").value == HeadConfig.for_mode(True).steps

    app.toggle(key="train_semi").set_value(False).run()
    assert app.number_input(key="train_steps_supervised").value == HeadConfig.for_mode(False).steps
    app.selectbox(key="train_head").set_value("linear")
    app.toggle(key="train_preview").set_value(False)
    app.toggle(key="train_adapters").set_value(True)
    app.slider(key="train_validation").set_value(0.0)
    app.slider(key="train_dice").set_value(0.5).run()
    app.button(key="train_submit").click().run()

    assert not app.exception
    with session_scope(workspace.database_url) as session:
        config = session.scalars(select(Run)).one().config
    assert (config["head"], config["semi_supervised"], config["preview"], config["adapters"]) == ("linear", False, False, True)
    assert config["steps"] == HeadConfig.for_mode(False).steps
    assert (config["validation_fraction"], config["dice_weight"]) == (0.0, 0.5)


# Review page


def test_review_without_runs(workspace, project):
    app = open_app(page="views/review.py", project_id=project.project_id)

    assert not app.exception
    assert any("No finished training run" in info.value for info in app.info)


@pytest.fixture
def finished_run(workspace, project):
    """Train a 20-step head on the random baseline with the worker, in this process."""
    from core.jobs.queue import enqueue_run
    from core.jobs.worker import run_worker
    from core.projects.backbones import create_random_baseline
    from core.training.trainer import HeadConfig

    save_two_class_label(workspace, project.tile_ids[0])
    with session_scope(workspace.database_url) as session:
        backbone = create_random_baseline(session, workspace, session.get(Project, project.project_id))
        config = HeadConfig(steps=20, batch_size=2, crop_size=64, eval_every=10, warmup_steps=5).to_dict()
        run_id = enqueue_run(session, project.project_id, "train", config, backbone_id=backbone.id).id

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


def test_review_shows_overlay(workspace, project, finished_run):
    app = open_app(page="views/review.py", project_id=project.project_id)

    assert not app.exception
    assert [title.value for title in app.title] == ["Review"]
    assert app.selectbox(key="review_run").value == finished_run
    assert len(images(app)) == 2
    assert app.sidebar.checkbox(key="review_class_0").value is True
    assert app.sidebar.checkbox(key="review_class_1").value is True
    assert len(app.sidebar.selectbox(key="review_tile").options) == 3


def test_review_class_toggle(workspace, project, finished_run):
    app = open_app(page="views/review.py", project_id=project.project_id)

    app.sidebar.checkbox(key="review_class_1").uncheck().run()

    assert not app.exception
    assert app.sidebar.checkbox(key="review_class_1").value is False
    assert len(images(app)) == 2


def test_new_classes_get_distinct_default_colours(workspace, project):
    app = open_app(page="views/label.py", project_id=project.project_id, tile_id=project.tile_ids[0])
    for name in ("hedge", "road"):
        app.text_input(key="class_new_name").input(name)
        next(button for button in app.button if button.label == "Add").click().run()
        assert not app.exception

    with session_scope(workspace.database_url) as session:
        colours = list(session.scalars(select(LabelClass.color).where(LabelClass.project_id == project.project_id)))
    assert len(colours) == len(set(colours))


def test_classes_panel_stays_open_until_two_classes(workspace, project):
    app = open_app(page="views/label.py", project_id=project.project_id, tile_id=project.tile_ids[0])
    panel = next(e for e in app.sidebar.expander if e.label == "Classes")
    # The fixture project already has two classes.
    assert panel.proto.expanded is False

    from core.projects.classes import delete_class

    with session_scope(workspace.database_url) as session:
        first = session.scalars(select(LabelClass).where(LabelClass.project_id == project.project_id)).first()
        delete_class(session, workspace, first.id)
    app = open_app(page="views/label.py", project_id=project.project_id, tile_id=project.tile_ids[0])
    panel = next(e for e in app.sidebar.expander if e.label == "Classes")
    assert panel.proto.expanded is True
