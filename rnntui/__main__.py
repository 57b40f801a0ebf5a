from rnntui.cli import app

if __name__ == "__main__":  # not when multiprocessing re-imports this module in a worker
    app(prog_name="rnntui")
