#!/usr/bin/env python3
"""Voice integration test with Linphone as an agent's phone (Debian linphone-cli, linphonec 5.1).

`parley serve` on loopback; linphonec registers as agent 1001 (digest, UDP) and answers
automatically; a baresip caller calls 100 and presses 1 (RFC 4733); Parley puts it through to
agent 1001 and they talk for a few seconds. Checked on the media both ways: Linphone sends a
1400 Hz tone from a WAV file and records what it hears, the caller sends 350 Hz and records what
it hears; each recording must hold the other side's tone. The interaction record must say
answered by agent 1001.

linphonec has no sound card here: "soundcard use files" makes it read the `play` WAV as its
microphone and write what it hears to the `record` WAV. It only runs its event loop while
reading a terminal (with a plain pipe on stdin it never starts its SIP transports), so it is
driven through a pseudo-terminal. Its config, HOME and XDG dirs are all inside the test's
temporary folder.

Usage: linphone_test.py PATH_TO_PARLEY   (run from the project root)
Exit 0: passed; 1: failed (with the logs); 77: linphonec, baresip or sox is not installed.
Every wait is bounded; every process is killed at the end.
"""
import os
import pty
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback

sys.dont_write_bytecode = True  # no __pycache__ in the source tree from importing voice_test
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
if len(sys.argv) > 1:
    # voice_test reads Parley's path from argv[1] and test names from argv[2:] when imported.
    sys.argv = [sys.argv[0], sys.argv[1]]
import voice_test as vt  # noqa: E402

if len(sys.argv) > 1:
    vt.PARLEY = os.path.abspath(sys.argv[1])


def free_rtp_pair():
    """An even UDP port free together with the next one (RTP and RTCP)."""
    return vt.free_port_group([(socket.SOCK_DGRAM, 0), (socket.SOCK_DGRAM, 1)],
                              "linphonec's RTP", even=True)


def linphone_wav_closed(path):
    """True once linphonec has written its recording's header (at the end of the call). Its
    header's data size counts the 44 header bytes too, so this allows either way."""
    try:
        with vt.wave.open(path, "rb") as w:
            size = w.getnframes() * w.getnchannels() * w.getsampwidth()
        return size > 0 and abs(os.path.getsize(path) - 44 - size) <= 1024
    except (FileNotFoundError, EOFError, vt.wave.Error):
        return False


class Linphone:
    """linphonec as agent `ext`: registered at Parley, auto-answering, file-based audio."""

    def __init__(self, h, ext, password):
        self.h = h
        self.dir = os.path.join(h.dir, "linphone" + ext)
        self.home = os.path.join(self.dir, "home")
        for sub in (".config", os.path.join(".local", "share", "linphone"), ".cache"):
            os.makedirs(os.path.join(self.home, sub), exist_ok=True)
        self.tone = os.path.join(self.dir, "tone.wav")
        vt.make_tone(self.tone, vt.AGENT_HZ[ext])
        self.heard = os.path.join(self.dir, "heard.wav")
        self.rc = os.path.join(self.dir, "linphonerc")
        self.log = os.path.join(self.dir, "linphonec.log")      # liblinphone's own log (-l)
        self.console = os.path.join(self.dir, "console.txt")    # what linphonec printed
        self.sip_port = vt.free_port()
        self.rtp_port = free_rtp_pair()
        with open(self.rc, "w") as f:
            f.write("""[sip]
sip_port=%(sip)d
sip_tcp_port=0
sip_tls_port=0
bind_address=127.0.0.1
use_ipv6=0
ipv6_migration_done=1
default_proxy=0
register_only_when_network_is_up=0
register_only_when_upnp_is_ok=0
guess_hostname=0
contact=sip:%(ext)s@127.0.0.1
auto_send_ringing=1
media_encryption=none
inc_timeout=30
[rtp]
audio_rtp_port=%(rtp)d
video_rtp_port=%(video)d
text_rtp_port=%(text)d
bind_address=127.0.0.1
[net]
firewall_policy=0
enable_ipv6=0
mtu=1300
[video]
enabled=0
capture=0
display=0
automatically_initiate=0
automatically_accept=0
[sound]
echocancellation=0
[misc]
enable_basic_to_client_group_chat_room_migration=0
[proxy_0]
reg_proxy=<sip:127.0.0.1:%(parley)d;transport=udp>
reg_identity=sip:%(ext)s@127.0.0.1
reg_expires=60
reg_sendregister=1
publish=0
avpf=0
[auth_info_0]
username=%(ext)s
passwd=%(password)s
""" % {"sip": self.sip_port, "rtp": self.rtp_port, "video": self.rtp_port + 10,
                "text": self.rtp_port + 20, "parley": h.sip_port, "ext": ext,
                "password": password})
        env = dict(os.environ, HOME=self.home, XDG_CONFIG_HOME=os.path.join(self.home, ".config"),
                   XDG_DATA_HOME=os.path.join(self.home, ".local", "share"),
                   XDG_CACHE_HOME=os.path.join(self.home, ".cache"), TERM="dumb")
        master, slave = pty.openpty()
        self.master = master
        self.proc = subprocess.Popen(
            ["timeout", "-k", "5", "90", "linphonec", "-c", self.rc, "-a", "-d", "5",
             "-l", self.log],
            stdin=slave, stdout=slave, stderr=slave, cwd=self.dir, env=env,
            start_new_session=True)
        os.close(slave)
        h.procs.append(self.proc)
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self):
        """Copies the terminal's output to console.txt (and keeps linphonec from blocking)."""
        with open(self.console, "ab") as out:
            while True:
                try:
                    ready, _, _ = select.select([self.master], [], [], 0.2)
                    if not ready:
                        if self.proc.poll() is not None:
                            return
                        continue
                    data = os.read(self.master, 4096)
                except OSError:
                    return
                if not data:
                    return
                out.write(data)
                out.flush()

    def command(self, line):
        os.write(self.master, (line + "\n").encode())

    def printed(self):
        return vt.read(self.console)

    def wait_printed(self, needle, timeout, what):
        def seen():
            if self.proc.poll() is not None:
                raise vt.Failure("linphonec exited (%s) waiting for %s" % (self.proc.returncode, what))
            return needle in self.printed()
        vt.wait_until(seen, timeout, what)

    def close(self):
        try:
            os.close(self.master)
        except OSError:
            pass


def dump(h, phones):
    sys.stderr.write("--- test folder: %s\n" % h.dir)
    h.dump_logs()
    for phone in phones:
        sys.stderr.write("--- linphonec console (tail):\n%s\n" % phone.printed()[-2500:])
        # liblinphone's log is long; its states, warnings and errors tell the story.
        keep = [line for line in vt.read(phone.log).splitlines()
                if "moving from state" in line or "-error-" in line or "-warning-" in line
                or "reachability" in line or "listening point" in line.lower()]
        sys.stderr.write("--- linphonec log, states/warnings/errors (tail; all of it in %s):\n%s\n"
                         % (phone.log, "\n".join(keep[-40:])))


def test_linphone_agent_talks_to_a_caller(h, phones):
    """Linphone registers as agent 1001; a caller calls 100, presses 1 and talks to it."""
    h.start_parley()
    phone = Linphone(h, "1001", "demo1001")
    phones.append(phone)
    # Commands are queued in linphonec's terminal; each is read once the prompt is back.
    phone.wait_printed("linphonec> ", 15, "linphonec's prompt")
    phone.command("soundcard use files")
    phone.wait_printed("Using wav files instead of soundcard", 5, "file mode")
    phone.command("play " + phone.tone)
    phone.command("record " + phone.heard)
    h.agents_available("1001")
    caller = h.call_menu("1")
    h.wait_log("connected to agent 1001", 15)
    vt.wait_until(lambda: vt.wav_seconds(phone.heard) >= 3.0, 15,
                  "3 s of audio recorded by linphonec")
    vt.wait_until(lambda: (h.recording(caller, "dec.wav") and
                           vt.wav_seconds(h.recording(caller, "dec.wav")) >= 3.0),
                  15, "3 s of audio at the caller")
    h.hangup(caller)
    h.wait_log("ended by caller", 10)
    heard_by_caller = h.recording(caller, "dec.wav")
    phone.wait_printed("ended (", 10, "linphonec to see the call end")
    vt.wait_until(lambda: linphone_wav_closed(phone.heard) and vt.wav_complete(heard_by_caller),
                  10, "linphonec and baresip to close their recordings")
    got = vt.tone_frames(phone.heard, vt.CALLER_HZ)
    print("Linphone heard %d frames of %g Hz in %.1f s; the caller %d of %g Hz in %.1f s" % (
        got, vt.CALLER_HZ, vt.wav_seconds(phone.heard),
        vt.tone_frames(heard_by_caller, vt.AGENT_HZ["1001"]), vt.AGENT_HZ["1001"],
        vt.wav_seconds(heard_by_caller)), flush=True)
    vt.check(got >= 10, "Linphone (agent 1001) heard the caller's %g Hz tone in %d frames "
             "(want >= 10): %s" % (vt.CALLER_HZ, got, phone.heard))
    got = vt.tone_frames(heard_by_caller, vt.AGENT_HZ["1001"])
    vt.check(got >= 10, "the caller heard Linphone's %g Hz tone in %d frames (want >= 10): %s"
             % (vt.AGENT_HZ["1001"], got, heard_by_caller))
    r = h.records(1)[-1]
    vt.check(r["outcome"] == "answered" and r.get("agent") == "1001", "record %r" % r)


def main():
    for tool in ("linphonec", "baresip", "sox"):
        if shutil.which(tool) is None:
            print("SKIP: %s not installed" % tool)
            return 77
    h = vt.Harness("linphone")
    phones = []
    started = time.monotonic()
    name = test_linphone_agent_talks_to_a_caller.__name__
    try:
        test_linphone_agent_talks_to_a_caller(h, phones)
        print("ok   %s (%.1f s)" % (name, time.monotonic() - started), flush=True)
        failed = False
    except Exception as e:  # noqa: BLE001 - report any failure with the logs
        print("FAIL %s: %s" % (name, e), flush=True)
        if not isinstance(e, vt.Failure):
            traceback.print_exc()
        failed = True
    finally:
        if phones:
            for phone in phones:
                if phone.proc.poll() is None:
                    try:
                        phone.command("quit")
                    except OSError:
                        pass
        h.stop()
        for phone in phones:
            phone.close()
    if failed:
        dump(h, phones)
        return 1
    shutil.rmtree(h.dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sys.exit(main())
