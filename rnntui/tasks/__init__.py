"""Data for the experiments, one module per task behind one interface (`tasks.base.Task`).

`registry.py` maps each `task.kind` to its module; `base.py` is what every task offers the engine
and the app. A new task is one module here, a line in the registry and a preview widget
(`tui/previews/`).
"""
