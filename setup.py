"""Installs navila-lab: the Isaac Lab extension (``navila_lab``), its tasks, agents and the robot side."""

import tomllib
from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).parent
EXTENSION = tomllib.loads((ROOT / "exts/navila_lab/config/extension.toml").read_text())["package"]

PACKAGE_ROOTS = {
    "navila_lab": "exts/navila_lab/navila_lab",
    "navila_tasks": "tasks/navila_tasks",
    "navila_agents": "agents/navila_agents",
    "navila_sim2real": "sim2real/navila_sim2real",
    "navila_benchmarks": "benchmarks",
    "navila_cli": "cli/navila_cli",
}


def package_dirs() -> dict[str, str]:
    """Map every (sub)package to its folder, so each top-level import name lives in its own tree."""
    dirs = {}
    for name, root in PACKAGE_ROOTS.items():
        dirs[name] = root
        for sub in find_packages(root):
            dirs[f"{name}.{sub}"] = f"{root}/{sub.replace('.', '/')}"
    return dirs


setup(
    name="navila-lab",
    version=EXTENSION["version"],
    description=EXTENSION["description"],
    long_description=(ROOT / "README.md").read_text(),
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    python_requires=">=3.12,<3.13",
    packages=list(package_dirs()),
    package_dir=package_dirs(),
    package_data={"navila_benchmarks": ["data/*.json.gz"]},
    install_requires=[
        "isaaclab==3.0.0",
        "onnx",
        "onnxruntime",
        "pyyaml",
        "rich",
        "tqdm",
        "matplotlib",
        "imageio[ffmpeg]",
    ],
    extras_require={
        "robot": ["cyclonedds==0.10.5"],
        "vla": [
            "transformers",
            "tokenizers",
            "safetensors",
            "datasets",
            "peft",
            "tensorboard",
            "pillow",
            "scipy",
            "trimesh",
        ],
        "dev": ["pytest", "pytest-xdist", "ruff", "hypothesis", "import-linter"],
        "viz": ["isaaclab[viser,rerun]==3.0.0", "playwright"],
    },
    entry_points={"console_scripts": ["navila = navila_cli:main"]},
)
