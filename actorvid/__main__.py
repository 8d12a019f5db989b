import sys

from actorvid.cli import main

sys.exit(main())
