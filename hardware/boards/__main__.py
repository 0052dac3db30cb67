import sys

from hardware.boards import main

sys.exit(main())
