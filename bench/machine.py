"""A short description of the machine a run happened on."""

import os
import platform
import subprocess


def _first(path, key):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def describe():
    mem_kib = _first("/proc/meminfo", "MemTotal").split()[0]
    distro = "?"
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    distro = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    virt = ""
    try:
        virt = subprocess.run(["systemd-detect-virt"], capture_output=True,
                              text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    flags = _first("/proc/cpuinfo", "flags").split()
    return {
        "cpu": _first("/proc/cpuinfo", "model name"),
        "cpus": os.cpu_count(),
        "memory_gib": round(int(mem_kib) / 1024 / 1024, 1)
        if mem_kib.isdigit() else "?",
        "kernel": platform.release(),
        "distro": distro,
        "virtualised": virt or ("yes" if "hypervisor" in flags else "no"),
        "python": platform.python_version(),
    }
