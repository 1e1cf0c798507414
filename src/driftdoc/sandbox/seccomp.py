"""A small seccomp filter: system calls no snippet or pipeline needs, refused with EPERM.

It also refuses new user namespaces (``clone``/``unshare`` with ``CLONE_NEWUSER``; ``clone3``
answers ENOSYS so that libc falls back to ``clone``), as Flatpak's does: that costs nothing,
where bubblewrap's ``--disable-userns`` doubles the start-up of the user stage.

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
_JSET_K = 0x45
_RET_K = 0x06
_ALLOW = 0x7FFF0000
_ERRNO = 0x00050000
_EPERM = 1
_ENOSYS = 38
_CLONE_NEWUSER = 0x10000000
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
        "clone": 56, "unshare": 272, "clone3": 435,
    }),
    "aarch64": (0xC00000B7, {
        "keyctl": 219, "add_key": 217, "request_key": 218, "bpf": 280,
        "perf_event_open": 241, "userfaultfd": 282, "io_uring_setup": 425,
        "io_uring_enter": 426, "io_uring_register": 427, "syslog": 116, "init_module": 105,
        "finit_module": 273, "delete_module": 106, "kexec_load": 104, "kexec_file_load": 294,
        "open_by_handle_at": 265, "swapon": 224, "swapoff": 225, "quotactl": 60,
        "acct": 89, "reboot": 142, "lookup_dcookie": 18,
        "clone": 220, "unshare": 97, "clone3": 435,
    }),
}


Insn = tuple[int, str | int, str | int, int]  # code, jump-if-true, jump-if-false, k


def _assemble(code: list[Insn | str]) -> bytes:
    """Lay out ``code`` (instructions and label names) and resolve jumps to labels."""
    labels: dict[str, int] = {}
    insns: list[Insn] = []
    for item in code:
        if isinstance(item, str):
            labels[item] = len(insns)
        else:
            insns.append(item)
    out = b""
    for at, (op, jt, jf, k) in enumerate(insns):
        def offset(target: str | int, at: int = at) -> int:
            return target if isinstance(target, int) else labels[target] - at - 1
        jump_true, jump_false = offset(jt), offset(jf)
        assert 0 <= jump_true < 256 and 0 <= jump_false < 256, "jumps only go forwards"
        out += struct.pack("=HBBI", op, jump_true, jump_false, k)
    return out


def program(machine: str | None = None) -> bytes | None:
    """The filter for ``machine`` (default: this one) as raw ``sock_filter`` records."""
    machine = machine or platform.machine()
    if machine not in _TABLES:
        return None
    arch, table = _TABLES[machine]
    numbers = sorted({table[name] for name in _BLOCKED if name in table})
    code: list[Insn | str] = [
        (_LD_W_ABS, 0, 0, 4),            # a foreign ABI (i386 code on x86-64) is refused
        (_JEQ_K, 1, 0, arch),
        (_RET_K, 0, 0, _ERRNO | _EPERM),
        (_LD_W_ABS, 0, 0, 0),
    ]
    if machine == "x86_64":
        code.append((_JGE_K, "deny", 0, _X32_BIT))
    # no new user namespace: clone/unshare with CLONE_NEWUSER are refused, and clone3
    # (whose flags a filter cannot read) says ENOSYS, so libc falls back to clone
    code += [(_JEQ_K, "flags", 0, table["clone"]), (_JEQ_K, "flags", 0, table["unshare"]),
             (_JEQ_K, "enosys", 0, table["clone3"])]
    code += [(_JEQ_K, "deny", 0, number) for number in numbers]
    code += [
        "allow", (_RET_K, 0, 0, _ALLOW),
        "flags", (_LD_W_ABS, 0, 0, 16),   # args[0], low word (little-endian)
        (_JSET_K, "deny", 0, _CLONE_NEWUSER),
        (_RET_K, 0, 0, _ALLOW),           # (BPF jumps only forwards)
        "enosys", (_RET_K, 0, 0, _ERRNO | _ENOSYS),
        "deny", (_RET_K, 0, 0, _ERRNO | _EPERM),
    ]
    return _assemble(code)


def memfd(machine: str | None = None) -> int | None:
    """A memory file holding the filter, positioned at its start, or ``None``."""
    code = program(machine)
    if code is None:
        return None
    fd = os.memfd_create("driftdoc-seccomp", 0)
    os.write(fd, code)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
