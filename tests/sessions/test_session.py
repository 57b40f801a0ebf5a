"""The run life cycle without a terminal: a `TrainingSession` trains, pauses, stops and fails."""

from __future__ import annotations

import threading

from rnntui.config import Config
from rnntui.engine.events import EpochEnd, Failed, Finished, Paused, Progress, Resumed, Started
from rnntui.engine.trainer import Trainer
from rnntui.runs.folder import RunFolder
from rnntui.sessions.session import RunState
from rnntui.sessions.thread import TrainingSession
from tests.helpers import tiny, wait_until


class Recorder:
    """Collects events with the session's state as it was when each one arrived."""

    def __init__(self) -> None:
        self.events: list = []
        self.states: list[RunState] = []
        self.session: TrainingSession | None = None
        self.lock = threading.Lock()

    def __call__(self, event) -> None:
        with self.lock:
            self.events.append(event)
            self.states.append(self.session.state if self.session else RunState.IDLE)

    def wait_for(self, kind: type, timeout: float = 60) -> None:
        seen = lambda: any(isinstance(e, kind) for e in list(self.events))  # noqa: E731
        wait_until(seen, timeout, f"a {kind.__name__} event", every=0.01)


def start(config: Config, tmp_path, **options) -> tuple[TrainingSession, Recorder]:
    recorder = Recorder()
    options.setdefault("trainer_factory", Trainer)
    session = TrainingSession(config, recorder, runs_dir=tmp_path, **options)
    recorder.session = session
    assert session.start() == ""
    return session, recorder


def test_a_session_trains_to_the_end_in_its_own_run_folder(tmp_path):
    session, recorder = start(tiny(), tmp_path)
    assert session.state is RunState.STARTING and session.running
    assert session.wait(60)
    assert session.state is RunState.FINISHED and not session.running
    kinds = [type(e) for e in recorder.events]
    assert kinds[0] is Started and kinds[-1] is Finished and EpochEnd in kinds
    # the state was already applied when each event arrived
    assert recorder.states[kinds.index(Progress)] is RunState.TRAINING
    assert recorder.states[-1] is RunState.FINISHED
    saved = RunFolder(session.run_folder.path)
    assert saved.read_summary()["steps"] == session.step == 200
    assert session.resume_command() == (f"rnntui train --resume {saved.name} --runs-dir {tmp_path}")


def test_pause_resume_and_stop(tmp_path):
    session, recorder = start(tiny("train.epochs=50", "train.chunk=4"), tmp_path)
    recorder.wait_for(Progress)
    assert session.pause() and session.state is RunState.PAUSING
    assert not session.pause()  # only a training run pauses
    recorder.wait_for(Paused)
    assert session.state is RunState.PAUSED
    with recorder.lock:
        resume_called = len(recorder.events)  # where the resume falls among the events
    assert session.resume() and session.state is RunState.TRAINING
    recorder.wait_for(Resumed)
    # nothing ran while paused: no step between the pause and the resume, which went on from
    # the very step the pause held
    kinds = [type(e) for e in recorder.events]
    paused, resumed = (recorder.events[kinds.index(kind)] for kind in (Paused, Resumed))
    assert kinds.index(Paused) < resume_called <= kinds.index(Resumed)
    assert Progress not in kinds[kinds.index(Paused) : resume_called]
    assert paused.step == resumed.step > 0
    assert session.stop() and session.state is RunState.STOPPING
    assert not session.stop()  # a second stop is a no-op
    assert session.wait(30)
    assert session.state is RunState.STOPPED
    finished = recorder.events[-1]
    assert isinstance(finished, Finished) and finished.stopped
    assert 0 < finished.summary["steps"] == session.step < 50 * 200
    assert RunFolder(session.run_folder.path).read_checkpoint().step == session.step


def test_a_stop_during_a_pause_is_not_undone_by_the_pause_news(tmp_path):
    session, recorder = start(tiny("train.epochs=50", "train.chunk=4"), tmp_path)
    recorder.wait_for(Progress)
    session.pause()
    session.stop()  # before the loop noticed the pause
    assert session.wait(30)
    assert session.state is RunState.STOPPED


def test_a_failing_run_ends_in_the_failed_state(tmp_path):
    class Exploding(Trainer):
        def run(self) -> dict:
            raise RuntimeError("bug in the trainer\nsecond line")

    session, recorder = start(tiny(), tmp_path, trainer_factory=Exploding)
    assert session.wait(30)
    assert session.state is RunState.FAILED
    failed = recorder.events[-1]
    assert isinstance(failed, Failed) and failed.message.startswith("RuntimeError: bug")


def test_an_unwritable_runs_folder_trains_unsaved_with_a_warning(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    recorder = Recorder()
    session = TrainingSession(tiny(), recorder, runs_dir=blocker / "runs", trainer_factory=Trainer)
    recorder.session = session
    warning = session.start()
    assert "cannot create a run folder" in warning and "--runs-dir" in warning
    assert session.wait(60)
    assert session.state is RunState.FINISHED and session.run_folder is None
    assert session.resume_command() == ""


def test_lstm_weights_ride_on_the_finished_event(tmp_path):
    session, recorder = start(tiny("model.cell=lstm"), tmp_path)
    assert session.wait(60)
    finished = recorder.events[-1]
    kernel, recurrent, bias = finished.lstm_weights
    assert kernel.shape == (2, 16) and recurrent.shape == (4, 16) and bias.shape == (16,)
    latest = session.trainer.lstm_weights()
    assert all((a == b).all() for a, b in zip(finished.lstm_weights, latest, strict=True))
