"""Long-running process trees the CLI starts (Airflow standalone): started from the project's environment and
stopped whole: SIGINT or SIGTERM to the CLI stops every descendant, not only the direct child."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time

import psutil

STOP_GRACE_SECONDS = 30.0


def resolve(command: list[str], env: dict[str, str]) -> list[str]:
    """The command with its program looked up on ``env``'s PATH (not the caller's): a clear error if absent."""
    program = shutil.which(command[0], path=env.get("PATH"))
    if program is None:
        raise FileNotFoundError(f"{command[0]!r} is not on the PATH given to it ({env.get('PATH')}): "
                                "run `make setup` to install the project's environment")
    return [program, *command[1:]]


def descendants(root: psutil.Process) -> list[psutil.Process]:
    try:
        return root.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def stop_all(procs: list[psutil.Process], grace: float = STOP_GRACE_SECONDS) -> list[int]:
    """SIGTERM every process, wait ``grace`` seconds, SIGKILL what is left; the pids that had to be killed."""
    procs = [p for p in procs if p.is_running()]
    for proc in procs:
        try:
            proc.send_signal(signal.SIGTERM)
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=grace)
    for proc in alive:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=5)
    return [p.pid for p in alive]


def run_process_group(command: list[str], env: dict[str, str], grace: float = STOP_GRACE_SECONDS) -> int:
    """Run ``command`` in a session of its own until it exits or this process gets SIGINT/SIGTERM; then stop
    its whole tree. Returns the command's exit code (0 after a requested stop)."""
    child = subprocess.Popen(resolve(command, env), env=env, start_new_session=True)
    stopping = False

    def stop(signum, _frame):
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    root = psutil.Process(child.pid)
    known = {root.pid: root}  # every descendant seen: one orphaned by its parent's exit is still stopped
    try:
        while child.poll() is None and not stopping:
            known.update((p.pid, p) for p in descendants(root))
            time.sleep(0.5)
        known.update((p.pid, p) for p in descendants(root))
        stop_all(list(known.values()), grace)
        code = child.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0 if stopping else code
