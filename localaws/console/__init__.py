"""The local web console: the workflow graph, executions, queues, alarms, topics and analytics in one page.

``make_console_app`` builds the WSGI app; ``mount_console`` puts it in front of moto at ``/_console``.
"""

from __future__ import annotations

from localaws.console.app import CONSOLE_PATH, ConsoleApp, make_console_app, mount_console

__all__ = ["CONSOLE_PATH", "ConsoleApp", "make_console_app", "mount_console"]
