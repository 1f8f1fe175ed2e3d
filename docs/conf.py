"""Sphinx configuration for the django-flashcall documentation.

Build: ``make docs`` (``sphinx-build -W -b html docs docs/_build/html``).
Warnings are errors, so a broken reference or a setting without its anchor
fails the build, locally and in CI.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))

# autodoc imports the models and the API views: Django must be set up first,
# with a settings module of the docs' own (no database is touched).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "docs_settings")
import django  # noqa: E402

django.setup()

import django_flashcall  # noqa: E402

project = "django-flashcall"
copyright = "django-flashcall contributors"  # noqa: A001
release = django_flashcall.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "flashcall_docs",
]

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path: list[str] = []
default_role = "literal"
primary_domain = "py"
highlight_language = "python3"

# The signatures read better with the annotations in the description.
autodoc_typehints = "description"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": False}
autoclass_content = "both"

html_theme = "alabaster"
html_title = f"django-flashcall {release}"
html_static_path = ["_static"]  # custom.css: alabaster loads it
html_theme_options = {
    "description": "Phone login by flash call for Django",
    "fixed_sidebar": True,
    "show_relbars": True,
    "page_width": "1200px",
    "sidebar_width": "240px",
}
html_sidebars = {"**": ["about.html", "navigation.html", "searchbox.html"]}
