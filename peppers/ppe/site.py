"""The site configuration: settings of this installation, outside any run.

The file is ``$PEPPERS_SITE``, else ``~/.config/peppers/site.yaml``: a YAML
mapping, flat (``ppe.mpi.launcher: srun``) or nested. The run database
(HKV) overrides it where a run has the key; that choice is the scheduler's
(:func:`peppers.drs.mpi.run_setting`), the engine reads only this file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from peppers.errors import SiteConfigError

SITE_ENV = "PEPPERS_SITE"


def site_config_path() -> Path:
    """The site configuration file: ``$PEPPERS_SITE``, else ``~/.config/peppers/site.yaml``."""
    env = os.environ.get(SITE_ENV)
    return Path(env) if env else Path.home() / ".config" / "peppers" / "site.yaml"


def site_setting(key: str, default: Any = None) -> Any:
    """A dotted key of the site file (flat ``ppe.mpi.launcher:`` or nested mappings).

    Raises
    ------
    SiteConfigError
        If the site file exists but is not a YAML mapping (names the file).
    """
    path = site_config_path()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default
    except (OSError, yaml.YAMLError) as error:
        raise SiteConfigError(f"{path}: cannot read the site configuration: {error}") from None
    if data is None:
        return default
    if not isinstance(data, dict):
        raise SiteConfigError(f"{path}: the site configuration must be a mapping, got "
                       f"{type(data).__name__}")
    if key in data:
        return data[key]
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node
