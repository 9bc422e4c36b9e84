"""The Rego engine interface, and the factory that picks an implementation.

Two implementations (``regorus`` by default, ``opa`` for reference fidelity) live in their
own modules. Every caller goes through :func:`create_engine`; nothing else imports an engine
package directly.

Contract:

* ``add_policy(path, source)`` adds one Rego module (``path`` is used in error messages);
  raises :class:`PolicyError` with file:line on a compile/parse error.
* ``add_data(data)`` merges a JSON-like document under ``data``.
* ``add_builtin(name, arity, fn)`` registers a custom builtin (conftest's ``parse_config``).
* ``eval_rule(rule, input)`` evaluates ``data.<pkg>.<rule>`` (a dotted path without ``data.``)
  against ``input`` and returns the plain Python value (``None`` when undefined).
* ``eval_query(query, input)`` evaluates an arbitrary query; returns the list of bindings
  results as OPA's ``result`` array of ``expressions`` values (first expression per result).
* ``packages()`` lists the loaded packages (``data.main`` -> ``"main"``).
* Engines are built once per run and reused for every input (never one per file).

Extensions (both engines implement them):

* ``eval_rules(rules, input)`` sets ``input`` once and evaluates several rules: the fast path
  of ``socle test`` (one input swap, no re-parse, per document).
* ``prepare()`` compiles what can be compiled before the first input (OPA compiles every
  module; regorus parses at ``add_policy`` and resolves names lazily).
* ``modules()`` the modules as loaded (after any v0 rewrite): ``{path: source}``.
* ``coverage`` (bool) and ``eval_with_coverage(query, input)`` returning
  ``(values, {file: (covered_lines, not_covered_lines)})``.
* ``take_prints()`` the output of Rego ``print`` since the last call.

Values are plain JSON-like Python values: sets come back as sorted lists, as OPA prints them.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from socle.core.errors import SocleError

ENGINES = ("regorus", "opa", "compiled")
DEFAULT_ENGINE = "compiled"
REGO_VERSIONS = ("v0", "v1")

Coverage = dict[str, tuple[set[int], set[int]]]


class PolicyError(SocleError):
    """A policy that does not compile, or an evaluation that failed (exit 2)."""


class Engine(Protocol):
    name: str
    coverage: bool

    def add_policy(self, path: str, source: str) -> None: ...

    def add_data(self, data: dict[str, Any]) -> None: ...

    def add_builtin(self, name: str, arity: int, fn: Callable[..., Any]) -> None: ...

    def eval_rule(self, rule: str, input: Any) -> Any: ...

    def eval_query(self, query: str, input: Any) -> list[Any]: ...

    def packages(self) -> list[str]: ...

    def eval_rules(self, rules: list[str], input: Any) -> dict[str, Any]: ...

    def prepare(self) -> None: ...

    def modules(self) -> dict[str, str]: ...

    def eval_with_coverage(self, query: str, input: Any) -> tuple[list[Any], Coverage]: ...

    def take_prints(self) -> list[str]: ...


def create_engine(name: str = DEFAULT_ENGINE, rego_version: str = "v1",
                  timeout: float | None = None, *, strict_builtin_errors: bool = False,
                  hoist_negations: bool | None = None) -> Engine:
    """A new engine of the named kind (``regorus``, ``opa`` or ``compiled``).

    The options choose between OPA's ways, for the ``compiled`` engine: a failing builtin
    (``to_number("abc")``) is an error with ``strict_builtin_errors`` (conftest's
    ``--show-builtin-errors``), else its expression is undefined, as OPA, conftest and
    Gatekeeper do by default; ``hoist_negations`` is OPA's rewriting of negated expressions
    (default: for v1 policies, as conftest; Gatekeeper does it for v0 templates too).
    regorus' Python binding and the OPA bridge have no such settings: they always report a
    failing builtin, and regorus never rewrites a negation."""
    if rego_version not in REGO_VERSIONS:
        raise PolicyError(f"unknown Rego version {rego_version!r} (one of v0, v1)")
    if name == "regorus":
        from socle.policy.engine_regorus import RegorusEngine

        return RegorusEngine(rego_version=rego_version, timeout=timeout)
    if name == "opa":
        from socle.policy.engine_opa import OpaEngine

        return OpaEngine(rego_version=rego_version, timeout=timeout)
    if name == "compiled":
        from socle.policy.engine_compiled import CompiledEngine

        return CompiledEngine(rego_version=rego_version, timeout=timeout,
                              strict_builtin_errors=strict_builtin_errors,
                              hoist_negations=hoist_negations)
    raise PolicyError(f"unknown engine {name!r} (one of {', '.join(ENGINES)})")


def available(name: str) -> bool:
    """True when the named engine's package can be imported."""
    import importlib.util

    module = {"regorus": "regorus", "opa": "opa_bindings", "compiled": "regorus"}.get(name)
    return module is not None and importlib.util.find_spec(module) is not None


# --- helpers shared by the engine modules ------------------------------------------------------

def _sort_key(value: Any) -> tuple[int, str]:
    order = {type(None): 0, bool: 1, int: 2, float: 2, str: 3, list: 4, dict: 6}
    return (order.get(type(value), 5), json.dumps(value, sort_keys=True, default=str))


def plain(value: Any) -> Any:
    """A JSON-like copy of an engine value: sets become sorted lists, tuples lists."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((plain(v) for v in value), key=_sort_key)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def jsonable(value: Any) -> Any:
    """An input document as JSON would carry it (dates and other scalars become strings)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return str(value)


_REGORUS_LOC = re.compile(r"-->\s*(?P<file>.+?):(?P<line>\d+):(?P<col>\d+)")
_OPA_LOC = re.compile(r"(?P<file>[^\s:][^:\n]*?):(?P<line>\d+): (?P<msg>rego_[a-z_]+: [^\n]*)")


def error_from_regorus(text: str, default_file: str | None = None) -> PolicyError:
    """A one-line PolicyError from a regorus error (location arrow, then ``error: ...``)."""
    text = text.split("\nStack backtrace:")[0].strip()
    m = _REGORUS_LOC.search(text)
    msg = ""
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("error:"):
            msg = s[len("error:"):].strip()
            break
    if not msg:
        msg = " ".join(s.strip() for s in text.splitlines() if s.strip() and "|" not in s
                       and not s.startswith("-->")) or text
    if m:
        return PolicyError(msg, m.group("file"), int(m.group("line")), int(m.group("col")))
    return PolicyError(msg, default_file)


def error_from_opa(text: str, default_file: str | None = None) -> PolicyError:
    """A one-line PolicyError from an OPA error (``file:line: rego_xxx_error: msg``)."""
    m = _OPA_LOC.search(text)
    if m:
        more = len(_OPA_LOC.findall(text)) - 1
        msg = m.group("msg") + (f" (and {more} more)" if more > 0 else "")
        return PolicyError(msg, m.group("file"), int(m.group("line")))
    first = text.strip().splitlines()[0] if text.strip() else "evaluation failed"
    return PolicyError(first, default_file)


# --- evaluation time limit ---------------------------------------------------------------------
#
# regorus evaluates while holding the GIL and neither engine can be interrupted, so the limit is
# kept by a supervising parent process: the command forks once, the child does the work and
# writes "evaluating <what> until <deadline>" into shared memory before each input, the parent
# waits and kills the child when a deadline passes, then reports it (exit 2). Arming costs one
# clock read and one memory write per input file.

DEFAULT_TIMEOUT = 60.0
_LABEL_SIZE = 1000
_ACTIVE: Watchdog | None = None


class Watchdog:
    def __init__(self, timeout: float) -> None:
        import mmap

        self.timeout = timeout
        self._ns = int(timeout * 1e9)
        self._mem = mmap.mmap(-1, 8 + _LABEL_SIZE)

    def arm(self, what: str) -> None:
        import struct
        import time

        raw = what.encode("utf-8", "replace")[:_LABEL_SIZE - 1] + b"\0"
        self._mem[8:8 + len(raw)] = raw
        struct.pack_into("q", self._mem, 0, time.monotonic_ns() + self._ns)

    def disarm(self) -> None:
        import struct

        struct.pack_into("q", self._mem, 0, 0)

    def armed(self) -> bool:
        import struct

        return bool(struct.unpack_from("q", self._mem, 0)[0])

    def expired(self) -> str | None:
        """The label of the input whose deadline passed, else None."""
        import struct
        import time

        (deadline,) = struct.unpack_from("q", self._mem, 0)
        if deadline and time.monotonic_ns() > deadline:
            return bytes(self._mem[8:8 + _LABEL_SIZE]).split(b"\0")[0].decode("utf-8", "replace")
        return None


def active_watchdog() -> Watchdog | None:
    return _ACTIVE


@contextlib.contextmanager
def time_limited(what: str) -> Iterator[None]:
    """Loading and compiling policies under the run's time limit too (a hostile policy can make
    a parser work for hours); nothing when no limit is active or one is already armed."""
    watchdog = _ACTIVE
    if watchdog is None or watchdog.armed():
        yield
        return
    watchdog.arm(what)
    try:
        yield
    finally:
        watchdog.disarm()


def _real_fd(stream: Any) -> bool:
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


def supervise(fn: Callable[[], int], timeout: float | None, command: str) -> int:
    """Run ``fn`` in a child process under a per-input time limit; its exit code, or 2.

    Runs ``fn`` in this process (no limit) when the limit is off, when fork is unavailable,
    or when standard output or error are not real files (in-process test runners).
    """
    import os
    import sys

    global _ACTIVE
    if (not timeout or timeout <= 0 or not hasattr(os, "fork") or _ACTIVE is not None
            or not _real_fd(sys.stdout) or not _real_fd(sys.stderr)):
        return fn()
    from socle.core.workers import die_with_parent

    watchdog = Watchdog(timeout)
    sys.stdout.flush()
    sys.stderr.flush()
    parent = os.getpid()
    # the child's exit code comes on a pipe once its output is out: this process ends then,
    # while the kernel is still freeing the child's large heap (~15 ms for a check of 10,000
    # documents, which a caller waiting for `socle check` would wait for too)
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child does the work
        code = 2
        try:
            os.close(done_r)
            die_with_parent(parent)
            _ACTIVE = watchdog
            code = fn()
        except SocleError as err:
            print(f"socle {command}: {err}", file=sys.stderr)
            code = 2
        except KeyboardInterrupt:
            code = 130
        except BrokenPipeError:
            code = 1
        except BaseException:  # show it, then leave without unwinding twice
            import traceback

            traceback.print_exc()
            code = 2
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                try:
                    os.write(done_w, bytes([code & 0xFF]))
                finally:
                    os._exit(code)
    os.close(done_w)
    import contextlib
    import signal

    def forward(signum: int, frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)  # (the child's own workers end with it)

    # the child handles Ctrl-C (a terminal sends it to both); a SIGTERM or SIGHUP sent to this
    # process alone (a cancelled CI job, kill PID) is passed on, so the work stops too
    saved = {sig: signal.signal(sig, handler) for sig, handler in (
        (signal.SIGINT, signal.SIG_IGN), (signal.SIGTERM, forward), (signal.SIGHUP, forward))}
    try:
        code = _wait(pid, watchdog, command, done_r)
        return 128 - code if code < 0 else code  # killed by a signal: the shell's 128 + N
    finally:
        os.close(done_r)
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def _wait(pid: int, watchdog: Watchdog, command: str, done: int = -1) -> int:
    """The child's exit code: the one it sends on ``done`` when it has finished (its output
    flushed), else its exit status; 2 when it is stopped for going over the time limit."""
    import os
    import select
    import signal
    import sys

    try:
        pidfd = os.pidfd_open(pid) if hasattr(os, "pidfd_open") else -1
    except OSError:  # kernels before 5.3, seccomp profiles and sandboxes without it (ENOSYS)
        pidfd = -1
    try:
        while True:
            watched = [fd for fd in (pidfd, done) if fd >= 0]
            if watched:
                ready = select.select(watched, [], [], 0.05 if pidfd >= 0 else 0.02)[0]
                if done in ready:
                    sent = os.read(done, 1)
                    if sent:  # (it is leaving: the kernel frees its heap without us)
                        os.waitpid(pid, os.WNOHANG)
                        return sent[0]
                    done = -1  # ended without a word (a signal): its status tells
            else:
                import time

                time.sleep(0.02)
            ended, status = os.waitpid(pid, os.WNOHANG)
            if ended:
                return os.waitstatus_to_exitcode(status) if status else 0
            what = watchdog.expired()
            if what is not None:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                print(f"socle {command}: {what}: policy evaluation took longer than "
                      f"{watchdog.timeout:g}s (a policy that loops or does too much work); "
                      "fix the policy or raise --timeout", file=sys.stderr)
                return 2
    finally:
        if pidfd >= 0:
            os.close(pidfd)
