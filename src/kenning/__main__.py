import sys

from kenning.cli import main

sys.exit(main())
