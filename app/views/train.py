"""Train page: backbones (pretrain or baseline), head training, live progress."""

from __future__ import annotations

import uuid
from pathlib import Path

import streamlit as st

from app.state import db, get_workspace, require_project
from app.widgets.run_progress import live_runs
from core.jobs.launcher import start_worker
from core.jobs.queue import enqueue_run
from core.jobs.status import active_runs
from core.jobs.worker import worker_running
from core.labels.versions import latest_labels_for_project
from core.models.arch import BACKBONE_ARCHS
from core.models.head import HEAD_KINDS
from core.projects.backbones import (
    create_random_baseline,
    describe,
    import_backbone_file,
    list_backbones,
)
from core.projects.feature_view import feature_view
from core.projects.queries import get_project, list_tiles
from core.training.trainer import HeadConfig

project_id = require_project()
workspace = get_workspace()
with db() as session:
    project = get_project(session, project_id)
    backbones = list_backbones(session, project_id)
    labeled_tiles = len(latest_labels_for_project(session, project_id))
    busy = bool(active_runs(session, project_id))

st.title("Train")
if worker_running(workspace):
    st.caption("Worker: running")
else:
    st.warning("No worker process is running, so queued runs wait. `make run` starts one; you can also start it here.")
    if st.button("Start worker", key="train_start_worker"):
        start_worker(workspace)
        st.rerun()


def request_key(name: str) -> str:
    """Return a per-form key that changes only after a run was queued (dedupes reruns)."""
    state_key = f"train_request_{name}"
    if state_key not in st.session_state:
        st.session_state[state_key] = uuid.uuid4().hex
    return st.session_state[state_key]


def queued(name: str) -> None:
    st.session_state.pop(f"train_request_{name}", None)
    st.rerun()


st.header("1. Backbone")
if backbones:
    st.write("\n".join(f"- {describe(b)}" for b in backbones))
else:
    st.info("No backbone yet. Pretrain one on this project's tiles (self-supervised, no labels needed).")
with st.expander("Pretrain a backbone with FastSiam", expanded=not any(b.method == "fastsiam" for b in backbones)):
    cols = st.columns(5)
    arch = cols[0].selectbox("Architecture", BACKBONE_ARCHS, key="pretrain_arch")
    epochs = cols[1].number_input("Epochs", 1, 1000, 5, key="pretrain_epochs")
    batch_size = cols[2].number_input("Batch size", 2, 512, 16, key="pretrain_batch")
    views = cols[3].number_input("Views", 2, 8, 4, key="pretrain_views", help="FastSiam views per tile: 1 base + (views - 1) targets")
    crop = cols[4].number_input("Crop size (px)", 32, 512, 128, step=32, key="pretrain_crop")
    if st.button("Pretrain", disabled=busy, key="pretrain_submit"):
        config = {"arch": arch, "epochs": int(epochs), "batch_size": int(batch_size), "views": int(views), "crop_size": int(crop)}
        with db() as session:
            enqueue_run(session, project_id, "pretrain", config, request_key=request_key("pretrain"))
        queued("pretrain")
with st.expander("Import a backbone file"):
    st.caption(
        "A file from `python -m core pretrain`, a Lightning checkpoint or a torchvision state dict "
        f"for {len(project.band_names)} bands (keys with or without a `backbone.` prefix)."
    )
    cols = st.columns([4, 2])
    import_path = cols[0].text_input("Checkpoint file", key="backbone_import_path")
    import_arch = cols[1].selectbox("Architecture", BACKBONE_ARCHS, key="backbone_import_arch")
    if st.button("Import", disabled=not import_path, key="backbone_import_submit"):
        try:
            with db() as session:
                imported = import_backbone_file(session, workspace, get_project(session, project_id), Path(import_path), import_arch)
                st.success(f"Registered {describe(imported)}.")
        except (FileNotFoundError, ValueError) as error:
            st.error(str(error))
if not any(b.method == "random" for b in backbones) and st.button(
    "Add a random-init ResNet18 as a baseline", key="train_add_baseline", help="Not pretrained: only for comparison."
):
    with db() as session:
        create_random_baseline(session, workspace, get_project(session, project_id))
    st.rerun()

st.header("2. Head")
by_id = {b.id: b for b in backbones}
if not backbones:
    st.info("Pretrain a backbone (or add the random baseline) first.")
else:
    ranked = sorted(by_id, key=lambda i: (by_id[i].method == "random", -i))
    backbone_id = st.selectbox("Backbone", ranked, format_func=lambda i: describe(by_id[i]), key="train_backbone")
    if by_id[backbone_id].method == "random":
        st.info(
            "This backbone is randomly initialised, not pretrained: the baseline a pretrained backbone must beat. "
            "In the project's few-shot benchmark (docs/benchmarks.md) it scored as well as or better than "
            "short FastSiam pretraining, so compare both on your labels."
        )
    cols = st.columns(3)
    head = cols[0].selectbox("Head", HEAD_KINDS, key="train_head", help="fpn: multi-scale decoder; linear: 1x1 on upsampled features")
    semi = cols[2].toggle(
        "Semi-supervised (mean teacher)", value=True, key="train_semi",
        help="Also learns from unlabeled tiles through confident pseudo-labels. Slower, usually better with few labels.",
    )
    defaults = HeadConfig.for_mode(semi)
    # One key per mode, so switching the mode shows that mode's default step count.
    steps = cols[1].number_input("Steps", 20, 5000, defaults.steps, step=20, key=f"train_steps_{'semi' if semi else 'supervised'}")
    cols = st.columns(3)
    preview = cols[0].toggle(
        "Instant preview", value=True, key="train_preview",
        help="A random forest on the cached features predicts every tile within seconds, until the head replaces it.",
    )
    adapters = cols[1].toggle(
        "Backbone adapters", value=False, key="train_adapters",
        help="Small residual adapters in the backbone's last two stages train with the head. Slower per step.",
    )
    with st.expander("Advanced settings"):
        cols = st.columns(3)
        validation = cols[0].slider(
            "Validation share", 0.0, 0.5, defaults.validation_fraction, 0.05, key="train_validation",
            help="Share of labeled 32 x 32 blocks held out to pick the best step. 0 uses every label for training.",
        )
        dice = cols[1].slider(
            "Dice weight", 0.0, 2.0, defaults.dice_weight, 0.1, key="train_dice",
            help="Adds a soft Dice term to the cross-entropy, which helps rare classes.",
        )
        threshold = cols[2].slider(
            "Pseudo-label confidence", 0.5, 0.99, defaults.pseudo_label_threshold, 0.01, key="train_threshold",
            disabled=not semi, help="The teacher's pixels above this probability teach the student.",
        )
    uses = "labeled pixels, and unlabeled tiles through the mean teacher" if semi else "labeled pixels only"
    st.caption(f"{labeled_tiles} labeled tile(s). Training uses {uses}.")
    if st.button("Train", type="primary", disabled=busy or labeled_tiles == 0 or len(project.classes) < 2, key="train_submit"):
        config = HeadConfig.for_mode(
            semi, head=head, steps=int(steps), preview=preview, adapters=adapters,
            validation_fraction=validation, dice_weight=dice, pseudo_label_threshold=threshold,
        ).to_dict()
        with db() as session:
            enqueue_run(session, project_id, "train", config, backbone_id=backbone_id, request_key=request_key("train"))
        queued("train")
    if labeled_tiles == 0:
        st.caption("Paint some pixels of at least two classes on the Label page to enable training.")

st.header("Runs")
live_runs(project_id)

if backbones:
    with st.expander("Feature view: what the backbone separates"):
        st.caption("The first three principal components of a tile's backbone features, shown as red, green and blue.")
        with db() as session:
            feature_tiles = list_tiles(session, project_id, limit=200)
        cols = st.columns(3)
        view_backbone = cols[0].selectbox(
            "Backbone", [b.id for b in backbones], format_func=lambda i: describe(by_id[i]), key="features_backbone"
        )
        view_tile = cols[1].selectbox("Tile", feature_tiles, format_func=lambda t: t.name, key="features_tile")
        level = cols[2].selectbox("Stride", [0, 1, 2, 3], index=1, format_func=lambda i: f"{4 * 2**i} px", key="features_level")
        if st.button("Show features", key="features_show"):
            with st.spinner("Extracting features..."):
                image = feature_view(workspace, project, view_tile, by_id[view_backbone], level)
            st.image(image, width=480, caption=f"{view_tile.name}, stride {4 * 2**level}")
