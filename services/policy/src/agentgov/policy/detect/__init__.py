"""Detectors that look inside what an agent asks to do; standalone for now, not wired into the policy.

``validated`` holds personal-data detectors whose format carries a check (Luhn cards, mod-97 IBANs, IP
addresses); they implement the scanner's ``Detector`` protocol (``agentgov.policy.lang.scanner``).

``analyze(command)`` parses a shell command with tree-sitter-bash and returns ``ShellFinding`` objects:

| category | severity | what |
|---|---|---|
| ``download_exec`` | 95 | curl/wget output piped or substituted into sh, bash, python, perl, eval, source |
| ``reverse_shell`` | 95 | ``/dev/tcp``, ``nc -e``, ``nc … | sh``, ``socat … exec:``, socket one-liners |
| ``bind_shell`` | 90 | ``nc -l … -e``, ``socat TCP-LISTEN … EXEC``, listening socket one-liners |
| ``shell_escape`` | 80 | a shell spawned by another program: ``find -exec sh``, ``vim -c ':!sh'``, ``!sh``, |
| | | tar checkpoint actions, ``git -c core.pager=``, awk ``system()``, ``env /bin/sh``, ``PAGER=/bin/sh``; |
| | 70-75 | shell payload echoed into a file, native library loads in one-liners; |
| | 50-60 | ``xargs sh -c`` / ``find -exec sh -c`` strings, one-liners that run some command |
| ``destructive`` | 90-100 | recursive delete of ``/``, home or system paths, ``--no-preserve-root``, ``mkfs``, |
| | | ``dd``/``>``/``shred`` to disks, fork bombs, recursive ``chmod``/``chown`` of system paths; |
| | 60 | ``rm -rf *`` |
| ``privilege_escalation`` | 85 | ``sudo su``/``-s``/``bash``, setuid bits and capabilities, |
| | | writes to sudoers/passwd/shadow, uid-0 accounts (50: setgid bits) |
| ``persistence`` | 75 | crontab, cron dirs, ``systemctl enable``, systemd units, shell rc files, |
| | | ``authorized_keys``, launchd |
| ``credential_access`` | 70 | reading ``~/.ssh/id_*``, ``~/.aws``, ``.env``, ``/proc/*/environ``, keychains, |
| | | browser stores, ``/etc/shadow`` |
| ``exfiltration`` | 90 | credential files or the environment sent to network tools, DNS queries built from |
| | | command output, uploads to paste/webhook/tunnel hosts; 75 other traffic to those hosts; |
| | 60 | plain file uploads, public tunnels (ngrok, cloudflared) |
| ``evasion`` | 70-90 | history clearing, ``HISTFILE=/dev/null``, stopping logging/auditing, decoded payloads fed to a |
| | | shell, ``$'\\x..'`` strings, variable indirection (``${!x}``, ``$a$b``) |
| ``parse_error`` | 30 | the command does not parse as bash (findings from the parts that do parse still come) |
| ``truncated`` | 20 | cut at 1,536 bytes or a node, depth or parse limit: the rest was not analysed |
"""

from agentgov.policy.detect.shell import ShellFinding, analyze

__all__ = ["ShellFinding", "analyze"]
