"""Safe output folders and files: nothing a user wrote is ever deleted or overwritten by
surprise, and nothing complete is lost to an interrupted or failed write.

Every command that writes (run, compare, calibrate, report, plot, schema, ensembles) goes
through this module:

- An output folder is built in a fresh temporary folder beside its target and swapped in
  only when complete (`OutputFolder`): until then, and after a failure, the old output
  stays as it was.
- A marker file (`MARKER`) identifies folders tradesim wrote. `--force` replaces only such
  folders; it refuses the current folder (or one that contains it), a folder that holds
  one of the command's inputs, and any folder without the marker.
- Output names derived from scenario names are sanitised (`output_name`): no separators,
  no `..`, never empty; `unique_names` refuses two scenarios that would share a folder.
- Single files (`check_file_target`, then `atomic_write`) are never
  overwritten without `--force`, never when they are inputs.
- An ensemble folder is owned by a lock file (`FolderLock`, an advisory `flock` released
  by the kernel when its process ends, even on SIGKILL), so two processes never mix runs.
- Files are created with the user's umask (`apply_umask`): temporary files start at 0600.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from tradesim.errors import TradesimError

__all__ = [
    "MARKER",
    "FolderLock",
    "OutputFolder",
    "apply_umask",
    "atomic_write",
    "check_file_target",
    "foreign_entries",
    "is_output_folder",
    "mark_output",
    "neutralize_cells",
    "output_name",
    "record_output",
    "unique_names",
]

#: The file that marks a folder as written by tradesim (and so replaceable with --force).
MARKER = ".tradesim-output"
LOCK = ".tradesim.lock"
_SAFE_NAME = re.compile(r"[^\w.-]+")  # \w: letters and digits of any script, and _


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def apply_umask(path: str | Path, *, directory: bool = False) -> None:
    """Give `path` the permissions a plain `open()` or `mkdir()` would have given it.

    `tempfile.mkstemp` and `mkdtemp` create 0600 files and 0700 folders (safe while being
    written); once renamed into place, outputs get the user's usual permissions.
    """
    base = 0o777 if directory else 0o666
    with contextlib.suppress(OSError):
        os.chmod(path, base & ~_umask())


def output_name(name: str) -> str:
    """A folder name from a scenario name: letters and digits (of any script: a scenario
    may be named in Russian or Chinese), '.', '_' and '-' only.

    Separators and other characters become '_', leading dots are dropped (no `..`, no hidden
    folders). A name with nothing usable left is an error, never the parent folder.
    """
    safe = _SAFE_NAME.sub("_", name).lstrip(".")
    if not safe.strip("_.-"):
        raise TradesimError(
            f"scenario name {name!r} cannot name an output folder; give the scenario a name"
            " of letters, digits, '_' or '-'"
        )
    return safe


def unique_names(names: Iterable[str]) -> list[str]:
    """`output_name` of each name, refusing two scenarios that would write one folder."""
    out: list[str] = []
    seen: dict[str, str] = {}
    for name in names:
        safe = output_name(name)
        if safe.lower() in seen:
            raise TradesimError(
                f"scenarios {seen[safe.lower()]!r} and {name!r} would write the same output"
                f" folder {safe!r}; give them different names"
            )
        seen[safe.lower()] = name
        out.append(safe)
    return out


def is_output_folder(path: Path) -> bool:
    """Whether `path` is a folder that tradesim wrote (it holds the marker file)."""
    return (path / MARKER).is_file()


def mark_output(folder: Path, kind: str) -> None:
    """Write the marker that identifies `folder` as tradesim output of `kind`.

    The marker also lists the files tradesim wrote at the folder's top level (see
    `record_output`), so that `--force` can tell them from files someone added later.
    """
    from tradesim import __version__

    text = json.dumps({"tradesim": __version__, "kind": kind, "files": []}) + "\n"
    marker = folder / MARKER
    if not marker.exists():
        marker.write_text(text)
        apply_umask(marker)


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary file in the same folder, then rename over `path`."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        apply_umask(tmp)  # mkstemp made it 0600
        os.replace(tmp, path)
        record_output(path)  # listed in the folder's marker: --force may replace it
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def record_output(path: Path) -> None:
    """Add `path`'s name to the marker of its folder, if that folder is tradesim's.

    Called by `atomic_write` for every file written; recording never fails a write.
    """
    marker = path.parent / MARKER
    try:
        info = json.loads(marker.read_text())
        files = info.setdefault("files", [])
        if path.name not in files:
            files.append(path.name)
            marker.write_text(json.dumps(info) + "\n")
    except (OSError, ValueError, AttributeError, TypeError):
        return


#: Entries of an output folder that tradesim writes without recording them in the marker.
_ALWAYS_OURS = {MARKER, LOCK, "runs"}
#: Leftovers of an interrupted `atomic_write`: a dot, the file name, a dot, mkstemp's suffix.
_TEMPORARY = re.compile(r"^\..+\.[a-z0-9_]{8}$")


def foreign_entries(folder: Path) -> list[str]:
    """Entries of a tradesim output folder that tradesim did not write (someone's notes, a
    copied file): `--force` refuses to delete a folder that holds any."""
    known = set(_ALWAYS_OURS)
    try:
        known.update(json.loads((folder / MARKER).read_text()).get("files", []))
    except (OSError, ValueError, AttributeError):
        pass
    try:
        outputs = json.loads((folder / "manifest.json").read_text()).get("outputs", [])
        known.update(str(name).rstrip("/") for name in outputs)
    except (OSError, ValueError, AttributeError):
        pass
    return sorted(
        p.name for p in folder.iterdir() if p.name not in known and not _TEMPORARY.match(p.name)
    )


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _refuse_dangerous(target: Path, inputs: Sequence[Path]) -> None:
    """Refuse a target that is the current folder or holds it, or holds an input."""
    resolved = target.resolve()
    cwd = Path.cwd().resolve()
    if _inside(cwd, resolved):
        raise TradesimError(
            f"{target} is the current folder or contains it; choose an output folder of its own"
        )
    for item in inputs:
        if _inside(Path(item).resolve(), resolved):
            raise TradesimError(
                f"{target} holds an input of this command ({item}); choose another output folder"
            )


def check_file_target(path: Path, *, force: bool, inputs: Sequence[Path] = ()) -> None:
    """Refuse to overwrite a file without --force, and always refuse to overwrite an input
    or a folder."""
    resolved = path.resolve()
    for item in inputs:
        if Path(item).resolve() == resolved:
            raise TradesimError(f"{path} is an input of this command; choose another file")
    if path.is_dir():
        raise TradesimError(f"{path} is a folder; give a file name")
    if path.exists() and not force:
        raise TradesimError(f"{path} exists; use --force to overwrite it")


class FolderLock:
    """Exclusive ownership of a folder by one process, through an advisory lock file.

    The lock is `fcntl.flock` on `LOCK` inside the folder: the kernel releases it when the
    process ends however it ends, so a killed run never leaves a stale lock. Where flock is
    missing (Windows), the lock file is created exclusively and removed on release.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self.path = folder / LOCK
        self._file: IO[str] | None = None

    def acquire(self) -> FolderLock:
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_RDWR)
            except FileExistsError:
                raise self._busy() from None
            self._file = os.fdopen(fd, "w")
            return self
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise self._busy() from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle
        return self

    def _busy(self) -> TradesimError:
        return TradesimError(
            f"{self.folder} is being written by another tradesim process; wait for it to"
            " finish or choose another output folder"
        )

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            try:
                import fcntl  # noqa: F401
            except ImportError:  # pragma: no cover - Windows
                self.path.unlink(missing_ok=True)

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _ensemble_key(folder: Path) -> str | None:
    try:
        value = json.loads((folder / "ensemble.json").read_text())["scenario_sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return value if isinstance(value, str) else None


class OutputFolder:
    """Where a command writes one output folder, safely.

    Use as a context manager; it yields the folder to write into. On success that folder
    becomes `target`; on failure the target is left exactly as it was.

    Parameters
    ----------
    target
        The folder the user asked for.
    force
        Replace an existing tradesim output folder (never anything else).
    inputs
        Files the command reads: a target holding one is refused.
    kind
        Recorded in the marker ("run", "ensemble", "comparison").
    resume_key
        For resumable ensembles: the scenario hash. Runs go straight into a new or
        resumable target (a killed run resumes there); with `force`, into a hidden
        `.NAME.partial` folder beside it, which the same command resumes, and which
        replaces the target only when complete.
    """

    def __init__(
        self,
        target: str | Path,
        *,
        force: bool,
        inputs: Sequence[Path] = (),
        kind: str = "run",
        resume_key: str | None = None,
    ):
        self.target = Path(target)
        self.force = force
        self.inputs = list(inputs)
        self.kind = kind
        self.resume_key = resume_key
        self.work: Path | None = None
        self.in_place = False
        self.resumed = False

    # -- decisions

    def _prepare(self) -> Path:
        target = self.target
        _refuse_dangerous(target, self.inputs)
        if target.exists() and not target.is_dir():
            raise TradesimError(f"{target} exists and is not a folder")
        occupied = target.is_dir() and any(target.iterdir())
        if occupied and not is_output_folder(target):
            raise TradesimError(
                f"{target} exists, is not empty and is not a tradesim output folder (it has no"
                f" {MARKER} marker); tradesim replaces only folders it wrote, even with"
                " --force. Choose another folder"
            )
        if occupied and self.force:
            foreign = foreign_entries(target)
            if foreign:
                raise TradesimError(
                    f"{target} holds files tradesim did not write ({', '.join(foreign[:5])});"
                    " --force will not delete them. Move them away or choose another folder"
                )
        target.parent.mkdir(parents=True, exist_ok=True)
        if self.resume_key is not None:
            if not occupied:
                target.mkdir(exist_ok=True)
                mark_output(target, self.kind)
                self.in_place = True
                return target
            if not self.force:
                if _ensemble_key(target) != self.resume_key:
                    raise TradesimError(
                        f"{target} holds outputs of another scenario (or not an ensemble); use"
                        " --force to replace them or choose another folder"
                    )
                self.in_place = self.resumed = True
                return target
            partial = target.parent / f".{target.name}.partial"
            if partial.exists() and (
                not is_output_folder(partial) or _ensemble_key(partial) != self.resume_key
            ):
                if not is_output_folder(partial):
                    raise TradesimError(f"{partial} is in the way; remove it")
                shutil.rmtree(partial)  # ours, of another scenario: nothing to resume
            partial.mkdir(exist_ok=True)
            apply_umask(partial, directory=True)
            mark_output(partial, self.kind)
            self.resumed = _ensemble_key(partial) is not None
            return partial
        if occupied and not self.force:
            raise TradesimError(f"{target} exists and is not empty; use --force to overwrite it")
        work = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        apply_umask(work, directory=True)
        mark_output(work, self.kind)
        return work

    def _swap(self, work: Path) -> None:
        target = self.target
        if work == target:
            return
        aside: Path | None = None
        if target.exists():
            if any(target.iterdir()):
                aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
                os.rmdir(aside)
                os.rename(target, aside)
            else:
                os.rmdir(target)
        try:
            os.rename(work, target)
        except BaseException:
            if aside is not None:
                os.rename(aside, target)
            raise
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)

    # -- context manager

    def __enter__(self) -> Path:
        self.work = self._prepare()
        return self.work

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        work = self.work
        assert work is not None
        if exc_type is None:
            self._swap(work)
        elif not self.in_place and self.resume_key is None:
            shutil.rmtree(work, ignore_errors=True)
        # a resumable ensemble keeps its finished runs (in place or in .NAME.partial)


@contextlib.contextmanager
def writing_to(out: Path) -> Iterator[None]:
    """Turn file-system errors while writing outputs into a clear user error."""
    try:
        yield
    except OSError as exc:
        raise TradesimError(f"cannot write outputs to {out}: {exc.strerror or exc}") from exc


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralize_cells(df: Any) -> Any:
    """A copy of a table whose text cells cannot run as spreadsheet formulas.

    OWASP's rule for CSV injection: a text cell starting with = + - @ tab or carriage return
    is prefixed with a single quote, so Excel, LibreOffice and Google Sheets show it as text
    (https://owasp.org/www-community/attacks/CSV_Injection). Numeric columns are untouched;
    region, sector, currency and route names are the text cells tradesim writes.
    """
    import pandas as pd
    from pandas.api.types import is_object_dtype, is_string_dtype

    def risky(v: Any) -> bool:
        return isinstance(v, str) and v.startswith(_FORMULA_START)

    out = df.copy()
    for column in out.columns:
        values = out[column]
        if is_object_dtype(values) or is_string_dtype(values):
            try:  # a column holds a few names many times over: look at each name once
                clean = not any(risky(v) for v in pd.unique(values))
            except TypeError:  # unhashable cells (a sweep's year-path value is a dict)
                clean = False
            if not clean:
                out[column] = ["'" + v if risky(v) else v for v in values]
    return out
