"""benchmarks/classroom.py runs a small class through to the end and says what it saw."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_a_class_of_three_students_trains_answers_and_reaches_the_teachers_dashboard(tmp_path):
    out = tmp_path / "class.json"
    done = subprocess.run(
        [
            sys.executable,
            "benchmarks/classroom.py",
            "--students",
            "3",
            "--max-train",
            "128",
            "--exercises",
            "4",
            "--think",
            "0.1",
            "--ramp",
            "0.5",
            "--time-limit",
            "120",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(out.read_text())
    assert results["students_joined"] == 3 and results["runs_completed"] == 3
    assert results["count_5xx"] == 0 and results["every_request_answered"] and not results["problems"]
    requests = results["requests"]
    assert requests["answer"]["statuses"] == {"200": 12}  # 3 students x 4 exercises, each graded as meant
    assert requests["join"]["statuses"] == {"200": 3} and requests["dashboard_live"]["statuses"] == {"101": 1}
    events = results["dashboard"]["events"]
    # every answer and run end reached the teacher's WebSocket, and nothing was left unshown
    assert events["answer"]["n"] == 12 and events["run_ended"]["n"] == 3 and events["activity"]["n"] >= 3 * 4
    assert results["dashboard"]["never_shown"] == {}
    assert "staleness" in done.stdout and "answer" in done.stdout
