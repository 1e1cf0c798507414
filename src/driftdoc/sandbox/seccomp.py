"""A small seccomp filter: system calls no snippet or pipeline needs, refused with EPERM.

Like Flatpak's, it is a deny-list over the kernel's most exposed and least needed
interfaces: kernel keyrings (a session keyring inherited from driftdoc's login may hold
credentials), ``bpf``, ``perf_event_open``, ``userfaultfd``, ``io_uring``, the kernel log,
module loading, ``kexec``, ``open_by_handle_at`` (which sidesteps the mount namespace for
a holder of ``CAP_DAC_READ_SEARCH``), swap, quota, accounting and reboot. On x86-64 the
x32 ABI is refused as a whole (it would reach the same calls under other numbers). On an
architecture not listed here no filter is installed, and a run says so in its details.

The filter is classic BPF, assembled here (no library needed) and handed to bubblewrap's
``--seccomp`` through a memory file.
"""

from __future__ import annotations

import os
import platform
import struct

# struct seccomp_data: nr at offset 0, arch at offset 4
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_RET_K = 0x06
_ALLOW = 0x7FFF0000
_ERRNO = 0x00050000
_EPERM = 1
_X32_BIT = 0x40000000

_BLOCKED = ("keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd",
            "io_uring_setup", "io_uring_enter", "io_uring_register", "syslog", "init_module",
            "finit_module", "delete_module", "kexec_load", "kexec_file_load",
            "open_by_handle_at", "swapon", "swapoff", "quotactl", "acct", "reboot",
            "lookup_dcookie", "uselib")

# (AUDIT_ARCH_*, syscall numbers) per machine; from the kernels' syscall tables
_TABLES: dict[str, tuple[int, dict[str, int]]] = {
    "x86_64": (0xC000003E, {
        "keyctl": 250, "add_key": 248, "request_key": 249, "bpf": 321,
        "perf_event_open": 298, "userfaultfd": 323, "io_uring_setup": 425,
        "io_uring_enter": 426, "io_uring_register": 427, "syslog": 103, "init_module": 175,
        "finit_module": 313, "delete_module": 176, "kexec_load": 246, "kexec_file_load": 320,
        "open_by_handle_at": 304, "swapon": 167, "swapoff": 168, "quotactl": 179,
        "acct": 163, "reboot": 169, "lookup_dcookie": 212, "uselib": 134,
    }),
    "aarch64": (0xC00000B7, {
        "keyctl": 219, "add_key": 217, "request_key": 218, "bpf": 280,
        "perf_event_open": 241, "userfaultfd": 282, "io_uring_setup": 425,
        "io_uring_enter": 426, "io_uring_register": 427, "syslog": 116, "init_module": 105,
        "finit_module": 273, "delete_module": 106, "kexec_load": 104, "kexec_file_load": 294,
        "open_by_handle_at": 265, "swapon": 224, "swapoff": 225, "quotactl": 60,
        "acct": 89, "reboot": 142, "lookup_dcookie": 18,
    }),
}


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def program(machine: str | None = None) -> bytes | None:
    """The filter for ``machine`` (default: this one) as raw ``sock_filter`` records."""
    machine = machine or platform.machine()
    if machine not in _TABLES:
        return None
    arch, table = _TABLES[machine]
    numbers = sorted({table[name] for name in _BLOCKED if name in table})
    deny_x32 = machine == "x86_64"
    # layout: arch check, load nr, [x32 check], one JEQ per number, ALLOW, DENY
    n = len(numbers)
    body = [_insn(_LD_W_ABS, 0, 0, 4)]
    # a foreign architecture (e.g. i386 code on x86-64) is refused outright
    checks = n + (1 if deny_x32 else 0)
    body.append(_insn(_JEQ_K, 1, 0, arch))
    body.append(_insn(_RET_K, 0, 0, _ERRNO | _EPERM))
    body.append(_insn(_LD_W_ABS, 0, 0, 0))
    if deny_x32:
        body.append(_insn(_JGE_K, checks, 0, _X32_BIT))  # -> DENY
    for i, number in enumerate(numbers):
        to_deny = n - i  # the remaining JEQs after this one, then ALLOW
        body.append(_insn(_JEQ_K, to_deny, 0, number))
    body.append(_insn(_RET_K, 0, 0, _ALLOW))
    body.append(_insn(_RET_K, 0, 0, _ERRNO | _EPERM))
    return b"".join(body)


def memfd(machine: str | None = None) -> int | None:
    """A memory file holding the filter, positioned at its start, or ``None``."""
    code = program(machine)
    if code is None:
        return None
    fd = os.memfd_create("driftdoc-seccomp", 0)
    os.write(fd, code)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
