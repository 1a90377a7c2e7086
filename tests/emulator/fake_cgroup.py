"""A fake cgroup file system for hosts this machine is not: pure cgroup v2 with controllers, pure v1, old kernels.

It is a real directory tree whose `mkdir` creates the interface files the kernel would, with the formats of
Documentation/admin-guide/cgroup-v2.rst (and cgroup-v1/ for the v1 files), and whose writes follow the kernel's
rules where the sandbox relies on them: `cgroup.subtree_control` takes "+name" tokens of available controllers and
refuses (EBUSY) a non-root group with processes; `cpu.max` takes "$MAX $PERIOD"; `cgroup.procs` takes a pid (and
refuses EBUSY in a v2 group that enables controllers); `cgroup.freeze` updates `frozen` in `cgroup.events`;
`cgroup.kill` empties the tree; rmdir refuses (EBUSY) a group with processes or children. What a process would do
(use CPU, memory, get OOM-killed) the tests write with `charge`.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from lambda_emulator.sandbox.cgroups.fs import CgroupFs, failure, flat_keyed

V2_ROOT_CONTROLLERS = "cpuset cpu io memory hugetlb pids rdma misc"
MEMORY_EVENTS = "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n"


class FakeCgroupFs(CgroupFs):
    def __init__(self, root: Path, *, memory_peak: bool = True, freeze: bool = True, mount_is_root: bool = True):
        self.root = root
        self.memory_peak = memory_peak
        self.freeze = freeze
        self.mount_is_root = mount_is_root
        """False: the cgroup2 mount is a container's own group (cgroup namespace), holding its processes."""
        self.denied: set[str] = set()
        """File names whose writes fail with EACCES (as for a non-root user or a read-only mount)."""
        self.writes: list[tuple[Path, str]] = []

    # -- layouts -----------------------------------------------------------------------------------------
    def pure_v2(self, enabled: str = "cpu memory pids", available: str = V2_ROOT_CONTROLLERS) -> Path:
        self._v2_mount(self.root, enabled, available)
        return self.root

    def hybrid(self, v1: tuple[str, ...] = ("memory", "cpu", "cpuacct", "freezer")) -> Path:
        self.pure_v1(v1)
        self._v2_mount(self.root / "unified", enabled="", available="")
        return self.root / "unified"

    def pure_v1(self, controllers: tuple[str, ...] = ("memory", "cpu", "cpuacct", "freezer")) -> None:
        for controller in controllers:
            mount = self.root / controller
            mount.mkdir(parents=True)
            self._put(mount, {"cgroup.procs": "1\n", "tasks": "1\n"} | _v1_files(controller))

    def _v2_mount(self, mount: Path, enabled: str, available: str) -> None:
        mount.mkdir(parents=True, exist_ok=True)
        self._put(mount, {"cgroup.controllers": f"{available}\n", "cgroup.subtree_control": f"{enabled}\n",
                          "cgroup.procs": "1\n", "cpu.stat": "usage_usec 0\nuser_usec 0\nsystem_usec 0\n"})  # fmt: skip

    # -- the CgroupFs seam -------------------------------------------------------------------------------
    def mkdir(self, path: Path) -> None:
        if path.exists():
            raise failure("create", path, FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST)))
        path.mkdir()
        if self._v2_controllers_of(path.parent) is not None:
            self._put(path, self._v2_files(path.parent))
        else:
            self._put(path, {"cgroup.procs": "", "tasks": ""} | _v1_files(self._v1_controller(path)))

    def rmdir(self, path: Path) -> None:
        if any(p.is_dir() for p in path.iterdir()) or self._procs(path):
            raise failure("remove", path, OSError(errno.EBUSY, os.strerror(errno.EBUSY)))
        for file in path.iterdir():
            file.unlink()
        path.rmdir()

    def write(self, path: Path, value: str) -> None:
        if path.name in self.denied:
            raise failure(f"write {value!r} to", path, PermissionError(errno.EACCES, os.strerror(errno.EACCES)))
        if not path.is_file():
            raise failure(f"write {value!r} to", path, FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT)))
        self.writes.append((path, value))
        handler = getattr(self, "_write_" + path.name.replace(".", "_"), None)
        if handler is None:
            path.write_text(value + "\n")
        else:
            handler(path, value)

    # -- the kernel's rules for the files the sandbox writes ---------------------------------------------
    def _write_cgroup_subtree_control(self, path: Path, value: str) -> None:
        group = path.parent
        available = set((group / "cgroup.controllers").read_text().split())
        enabled = set(path.read_text().split())
        if self._procs(group) and not (group == self._v2_mount_of(group) and self.mount_is_root):
            raise failure(f"write {value!r} to", path, OSError(errno.EBUSY, os.strerror(errno.EBUSY)))
        for token in value.split():
            name = token[1:]
            if token[0] not in "+-" or name not in available:
                raise failure(f"write {value!r} to", path, OSError(errno.EINVAL, os.strerror(errno.EINVAL)))
            enabled = enabled | {name} if token[0] == "+" else enabled - {name}
        path.write_text(" ".join(sorted(enabled)) + "\n")

    def _write_cpu_max(self, path: Path, value: str) -> None:
        limit, _, period = value.partition(" ")
        valid = (limit == "max" or (limit.isdigit() and int(limit) >= 1000)) and (
            not period or (period.isdigit() and 1000 <= int(period) <= 1_000_000)
        )
        if not valid:
            raise failure(f"write {value!r} to", path, OSError(errno.EINVAL, os.strerror(errno.EINVAL)))
        path.write_text(f"{limit} {period or path.read_text().split()[1]}\n")

    def _write_cgroup_procs(self, path: Path, value: str) -> None:
        group = path.parent
        if self._v2_controllers_of(group.parent) is not None and (group / "cgroup.subtree_control").read_text().split():
            raise failure(f"write {value!r} to", path, OSError(errno.EBUSY, os.strerror(errno.EBUSY)))
        path.write_text(path.read_text() + f"{int(value)}\n")
        for ancestor in [group, *group.parents]:
            if (ancestor / "cgroup.events").is_file():
                self._set_event(ancestor, "populated", 1)

    def _write_cgroup_freeze(self, path: Path, value: str) -> None:
        path.write_text(f"{value}\n")
        for group in [path.parent, *(p for p in path.parent.rglob("*") if p.is_dir())]:
            self._set_event(group, "frozen", int(value))

    def _write_cgroup_kill(self, path: Path, value: str) -> None:
        for group in [path.parent, *(p for p in path.parent.rglob("*") if p.is_dir())]:
            (group / "cgroup.procs").write_text("")
            self._set_event(group, "populated", 0)

    def _write_freezer_state(self, path: Path, value: str) -> None:
        path.write_text(f"{value}\n")  # v1: FREEZING passes at once here

    # -- what the processes would do -------------------------------------------------------------------
    def charge(self, group: Path, *, cpu_usec: int = 0, peak: int = 0, oom_kills: int = 0) -> None:
        """Account usage to a v2 group and its ancestors, as the kernel's hierarchical counters do."""
        for target in [group, *group.parents]:
            if not (target / "cgroup.events").is_file():
                break
            stat = flat_keyed((target / "cpu.stat").read_text())
            stat["usage_usec"] = stat.get("usage_usec", 0) + cpu_usec
            (target / "cpu.stat").write_text("".join(f"{k} {v}\n" for k, v in stat.items()))
            if (target / "memory.peak").is_file():
                (target / "memory.peak").write_text(f"{max(peak, int((target / 'memory.peak').read_text()))}\n")
            if (target / "memory.events").is_file():
                events = flat_keyed((target / "memory.events").read_text())
                events["oom_kill"] += oom_kills
                (target / "memory.events").write_text("".join(f"{k} {v}\n" for k, v in events.items()))

    # -- helpers -----------------------------------------------------------------------------------------
    def _v2_files(self, parent: Path) -> dict[str, str]:
        controllers = self._v2_controllers_of(parent) or set()
        files = {"cgroup.procs": "", "cgroup.controllers": " ".join(sorted(controllers)) + "\n",
                 "cgroup.subtree_control": "\n", "cgroup.events": "populated 0\nfrozen 0\n", "cgroup.kill": "",
                 "cpu.stat": "usage_usec 0\nuser_usec 0\nsystem_usec 0\n"}  # fmt: skip
        if self.freeze:
            files["cgroup.freeze"] = "0\n"
        if "cpu" in controllers:
            files |= {"cpu.max": "max 100000\n", "cpu.weight": "100\n"}
            files["cpu.stat"] += "nr_periods 0\nnr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0\n"
        if "memory" in controllers:
            files |= {"memory.current": "0\n", "memory.max": "max\n", "memory.swap.max": "max\n",
                      "memory.events": MEMORY_EVENTS, "memory.events.local": MEMORY_EVENTS}  # fmt: skip
            if self.memory_peak:
                files["memory.peak"] = "0\n"
        return files

    def _v2_controllers_of(self, parent: Path) -> set[str] | None:
        """The controllers a new child of `parent` gets (None: `parent` is not in a v2 hierarchy)."""
        if not (parent / "cgroup.subtree_control").is_file():
            return None
        return set((parent / "cgroup.subtree_control").read_text().split())

    def _v2_mount_of(self, group: Path) -> Path:
        return next(p for p in [group, *group.parents] if not (p.parent / "cgroup.subtree_control").is_file())

    def _v1_controller(self, path: Path) -> str:
        return path.relative_to(self.root).parts[0]

    def _procs(self, group: Path) -> list[str]:
        return (group / "cgroup.procs").read_text().split() if (group / "cgroup.procs").is_file() else []

    def _set_event(self, group: Path, key: str, value: int) -> None:
        events = group / "cgroup.events"
        if events.is_file():
            values = flat_keyed(events.read_text()) | {key: value}
            events.write_text("".join(f"{k} {v}\n" for k, v in values.items()))

    def _put(self, group: Path, files: dict[str, str]) -> None:
        for name, text in files.items():
            (group / name).write_text(text)


def _v1_files(controller: str) -> dict[str, str]:
    return {
        "memory": {"memory.limit_in_bytes": "9223372036854771712\n", "memory.memsw.limit_in_bytes":
                   "9223372036854771712\n", "memory.max_usage_in_bytes": "0\n",
                   "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n"},
        "cpu": {"cpu.cfs_period_us": "100000\n", "cpu.cfs_quota_us": "-1\n"},
        "cpuacct": {"cpuacct.usage": "0\n"},
        "freezer": {"freezer.state": "THAWED\n"},
    }.get(controller, {})  # fmt: skip
