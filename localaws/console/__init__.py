"""The local web console: the workflow graph, executions, queues, alarms, topics and analytics in one page.

``app.make_console_app`` builds the WSGI app; ``app.mount_console`` puts it in front of moto at ``/_console``.
"""
