"""``python -m oneshot_lightning``: the same as the ``oneshot`` console script."""

from oneshot_lightning.cli import main

if __name__ == "__main__":
    main()
