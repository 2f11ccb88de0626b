"""``python -m newsmon.scheduler.cli``: how the supervisor starts workers, and how tests run newsmon."""

from newsmon.scheduler.cli import main

main()
