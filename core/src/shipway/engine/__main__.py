import sys

from shipway.engine import main

sys.exit(main())
