"""Audit the locked dependencies for known vulnerabilities (`make audit`).

Runs pip-audit over requirements/lock.txt (hashes required, nothing
installed) and reads its JSON report. Three outcomes, by exit status:

  0  every locked package was checked and none has a known vulnerability;
  1  at least one has a known vulnerability: the packages and ids are listed;
  2  the vulnerability service could not be asked about some packages (no
     network, or only a package mirror reachable): nothing is claimed, and
     the packages left unchecked are counted. Never reported as a pass.

`--report FILE` reads a report pip-audit already wrote (`-f json`) instead
of running it; `AUDIT_SERVICE=osv` asks OSV instead of PyPI.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
LOCK = BASE_DIR / "requirements" / "lock.txt"
OK, VULNERABLE, UNCHECKED = 0, 1, 2


def run_pip_audit() -> tuple[dict | None, str]:
    pip_audit = Path(sys.executable).parent / "pip-audit"
    command = [
        str(pip_audit),
        "-r",
        str(LOCK),
        "--require-hashes",
        "--disable-pip",
        "--format",
        "json",
        "--progress-spinner",
        "off",
        "--vulnerability-service",
        os.environ.get("AUDIT_SERVICE", "pypi"),
    ]
    # The command is fixed here; only the service name comes from the environment.
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - no shell, fixed program
    try:
        return json.loads(done.stdout), done.stderr
    except json.JSONDecodeError:
        return None, done.stderr


def judge(report: dict | None, errors: str = "") -> tuple[int, list[str]]:
    """The exit status and the lines to print for a pip-audit JSON report."""
    if report is None:
        last = errors.strip().splitlines()[-1:] or ["no output"]
        return UNCHECKED, [f"audit NOT done: pip-audit gave no report ({last[0]})"]
    dependencies = report.get("dependencies", [])
    vulnerable = [d for d in dependencies if d.get("vulns")]
    unchecked = [d for d in dependencies if d.get("skip_reason")]
    lines = [
        f"{d['name']} {d['version']}: "
        + ", ".join(
            v["id"]
            + (
                f" (fixed in {', '.join(v['fix_versions'])})"
                if v.get("fix_versions")
                else ""
            )
            for v in d["vulns"]
        )
        for d in vulnerable
    ]
    if vulnerable:
        return VULNERABLE, [
            f"{len(vulnerable)} locked packages have known vulnerabilities:",
            *lines,
        ]
    if unchecked or not dependencies:
        return UNCHECKED, [
            f"audit NOT done: {len(unchecked)} of {len(dependencies)} locked packages"
            " could not be checked (is the vulnerability service reachable?)",
            *(f"  {d['name']}: {d['skip_reason']}" for d in unchecked[:5]),
        ]
    return OK, [f"{len(dependencies)} locked packages, no known vulnerability"]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, help="a pip-audit JSON report")
    args = parser.parse_args(argv)
    if args.report:
        report, errors = json.loads(args.report.read_text()), ""
    else:
        report, errors = run_pip_audit()
    status, lines = judge(report, errors)
    for line in lines:
        print(line, file=sys.stderr if status else sys.stdout)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
