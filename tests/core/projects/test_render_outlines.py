import numpy as np

from core.projects.render import draw_outlines
from core.store.engine import session_scope
from core.store.models import Project


def test_outlines_follow_class_boundaries(studio, project_id):
    class_map = np.zeros((10, 10), np.uint8)
    class_map[3:7, 3:7] = 1
    with session_scope(studio.database_url) as session:
        project = session.get(Project, project_id)
        colours = {c.index: c.color for c in project.classes}
        outlined = draw_outlines(np.zeros((10, 10, 3), np.uint8), class_map, project, visible={1})
    crop_colour = tuple(int(colours[1][i : i + 2], 16) for i in (1, 3, 5))
    assert tuple(outlined[3, 3]) == crop_colour
    assert tuple(outlined[5, 5]) == (0, 0, 0)
    assert tuple(outlined[0, 0]) == (0, 0, 0)
