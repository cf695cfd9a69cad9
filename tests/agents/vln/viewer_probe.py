"""Subprocess body of the viewer test: the VLN task on CPU with the viser and rerun viewers, seen by headless Chromium.

Robot 0 stands at an episode's start; the viewers' camera looks at it (``navila_agents.viewers.look_at``). Chromium
(Playwright, ``NAVILA_CHROMIUM`` or /usr/bin/chromium) opens the viser page and takes a screenshot, the robot is then
moved far out of view and a second screenshot is taken. The last stdout line is a JSON report: how much the middle of
the picture (where the robot was) and the rest changed, the screenshots' paths, and the entities of the rerun
recording written when the env closes.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from navila_agents.locomotion import runtime
from navila_agents.viewers import look_at, viewer_cfgs
from navila_tasks.vln.episodes import generate_episodes
from navila_tasks.vln.layout import SceneLayout
from navila_tasks.vln.scenes import generate_scene
from PIL import Image

VIEWPORT = {"width": 1024, "height": 768}
"""Large enough that the viewer's panels stay out of the middle of the picture."""
SETTLE_S = 5.0
"""Seconds between two screenshots while waiting for the page to draw."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def screenshot(page, path: Path, until, step, timeout: float = 240.0) -> np.ndarray:
    """Step the sim (the viewer sends its updates then) and take screenshots until ``until(image)`` holds (the page
    has drawn what is expected) or the time is up."""
    deadline = time.monotonic() + timeout
    while True:
        for _ in range(3):
            step()
        time.sleep(SETTLE_S)
        page.screenshot(path=str(path), timeout=180_000)
        image = np.asarray(Image.open(path).convert("RGB"), dtype=float)
        if until(image) or time.monotonic() > deadline:
            return image


def middle(image: np.ndarray) -> np.ndarray:
    """The middle quarter of a picture (the robot's place: the camera looks at it)."""
    height, width = image.shape[:2]
    return image[height * 3 // 8 : height * 5 // 8, width * 3 // 8 : width * 5 // 8]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    out = parser.parse_args().out
    scene = generate_scene(1)
    episode = generate_episodes(scene, 1, seed=0, min_distance=1.5, max_distance=3.0)[0]
    layout = SceneLayout.from_ids([scene.scene_id])
    start = np.array([*(layout.offset(scene.scene_id) + episode.start_position[:2]), episode.start_yaw])

    env_cfg, agent_cfg = runtime.load_cfgs("NaVILA-Go2-VLN", [])
    env_cfg.sim.device = agent_cfg.device = "cpu"
    env_cfg.scene.num_envs = 1
    env_cfg.scene.vln_scenes.spawn.scene_ids = [scene.scene_id]
    env_cfg.scene.camera.width = env_cfg.scene.camera.height = 32
    port = free_port()
    viz = argparse.Namespace(viz="viser,rerun", viz_port=port, viz_record=out / "recording.rrd")
    env_cfg.sim.visualizer_cfgs = viewer_cfgs(viz, out / "unused.rrd")
    from playwright.sync_api import sync_playwright

    with runtime.open_env("NaVILA-Go2-VLN", env_cfg) as env:
        from navila_agents.vln.simulator import IsaacVlnSim

        sim = IsaacVlnSim(env, layout, policy=None)
        sim.set_next_starts([0], torch.tensor(start[None], dtype=torch.float32))
        sim.reset()
        look_at(env, (*start[:2], 0.3))
        chromium = os.environ.get("NAVILA_CHROMIUM", "/usr/bin/chromium")
        flags = ["--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader", "--no-first-run"]
        flags += ["--disable-background-networking", "--disable-component-update", "--disable-sync"]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=flags)
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("canvas", timeout=120_000)
            stand = lambda: sim.step(torch.zeros(1, 3))  # noqa: E731
            with_robot = screenshot(page, out / "viser_robot.png", lambda image: middle(image).std() > 10.0, stand)
            sim.set_next_starts([0], torch.tensor([[start[0] + 40.0, start[1] + 40.0, 0.0]]))
            sim.request_reset([0])
            without_robot = screenshot(
                page,
                out / "viser_no_robot.png",
                lambda image: np.abs(middle(image) - middle(with_robot)).mean() > 1.0,
                stand,
            )
            browser.close()
    change = np.abs(with_robot - without_robot).mean(axis=-1)
    in_middle = np.zeros_like(change, dtype=bool)
    middle(in_middle)[...] = True
    printed = subprocess.run(
        [str(Path(sys.executable).with_name("rerun")), "rrd", "print", str(out / "recording.rrd")],
        capture_output=True,
        text=True,
    )
    report = {
        "middle_change": float(change[in_middle].mean()),
        "rest_change": float(change[~in_middle].mean()),
        "screenshots": [str(out / "viser_robot.png"), str(out / "viser_no_robot.png")],
        "rrd_bytes": (out / "recording.rrd").stat().st_size,
        "rrd_print_ok": printed.returncode == 0,
        "rrd_chunks": printed.stdout.count("Chunk("),
        "rrd_has_meshes": "Mesh3D" in printed.stdout,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
