"""Hooks are contained: own process group, default signal mask, stdin from /dev/null, output
capped and deleted; a hook's leftovers never block archival; a journaled run is queued once."""
import os
import signal
import time

from conftest import make_hook, wait_for, weblog_lines

LINES = weblog_lines()




def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is not alive
        return open(f"/proc/{pid}/stat").read().split(")")[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_hook_runs_in_its_own_group_with_default_signals_and_no_stdin(segd, tmp_path):
    hooks, out = tmp_path / "hooks", tmp_path / "out"
    out.mkdir()
    make_hook(hooks, "inspect", shell="/bin/bash", script=f"""
cut -d" " -f5 /proc/$$/stat > "{out}/pgid"
echo $$ > "{out}/pid"
grep -E '^Sig(Blk|Ign)' /proc/self/status > "{out}/signals"
readlink /proc/self/fd/0 > "{out}/stdin"
""")
    server = segd(["--hooks-dir", str(hooks), "--rotate-interval", "1s"])
    assert server.post(LINES[:5]).status_code == 200
    wait_for(lambda: (out / "stdin").exists() and (out / "stdin").read_text(), what="hook")
    assert (out / "pgid").read_text().strip() == (out / "pid").read_text().strip(), "a process group of its own"
    signals = dict(line.split(":") for line in (out / "signals").read_text().splitlines())
    assert int(signals["SigBlk"], 16) == 0, signals
    assert int(signals["SigIgn"], 16) & (1 << (signal.SIGTERM - 1)) == 0, signals
    assert (out / "stdin").read_text().strip() == "/dev/null"


def test_a_hook_that_exits_leaving_a_child_counts_as_done_at_once(segd, tmp_path):
    hooks, out = tmp_path / "hooks", tmp_path / "out"
    out.mkdir()
    # The child keeps stdout and stderr open for 300 s.
    make_hook(hooks, "leaves-child", f'sleep 300 &\necho $! >> "{out}/children"\ndate +%s.%N >> "{out}/ran"\nexit 0\n')
    server = segd(["--hooks-dir", str(hooks), "--rotate-interval", "1s", "--hook-timeout", "20s"])
    started = time.time()
    for i in range(3):
        assert server.post(LINES[i * 5:i * 5 + 5]).status_code == 200
        time.sleep(1.1)
    wait_for(lambda: (out / "ran").exists() and len((out / "ran").read_text().split()) >= 3, timeout=10, what="three runs")
    assert time.time() - started < 10
    wait_for(lambda: 'segd_hook_runs_total{hook="leaves-child",result="ok"} 3' in server.metrics(), timeout=5, what="3 ok")
    assert "timeout" not in "".join(line for line in server.metrics().splitlines() if "leaves-child" in line)
    for pid in map(int, (out / "children").read_text().split()):
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_timeout_kills_the_whole_process_group(segd, tmp_path):
    hooks, out = tmp_path / "hooks", tmp_path / "out"
    out.mkdir()
    make_hook(hooks, "hangs", f'sleep 300 &\necho $! > "{out}/child"\nsleep 300\n')
    server = segd(["--hooks-dir", str(hooks), "--rotate-interval", "1s", "--hook-timeout", "1s"])
    assert server.post(LINES[:5]).status_code == 200
    wait_for(lambda: (out / "child").exists() and (out / "child").read_text().strip(), what="hook started")
    child = int((out / "child").read_text())
    wait_for(lambda: 'segd_hook_runs_total{hook="hangs",result="timeout"}' in server.metrics(), timeout=15, what="timeout")
    wait_for(lambda: not alive(child), timeout=10, what="the hook's child killed too")


def test_hook_output_is_capped_logged_and_deleted(segd, tmp_path):
    hooks = tmp_path / "hooks"
    # 256 MB of output, then the line that matters, then failure.
    make_hook(hooks, "noisy", 'head -c 256000000 /dev/zero | tr "\\0" x\necho\necho THE-LAST-LINE\nexit 3\n')
    server = segd(["--hooks-dir", str(hooks), "--rotate-interval", "1s"])
    assert server.post(LINES[:5]).status_code == 200
    wait_for(lambda: "THE-LAST-LINE" in server.log.read_text(), timeout=30, what="the output's tail in the log")
    output = server.data / ".hooks" / "output"
    wait_for(lambda: not list(output.iterdir()), timeout=5, what="output files deleted")
    status = open(f"/proc/{server.proc.pid}/status").read()
    peak = int(status.split("VmHWM:")[1].split()[0]) // 1024
    assert peak < 150, f"peak RSS {peak} MiB: the output was never read whole"


def test_a_journaled_run_is_queued_once_after_a_crash(segd, tmp_path):
    hooks, out = tmp_path / "hooks", tmp_path / "out"
    out.mkdir()
    # Each run notes its start and end; two runs of one segment at once would overlap.
    make_hook(hooks, "slow", f'echo "start $1 $(date +%s.%N)" >> "{out}/log"\nsleep 1\necho "end $1 $(date +%s.%N)" >> "{out}/log"\n')
    # Nothing is flushed before the kill (a long flush interval, blocks larger than the input):
    # the log holds it all, and its replay seals a segment during recovery, before the hooks start.
    server = segd(["--hooks-dir", str(hooks), "--segment-max-bytes", "4KiB", "--flush-interval", "1h"])
    for i in range(0, 1000, 100):
        assert server.post(LINES[i:i + 100]).status_code == 200
    server.kill()
    assert not server.files("acme/weblog/rotated/*.seg") and not (out / "log").exists()
    server.start()
    wait_for(lambda: server.files("acme/weblog/rotated/*.seg"), what="a segment sealed during recovery")
    time.sleep(3)
    assert server.stop() == 0
    starts = [line.split()[1] for line in (out / "log").read_text().splitlines() if line.startswith("start")]
    assert starts and len(starts) == len(set(starts)), f"a segment's hook ran twice: {sorted(starts)}"
