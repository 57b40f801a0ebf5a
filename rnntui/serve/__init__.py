"""`rnntui serve`: the app in a web browser, through textual-serve (the Textual project's server).

Each browser tab gets its own app process, started by the server and tied to it: the app ends
when its tab closes, when the server stops, and when the server dies without a word (Linux's
parent-death signal, and the app's stdin closing). Runs are not tied to tabs: a served app
leaves its runs training when it ends (`rnntui --detach-runs`), and a new tab offers the runs
training now to follow.

- `access`: who may open the page (a token off loopback; Host and Origin checks on it).
- `server`: the aiohttp server around textual-serve's, binding, the banner and shutdown.
- `tabs`: one app process per tab, started without a shell and stopped within seconds.
- `driver`: the app's side (Textual's web driver plus the lifelines); only the app imports it.

Nothing here imports TensorFlow; only `driver` imports Textual.
"""

PARENT_ENV = "RNNTUI_SERVE_PARENT"  # the server's pid, in each tab app's environment
