# A program pybpfprof starts with "-- COMMAND", for tests/command.bats.
# usage: command.py MODE [ARG...]
#   startup SECONDS       spin in a function called at import, then exit 0
#   status N              spin 0.5 s, then exit with status N
#   signal SIG            spin 0.5 s, then kill itself with signal SIG
#   children SECONDS      spin, and fork a child that spins in its own function
#   subprocess SECONDS    run "python -c" as a child process that spins
#   interrupt FILE        spin until SIGINT, note each SIGINT in FILE, exit 0
#   whoami FILE           write uid, gid, groups and $PYBPFPROF_TEST_ENV to FILE
import os
import signal
import subprocess
import sys
import time


def spin(seconds):
    deadline = time.time() + seconds
    while time.time() < deadline: pass  # LINE:spin_hot  # noqa: E701


def startup_spin(seconds):
    spin(seconds)  # LINE:startup_call


def child_spin(seconds):
    spin(seconds)  # LINE:child_call


def parent_spin(seconds):
    spin(seconds)


def main():
    mode = sys.argv[1]
    if mode == "startup":
        startup_spin(float(sys.argv[2]))
    elif mode == "status":
        spin(0.5)
        sys.exit(int(sys.argv[2]))
    elif mode == "signal":
        spin(0.5)
        os.kill(os.getpid(), int(sys.argv[2]))
        time.sleep(5)
    elif mode == "children":
        seconds = float(sys.argv[2])
        pid = os.fork()
        if pid == 0:
            child_spin(seconds)
            os._exit(0)
        parent_spin(seconds)
        os.waitpid(pid, 0)
    elif mode == "subprocess":
        subprocess.run([sys.executable, "-c",
                        "import time\n"
                        "def grandchild_spin(s):\n"
                        "    d = time.time() + s\n"
                        "    while time.time() < d: pass\n"
                        "grandchild_spin(%s)\n" % sys.argv[2]], check=True)
    elif mode == "interrupt":
        note = open(sys.argv[2], "a")
        got = []

        def on_int(signum, frame):
            got.append(signum)
            note.write("SIGINT\n")
            note.flush()

        signal.signal(signal.SIGINT, on_int)
        while not got:
            spin(0.05)
        spin(0.3)  # a second SIGINT now would be noted too
        sys.exit(0)
    elif mode == "whoami":
        with open(sys.argv[2], "w") as f:
            f.write("%d %d %s %s\n" % (os.getuid(), os.getgid(),
                                       ",".join(map(str, sorted(os.getgroups()))),
                                       os.environ.get("PYBPFPROF_TEST_ENV", "-")))


startup_mark = main()  # LINE:main_call
