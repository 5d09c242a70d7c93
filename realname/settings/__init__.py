"""Settings package: ``base`` holds what every environment shares; ``dev``, ``test`` and
``production`` read the environment for what differs. The environment is read here and only here."""
