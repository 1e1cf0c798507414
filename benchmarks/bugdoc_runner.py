# -*- coding: utf-8 -*-
"""Run one of BugDoc's own algorithms on one problem, for ``debug_synthetic.py --bugdoc``.

Runs under the interpreter that has the ``bugdoc`` package (BugDoc 0.1 is Python 2
code, so 2.7 is its home; see ``benchmarks/setup-bugdoc``), hence Python 2 and 3
compatible and stdlib-only besides BugDoc. Reads a job as JSON on stdin, answers
with the causes as JSON on stdout. BugDoc's dispatcher binds fixed ports on every
interface; they are moved to the loopback ports the job names, and its one-second
start-up sleeps are shortened. Nothing else of BugDoc is changed.
"""

from __future__ import print_function

import json
import os
import sys
import tempfile
import time
from collections import OrderedDict


def native(value):
    """Strings as the interpreter's own ``str`` (Python 2 reads JSON as unicode)."""
    if sys.version_info[0] == 2 and isinstance(value, unicode):  # noqa: F821
        return value.encode("utf-8")
    return value


def patch(push, pull):
    import zmq

    original = zmq.Socket.bind
    ports = {"5557": push, "5558": pull}

    def bind(self, addr):
        port = addr.rsplit(":", 1)[-1]
        if port in ports:
            addr = "tcp://127.0.0.1:%d" % ports[port]
        return original(self, addr)

    zmq.Socket.bind = bind

    class Clock(object):
        def __getattr__(self, name):
            return getattr(time, name)

        @staticmethod
        def sleep(seconds):
            time.sleep(min(seconds, 0.05))

    import bugdoc.algos.debugging_decision_trees as ddt
    import bugdoc.algos.shortcut as shortcut
    import bugdoc.algos.stacked_shortcut as stacked

    for module in (ddt, shortcut, stacked):
        module.time = Clock()
    return ddt, shortcut, stacked


def literal(name, value, flag):
    """A DDT path test as [param, op, value]: numbers split on >=, strings on ==."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [name, ">=" if flag else "<", value]
    return [name, "==" if flag else "!=", value]


def main():
    job = json.loads(sys.stdin.read())
    ddt, shortcut, stacked = patch(job["push"], job["pull"])
    names = [native(n) for n, _ in job["space"]]
    space = OrderedDict((native(n), [native(v) for v in vs]) for n, vs in job["space"])
    work = tempfile.mkdtemp(prefix="bugdoc-")
    filename = os.path.join(work, "problem.vt")
    with open(filename.replace(".vt", ".adb"), "w") as fh:
        for row in job["history"]:
            record = dict(zip(names, [native(v) for v in row[:-1]]))
            record["result"] = str(bool(row[-1]))
            fh.write(json.dumps(str(record)) + "\n")
    limit = len(job["history"]) + job["budget"]
    algorithm, one = job["algorithm"], job["mode"] == "one"
    causes = []
    if algorithm == "ddt":
        debugger = ddt.AutoDebug(first_solution=one, max_iter=limit)
        found = debugger.run(filename, space, ["result"])[0]
        inputs = list(debugger.my_inputs)
        for _kind, path in found:
            causes.append([literal(inputs[col], value, flag) for col, value, flag in path])
    elif algorithm == "shortcut":
        debugger = shortcut.AutoDebug(max_iter=limit)
        found = debugger.run(filename, space, ["result"])[0]
        inputs = list(debugger.my_inputs)
        if found:
            causes.append([[inputs[i], "==", v] for i, v in found])
    else:
        debugger = stacked.AutoDebug(max_iter=limit)
        found = debugger.run(filename, space, ["result"])[0]
        inputs = list(debugger.my_inputs)
        for pairs in found:
            causes.append([[inputs[i], "==", v] for i, v in pairs])
        if one:
            causes = causes[:1]
    sys.stdout.write(json.dumps({"causes": causes}) + "\n")


if __name__ == "__main__":
    main()
