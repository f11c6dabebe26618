"""A git repository as a source: a shallow fetch with the `git` CLI into a cache folder, then read as files.

Any remote git understands works: GitHub, GitLab, Gitea, or a plain `file://` repository. Only the
tip of one branch is fetched (`--depth 1`); files whose content did not change are not parsed again.
"""

from __future__ import annotations

import base64
import glob
import hashlib
import os
import re
import subprocess
import time

from catalog.ingest import IngestError
from catalog.sources.definitions import GitSource, secret
from catalog.sources.refresh import RefreshContext, SourceError, read_local


def read_git(source: GitSource, context: RefreshContext) -> None:
    """Fetch the branch's tip into the cache and read the files the source's globs match there."""
    folder = clone_folder(context.cache_dir, source)
    deadline = context.upstream.deadline
    fetch(source, folder, None if deadline is None else deadline - time.monotonic())
    patterns = [os.path.join(folder, pattern.lstrip("/")) for pattern in source.paths]
    matching = [pattern for pattern in patterns if _matches(pattern)]
    if not matching:
        wanted = ", ".join(source.paths)
        raise SourceError(f"{source.url}: no file in the repository matches {wanted}; nothing was changed")
    try:
        read_local(tuple(matching), context)
    except IngestError as error:
        raise SourceError(f"{source.url}: {error}") from None


def clone_folder(cache_dir: str, source: GitSource) -> str:
    """The source's own folder in the cache: named after it, and after its URL (a new URL starts afresh)."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", source.name)[:60]
    digest = hashlib.blake2b(f"{source.url}#{source.branch}".encode(), digest_size=6).hexdigest()
    return os.path.join(cache_dir, "git", f"{slug}-{digest}")


def fetch(source: GitSource, folder: str, timeout: float | None) -> None:
    """Make `folder` hold exactly the tip of the source's branch (the remote's default when none is set)."""
    if timeout is not None and timeout <= 0:
        raise SourceError("the refresh ran out of time (the source's timeout) before fetching")
    if not os.path.isdir(os.path.join(folder, ".git")):
        os.makedirs(folder, mode=0o700, exist_ok=True)  # clones may hold private repositories
        _git(source, ["init", "--quiet", folder], timeout)
        _git(source, ["-C", folder, "remote", "add", "origin", source.url], timeout)
    _git(source, ["-C", folder, "fetch", "--quiet", "--depth", "1", "origin", source.branch or "HEAD"], timeout)
    _git(source, ["-C", folder, "checkout", "--quiet", "--force", "--detach", "FETCH_HEAD"], timeout)
    _git(source, ["-C", folder, "clean", "--quiet", "-d", "--force", "-x"], timeout)


def _git(source: GitSource, arguments: list[str], timeout: float | None) -> None:
    environment = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C"}
    token = secret(source.token_env, source.name)
    if token:
        # Through the environment, never the command line (which other users can read in `ps`).
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        environment |= {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        }
    try:
        subprocess.run(
            ["git", *arguments], env=environment, capture_output=True, text=True, check=True, timeout=timeout
        )
    except FileNotFoundError:
        raise SourceError("the git command is not installed; a git source needs it") from None
    except subprocess.TimeoutExpired:
        raise SourceError(f"git timed out fetching {source.url} (the source's timeout)") from None
    except subprocess.CalledProcessError as error:
        said = (error.stderr or error.stdout or "").strip().splitlines()
        reason = said[-1] if said else f"exit status {error.returncode}"
        if token:
            reason = reason.replace(token, "***")
        branch = source.branch or "its default branch"
        raise SourceError(f"git could not fetch {branch} of {source.url}: {reason}") from None


def _matches(pattern: str) -> bool:
    """Whether a path or glob in the clone names at least one file."""
    if glob.has_magic(pattern):
        return next(glob.iglob(pattern, recursive=True), None) is not None
    return os.path.exists(pattern)
