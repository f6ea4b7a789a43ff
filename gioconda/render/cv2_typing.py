"""What OpenCV's generated type stubs cannot say about calls the renderer makes."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    import cv2.typing

#: OpenCV's "no array" argument (``None`` at run time) where the stubs of opencv-python 4.11
#: demand an array although OpenCV takes none: ``cv2.remap``'s and ``cv2.convertMaps``'s
#: ``map2`` when ``map1`` holds the whole (x, y) map, and ``cv2.kmeans``'s ``bestLabels`` with
#: ``KMEANS_PP_CENTERS``.
NO_ARRAY = cast("cv2.typing.MatLike", None)
