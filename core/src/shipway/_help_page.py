"""The page ``shipway --help`` prints, and ``shipway --version``'s line, as
click renders them at its default width: ``shipway._launcher`` prints them without
importing click. Generated: tests/core/test_cli_fast_help.py fails when they are stale,
and rewrites them when run with SHIPWAY_WRITE_HELP_PAGE=1."""

HELP = (
    'Usage: shipway [OPTIONS] COMMAND [ARGS]...\n'
    '\n'
    '  Run Python flows on pluggable infrastructure, selected by name.\n'
    '\n'
    'Options:\n'
    '  -V, --version  Show the version and exit.\n'
    '  --debug        Show the full traceback when something fails (or set\n'
    '                 SHIPWAY_DEBUG=1).\n'
    '  -h, --help     Show this message and exit.\n'
    '\n'
    'Commands:\n'
    '  agent       Start agents, which run due flow runs on their...\n'
    '  deployment  Register, list, inspect and run deployments.\n'
    '  flow-run    List, inspect, follow and cancel flow runs.\n'
    "  image       Build images that run this project's flows.\n"
    '  infra       Preview what a deployment would run, and show...\n'
    '  migrate     Move PATHS from Prefect 2 to shipway: Python files,...\n'
    '  plugin      Develop shipway plugins.\n'
    '  plugins     List every discovered plugin: type name, distribution,...\n'
    '  run         Run deployment NAME now on its infrastructure and stream...\n'
    '  server      Serve the REST API and web UI over the store.\n'
    '  work-queue  List work queues and set their limits.\n'
)

VERSION = 'shipway, version 0.1.0\n'
