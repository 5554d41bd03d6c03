"""Tables and patterns the shell analyzer matches against: names of tools by role and sensitive paths.

Pure data, compiled at import time. Names are compared against a command's basename (``/usr/bin/curl`` is
``curl``).
"""

from __future__ import annotations

import re
from typing import Final


def _words(text: str) -> frozenset[str]:
    """A set from whitespace-separated names (long tables read better as text)."""
    return frozenset(text.split())


SHELLS: Final = frozenset({"sh", "bash", "zsh", "dash", "ksh", "ash", "fish", "csh", "tcsh", "mksh", "rbash"})
INTERPRETERS: Final = frozenset(
    {"python", "python2", "python3", "perl", "ruby", "node", "nodejs", "php", "lua", "jrunscript", "tclsh", "deno"}
)
#: Flags after which an interpreter takes its program as the next argument.
CODE_FLAGS: Final = frozenset({"-c", "-e", "-E", "-r", "--eval", "-x"})
AWKS: Final = frozenset({"awk", "gawk", "mawk", "nawk", "busybox-awk"})
DOWNLOADERS: Final = frozenset({"curl", "wget", "fetch", "aria2c", "lwp-download", "http", "https", "xh"})
NETWORK: Final = DOWNLOADERS | frozenset(
    {"nc", "ncat", "netcat", "socat", "telnet", "ssh", "scp", "sftp", "rsync", "ftp", "tftp", "openssl"}
)
NETCATS: Final = frozenset({"nc", "ncat", "netcat"})
#: Commands that run the rest of their argv as another command, with the flags that take a value.
WRAPPERS: Final[dict[str, frozenset[str]]] = {
    "sudo": frozenset({"-u", "-g", "-h", "-C", "-p", "-r", "-t", "-U", "-D", "-R", "-T"}),
    "doas": frozenset({"-u", "-C"}),
    "env": frozenset({"-u", "-C", "-S"}),
    "nohup": frozenset(),
    "nice": frozenset({"-n"}),
    "ionice": frozenset({"-c", "-n", "-p"}),
    "time": frozenset({"-f", "-o"}),
    "timeout": frozenset({"-k", "-s"}),
    "stdbuf": frozenset({"-i", "-o", "-e"}),
    "setsid": frozenset(),
    "xargs": frozenset({"-I", "-n", "-P", "-d", "-a", "-E", "-L", "-s"}),
    "exec": frozenset({"-a"}),
    "command": frozenset(),
    "builtin": frozenset(),
    "strace": frozenset({"-o", "-e", "-p", "-s"}),
    "ltrace": frozenset({"-o", "-e", "-p"}),
    "chroot": frozenset(),
    "unshare": frozenset(),
    "taskset": frozenset(),
    "busybox": frozenset(),
    "watch": frozenset({"-n", "-d"}),
    "flock": frozenset({"-w", "-E"}),
}
#: Wrappers whose first positional argument is not the command (it is a time, a CPU mask, a root, a lock).
WRAPPER_SKIP_ONE: Final = frozenset({"timeout", "taskset", "chroot", "flock"})
#: Commands where a shell path as an argument is ordinary (setting a login shell, looking one up).
SHELL_ARG_OK: Final = _words(
    "chsh useradd usermod adduser which whereis type file ls stat man whatis apropos tldr echo printf "
    "grep readlink realpath ldd dpkg rpm apt apt-get brew pacman dnf yum apk ps pgrep pkill killall help "
    "info command git du cat hash alias shellcheck shfmt chmod md5sum sha256sum strings objdump nm diff "
    "cmp wc head tail test [ update-alternatives docker kubectl podman"
)
READERS: Final = _words(
    "cat tac less more head tail base64 base32 xxd od hexdump strings cp scp rsync tar zip 7z gzip bzip2 "
    "xz grep egrep rg awk sed cut sort nl curl wget nc ncat netcat socat openssl gpg dd sqlite3 jq python "
    "python3 perl ruby node vi vim nano view uniq tee zcat bat ln mv install"
)

_CRED_PARTS: Final = (
    r"\.ssh/(?:id_[\w-]+|[\w-]*_(?:rsa|dsa|ecdsa|ed25519))(?!\.pub)\b",
    r"\.aws/(?:credentials|config)\b",
    r"(?:^|/)\.env(?:\.[\w-]+)?$",
    r"/proc/[^/\s]+/environ\b",
    r"/etc/g?shadow\b",
    r"\.git-credentials\b",
    r"\.netrc\b",
    r"\.pgpass\b",
    r"\.docker/config\.json\b",
    r"\.kube/config\b",
    r"\.(?:npmrc|pypirc)\b",
    r"\.gnupg/",
    r"\.config/gcloud/",
    r"\.azure/",
    r"Login Data\b",
    r"logins\.json\b",
    r"key[34]\.db\b",
    r"cookies\.sqlite\b",
    r"\.mozilla/firefox/",
    r"google-chrome/",
    r"Google/Chrome/",
    r"Library/Keychains\b",
    r"\.keychain(?:-db)?\b",
    r"\.bash_history\b",
)
CREDENTIAL_PATH: Final = re.compile("|".join(_CRED_PARTS))
EXFIL_HOST: Final = re.compile(
    r"pastebin\.com|paste\.ee|hastebin|ghostbin|transfer\.sh|0x0\.st|\bix\.io|termbin\.com|"
    r"ngrok(?:-free)?\.(?:io|app|dev)|webhook\.site|requestbin|pipedream\.net|hookbin|beeceptor|"
    r"trycloudflare\.com|serveo\.net|\bloca\.lt|interact\.sh|\boast\.(?:fun|pro|live|site|online|me)|"
    r"burpcollaborator\.net|file\.io|anonfiles",
    re.IGNORECASE,
)
DEVICE: Final = re.compile(r"^/dev/(?:sd[a-z]|nvme\d|hd[a-z]|vd[a-z]|xvd[a-z]|mmcblk\d|disk\d|md\d|dm-\d)")
SYSTEM_DIRS: Final = _words(
    "/ /etc /usr /bin /sbin /boot /lib /lib64 /var /home /root /sys /proc /dev /opt /srv /usr/bin "
    "/usr/lib /usr/local /var/lib ~ $HOME ${HOME}"
)
PRIV_FILES: Final = re.compile(r"^/etc/(?:sudoers(?:\.d/.*)?|passwd|shadow|group|gshadow)$")
PERSIST_PATH: Final = re.compile(
    r"^/etc/cron|^/var/spool/cron|^/etc/systemd/|\.config/systemd/|^/etc/init\.d/|^/etc/rc\.local|"
    r"(?:^|/)\.(?:bashrc|bash_profile|bash_login|profile|zshrc|zprofile|zshenv|bash_logout)$|authorized_keys2?$|"
    r"^/etc/(?:profile|bash\.bashrc|environment)|^/etc/profile\.d/|^/etc/ld\.so\.preload|\.git/hooks/|"
    r"Library/LaunchAgents/|/Library/LaunchDaemons/"
)
LOG_PATH: Final = re.compile(r"^/var/log/|\.(?:bash|zsh)_history$|^/var/run/utmp|^/var/log/wtmp")
LOGGING_SERVICES: Final = re.compile(r"^(?:rsyslog|syslog|syslog-ng|auditd|systemd-journald|journald)(?:\.service)?$")

# Interpreter one-liners: what code strings that spawn shells or open sockets look like.
CODE_SOCKET: Final = re.compile(
    r"socket|TCPSocket|fsockopen|net\.connect|require\(['\"]net['\"]\)|java\.net\.Socket|/inet/tcp/|"
    r"\bconnect\s*\(",
    re.IGNORECASE,
)
CODE_LISTEN: Final = re.compile(r"\bbind\s*\(|\blisten\b|createServer|TCPServer|accept\s*\(|/inet/tcp/\d+/0/0")
CODE_EXEC: Final = re.compile(
    r"os\.system|subprocess|pty\.spawn|os\.exec\w*|os\.popen|\bexec\s*[\(\"'`]|\bsystem\s*\(|IO\.popen|"
    r"child_process|proc_open|shell_exec|passthru|popen\s*\(|ProcessBuilder|Runtime\.getRuntime|io\.popen|"
    r"os\.execute|\bspawn\s*\(|dup2|`",
)
CODE_SHELL: Final = re.compile(
    r"(?<![\w.-])(?:/usr)?(?:/bin/)?(?:ba|z|da|k)?sh(?:\s+-[ip])?(?=['\"` )\]])|/bin/(?:ba|z|da|k)?sh\b"
)
CODE_LIBRARY: Final = re.compile(r"ctypes|cdll|dlopen|Fiddle|LoadLibrary|DynaLoader|ffi\.load")
