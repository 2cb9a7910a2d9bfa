"""Backbone descriptions shown in the Train page's pickers."""

from core.projects.backbones import create_random_baseline, describe
from core.store.engine import session_scope
from core.store.models import Project


def test_random_baseline_is_named_once_and_flagged(studio, project_id):
    with session_scope(studio.database_url) as session:
        baseline = create_random_baseline(session, studio, session.get(Project, project_id))
        text = describe(baseline)
    assert text.count("random init") == 1
    assert text.endswith("not pretrained")
