"""The page's files (static/, templates/) ship inside the app package as app/static and
app/templates, so an installed server finds them through importlib.resources; everything else
about the package is in pyproject.toml. (pyproject's packages.find cannot add a package whose
folder lives outside app/, hence this file.)"""

from setuptools import find_packages, setup

PAGE = {"app.static": "static", "app.templates": "templates"}

setup(
    packages=find_packages(include=["app*", "engine*"]) + list(PAGE),
    package_dir=PAGE,
    package_data={name: ["**/*"] for name in PAGE},
)
