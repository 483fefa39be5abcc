"""docs/ui.md and its pictures agree: every picture it shows is in docs/images, a PNG of the
width the screenshot script takes and no taller than it cuts; every journey picture there is
shown; every local link resolves; and it walks the eight journeys in order. The pictures
themselves are made by scripts/journey-screenshots, which the tests do not run (slow)."""

import re
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
UI = DOCS / "ui.md"
SCRIPT = ROOT / "benchmarks" / "journey_screenshots.py"
WIDTHS = {1280, 390}
TALLEST = 1600
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _linked_images() -> list[str]:
    text = UI.read_text()
    return re.findall(r"!\[[^\]]*\]\((images/[^)\s]+)\)", text) + re.findall(
        r'<img src="(images/[^"]+)"', text
    )


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR", f"{path} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_every_picture_the_map_shows_is_a_png_the_script_could_have_taken() -> None:
    images = _linked_images()
    assert images, "docs/ui.md shows no picture"
    for image in images:
        path = DOCS / image
        assert path.is_file(), f"docs/ui.md shows {image}, which is not in docs/images"
        width, height = _png_size(path)
        assert width in WIDTHS, f"{image} is {width} px wide, not one of {sorted(WIDTHS)}"
        assert 0 < height <= TALLEST, f"{image} is {height} px high (at most {TALLEST})"


def test_every_journey_picture_is_shown_and_made_by_the_script() -> None:
    shown = {Path(image).name for image in _linked_images()}
    made = set(re.findall(r'"(journey-[\w-]+\.png)"', SCRIPT.read_text()))
    on_disk = {path.name for path in (DOCS / "images").glob("journey-*.png")}
    assert on_disk <= shown, f"pictures in docs/images not in docs/ui.md: {on_disk - shown}"
    assert shown <= made, f"docs/ui.md shows pictures the script does not make: {shown - made}"


def test_the_map_walks_the_eight_journeys_and_its_links_resolve() -> None:
    text = UI.read_text()
    headings = re.findall(r"^## (\d)\. ", text, flags=re.MULTILINE)
    assert headings == [str(n) for n in range(1, 9)]
    for target in re.findall(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)", text):
        assert (DOCS / target).is_file(), f"docs/ui.md links to {target}, which is not there"
    readme = (ROOT / "README.md").read_text()
    assert "(docs/ui.md)" in readme, "README.md's documentation list does not link docs/ui.md"
