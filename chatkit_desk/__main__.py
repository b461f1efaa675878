import sys

from chatkit_desk.cli import main

sys.exit(main())
