import sys

from patchnr.cli.main import main

sys.exit(main())
