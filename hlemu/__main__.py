import sys

from hlemu.cli import main

sys.exit(main())
