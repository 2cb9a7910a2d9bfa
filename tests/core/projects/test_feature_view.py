import numpy as np
from sqlalchemy import select

from core.projects.backbones import create_random_baseline
from core.projects.feature_view import feature_view, pca_image
from core.store.engine import session_scope
from core.store.models import Project, Tile


def test_pca_image_separates_two_regions():
    features = np.zeros((8, 10, 20), np.float32)
    features[:, :, 10:] = np.arange(8)[:, None, None]
    image = pca_image(features)
    assert image.shape == (10, 20, 3)
    assert image.dtype == np.uint8
    assert abs(int(image[0, 0, 0]) - int(image[0, 19, 0])) > 200


def test_feature_view_covers_the_tile(studio, project_id):
    with session_scope(studio.database_url) as session:
        project = session.get(Project, project_id)
        tile = session.scalars(select(Tile).where(Tile.project_id == project_id)).first()
        backbone = create_random_baseline(session, studio, project)
        image = feature_view(studio, project, tile, backbone, level=1)
    assert image.shape == (-(-tile.height // 8), -(-tile.width // 8), 3)
