"""Shared test inputs, all made here or taken from installed packages."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

from gioconda.face.photo import load_photo
from gioconda.face.portrait import Portrait, analyze_portrait
from gioconda.render.renderer import Renderer


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """scikit-image's public-domain portrait of Eileen Collins: a smiling, open mouth."""
    from skimage import data

    return data.astronaut()


@pytest.fixture(scope="session")
def mona_lisa() -> np.ndarray:
    """The bundled demo portrait: a painting, lips closed."""
    with resources.as_file(resources.files("gioconda") / "assets" / "mona_lisa.jpg") as path:
        return load_photo(path)


@pytest.fixture(scope="session")
def astronaut_portrait(astronaut: np.ndarray) -> Portrait:
    return analyze_portrait(astronaut, 512)


@pytest.fixture(scope="session")
def mona_portrait(mona_lisa: np.ndarray) -> Portrait:
    return analyze_portrait(mona_lisa, 512)


@pytest.fixture(scope="session")
def mona_renderer(mona_portrait: Portrait) -> Renderer:
    return Renderer(mona_portrait)


@pytest.fixture(scope="session")
def astronaut_renderer(astronaut_portrait: Portrait) -> Renderer:
    return Renderer(astronaut_portrait)
