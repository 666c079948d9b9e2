# shipway's pytest plugin: the shipway_project, shipway_run and shipway_registry fixtures.
pytest_plugins = ["shipway.testing"]
