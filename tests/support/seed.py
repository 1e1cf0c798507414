"""BugDoc's seed worker script, run as a real process, and helpers for worker processes.

``write_seed(dir)`` lays out the seed's worker script (unchanged except that host and
ports come from argv), a ``my_api_example`` pipeline whose failures follow
``lr >= 0.1 AND opt == adam`` (behaviour steered by environment variables), and a fake
``bugdoc.utils.utils.record_pipeline_run`` that appends each run to ``$RECORD_FILE``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

# The seed's worker script, unchanged except that host and ports come from argv
# (tests never use the fixed 5557/5558).
SEED_WORKER = '''
import ast
import sys
import traceback
import zmq
from bugdoc.utils.utils import record_pipeline_run

from my_api_example import execute_pipeline, evaluate_pipeline_output


host = sys.argv[1]
receive = sys.argv[2]
send = sys.argv[3]

context = zmq.Context()

# Socket to receive messages on
receiver = context.socket(zmq.PULL)
receiver.connect("tcp://{0}:{1}".format(host, receive))

# Socket to send messages to
sender = context.socket(zmq.PUSH)
sender.connect("tcp://{0}:{1}".format(host, send))


# Process tasks forever
while True:
    # Receive message from BugDoc
    data = receiver.recv_string()
    fields = data.split("|")
    filename = fields[0]
    values = ast.literal_eval(fields[1])
    parameters = ast.literal_eval(fields[2])
    try:
        # Recontruct pipeline configuration
        configuration = {
            parameters[i]: values[i]
            for i in range(len(parameters))
        }
        # Execute pipeline
        output = execute_pipeline(filename, configuration)
        # Evaluate pipeline
        result = evaluate_pipeline_output(output)
    except:
        traceback.print_exc(file=sys.stdout)
        # Assign failure in case of crash
        result = False
    # Record provenance
    record_pipeline_run(filename, values, parameters, result)
    values.append(result)
    # Send result back to BugDoc
    sender.send_string(str(values))
'''

MY_API = '''
import os, time

_calls = 0

def execute_pipeline(filename, configuration):
    global _calls
    _calls += 1
    die_after = int(os.environ.get("DIE_AFTER", "0"))
    if die_after and _calls > die_after:
        os._exit(17)  # the worker dies mid-run: the request is never answered
    drop = os.environ.get("DROP_FIRST")
    if drop and not os.path.exists(drop):
        open(drop, "w").close()
        time.sleep(float(os.environ.get("DROP_SLEEP", "3")))  # hang on the first request
    time.sleep(float(os.environ.get("RUN_SLEEP", "0")))
    if configuration["lr"] >= 0.1 and configuration["opt"] == "adam":
        raise FloatingPointError("diverged")
    return {"loss": configuration["lr"]}

def evaluate_pipeline_output(output):
    return output["loss"] < 1
'''

FAKE_RECORD = '''
import json, os

def record_pipeline_run(filename, values, parameters, result):
    with open(os.environ["RECORD_FILE"], "a") as fh:
        fh.write(json.dumps({"filename": filename, "values": values,
                             "parameters": parameters, "result": result}) + "\\n")
'''




def write_seed(folder: Path) -> dict[str, str]:
    """Write the seed worker and its pipeline into ``folder``; return the env to run it."""
    for rel, text in {"bugdoc/__init__.py": "", "bugdoc/utils/__init__.py": "",
                      "bugdoc/utils/utils.py": FAKE_RECORD, "my_api_example.py": MY_API,
                      "seed_worker.py": SEED_WORKER}.items():
        p = folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))
    env = dict(os.environ, PYTHONPATH=str(folder), RECORD_FILE=str(folder / "record.jsonl"))
    env["SEED_DIR"] = str(folder)
    return env


def start_seed_worker(env: dict[str, str], push: int, pull: int, **extra: str
                      ) -> subprocess.Popen[bytes]:
    """The seed worker connected to a dispatcher on 127.0.0.1 (its PUSH and PULL ports)."""
    return subprocess.Popen(
        [sys.executable, str(Path(env["SEED_DIR"]) / "seed_worker.py"), "127.0.0.1",
         str(push), str(pull)],
        env={**env, **extra}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def records(env: dict[str, str]) -> list[dict[str, object]]:
    """What the seed workers recorded with ``record_pipeline_run``, in order."""
    path = Path(env["RECORD_FILE"])
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def free_ports(n: int) -> list[int]:
    """``n`` distinct free TCP ports on 127.0.0.1."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [int(s.getsockname()[1]) for s in socks]
    for s in socks:
        s.close()
    return ports


def driftdoc_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None
                 ) -> subprocess.Popen[str]:
    """``driftdoc ARGS`` as a real process, stdout and stderr captured as text."""
    return subprocess.Popen(
        [sys.executable, "-c", "import sys; from driftdoc.cli import main; "
         "sys.exit(main(sys.argv[1:]))", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)


def wait_until(check: object, timeout: float, step: float = 0.05) -> bool:
    """Poll ``check()`` until it is true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(step)
    return False
