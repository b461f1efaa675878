"""ChatKit Desk's headless server. Never imports ``desktop`` or Qt."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("chatkit-desk")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
