"""Isaac Lab's warp-mesh ray caster, masked and bounded: the sensors of the cfgs in :mod:`navila_lab.sensors.lidar`.

They cast only the environments being updated, each ray up to its own limit (Newton backend).
"""

from __future__ import annotations

import torch
import warp as wp
from isaaclab.scene_data import SceneDataFormat
from isaaclab.sensors.ray_caster.base_ray_caster import BaseRayCaster
from isaaclab_newton.sensors.ray_caster import LegacyMultiMeshRayCaster

from navila_lab.sensors.height_map import window_exit_distance
from navila_lab.sensors.lidar import LidarCfg, MaskedRayCasterCfg


@wp.kernel(enable_backward=False, module="unique", module_options={"fast_math": True})
def cast_limited_rays_kernel(
    # input
    env_mask: wp.array(dtype=wp.bool),
    mesh_ids: wp.array2d(dtype=wp.uint64),
    mesh_positions_w: wp.array2d(dtype=wp.vec3f),
    mesh_orientations_w: wp.array2d(dtype=wp.quatf),
    ray_starts_w: wp.array2d(dtype=wp.vec3f),
    ray_directions_w: wp.array2d(dtype=wp.vec3f),
    ray_limits: wp.array(dtype=wp.float32),
    max_distance: float,
    ray_cast_drift: wp.array(dtype=wp.vec3f),
    # output
    ray_hits_w: wp.array2d(dtype=wp.vec3f),
) -> None:
    """Nearest hit of each ray of the masked environments over the environment's meshes, searched up to the ray's limit.

    Hits are ``start + t · direction`` with the z ray-cast drift added, as Newton's BVH ray caster writes them; misses
    and hits beyond ``max_distance`` are ``inf``. Fast math as in :func:`newton.intersect_ray`.
    Launch with dim=(num_envs, num_rays).
    """
    env, ray = wp.tid()
    if not env_mask[env]:
        return
    start = ray_starts_w[env, ray]
    direction = ray_directions_w[env, ray]
    nearest = float(ray_limits[ray])
    found = bool(False)  # noqa: UP018 (warp: a variable set in a dynamic loop needs its type)
    for mesh in range(mesh_ids.shape[1]):
        to_mesh = wp.transform_inverse(wp.transform(mesh_positions_w[env, mesh], mesh_orientations_w[env, mesh]))
        query = wp.mesh_query_ray(
            mesh_ids[env, mesh], wp.transform_point(to_mesh, start), wp.transform_vector(to_mesh, direction), nearest
        )
        if query.result:
            nearest = query.t
            found = True
    if found and nearest <= max_distance:
        hit = start + nearest * direction
        ray_hits_w[env, ray] = wp.vec3f(hit[0], hit[1], hit[2] + ray_cast_drift[env][2])
    else:
        ray_hits_w[env, ray] = wp.vec3f(wp.inf, wp.inf, wp.inf)


class MaskedRayCaster(LegacyMultiMeshRayCaster):
    """Warp-mesh ray caster that casts only the masked environments' rays, each up to its own limit.

    Isaac Lab's Newton ray caster casts every environment's rays whenever any is outdated, so a reset of a few
    environments costs a full cast; this one recasts the reset environments alone. Ray directions, :attr:`data`
    ``pos_w``, ``quat_w`` and ``ray_hits_w`` keep Isaac Lab's meaning.
    """

    cfg: MaskedRayCasterCfg

    def __init__(self, cfg: MaskedRayCasterCfg) -> None:
        if cfg.update_mesh_ids:
            raise ValueError(f"{type(self).__name__} does not report the hit mesh ids (update_mesh_ids must be False).")
        # Isaac Lab's ray casters share their warp meshes in a class-level cache keyed by prim path, emptied only when
        # no ray caster is left; sensors of an earlier env of this process outlive its close, so a scene built next
        # would be cast against the earlier scene's ground. A scene's sensors are all built before any loads its
        # meshes: whatever is cached now belongs to an earlier scene.
        BaseRayCaster.meshes.clear()
        super().__init__(cfg)

    def _initialize_warp_meshes(self) -> None:
        super()._initialize_warp_meshes()
        # the kernel holds bare mesh ids: keep the meshes alive even once a later scene empties the cache
        self._cast_meshes = list(BaseRayCaster.meshes.values())

    def _ray_limits(self, starts: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
        """Distance up to which each ray is cast: just above ``max_distance``."""
        limits = torch.full((self.num_rays,), self.cfg.max_distance, dtype=torch.float32, device=self._device)
        # the query keeps hits strictly closer than its limit; Newton's caster keeps those at max_distance too
        return torch.nextafter(limits, torch.full_like(limits, torch.inf))

    def _initialize_rays_impl(self) -> None:
        super()._initialize_rays_impl()
        starts, directions = self.cfg.pattern_cfg.func(self.cfg.pattern_cfg, self._device)
        self._ray_limits_wp = wp.from_torch(self._ray_limits(starts, directions).contiguous())

    def _update_buffers_impl(self, env_mask: wp.array) -> None:
        """Pose, world-frame rays and hits of the masked environments; the others keep their last sweep."""
        # refresh the shared backend's body poses from the physics, as Newton's caster does: Isaac Lab's warp-mesh
        # caster does not, and reads stale poses until another sensor refreshes them
        poses = SceneDataFormat.Transform()
        if self._scene_data_provider.get_transforms(
            poses, mapping=self._transform_mapping, count=self.backend.model.body_count
        ):
            self.backend.state_0.body_q = poses.transforms
        self._update_ray_infos(env_mask)
        self._update_mesh_transforms()
        wp.launch(
            cast_limited_rays_kernel,
            dim=(self._num_envs, self.num_rays),
            inputs=[
                env_mask,
                self._mesh_ids_wp,
                self._mesh_positions_w,
                self._mesh_orientations_w,
                self._ray_starts_w,
                self._ray_directions_w,
                self._ray_limits_wp,
                float(self.cfg.max_distance),
                self.ray_cast_drift.warp,
            ],
            outputs=[self._data._ray_hits_w],
            device=self._device,
        )


class Lidar(MaskedRayCaster):
    """Masked ray caster whose rays, with :attr:`~LidarCfg.height_map_window`, stop where their points leave the window.

    A ray's limit is then the distance at which its point leaves the window
    (:func:`~navila_lab.sensors.height_map.window_exit_distance`, plus :attr:`~LidarCfg.window_margin`) when that is
    shorter than ``max_distance``: beyond it a first hit lies outside the window, exactly like a miss.
    """

    cfg: LidarCfg

    def __init__(self, cfg: LidarCfg) -> None:
        if cfg.height_map_window is not None:
            drift_xy = (cfg.ray_cast_drift_range.get(axis, (0.0, 0.0)) for axis in ("x", "y"))
            if cfg.ray_alignment != "base" or any(any(bounds) for bounds in drift_xy):
                raise ValueError("A height-map window needs ray_alignment='base' and no x-y ray-cast drift.")
        super().__init__(cfg)

    def _ray_limits(self, starts: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
        limits = super()._ray_limits(starts, directions)
        if self.cfg.height_map_window is None:
            return limits
        if starts.abs().amax() > 0.0:
            raise ValueError("A height-map window needs every ray to start at the sensor origin.")
        bound = window_exit_distance(directions, self.cfg.height_map_window) * (1.0 + self.cfg.window_margin)
        return torch.minimum(limits, bound.to(limits.dtype))
