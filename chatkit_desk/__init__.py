"""The ``chatkit-desk`` command: the one entry point above ``backend`` and ``desktop``.

``backend`` is the headless server and never imports ``desktop`` or Qt; ``desktop`` is the tray
and uses ``backend``. Only this package knows both, to pick the tray or the server.
"""
