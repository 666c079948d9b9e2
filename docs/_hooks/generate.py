"""MkDocs hook: generate the reference pages from the code on every build.

``reference/configuration.md`` comes from the pydantic models (``Deployment``, the base
``Infrastructure`` and every installed infrastructure plugin's class), and
``reference/cli.md`` from the click command tree in ``shipway.cli``. Neither is written
to disk or committed, so neither can go stale. Anything the generators find wrong (a
plugin that does not load, a field without a description) is logged as a warning,
which fails the build in strict mode.
"""

from __future__ import annotations

import logging
from typing import Any

# The hook's folder is on sys.path while MkDocs imports this file.
import reference_cli
import reference_config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

# Under "mkdocs." so that strict mode counts these warnings.
log = logging.getLogger("mkdocs.hooks.shipway")

GENERATED_PAGES = {
    "reference/configuration.md": reference_config.render,
    "reference/cli.md": reference_cli.render,
}


def on_files(files: Files, config: MkDocsConfig, **kwargs: Any) -> Files:
    for src_uri, render in GENERATED_PAGES.items():
        committed = files.get_file_from_path(src_uri)
        if committed is not None:
            log.warning("docs/%s exists, but it is generated: delete it", src_uri)
            files.remove(committed)
        markdown, problems = render()
        for problem in problems:
            log.warning("%s: %s", src_uri, problem)
        files.append(File.generated(config, src_uri, content=markdown))
    return files
