"""OCR grading of DrawText images: how much of the requested word the image really shows (tesseract)."""
import io
import shutil
import unicodedata

from models.spelling.metrics import edit_distance

TESSERACT_LANGS = {"en": "eng", "ru": "rus", "he": "heb", "fa": "fas"}


def available(language: str = "en") -> bool:
    code = TESSERACT_LANGS.get(language)
    if code is None or shutil.which("tesseract") is None:
        return False
    try:
        import pytesseract

        return code in pytesseract.get_languages(config="")
    except (ImportError, OSError, RuntimeError):  # no package, no binary, or tesseract failing: unavailable
        return False


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFC", text).lower()
    return "".join(char for char in text if char.isalnum())


def char_accuracy(read: str, word: str) -> float:
    """1 − edit distance / word length (0..1), against the best-matching word the OCR found or its whole text."""
    target = _norm(word)
    if not target:
        return 0.0
    candidates = [_norm(token) for token in read.split()] + [_norm(read)]
    best = min(edit_distance(candidate, target) for candidate in candidates)
    return max(0.0, 1.0 - best / len(target))


# Centre crops (width, height fractions): a sign's frame or a busy background confuses tesseract's page layout,
# the text inside it alone does not.
VIEWS = ((1.0, 1.0), (0.7, 0.5), (0.85, 0.35))
PAGE_MODES = (6, 7, 11)


def readings(image: bytes, language: str) -> list[str]:
    """What tesseract reads in each view and page-segmentation mode (binarized, contrast-stretched)."""
    import pytesseract
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(image)) as picture:
        gray = ImageOps.autocontrast(picture.convert("L"))
    binary = gray.point(lambda value: 255 if value > 160 else 0)
    width, height = binary.size
    found = []
    for fw, fh in VIEWS:
        left, top = int(width * (1 - fw) / 2), int(height * (1 - fh) / 2)
        view = binary.crop((left, top, width - left, height - top))
        for mode in PAGE_MODES:
            text = pytesseract.image_to_string(view, lang=TESSERACT_LANGS[language], config=f"--psm {mode}").strip()
            if text:
                found.append(text)
    return found


def read_text(image: bytes, language: str, word: str | None = None) -> str:
    """The reading that best matches `word` (the grade is the best any view gives), or the longest reading."""
    found = readings(image, language)
    if not found:
        return ""
    if word is None:
        return max(found, key=len)
    return max(found, key=lambda text: char_accuracy(text, word))
