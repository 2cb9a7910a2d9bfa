"""Backbone architecture names, importable without torch (for the CLI and the app)."""

from typing import Literal, get_args

BackboneArch = Literal["resnet18", "resnet50", "swin_t"]
BACKBONE_ARCHS: tuple[str, ...] = get_args(BackboneArch)
