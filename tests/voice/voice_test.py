#!/usr/bin/env python3
"""Voice integration tests: `parley serve` on loopback with real SIP peers.

Agents are baresip (Debian baresip-core) phones that register with digest auth and answer
automatically, each sending its own tone from a WAV file and recording what it hears (baresip's
sndfile module). Callers are baresip (RFC 4733 DTMF typed on its stdin) or SIPp (SIP INFO DTMF).
The checks are on the media itself (the caller's recording holds the agent's tone, the agent's
the caller's, Parley's own recording has caller left and agent right) and on the interaction
records Parley writes to its SQLite store.

Usage: voice_test.py PATH_TO_PARLEY [TEST_NAME...]   (run from the project root)
Exit 0: all passed; 1: a failure (with the logs); 77: a peer is not installed (skip).

Every wait is bounded; every process is killed at the end.
"""
import base64
import json
import math
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request
import wave

PARLEY = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build/src/app/parley"
ONLY = set(sys.argv[2:])
ROOT = os.getcwd()

CALLER_HZ = 350.0
AGENT_HZ = {"1001": 1400.0, "1002": 1900.0, "1003": 1400.0, "1004": 1900.0}


class Failure(Exception):
    pass


def check(cond, message):
    if not cond:
        raise Failure(message)


def free_port(kind=socket.SOCK_DGRAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def free_port_group(binds, what, even=False):
    """A port p (even with `even`) such that every (socket kind, offset) of `binds` can bind
    127.0.0.1:p+offset right now."""
    for _ in range(50):
        port = free_port() & ~1 if even else free_port()
        socks = []
        try:
            for kind, offset in binds:
                sock = socket.socket(socket.AF_INET, kind)
                socks.append(sock)
                sock.bind(("127.0.0.1", port + offset))
            return port
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise Failure("no free ports for " + what)


def free_sip_port():
    """A port free for UDP and TCP, with the next one free for TCP too: baresip listens on all
    of them (SIP over UDP, TCP and, one above, TLS)."""
    return free_port_group([(socket.SOCK_DGRAM, 0), (socket.SOCK_STREAM, 0),
                            (socket.SOCK_STREAM, 1)], "baresip")


def wait_until(predicate, timeout, what):
    """Polls `predicate` every 50 ms for at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise Failure("timed out after %.0f s waiting for %s" % (timeout, what))


def read(path):
    try:
        with open(path, "r", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def make_tone(path, hz, seconds=30):
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", path, "synth",
                    str(seconds), "sine", str(hz), "vol", "0.5"], check=True)


def make_wav(path, segments):
    """Writes an 8 kHz mono WAV of `segments`: (seconds, [frequencies]) each, silence for []."""
    frames = bytearray()
    for seconds, freqs in segments:
        for i in range(int(seconds * 8000)):
            v = sum(math.sin(2 * math.pi * f * i / 8000.0) for f in freqs)
            frames += int(7000 * v).to_bytes(2, "little", signed=True)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(frames))


def goertzel_share(samples, rate, hz):
    """Share (0..1) of the frame's energy at `hz`."""
    n = len(samples)
    if n == 0:
        return 0.0
    k = round(n * hz / rate)
    w = 2.0 * math.pi * k / n
    coeff = 2.0 * math.cos(w)
    s1 = s2 = 0.0
    for x in samples:
        s0 = x + coeff * s1 - s2
        s2, s1 = s1, s0
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    total = sum(x * x for x in samples) * n / 2.0
    return power / total if total > 0 else 0.0


def tone_frames(path, hz, channel=0):
    """Number of 100 ms frames of `path` (channel `channel`) dominated by a tone at `hz`."""
    with wave.open(path, "rb") as w:
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        raw = w.readframes(w.getnframes())
    check(width == 2, "%s: not 16-bit" % path)
    count = len(raw) // 2
    values = memoryview(raw).cast("h")
    samples = [values[i] for i in range(channel, count, channels)]
    frame = rate // 10
    hits = 0
    for start in range(0, len(samples) - frame, frame):
        chunk = samples[start:start + frame]
        if max(abs(v) for v in chunk) < 500:
            continue
        if goertzel_share(chunk, rate, hz) > 0.5:
            hits += 1
    return hits


def wav_seconds(path, rate=8000, channels=1):
    """Seconds of 16-bit audio in a WAV file that may still be being written (its header's
    sizes are only right once it is closed, so this goes by the file size)."""
    try:
        return max(0, os.path.getsize(path) - 44) / (2.0 * channels * rate)
    except (FileNotFoundError, TypeError):
        return 0.0


def wav_complete(path):
    """True once a WAV file's header describes all of its data (its writer closed it)."""
    try:
        with wave.open(path, "rb") as w:
            frames = w.getnframes()
            expected = frames * w.getnchannels() * w.getsampwidth()
        return frames > 0 and os.path.getsize(path) >= 44 + expected and \
            os.path.getsize(path) - 44 - expected < 1024
    except (FileNotFoundError, EOFError, wave.Error, TypeError):
        return False


class Netstring:
    """baresip's ctrl_tcp: netstring-framed JSON commands."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)

    def command(self, command, params=""):
        body = json.dumps({"command": command, "params": params, "token": "t"}).encode()
        self.sock.sendall(str(len(body)).encode() + b":" + body + b",")

    def close(self):
        self.sock.close()


class Harness:
    def __init__(self, name):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="parley-voice-")
        self.procs = []
        self.sip_port = free_port()
        self.tcp_port = free_port(socket.SOCK_STREAM)
        self.http_port = free_port(socket.SOCK_STREAM)
        base = 20000 + (os.getpid() % 200) * 100
        self.rtp = (base, base + 98)
        self.log = os.path.join(self.dir, "parley.log")
        self.db = os.path.join(self.dir, "parley.db")
        self.recordings = os.path.join(self.dir, "recordings")
        self.parley = None

    # --- Parley ---
    def config(self, sales_strategy="longest-idle", offer_timeout="20s", rtp_timeout="20s",
               trunk_port=None):
        """Parley's config for these tests. With `trunk_port`, sales takes callbacks (the key
        "*" in its queue) and dials customers at 127.0.0.1:<trunk_port>."""
        callbacks = trunk_port is not None
        text = """
sip:
  listen: {udp: 127.0.0.1:%(sip)d, tcp: 127.0.0.1:%(tcp)d}
  trusted_sources: [127.0.0.1]%(trunk)s
http:
  listen: 127.0.0.1:%(http)d
  users: [{name: boss, password: bosspass, role: supervisor}]
store:
  sqlite: %(db)s
media:
  rtp_ports: {min: %(rmin)d, max: %(rmax)d}
  recordings_dir: %(rec)s
  rtp_timeout: %(rtp_timeout)s
  tts: {voice: en-us, cache_dir: %(tts)s}
queues:
  - name: sales
    strategy: %(strategy)s
    offer_timeout: %(offer_timeout)s
    record: true%(sales_callbacks)s
  - name: support
    strategy: ring-all
    offer_timeout: %(offer_timeout)s
agents:
  - {extension: "1001", password: demo1001, queues: [sales], available_on_register: true}
  - {extension: "1002", password: demo1002, queues: [sales], available_on_register: true}
  - {extension: "1003", password: demo1003, queues: [support], available_on_register: true}
  - {extension: "1004", password: demo1004, queues: [support], available_on_register: true}
entry_points:
  - {called: "sip:100@127.0.0.1", flow: main, set: {campaign: fluggerbot}}
flows:
  main:
    start: welcome
    nodes:
      welcome:
        menu:
          prompt: {say: "Press 1 for sales, 2 for support."}
          options: {"1": sales, "2": support}
          timeout: 10s
          retries: 1
          on_failure: bye
      sales:
        queue: {name: sales%(sales_key)s}
      support:
        queue: {name: support}%(callback_nodes)s
      bye: hangup
""" % {"sip": self.sip_port, "tcp": self.tcp_port, "http": self.http_port, "db": self.db,
       "rmin": self.rtp[0], "rmax": self.rtp[1], "rec": self.recordings,
       "tts": os.path.join(ROOT, "build", "tts-cache-test"), "strategy": sales_strategy,
       "offer_timeout": offer_timeout, "rtp_timeout": rtp_timeout,
       "trunk": ("\n  outbound_trunk: {uri: \"sip:127.0.0.1:%d\"}" % trunk_port
                 if callbacks else ""),
       "sales_callbacks": ("\n    callbacks: {max_attempts: 2, retry_after: 30s, customer_ring: 15s}"
                           if callbacks else ""),
       "sales_key": ', callback_key: "*", on_callback: book' if callbacks else "",
       "callback_nodes": ("""
      book:
        callback: {next: booked, on_failure: bye}
      booked:
        play: {prompts: [{say: "Thank you. We will call you back."}], next: bye}"""
                          if callbacks else "")}
        return text

    def demo_config(self):
        """examples/demo.yaml as shipped, on this harness's free ports and in its directory."""
        text = read(os.path.join(ROOT, "examples", "demo.yaml"))
        for old, new in (("udp: 127.0.0.1:5060", "udp: 127.0.0.1:%d" % self.sip_port),
                         ("tcp: 127.0.0.1:5060", "tcp: 127.0.0.1:%d" % self.tcp_port),
                         ("listen: 127.0.0.1:8080", "listen: 127.0.0.1:%d" % self.http_port),
                         ("sqlite: ./parley.db", "sqlite: %s" % self.db),
                         ("rtp_ports: {min: 16384, max: 32767}",
                          "rtp_ports: {min: %d, max: %d}" % self.rtp)):
            check(old in text, "examples/demo.yaml no longer has %r" % old)
            text = text.replace(old, new)
        return text

    def start_parley(self, demo=False, **kwargs):  # noqa: C901 - one retry loop
        """Starts Parley on free ports (its own config, or the shipped demo's with `demo`). A
        port taken between our probe and Parley's bind makes it exit 1 naming the address:
        then new ports, at most 3 times."""
        for attempt in range(3):
            if attempt:
                self.sip_port = free_port()
                self.tcp_port = free_port(socket.SOCK_STREAM)
                self.http_port = free_port(socket.SOCK_STREAM)
            path = os.path.join(self.dir, "parley.yaml")
            with open(path, "w") as f:
                f.write(self.demo_config() if demo else self.config(**kwargs))
            out = open(self.log, "w")
            self.parley = subprocess.Popen(
                ["timeout", "-k", "5", "120", PARLEY, "serve", path, "--log-level", "debug"],
                stdout=out, stderr=subprocess.STDOUT, cwd=self.dir, start_new_session=True)
            self.procs.append(self.parley)
            state = wait_until(lambda: ("up" if "Stop with Ctrl-C" in read(self.log) else
                                        "exited" if self.parley.poll() is not None else None),
                               30, "parley to start")
            if state == "up":
                return
            if "did not start" not in read(self.log):
                raise Failure("parley exited at start: " + read(self.log)[-2000:])
        raise Failure("parley could not bind its ports 3 times: " + read(self.log)[-2000:])

    def wait_log(self, needle, timeout=10):
        def seen():
            if self.parley.poll() is not None:
                raise Failure("parley exited (%s) waiting for %r" % (self.parley.returncode, needle))
            return needle in read(self.log)
        wait_until(seen, timeout, "parley log line %r" % needle)

    def log_count(self, needle):
        return read(self.log).count(needle)

    # --- baresip ---
    def baresip(self, name, account, tone_hz, answermode="auto", stdin=False, dial=None,
                source=None):
        d = os.path.join(self.dir, name)
        os.makedirs(os.path.join(d, "rec"))
        tone = os.path.join(d, "tone.wav")
        if source:
            make_wav(tone, source)
        else:
            make_tone(tone, tone_hz)
        # Another process may take a port between our probe and baresip's bind: try again
        # (at most 3 times) if baresip says so.
        for attempt in range(3):
            ctrl = free_port(socket.SOCK_STREAM)
            port = free_sip_port()
            with open(os.path.join(d, "config"), "w") as f:
                f.write("poll_method epoll\nsip_listen 127.0.0.1:%d\n" % port +
                        "audio_player aufile,%s/played.wav\n" % d +
                        "audio_source aufile,%s\n" % tone +
                        "audio_alert aufile,%s/alert.wav\n" % d +
                        "module_path /usr/lib/baresip/modules\n" +
                        "".join("module %s.so\n" % m for m in
                                ["g711", "aufile", "sndfile", "ctrl_tcp", "stdio", "account",
                                 "menu"]) +
                        "ctrl_tcp_listen 127.0.0.1:%d\nsnd_path %s/rec\n" % (ctrl, d) +
                        "sip_trans_def udp\n")
            with open(os.path.join(d, "accounts"), "w") as f:
                f.write(account.replace("ANSWERMODE", answermode) + "\n")
            args = ["timeout", "-k", "5", "90", "baresip", "-f", d] + (
                ["-v"] if os.environ.get("BARESIP_VERBOSE") else [])
            if dial:
                args += ["-e", "/dial " + dial]
            log_path = os.path.join(d, "baresip.log")
            log = open(log_path, "w")
            p = subprocess.Popen(args, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                 stdout=log, stderr=subprocess.STDOUT, cwd=d,
                                 start_new_session=True)
            self.procs.append(p)
            state = wait_until(lambda: ("ready" if "baresip is ready" in read(log_path) else
                                        "failed" if "init failed" in read(log_path) or
                                        "Address already in use" in read(log_path) else None),
                               10, "baresip %s to start" % name)
            if state == "ready":
                break
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)
        else:
            raise Failure("baresip %s could not bind its ports 3 times" % name)
        peer = {"dir": d, "proc": p, "ctrl": ctrl, "port": port, "log": os.path.join(d, "baresip.log")}
        return peer

    def agent(self, ext, answermode="auto", password=None, keys=False):
        """An agent's phone; with `keys`, press() works on it (its stdin is a pipe)."""
        account = ("<sip:%s@127.0.0.1:%d;transport=udp>;auth_pass=%s;answermode=ANSWERMODE;"
                   "regint=60" % (ext, self.sip_port, password or "demo" + ext))
        return self.baresip("agent" + ext, account, AGENT_HZ[ext], answermode, stdin=keys)

    def agents_available(self, *exts):
        for ext in exts:
            self.wait_log("agent %s: logged-out -> available" % ext, 15)

    def caller(self, name="caller", source=None, dial=True):
        """A caller (0701234567) that answers calls to it at once (a callback rings it). With
        `dial`, it calls 100 as it starts; else call it with dial_now()."""
        account = "<sip:0701234567@127.0.0.1;transport=udp>;regint=0;answermode=ANSWERMODE"
        return self.baresip(name, account, CALLER_HZ, stdin=True, source=source,
                            dial="sip:100@127.0.0.1:%d" % self.sip_port if dial else None)

    def customer(self, number):
        """A customer's phone for callbacks (user `number`), answering at once."""
        account = "<sip:%s@127.0.0.1;transport=udp>;regint=0;answermode=ANSWERMODE" % number
        return self.baresip("customer", account, CALLER_HZ)

    def post(self, path, body):
        """POST JSON to an API path without auth; returns (status, parsed JSON body)."""
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.http_port, path),
                                     data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, json.loads(r.read().decode() or "{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read().decode() or "{}")

    def kill_parley(self):
        """kill -9: no shutdown at all."""
        os.killpg(self.parley.pid, signal.SIGKILL)
        self.parley.wait(10)

    def dial_now(self, peer):
        c = Netstring(peer["ctrl"])
        c.command("dial", "sip:100@127.0.0.1:%d" % self.sip_port)
        c.close()

    def listen(self, peer, seconds):
        """Waits until `peer` has heard `seconds` of audio (the prompt, like a person would)."""
        wait_until(lambda: wav_seconds(self.recording(peer, "dec.wav")) >= seconds, 15,
                   "%.1f s of audio at %s" % (seconds, os.path.basename(peer["dir"])))

    def call_menu(self, key):
        """A baresip caller calls 100, listens to the menu for a second and presses `key`
        (RFC 4733). Returns the caller."""
        caller = self.caller()
        self.wait_log("answered, flow main", 15)
        self.listen(caller, 1.0)
        self.press(caller, key)
        return caller

    def press(self, peer, key):
        peer["proc"].stdin.write(key.encode())
        peer["proc"].stdin.flush()

    def hangup(self, peer):
        c = Netstring(peer["ctrl"])
        c.command("hangup")
        c.close()

    def recording(self, peer, suffix):
        """The newest baresip dump ending in `suffix` ("dec.wav": what it heard)."""
        rec = os.path.join(peer["dir"], "rec")
        files = sorted((os.path.join(rec, f) for f in os.listdir(rec) if f.endswith(suffix)),
                       key=os.path.getmtime)
        return files[-1] if files else None

    # --- records ---
    def records(self, expect, timeout=10):
        def load():
            if not os.path.exists(self.db):
                return None
            try:
                con = sqlite3.connect(self.db, timeout=2)
                rows = [json.loads(r[0]) for r in
                        con.execute("SELECT json FROM interactions ORDER BY arrived")]
                con.close()
            except sqlite3.Error:
                return None
            return rows if len(rows) >= expect else None
        return wait_until(load, timeout, "%d interaction record(s)" % expect)

    def api(self, path, user="boss", password="bosspass"):
        """GET an API path with HTTP Basic auth; returns (status, parsed JSON body)."""
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.http_port, path))
        token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        req.add_header("Authorization", "Basic " + token)
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, json.loads(r.read().decode())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read().decode() or "{}")

    # --- end ---
    def stop(self):
        if self.parley is not None and self.parley.poll() is None:
            self.parley.send_signal(signal.SIGTERM)
            try:
                self.parley.wait(15)
            except subprocess.TimeoutExpired:
                pass
        # Each peer runs under `timeout` in its own session: kill the whole group, so the
        # peer itself cannot outlive its `timeout` wrapper.
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass

    def dump_logs(self):
        sys.stderr.write("--- parley log (tail):\n" + read(self.log)[-6000:] + "\n")
        for entry in sorted(os.listdir(self.dir)):
            log = os.path.join(self.dir, entry, "baresip.log")
            if os.path.exists(log):
                sys.stderr.write("--- %s (tail):\n%s\n" % (entry, read(log)[-2500:]))


# ------------------------------------------------------------------------------------------------


def talk_and_check_media(h, caller, agent_peer, agent_ext):
    """Waits for 2 s of audio at the agent, hangs the caller up and checks both directions."""
    wait_until(lambda: (h.recording(agent_peer, "dec.wav") and
                        wav_seconds(h.recording(agent_peer, "dec.wav")) >= 2.5),
               15, "2.5 s of audio at agent %s" % agent_ext)
    h.hangup(caller)
    h.wait_log("ended by caller", 10)
    heard_by_agent = h.recording(agent_peer, "dec.wav")
    heard_by_caller = h.recording(caller, "dec.wav")
    # baresip writes the WAV headers when its side of the call closes, just after the BYE.
    wait_until(lambda: wav_complete(heard_by_agent) and wav_complete(heard_by_caller), 10,
               "baresip to close its recordings")
    got = tone_frames(heard_by_agent, CALLER_HZ)
    check(got >= 10, "agent %s heard the caller's %g Hz tone in %d frames (want >= 10): %s"
          % (agent_ext, CALLER_HZ, got, heard_by_agent))
    got = tone_frames(heard_by_caller, AGENT_HZ[agent_ext])
    check(got >= 10, "caller heard agent %s's %g Hz tone in %d frames (want >= 10)"
          % (agent_ext, AGENT_HZ[agent_ext], got))


def test_rfc4733_menu_longest_idle_and_media(h):
    """Caller presses 1 (RFC 4733), sales is longest-idle: the agent idle longest answers;
    each side hears the other's tone; Parley's recording has caller left, agent right."""
    h.start_parley()
    a2 = h.agent("1002")
    h.agents_available("1002")
    a1 = h.agent("1001")
    h.agents_available("1001")
    caller = h.call_menu("1")
    h.wait_log("connected to agent 1002", 15)
    check(h.log_count("connected to agent 1001") == 0, "agent 1001 got the call")
    # GET /api/status reads the live counters from the SIP loop and the media thread.
    status, body = h.api("/api/status")
    check(status == 200, "GET /api/status: %s %r" % (status, body))
    check(body["calls"]["active"] == 1 and body["calls"]["agent_legs"] >= 1, "status %r" % body)
    check(body["media"]["streams_open"] >= 2, "status %r" % body)
    # This kernel allows io_uring: media.io auto uses it (the fallback has its own unit test).
    check(body["media"]["io"] == "io_uring", "status %r" % body)
    status, _ = h.api("/api/status", "1001", "demo1001")
    check(status == 403, "an agent reading /api/status got %s (want 403)" % status)
    talk_and_check_media(h, caller, a2, "1002")
    status, body = h.api("/api/status")
    check(status == 200, "GET /api/status: %s %r" % (status, body))
    # 2.5 s of the caller's audio reached the agent through the bridge: 50 packets/s.
    check(body["media"]["packets_relayed"] >= 100, "status %r" % body)
    check(body["calls"]["active"] == 0 and body["calls"]["ended"] == 1, "status %r" % body)
    records = h.records(1)
    r = records[-1]
    check(r["outcome"] == "answered", "outcome %r" % r["outcome"])
    check(r["agent"] == "1002", "agent %r" % r["agent"])
    check(r["queue"] == "sales", "queue %r" % r["queue"])
    check(r["ended_by"] == "caller", "ended_by %r" % r["ended_by"])
    check(r["attributes"].get("campaign") == "fluggerbot", "attributes %r" % r["attributes"])
    digits = [d for d in r["digits"] if not d.get("ignored")]
    check(digits and digits[0]["key"] == "1" and digits[0]["via"] == "rfc4733",
          "digits %r" % r["digits"])
    # The same record through the HTTP API, which needs a supervisor.
    status, body = h.api("/api/interactions?queue=sales&outcome=answered")
    check(status == 200, "GET /api/interactions: %s %r" % (status, body))
    check([i["id"] for i in body["interactions"]] == [r["id"]], "API list %r" % body)
    check(body["interactions"][0]["agent"] == "1002", "API record %r" % body["interactions"][0])
    status, _ = h.api("/api/interactions", "1001", "demo1001")
    check(status == 403, "an agent listing interactions got %s (want 403)" % status)
    status, _ = h.api("/api/interactions", "boss", "wrong")
    check(status == 401, "a wrong password got %s (want 401)" % status)
    rec = r.get("recording")
    check(rec and os.path.exists(rec), "no recording file %r" % rec)
    with wave.open(rec, "rb") as w:
        check(w.getnchannels() == 2, "recording is not stereo")
    check(tone_frames(rec, CALLER_HZ, 0) >= 10, "recording: caller tone not on the left")
    check(tone_frames(rec, AGENT_HZ["1002"], 1) >= 10, "recording: agent tone not on the right")


def test_demo_config_press_1_talks_to_sales(h):
    """The README's walk-through on the shipped demo config: agents 1001 and 1002 register,
    a softphone calls 100, hears the menu, presses 1 and talks to the agent idle longest."""
    h.start_parley(demo=True)
    a1 = h.agent("1001")
    h.agents_available("1001")
    h.agent("1002")
    h.agents_available("1002")
    caller = h.call_menu("1")
    h.wait_log("connected to agent 1001", 15)
    talk_and_check_media(h, caller, a1, "1001")
    def listed():
        status, body = h.api("/api/interactions", "supervisor", "demosupervisor")
        check(status == 200, "API: %s %r" % (status, body))
        return body["interactions"]
    r = wait_until(listed, 10, "the record in GET /api/interactions")[0]
    check((r["outcome"], r["agent"], r["queue"]) == ("answered", "1001", "sales"), "record %r" % r)


def test_info_dtmf_ring_all_cancels_the_loser(h):
    """SIPp calls and sends 2 by SIP INFO: support is ring-all; 1003 answers, 1004 (which
    would only ring) is cancelled. A 7 sent by INFO while talking reaches 1003's phone as an
    RFC 4733 event."""
    h.start_parley()
    a3 = h.agent("1003")
    a4 = h.agent("1004", answermode="manual")
    h.agents_available("1003", "1004")
    scenario = os.path.join(ROOT, "tests", "voice", "sipp_info_dtmf.xml")
    sipp_port = free_port()
    sipp = subprocess.Popen(
        ["timeout", "-k", "5", "60", "sipp", "127.0.0.1:%d" % h.sip_port, "-sf", scenario,
         "-m", "1", "-t", "u1", "-i", "127.0.0.1", "-p", str(sipp_port), "-s", "100",
         "-key", "digit", "2", "-timeout", "40", "-timeout_error", "-nostdin",
         "-trace_err", "-error_file", os.path.join(h.dir, "sipp_errors.log")],
        stdout=open(os.path.join(h.dir, "sipp.log"), "w"), stderr=subprocess.STDOUT,
        cwd=h.dir, start_new_session=True)
    h.procs.append(sipp)
    h.wait_log("connected to agent 1003", 20)
    wait_until(lambda: sipp.poll() is not None, 30, "sipp to finish")
    check(sipp.returncode == 0, "sipp exit %s: %s %s" % (sipp.returncode,
          read(os.path.join(h.dir, "sipp.log"))[-2000:],
          read(os.path.join(h.dir, "sipp_errors.log"))[-2000:]))
    records = h.records(1)
    r = records[-1]
    check(r["queue"] == "support", "queue %r" % r["queue"])
    check(r["agent"] == "1003", "agent %r" % r["agent"])
    digits = [d for d in r["digits"] if not d.get("ignored")]
    check(digits and digits[0]["key"] == "2" and digits[0]["via"] == "info",
          "digits %r" % r["digits"])
    results = {o["agent"]: o["result"] for o in r["offers"]}
    check(results.get("1003") == "answered", "offers %r" % r["offers"])
    check(results.get("1004") == "taken-by-other", "offers %r" % r["offers"])
    # baresip 1.0 reports a CANCEL of a ringing call as "session closed" (libre gives
    # ECONNRESET for it) without ever having answered.
    wait_until(lambda: "session closed" in read(a4["log"]), 10,
               "1004's ringing call to be cancelled")
    check("Call established" not in read(a4["log"]), "1004 was connected too")
    # The 7 sent by INFO while talking reached 1003's phone as an RFC 4733 event.
    check("received event: '7'" in read(a3["log"]), "1003 did not receive the caller's INFO 7")


def test_caller_hangs_up_in_queue_is_abandoned(h):
    """Nobody is logged in: the caller waits with music, then hangs up: abandoned."""
    h.start_parley()
    caller = h.call_menu("1")
    wait_until(lambda: "ContactQueued" in read(h.log) or "queued" in read(h.log), 10,
               "the call to be queued")
    # The caller hears something while waiting (music on hold): wait for 6 s of audio so the
    # wait is beyond the 5 s short-abandon threshold.
    wait_until(lambda: wav_seconds(h.recording(caller, "dec.wav") or "") >= 6.5, 15,
               "6.5 s of audio at the caller")
    h.hangup(caller)
    r = h.records(1)[-1]
    check(r["outcome"] == "abandoned", "outcome %r" % r["outcome"])
    check(r["ended_by"] == "caller", "ended_by %r" % r["ended_by"])
    check(r["queue"] == "sales", "queue %r" % r["queue"])
    heard = h.recording(caller, "dec.wav")
    wait_until(lambda: wav_complete(heard), 10, "the caller's recording to be closed")
    check(tone_frames(heard, 659.25) + tone_frames(heard, 523.25) >= 5,
          "the caller did not hear the hold tone")


def test_agent_not_answering_moves_the_call_on(h):
    """1001 (idle longest) only rings; after the offer timeout the call goes to 1002."""
    h.start_parley(offer_timeout="3s")
    h.agent("1001", answermode="manual")
    h.agents_available("1001")
    a2 = h.agent("1002")
    h.agents_available("1002")
    caller = h.call_menu("1")
    h.wait_log("connected to agent 1002", 20)
    talk_and_check_media(h, caller, a2, "1002")
    r = h.records(1)[-1]
    results = [(o["agent"], o["result"]) for o in r["offers"]]
    check(results[:1] == [("1001", "timeout")], "offers %r" % results)
    check(("1002", "answered") in results, "offers %r" % results)


def test_inband_dtmf_picks_the_queue(h):
    """The caller's audio holds a DTMF 2 tone (697 + 1336 Hz) after a second of silence: the
    in-band detector picks support, and the caller talks to a support agent."""
    h.start_parley()
    a3 = h.agent("1003")
    h.agents_available("1003")
    caller = h.caller(source=[(1.2, []), (0.2, [697.0, 1336.0]), (0.4, []),
                              (25.0, [CALLER_HZ])])
    h.wait_log("connected to agent 1003", 20)
    talk_and_check_media(h, caller, a3, "1003")
    r = h.records(1)[-1]
    check(r["queue"] == "support", "queue %r" % r["queue"])
    digits = [d for d in r["digits"] if not d.get("ignored")]
    check(digits and digits[0]["key"] == "2" and digits[0]["via"] == "inband",
          "digits %r" % r["digits"])


def test_rtp_timeout_ends_a_silent_call(h):
    """A SIPp caller that sends no RTP is queued (INFO 1) and hung up after the 2 s RTP
    timeout: SIPp receives the BYE, the record says why."""
    h.start_parley(rtp_timeout="2s")
    scenario = os.path.join(ROOT, "tests", "voice", "sipp_silent_caller.xml")
    sipp = subprocess.Popen(
        ["timeout", "-k", "5", "60", "sipp", "127.0.0.1:%d" % h.sip_port, "-sf", scenario,
         "-m", "1", "-t", "u1", "-i", "127.0.0.1", "-p", str(free_port()), "-s", "100",
         "-timeout", "30", "-timeout_error", "-nostdin"],
        stdout=open(os.path.join(h.dir, "sipp.log"), "w"), stderr=subprocess.STDOUT,
        cwd=h.dir, start_new_session=True)
    h.procs.append(sipp)
    wait_until(lambda: sipp.poll() is not None, 30, "sipp to finish")
    check(sipp.returncode == 0, "sipp exit %s: %s" % (sipp.returncode,
                                                      read(os.path.join(h.dir, "sipp.log"))[-2000:]))
    r = h.records(1)[-1]
    check(r["end_reason"] == "rtp-timeout", "end_reason %r" % r["end_reason"])
    check(r["ended_by"] == "system", "ended_by %r" % r["ended_by"])
    check(r["queue"] == "sales", "queue %r" % r["queue"])
    check(r["ended"] - r["arrived"] < 6000, "took %d ms" % (r["ended"] - r["arrived"]))


class RtpSink:
    """A UDP socket on 127.0.0.1 that records the RTP it receives: (time, phase, pt, seq,
    ssrc). `phase` is whatever the test set last (what the signalling had done by then)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.phase = 0
        self.packets = []
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                data = self.sock.recv(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(data) >= 12:
                self.packets.append((time.monotonic(), self.phase, data[1] & 0x7F,
                                     int.from_bytes(data[2:4], "big"),
                                     int.from_bytes(data[8:12], "big")))

    def close(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()

    def settled(self, phase, since, until=None):
        """Packets of `phase` that arrived 300 ms or more after it began (`since`) and, with
        `until` (when the next phase was seen), 200 ms or more before that: frames in flight
        when the signalling changed, or sent after a change the test saw a little late, are
        not held against anybody."""
        return [p for p in self.packets if p[1] == phase and p[0] >= since + 0.3 and
                (until is None or p[0] < until - 0.2)]


def test_late_offer_and_reinvites_move_the_media(h):
    """SIPp calls without SDP: Parley offers in the 200 and takes the answer from the ACK, and
    its music on hold reaches the first port. Re-INVITEs then move the media to a second port
    in PCMA (one RTP stream: same SSRC, sequence goes on), hold it (sendonly: the answer is
    recvonly and nothing is sent) and resume it."""
    h.start_parley()
    first, second = RtpSink(), RtpSink()
    sinks = (first, second)
    scenario = os.path.join(ROOT, "tests", "voice", "sipp_late_offer_reinvite.xml")
    sipp = subprocess.Popen(
        ["timeout", "-k", "5", "60", "sipp", "127.0.0.1:%d" % h.sip_port, "-sf", scenario,
         "-m", "1", "-t", "u1", "-i", "127.0.0.1", "-p", str(free_port()), "-s", "100",
         "-set", "port1", str(first.port), "-set", "port2", str(second.port),
         "-timeout", "40", "-timeout_error", "-nostdin",
         "-trace_err", "-error_file", os.path.join(h.dir, "sipp_errors.log")],
        stdout=open(os.path.join(h.dir, "sipp.log"), "w"), stderr=subprocess.STDOUT,
        cwd=h.dir, start_new_session=True)
    h.procs.append(sipp)
    began = {0: time.monotonic()}
    try:
        # Phase n: the n-th re-INVITE has been taken (Parley logs it before answering).
        while sipp.poll() is None and time.monotonic() - began[0] < 40:
            n = h.log_count("media follows the new offer")
            if n not in began:
                began[n] = time.monotonic()
                for s in sinks:
                    s.phase = n
            time.sleep(0.02)
    finally:
        for s in sinks:
            s.close()
    check(sipp.returncode == 0, "sipp exit %s: %s %s" % (sipp.returncode,
          read(os.path.join(h.dir, "sipp.log"))[-2000:],
          read(os.path.join(h.dir, "sipp_errors.log"))[-2000:]))
    check(sorted(began) == [0, 1, 2, 3], "re-INVITEs taken: %r" % sorted(began))
    before = first.settled(0, began[0])
    check(len(before) >= 50, "music at the ACK's port: %d packets" % len(before))
    check({p[2] for p in before} == {0}, "PCMU before the move: %r" % {p[2] for p in before})
    stray = [p for p in first.packets if p[0] >= began[1] + 0.3]
    check(not stray, "%d packets to the old port after the move" % len(stray))
    moved = second.settled(1, began[1])
    check(len(moved) >= 50, "music at the new port: %d packets" % len(moved))
    check({p[2] for p in moved} == {8}, "PCMA after the move: %r" % {p[2] for p in moved})
    check({p[4] for p in moved} == {before[0][4]}, "one SSRC across the move")
    gap = (second.packets[0][3] - first.packets[-1][3]) % 65536
    check(1 <= gap <= 5, "sequence across the move jumps by %d" % gap)
    held = second.settled(2, began[2], began[3])
    check(not held, "%d packets sent while the caller held" % len(held))
    resumed = second.settled(3, began[3])
    check(len(resumed) >= 20, "music after resume: %d packets" % len(resumed))
    r = h.records(1)[-1]
    check(r["queue"] == "sales" and r["outcome"] == "abandoned", "record %r" % r)
    check(r["ended_by"] == "caller", "ended_by %r" % r["ended_by"])


def test_keys_pressed_in_a_bridged_call_reach_the_other_phone(h):
    """Caller and agent talk through Parley; the caller presses 5 and then the agent presses 9
    (RFC 4733): each key reaches the other phone as a telephone-event (baresip reports it),
    e.g. an agent keying into a customer's IVR on a callback."""
    h.start_parley()
    a1 = h.agent("1001", keys=True)
    h.agents_available("1001")
    caller = h.call_menu("1")
    h.wait_log("connected to agent 1001", 15)
    # Bridged: the caller's audio reaches the agent's phone.
    wait_until(lambda: (h.recording(a1, "dec.wav") and
                        wav_seconds(h.recording(a1, "dec.wav")) >= 0.5), 10,
               "the caller's audio at agent 1001")
    h.press(caller, "5")
    # baresip 1.0 logs each telephone-event it receives as "received event: '5' (end=0)".
    wait_until(lambda: "received event: '5'" in read(a1["log"]), 10,
               "the agent's phone to receive the caller's 5")
    h.press(a1, "9")
    wait_until(lambda: "received event: '9'" in read(caller["log"]), 10,
               "the caller's phone to receive 9")


def test_wrong_password_is_refused(h):
    """An agent phone with a wrong password is refused and never becomes available."""
    h.start_parley()
    bad = h.agent("1001", password="not-the-password")
    wait_until(lambda: "403" in read(bad["log"]) or "401" in read(bad["log"]) or
               "failed" in read(bad["log"]).lower(), 15, "baresip to see its REGISTER refused")
    check(h.log_count("agent 1001: logged-out -> available") == 0, "1001 became available")


def test_malformed_sip_and_sdp(h):
    """Garbage and broken INVITEs from a raw socket get errors or are dropped; the server keeps
    serving (OPTIONS still gets 200)."""
    h.start_parley()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(3)
    me = s.getsockname()[1]
    target = ("127.0.0.1", h.sip_port)

    def invite(call_id, sdp):
        return ("INVITE sip:100@127.0.0.1 SIP/2.0\r\n"
                "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-%s\r\n"
                "Max-Forwards: 70\r\nFrom: <sip:x@127.0.0.1>;tag=1\r\nTo: <sip:100@127.0.0.1>\r\n"
                "Call-ID: %s\r\nCSeq: 1 INVITE\r\nContact: <sip:x@127.0.0.1:%d>\r\n"
                "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s"
                % (me, call_id, call_id, me, len(sdp), sdp)).encode()

    def final_code():
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                data = s.recv(65535).decode(errors="replace")
            except socket.timeout:
                return None
            code = int(data.split(" ", 2)[1]) if data.startswith("SIP/2.0 ") else 0
            if code >= 200:
                return code
        return None

    s.sendto(b"\x00\xff garbage \r\n\r\n", target)
    s.sendto(b"INVITE sip:100@127.0.0.1 SIP/2.0\r\n\r\n", target)
    s.sendto(invite("bad-sdp-1", "this is not sdp"), target)
    code = final_code()
    check(code in (400, 488), "INVITE with garbage SDP got %r (want 400 or 488)" % code)
    s.sendto(invite("video-only-1", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
                    "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video 5000 RTP/AVP 96\r\n"), target)
    code = final_code()
    check(code == 488, "INVITE with no audio got %r (want 488)" % code)
    s.sendto(("OPTIONS sip:127.0.0.1 SIP/2.0\r\n"
              "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-opt\r\nMax-Forwards: 70\r\n"
              "From: <sip:x@127.0.0.1>;tag=2\r\nTo: <sip:127.0.0.1>\r\nCall-ID: opt-1\r\n"
              "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n" % me).encode(), target)
    check(final_code() == 200, "OPTIONS after the garbage did not get 200")
    check(h.parley.poll() is None, "parley died")


def test_queued_callback_keeps_its_place_agent_first_then_customer(h):
    """A queued caller presses * and hangs up with a callback booked; a later caller queues
    too. When agent 1001 registers, the callback goes first: the agent hears who it is, then
    Parley dials the customer through the trunk (the first caller's own phone) and bridges
    them; each hears the other's tone. The callback is stored done and connected."""
    first = h.caller("first", dial=False)
    h.start_parley(trunk_port=first["port"])
    h.dial_now(first)
    h.wait_log("answered, flow main", 15)
    h.listen(first, 1.0)
    h.press(first, "1")
    wait_until(lambda: h.log_count(" queued in sales") >= 1, 10, "the first caller to queue")
    second = h.caller("second")
    wait_until(lambda: h.log_count("answered, flow main") >= 2, 15, "the second call")
    h.listen(second, 1.0)
    h.press(second, "1")
    wait_until(lambda: h.log_count(" queued in sales") >= 2, 10, "the second caller to queue")
    h.press(first, "*")
    h.wait_log("in sales created (ivr, waiting)", 10)
    h.wait_log("ended by system (callback-key), outcome exited", 15)  # "Thank you...", hang-up
    agent = h.agent("1001")
    h.agents_available("1001")
    h.wait_log("agent 1001 took callback", 15)
    check("connected to agent" not in read(h.log),
          "the later caller reached the agent before the callback")
    h.wait_log("dialling sip:0701234567@127.0.0.1:%d" % first["port"], 15)
    h.wait_log("connected 0701234567 to agent 1001", 15)
    # The agent's recording of this call (the next call, the later caller's, gets another).
    heard_by_agent = h.recording(agent, "dec.wav")
    heard_before = wav_seconds(heard_by_agent)  # the whisper
    wait_until(lambda: wav_seconds(heard_by_agent) >= heard_before + 2.5,
               15, "2.5 s of the customer at agent 1001")
    wait_until(lambda: (h.recording(first, "dec.wav") and
                        wav_seconds(h.recording(first, "dec.wav")) >= 2.0),
               15, "2 s of the agent at the customer")
    h.hangup(first)
    h.wait_log("ended by caller", 10)
    heard_by_customer = h.recording(first, "dec.wav")
    wait_until(lambda: wav_complete(heard_by_agent) and wav_complete(heard_by_customer), 10,
               "baresip to close its recordings")
    got = tone_frames(heard_by_agent, CALLER_HZ)
    check(got >= 10, "agent heard the customer's %g Hz tone in %d frames (want >= 10)"
          % (CALLER_HZ, got))
    got = tone_frames(heard_by_customer, AGENT_HZ["1001"])
    check(got >= 10, "customer heard the agent's %g Hz tone in %d frames (want >= 10)"
          % (AGENT_HZ["1001"], got))
    con = sqlite3.connect(h.db, timeout=2)
    rows = [json.loads(r[0]) for r in con.execute("SELECT json FROM callbacks")]
    con.close()
    check(len(rows) == 1, "one callback stored, got %d" % len(rows))
    check(rows[0]["state"] == "done" and rows[0]["outcome"] == "connected",
          "callback stored as %s/%s" % (rows[0]["state"], rows[0]["outcome"]))
    check(rows[0]["attempt_log"][0]["agent"] == "1001", "attempt by %r" % rows[0]["attempt_log"])
    # Then the later caller gets the agent (after the callback's wrap-up, which is 0 here).
    h.wait_log("connected to agent 1001", 20)


def test_callback_survives_kill_9_and_calls_once(h):
    """A web request for a callback (POST /api/callbacks) while no agent is free; Parley is
    killed with SIGKILL and started again on the same database: the callback is still there,
    a repeated request merges into it, and when an agent comes the customer is called once."""
    customer = h.customer("+447911123456")
    h.start_parley(trunk_port=customer["port"])
    status, body = h.post("/api/callbacks", {"queue": "sales", "number": "+447911123456",
                                             "context": {"page_url": "https://shop.example/x"}})
    check(status == 201 and body.get("status") == "created", "POST gave %d %r" % (status, body))
    cb_id = body["id"]
    h.wait_log("waits in sales", 5)
    h.kill_parley()
    h.start_parley(trunk_port=customer["port"])
    h.wait_log("callbacks: 1 open from the store", 5)
    status, body = h.post("/api/callbacks", {"queue": "sales", "number": "+447911123456"})
    check(status == 200 and body.get("id") == cb_id and body.get("status") == "updated",
          "the repeated request gave %d %r" % (status, body))
    h.agent("1001")
    h.agents_available("1001")
    h.wait_log("connected +447911123456 to agent 1001", 25)
    wait_until(lambda: customer_heard(h, customer), 15, "2 s of the agent at the customer")
    h.hangup(customer)
    h.wait_log("ended by caller", 10)
    check(h.log_count("dialling sip:+447911123456@") == 1,
          "the customer was dialled %d times" % h.log_count("dialling sip:+447911123456@"))
    status, body = h.api("/api/callbacks/" + cb_id)
    check(status == 200, "GET /api/callbacks/%s gave %d" % (cb_id, status))
    check(body["state"] == "done" and body["outcome"] == "connected" and body["attempts"] == 1,
          "after the call: %s/%s, %s attempts" % (body["state"], body["outcome"], body["attempts"]))
    check(body["context"].get("page_url") == "https://shop.example/x",
          "the page context was lost: %r" % body["context"])
    status, body = h.api("/api/callbacks")
    check(len(body["callbacks"]) == 1, "%d callbacks stored" % len(body["callbacks"]))


def test_busy_customer_is_retried_later_and_abuse_is_refused(h):
    """The customer's phone answers the callback with 486 (SIPp): the agent's call ends, the
    attempt is stored (busy, 486, the agent) and the callback waits retry_after (30 s) with its
    place kept. A fourth request for one number within the hour gets 429 with Retry-After."""
    port = free_port()
    scenario = os.path.join(ROOT, "tests", "voice", "sipp_busy_customer.xml")
    sipp = subprocess.Popen(
        ["timeout", "-k", "5", "60", "sipp", "-sf", scenario, "-m", "1", "-t", "u1",
         "-i", "127.0.0.1", "-p", str(port), "-timeout", "50", "-timeout_error", "-nostdin"],
        stdout=open(os.path.join(h.dir, "sipp.log"), "w"), stderr=subprocess.STDOUT,
        cwd=h.dir, start_new_session=True)
    h.procs.append(sipp)
    h.start_parley(trunk_port=port)
    status, body = h.post("/api/callbacks", {"queue": "sales", "number": "+447911123456"})
    check(status == 201, "POST gave %d %r" % (status, body))
    cb_id = body["id"]
    agent = h.agent("1001")
    h.agents_available("1001")
    h.wait_log("agent 1001 took callback", 15)
    h.wait_log("+447911123456: busy (486)", 20)
    wait_until(lambda: sipp.poll() is not None, 10, "sipp to finish")
    check(sipp.returncode == 0, "sipp exit %s: %s" % (sipp.returncode,
                                                      read(os.path.join(h.dir, "sipp.log"))[-2000:]))
    wait_until(lambda: "terminated" in read(agent["log"]), 10, "the agent's call to end")
    status, cb = h.api("/api/callbacks/" + cb_id)
    check(status == 200 and cb["state"] == "scheduled", "after busy: %d %r" % (status, cb))
    attempt = cb["attempt_log"][0]
    check(attempt["result"] == "busy" and attempt["sip_code"] == 486 and attempt["agent"] == "1001",
          "attempt %r" % attempt)
    gap = cb["due_at"] - attempt["ended"]
    check(29000 <= gap <= 31000, "retry due %d ms after the attempt, want 30 s" % gap)
    check(cb["place_since"] == cb["requested_at"], "the retry lost its place: %r" % cb)
    # Abuse: per number at most 3 requests an hour (the default); the 4th is refused clearly.
    for _ in range(2):
        status, _ = h.post("/api/callbacks", {"queue": "sales", "number": "+447911123456"})
        check(status in (200, 201), "request refused early: %d" % status)
    req = urllib.request.Request("http://127.0.0.1:%d/api/callbacks" % h.http_port,
                                 data=json.dumps({"queue": "sales",
                                                  "number": "+447911123456"}).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(req, timeout=5)
        raise Failure("the 4th request for one number was accepted")
    except urllib.error.HTTPError as e:
        check(e.code == 429, "4th request: %d" % e.code)
        check(int(e.headers.get("Retry-After", "0")) > 0, "no Retry-After")
        check("too many" in json.loads(e.read().decode())["error"], "unclear refusal")


def customer_heard(h, customer):
    rec = h.recording(customer, "dec.wav")
    return rec is not None and wav_seconds(rec) >= 2.0


TESTS = [test_queued_callback_keeps_its_place_agent_first_then_customer,
         test_callback_survives_kill_9_and_calls_once,
         test_busy_customer_is_retried_later_and_abuse_is_refused,
         test_demo_config_press_1_talks_to_sales, test_rfc4733_menu_longest_idle_and_media,
         test_info_dtmf_ring_all_cancels_the_loser,
         test_caller_hangs_up_in_queue_is_abandoned, test_agent_not_answering_moves_the_call_on,
         test_inband_dtmf_picks_the_queue, test_rtp_timeout_ends_a_silent_call,
         test_late_offer_and_reinvites_move_the_media,
         test_keys_pressed_in_a_bridged_call_reach_the_other_phone,
         test_wrong_password_is_refused, test_malformed_sip_and_sdp]


def main():
    for tool in ("baresip", "sipp", "sox"):
        if shutil.which(tool) is None:
            print("SKIP: %s not installed" % tool)
            return 77
    failed = []
    for test in TESTS:
        if ONLY and test.__name__ not in ONLY:
            continue
        h = Harness(test.__name__)
        started = time.monotonic()
        try:
            test(h)
            print("ok   %s (%.1f s)" % (test.__name__, time.monotonic() - started), flush=True)
        except Exception as e:  # noqa: BLE001 - report any failure with the logs
            print("FAIL %s: %s" % (test.__name__, e), flush=True)
            if not isinstance(e, Failure):
                traceback.print_exc()
            h.stop()
            h.dump_logs()
            failed.append(test.__name__)
        finally:
            h.stop()
            if test.__name__ not in failed:
                shutil.rmtree(h.dir, ignore_errors=True)
    if failed:
        print("failed: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
