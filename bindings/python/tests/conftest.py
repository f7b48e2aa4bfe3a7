"""pytest set-up: import the in-tree package (the library is found through REGULA_LIBRARY or the
repository's .build folder)."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
