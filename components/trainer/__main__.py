"""`python -m components.trainer`: the trainer from command-line flags (see `cli`)."""

from components.trainer.cli import main

main()
