"""memext-sim sweep --slurm on a one-node Slurm cluster started here: munged,
slurmctld and slurmd on loopback with their state in a temp dir. A 4-cell
sweep goes through a job array and its merge job and must give the local
sweep's table; resubmitting submits only the unfinished cells."""

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

SIM = os.environ.get("MEMEXT_SIM", "memext-sim")
SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLE = os.path.join(SOURCE, "traces", "samples", "zipf-flash-200k.mxt.zst")
DAEMONS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "sinfo", "squeue")
TIMEOUT = 300


def find(program):
    return shutil.which(program) or shutil.which(program, path="/usr/sbin:/usr/bin")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SlurmCluster:
    """munged + slurmctld + slurmd, everything under one temp dir."""

    def __init__(self, root):
        self.root = root
        self.procs = []
        user = pwd.getpwuid(os.getuid()).pw_name
        os.mkdir(root)
        munge = os.path.join(root, "munge")
        os.mkdir(munge, 0o700)
        self.socket = os.path.join(munge, "munge.socket")
        key = os.path.join(munge, "munge.key")
        subprocess.run([find("mungekey"), "--create", "--keyfile", key], check=True,
                       capture_output=True)
        os.chmod(key, 0o400)
        self.start([find("munged"), "--foreground", "--force", "--socket", self.socket,
                    "--key-file", key, "--pid-file", os.path.join(munge, "munged.pid"),
                    "--log-file", os.path.join(munge, "munged.log"),
                    "--seed-file", os.path.join(munge, "munged.seed")], "munged")
        self.wait_for(lambda: os.path.exists(self.socket), "munged's socket")
        for d in ("state", "spool"):
            os.mkdir(os.path.join(root, d))
        self.conf = os.path.join(root, "slurm.conf")
        with open(self.conf, "w") as f:
            f.write(f"""ClusterName=memexttest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
SlurmUser={user}
SlurmdUser={user}
AuthType=auth/munge
AuthInfo=socket={self.socket}
CredType=cred/munge
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
MailProg=/bin/true
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 RealMemory=1000 State=UNKNOWN
PartitionName=sweeps Nodes=localhost Default=YES MaxTime=INFINITE State=UP
MaxArraySize=3
""")
        self.env = dict(os.environ, SLURM_CONF=self.conf)
        self.start([find("slurmctld"), "-D", "-f", self.conf], "slurmctld")
        self.start([find("slurmd"), "-D", "-f", self.conf, "-N", "localhost"], "slurmd")
        self.wait_for(self.node_idle, "the node to come up idle")

    def start(self, argv, name):
        log = open(os.path.join(self.root, name + ".out"), "wb")
        self.procs.append((name, subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                                  env=getattr(self, "env", None))))
        log.close()

    def node_idle(self):
        r = subprocess.run([find("sinfo"), "-h", "-o", "%T"], capture_output=True, text=True,
                           env=self.env, timeout=60)
        return r.returncode == 0 and r.stdout.strip() == "idle"

    def wait_for(self, condition, what):
        deadline = time.monotonic() + TIMEOUT
        while not condition():
            for name, proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited ({proc.returncode}) while waiting for "
                                       f"{what}; see {self.root}/{name}.out and its log")
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}")
            time.sleep(0.2)

    def job_done(self, job_id):
        r = subprocess.run([find("squeue"), "-h", "-j", job_id], capture_output=True, text=True,
                           env=self.env, timeout=60)
        return r.returncode == 0 and r.stdout.strip() == ""

    def stop(self):
        subprocess.run([find("scancel") or "scancel", "--user", pwd.getpwuid(os.getuid()).pw_name],
                       env=self.env, capture_output=True, timeout=60)
        # Each running job step has a socket in the spool dir until its slurmstepd exits.
        spool = os.path.join(self.root, "spool")
        deadline = time.monotonic() + 60
        while (os.path.isdir(spool) and any(f.startswith("localhost_") for f in os.listdir(spool))
               and time.monotonic() < deadline):
            time.sleep(0.2)
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


@unittest.skipUnless(all(find(p) for p in DAEMONS),
                     "slurm-wlm and munge are not installed (tests/deps.sh installs them)")
class SlurmSweep(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="memext-slurm-")
        self.cluster = None
        try:
            self.cluster = SlurmCluster(os.path.join(self.tmp, "cluster"))
        except BaseException:
            self.tearDown()
            raise

    def tearDown(self):
        if self.cluster is not None:
            self.cluster.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def sweep(self, out, *extra):
        ext = os.path.join(self.tmp, "flash")
        return subprocess.run(
            [SIM, "sweep", SAMPLE, "-o", f"ext_path={ext}:256m,ext_wbuf_size=4,ext_page_size=8",
             "--grid", "m=32,64", "--grid", "ext_item_age=0,3600", "--out", out, *extra],
            capture_output=True, text=True, env=self.cluster.env, timeout=TIMEOUT)

    def submit_and_wait(self, out, expected_cells):
        r = self.sweep(out, "--slurm", "--partition", "sweeps")
        self.assertEqual(r.returncode, 0, r.stderr)
        words = r.stdout.split()
        self.assertEqual(words[:4], ["submitted", str(expected_cells), "of", "4"], r.stdout)
        arrays = [w.rstrip(",") for w in words[words.index("array") + 2:words.index("merge")]]
        merge_job = words[words.index("merge") + 2]
        self.cluster.wait_for(lambda: self.cluster.job_done(merge_job), "the merge job")
        return arrays

    def test_slurm_sweep_equals_local_sweep(self):
        local = os.path.join(self.tmp, "local")
        r = self.sweep(local, "--jobs", "2")
        self.assertEqual(r.returncode, 0, r.stderr)

        slurm = os.path.join(self.tmp, "slurm")
        # MaxArraySize=3 (slurm.conf): indices 0..2, so the 4 cells go in two
        # arrays and the merge waits for both.
        arrays = self.submit_and_wait(slurm, 4)
        self.assertEqual(len(arrays), 2, arrays)
        logs = sorted(f for f in os.listdir(os.path.join(slurm, "slurm")) if f.startswith("cell-"))
        self.assertEqual(logs, sorted([f"cell-{arrays[0]}_{i}.log" for i in range(3)] +
                                      [f"cell-{arrays[1]}_0.log"]))
        for name in ("sweep.json", "sweep.csv", "sweep_spec.json"):
            self.assertEqual(read_bytes(os.path.join(slurm, name)),
                             read_bytes(os.path.join(local, name)), name)
        for cell in ("c0000", "c0001", "c0002", "c0003"):
            self.assertEqual(read_bytes(os.path.join(slurm, "cells", cell, "report.json")),
                             read_bytes(os.path.join(local, "cells", cell, "report.json")), cell)
        with open(os.path.join(slurm, "sweep.json")) as f:
            self.assertEqual(len(json.load(f)["rows"]), 4)

        # Resume: only the cell without a report is submitted again.
        os.remove(os.path.join(slurm, "cells", "c0002", "report.json"))
        os.remove(os.path.join(slurm, "sweep.json"))
        kept = os.stat(os.path.join(slurm, "cells", "c0001", "report.json"))
        self.submit_and_wait(slurm, 1)
        self.assertEqual(read_bytes(os.path.join(slurm, "sweep.json")),
                         read_bytes(os.path.join(local, "sweep.json")))
        now = os.stat(os.path.join(slurm, "cells", "c0001", "report.json"))
        self.assertEqual((now.st_ino, now.st_mtime_ns), (kept.st_ino, kept.st_mtime_ns))

        # Nothing left: no job, the merge runs here.
        r = self.sweep(slurm, "--slurm")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("every cell has finished; merging here", r.stderr)
        self.assertEqual(r.stdout, "")


if __name__ == "__main__":
    unittest.main()
