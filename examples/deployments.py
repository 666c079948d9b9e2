# The Python form of examples/shipway.yaml: `shipway run example -f deployments.py`
from shipway import Deployment
from shipway.infrastructure import Process

from flows.hello import hello_world

Deployment(name="example", flow=hello_world, infrastructure=Process())
