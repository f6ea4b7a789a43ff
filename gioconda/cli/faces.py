"""``gioconda faces``: the faces in a photo, numbered as ``--face`` takes them."""

from __future__ import annotations

import argparse
from pathlib import Path

#: Image formats ``--preview`` writes, by suffix (Pillow's format names).
PREVIEW_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "faces",
        help="list the faces in a photo with the number --face takes",
        description="Find the faces in PHOTO and list them, largest first, each with the "
        "number that --face takes (0 is the one animated by default) and its box in photo "
        "pixels; --preview also writes the photo with the numbers drawn on.",
    )
    parser.add_argument("photo", metavar="PHOTO", help="portrait: JPEG, PNG, WebP, ...")
    parser.add_argument(
        "--preview",
        metavar="OUT.png",
        help="also write the photo with each face boxed and numbered (.png, .jpg or .webp)",
    )
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    from gioconda.cli.guard import check_paths
    from gioconda.errors import GiocondaError
    from gioconda.face.detect import detect_face_boxes
    from gioconda.face.native_logs import native_stderr_silenced
    from gioconda.face.photo import load_photo

    check_paths({"--preview": args.preview}, {"PHOTO": args.photo}, video=None, motion=None)
    if args.preview is not None and Path(args.preview).suffix.lower() not in PREVIEW_FORMATS:
        raise GiocondaError(
            f"--preview {args.preview}: an image must end in {', '.join(PREVIEW_FORMATS)}"
        )
    photo = load_photo(args.photo)
    with native_stderr_silenced():
        boxes = detect_face_boxes(photo)
    if not boxes:
        raise GiocondaError(f"no face found in {args.photo}")
    height, width = photo.shape[:2]
    print(f"{len(boxes)} face{'s' if len(boxes) > 1 else ''} in {args.photo} ({width}x{height}):")
    print("  --face   x      y      size")
    for number, box in enumerate(boxes):
        print(f"  {number:<7}{box.x0:<7.0f}{box.y0:<7.0f}{box.side:.0f}")
    if args.preview is not None:
        _write_preview(photo, boxes, args.preview)
    return 0


def _write_preview(photo, boxes, path: str) -> None:
    """The photo with each face's box and number drawn on, written atomically."""
    import cv2
    from PIL import Image

    from gioconda.output.files import _atomic_file

    canvas = photo.copy()
    thickness = max(2, round(max(photo.shape[:2]) / 400))
    for number, box in enumerate(boxes):
        x0, y0 = round(box.x0), round(box.y0)
        x1, y1 = round(box.x0 + box.side), round(box.y0 + box.side)
        cv2.rectangle(canvas, (x0, y0), (x1, y1), (255, 220, 0), thickness)
        scale = max(0.6, box.side / 120)
        label = str(number)
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        top = max(th + base, y0)
        cv2.rectangle(canvas, (x0, top - th - base), (x0 + tw + 6, top), (255, 220, 0), -1)
        cv2.putText(canvas, label, (x0 + 3, top - base), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (0, 0, 0), thickness, cv2.LINE_AA)  # fmt: skip
    with _atomic_file(path) as temp:
        Image.fromarray(canvas).save(temp, format=PREVIEW_FORMATS[Path(path).suffix.lower()])
