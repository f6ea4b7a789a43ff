import sys

from gioconda.cli import main

sys.exit(main())
