from rnntui.cli import app

app(prog_name="rnntui")
