"""Behaviour of catalog.locations: resolving Location targets and expanding them, inside the root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from catalog.locations import LocationError, Root, expand, location_string, resolve_target


@pytest.fixture
def root_dir(tmp_path: Path) -> Path:
    """An ingested root folder (symlinks resolved) with a sibling folder outside it."""
    base = Path(os.path.realpath(tmp_path))
    (base / "outside").mkdir()
    (base / "outside" / "secret.yaml").write_text("kind: Secret\n")
    root = base / "repo"
    root.mkdir()
    return root


@pytest.fixture
def root(root_dir: Path) -> Root:
    return Root.of(str(root_dir))


def write(path: Path, text: str = "kind: Component\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- Root -----------------------------------------------------------------------------------------


def test_root_of_resolves_symlinks(root_dir: Path, tmp_path: Path):
    link = tmp_path / "link-to-repo"
    link.symlink_to(root_dir)

    assert Root.of(str(link)).path == str(root_dir)


def test_root_contains_itself_and_descendants_but_not_siblings_sharing_a_prefix(root_dir: Path, root: Root):
    (root_dir.parent / "repo-other").mkdir()

    assert root.contains(str(root_dir))
    assert root.contains(str(root_dir / "a" / "b.yaml"))
    assert not root.contains(str(root_dir.parent / "repo-other" / "x.yaml"))
    assert not root.contains(str(root_dir.parent))


def test_location_string_is_a_file_location():
    assert location_string("/srv/repo/catalog-info.yaml") == "file:/srv/repo/catalog-info.yaml"


# --- resolve_target -------------------------------------------------------------------------------


def test_target_resolves_relative_to_the_location_file(root_dir: Path, root: Root):
    location_file = str(root_dir / "teams" / "catalog-info.yaml")

    assert resolve_target("./svc/component.yaml", location_file, root) == str(
        root_dir / "teams" / "svc" / "component.yaml"
    )
    assert resolve_target("svc.yaml", location_file, root) == str(root_dir / "teams" / "svc.yaml")


def test_dot_dot_that_stays_inside_the_root_is_followed(root_dir: Path, root: Root):
    location_file = str(root_dir / "teams" / "catalog-info.yaml")

    assert resolve_target("../shared/apis.yaml", location_file, root) == str(root_dir / "shared" / "apis.yaml")


def test_file_prefix_is_accepted(root_dir: Path, root: Root):
    location_file = str(root_dir / "catalog-info.yaml")

    assert resolve_target("file:./a.yaml", location_file, root) == str(root_dir / "a.yaml")


def test_result_is_absolute_and_normalised(root_dir: Path, root: Root):
    resolved = resolve_target("./a/./b/../c.yaml", str(root_dir / "catalog-info.yaml"), root)

    assert os.path.isabs(resolved)
    assert resolved == str(root_dir / "a" / "c.yaml")


@pytest.mark.parametrize("target", ["../outside/secret.yaml", "./a/../../outside/secret.yaml", "../../etc/passwd"])
def test_dot_dot_climbing_out_of_the_root_is_refused_naming_the_root(root_dir: Path, root: Root, target):
    with pytest.raises(LocationError) as caught:
        resolve_target(target, str(root_dir / "catalog-info.yaml"), root)

    assert "outside the ingested root" in str(caught.value)
    assert str(root_dir) in str(caught.value)
    assert target in str(caught.value)


def test_absolute_path_outside_the_root_is_refused(root_dir: Path, root: Root):
    target = str(root_dir.parent / "outside" / "secret.yaml")

    with pytest.raises(LocationError, match="outside the ingested root"):
        resolve_target(target, str(root_dir / "catalog-info.yaml"), root)
    with pytest.raises(LocationError, match="outside the ingested root"):
        resolve_target("file:" + target, str(root_dir / "catalog-info.yaml"), root)


def test_absolute_path_inside_the_root_is_followed(root_dir: Path, root: Root):
    target = str(root_dir / "x" / "y.yaml")

    assert resolve_target(target, str(root_dir / "a" / "catalog-info.yaml"), root) == target


def test_sibling_folder_sharing_the_roots_name_prefix_is_outside(root_dir: Path, root: Root):
    with pytest.raises(LocationError, match="outside the ingested root"):
        resolve_target("../repo-evil/x.yaml", str(root_dir / "catalog-info.yaml"), root)


def test_symlinked_folder_leading_outside_is_refused(root_dir: Path, root: Root):
    (root_dir / "escape").symlink_to(root_dir.parent / "outside")

    with pytest.raises(LocationError, match="outside the ingested root"):
        resolve_target("./escape/secret.yaml", str(root_dir / "catalog-info.yaml"), root)


@pytest.mark.parametrize(
    "target",
    ["https://github.com/org/repo/blob/main/catalog-info.yaml", "url:https://example.com/a.yaml", "file:///etc/passwd"],
)
def test_url_targets_are_refused(root_dir: Path, root: Root, target):
    with pytest.raises(LocationError) as caught:
        resolve_target(target, str(root_dir / "catalog-info.yaml"), root)

    assert "URL" in str(caught.value)
    assert target in str(caught.value)


@pytest.mark.parametrize("target", ["", "   ", None, 42, ["a.yaml"]], ids=repr)
def test_non_string_or_blank_targets_are_refused(root_dir: Path, root: Root, target):
    with pytest.raises(LocationError, match="non-empty string"):
        resolve_target(target, str(root_dir / "catalog-info.yaml"), root)


def test_glob_target_inside_the_root_is_kept_as_a_pattern(root_dir: Path, root: Root):
    resolved = resolve_target("./**/catalog-info.yaml", str(root_dir / "catalog-info.yaml"), root)

    assert resolved == str(root_dir / "**" / "catalog-info.yaml")


@pytest.mark.parametrize("target", ["../*/secret.yaml", "../**/*.yaml", "/*/*.yaml"])
def test_glob_whose_fixed_part_is_outside_the_root_is_refused(root_dir: Path, root: Root, target):
    with pytest.raises(LocationError, match="outside the ingested root"):
        resolve_target(target, str(root_dir / "catalog-info.yaml"), root)


# --- expand ---------------------------------------------------------------------------------------


def test_recursive_glob_returns_sorted_matching_files(root_dir: Path, root: Root):
    expected = [
        write(root_dir / "catalog-info.yaml"),
        write(root_dir / "a" / "catalog-info.yaml"),
        write(root_dir / "b" / "c" / "catalog-info.yaml"),
        write(root_dir / "z" / "catalog-info.yaml"),
    ]
    write(root_dir / "a" / "other.yaml")
    (root_dir / "d" / "catalog-info.yaml").mkdir(parents=True)  # a folder with a matching name

    pattern = resolve_target("./**/catalog-info.yaml", str(root_dir / "catalog-info.yaml"), root)
    files, problems = expand(pattern, root)

    assert problems == []
    assert files == sorted(str(path) for path in expected)
    assert files == sorted(files)


def test_glob_that_matches_nothing_is_empty_without_problems(root_dir: Path, root: Root):
    assert expand(str(root_dir / "**" / "nothing.yaml"), root) == ([], [])


def test_folder_target_returns_its_yaml_files_sorted(root_dir: Path, root: Root):
    expected = [write(root_dir / "b.yaml"), write(root_dir / "a" / "x.yml"), write(root_dir / "a" / "y.yaml")]
    write(root_dir / "a" / "README.md", "# hello\n")

    files, problems = expand(str(root_dir), root)

    assert problems == []
    assert files == sorted(str(path) for path in expected)


def test_single_file_target(root_dir: Path, root: Root):
    path = write(root_dir / "component.yaml")

    assert expand(str(path), root) == ([str(path)], [])


def test_missing_file_is_a_no_such_file_problem(root_dir: Path, root: Root):
    missing = str(root_dir / "missing.yaml")

    files, problems = expand(missing, root)

    assert files == []
    assert problems == [f"{missing}: no such file"]


def test_symlinked_file_leading_outside_is_skipped_with_a_problem(root_dir: Path, root: Root):
    inside = write(root_dir / "a" / "catalog-info.yaml")
    link = root_dir / "b" / "catalog-info.yaml"
    link.parent.mkdir()
    link.symlink_to(root_dir.parent / "outside" / "secret.yaml")

    files, problems = expand(str(root_dir / "**" / "catalog-info.yaml"), root)

    assert files == [str(inside)]
    assert len(problems) == 1
    assert problems[0].startswith(str(link))
    assert "outside the ingested root" in problems[0]
    assert str(root_dir) in problems[0]


def test_symlinked_folder_leading_outside_is_skipped_with_a_problem(root_dir: Path, root: Root):
    (root_dir / "escape").symlink_to(root_dir.parent / "outside")
    inside = write(root_dir / "mine.yaml")

    files, problems = expand(str(root_dir / "*" / "*.yaml"), root)
    top, _ = expand(str(root_dir / "*.yaml"), root)

    assert files == []
    assert problems == [f"{root_dir / 'escape'}: a symlink that leads outside the ingested root {root_dir}; not read"]
    assert top == [str(inside)]


def test_symlink_target_named_directly_is_skipped_with_a_problem(root_dir: Path, root: Root):
    link = root_dir / "secret.yaml"
    link.symlink_to(root_dir.parent / "outside" / "secret.yaml")

    files, problems = expand(str(link), root)

    assert files == []
    assert len(problems) == 1
    assert "outside the ingested root" in problems[0]


def test_symlink_in_a_folder_target_leading_outside_is_skipped_with_a_problem(root_dir: Path, root: Root):
    inside = write(root_dir / "a.yaml")
    (root_dir / "b.yaml").symlink_to(root_dir.parent / "outside" / "secret.yaml")

    files, problems = expand(str(root_dir), root)

    assert files == [str(inside)]
    assert len(problems) == 1
    assert problems[0].startswith(str(root_dir / "b.yaml"))


def test_symlink_that_stays_inside_the_root_is_followed(root_dir: Path, root: Root):
    real = write(root_dir / "real" / "catalog-info.yaml")
    (root_dir / "alias.yaml").symlink_to(real)

    files, problems = expand(str(root_dir / "alias.yaml"), root)

    assert problems == []
    assert files == [str(root_dir / "alias.yaml")]
