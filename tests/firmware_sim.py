"""Helpers for the firmware's closed-loop tests: the real firmware (an app image, compiled
for the unix port as for a device) on MicroPython against the real simulator, through
host/virtual_device.py (the one "firmware + simulator, console on pipes" harness)."""

from host import image
from host.virtual_device import VirtualDevice

# Stand-in model policies, installed as firmware/model_policy.py with a dummy model/ folder,
# so that they plug in exactly where the real model policy does.
POLICY = '''from firmware.policy import Policy


class Stub(Policy):
    name = "%(name)s"
    id = "%(name)s"

    def start(self, level, sample):
        pass

    def decide(self, sample):
%(body)s


def load(folder):
    return Stub()
'''
ALWAYS = "        return True"
HANG_AFTER_5S = ("        while sample.toast_ms >= 5000:\n"
                 "            pass\n"
                 "        return True")

ENDS = ("done", "cancelled", "fault")


def app_image(policy=None, name="stub"):
    """The checkout's firmware image for the sim board; with a policy body, a stand-in
    model policy plugged in behind the Policy interface."""
    img = image.build("sim")
    if policy is not None:
        img.files["firmware/model_policy.py"] = (POLICY % {"name": name, "body": policy}).encode()
        img.files["model/model.json"] = b'{"stand_in": true}\n'
        img.files["model/model.tflite"] = b""
    return img


def device(policy=None, sim_args=(), **kw):
    return VirtualDevice(image=app_image(policy), sim_args=list(sim_args), **kw)


def toast(dev, level=4, timeout=60.0):
    """Set the dial, push the lever, and return the frames up to the end of the toast
    (its last E frame), once the simulator has seen the carriage come up: the E frame
    leaves in the tick that decides, the outputs with that tick's wait."""
    dev.control("DIAL %d" % level)
    waiter = dev.sim.client()
    try:
        dev.control("LEVER DOWN")
        frames = dev.until(lambda f: f["kind"] == "E" and f["to"] in ENDS, timeout=timeout)
        waiter.ok("WAIT carriage_up %d" % (timeout * 1000))
    finally:
        waiter.close()
    return frames


def ticks(frames):
    return [f for f in frames if f["kind"] == "T"]
