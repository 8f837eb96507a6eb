"""Build the Cython extensions of the sentry.

Every ``sentry/**/*.pyx`` is an extension.  A module states its own C
libraries in a ``# distutils: libraries = ...`` header line, so adding a
module never needs an edit here.
"""
import glob
import os

from Cython.Build import cythonize
from setuptools import setup

DEBUG = os.environ.get("PYRUNSC_DEBUG") == "1"

setup(
    ext_modules=cythonize(
        sorted(glob.glob("sentry/**/*.pyx", recursive=True)),
        language_level=3,
        annotate=DEBUG,
        compile_time_env={"PYRUNSC_DEBUG": DEBUG},
        compiler_directives={"linetrace": DEBUG, "boundscheck": False,
                             "wraparound": False},
    ),
)
