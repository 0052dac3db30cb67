# Runs the case_* functions of a module on MicroPython and prints one JSON line per case:
# {"case": name, "ok": bool, "error": text}. tests/test_firmware_*.py start it and turn
# each line into a pytest result. Usage: micropython runner.py MODULE [CASE...]
import io
import json
import sys


def main(module_name, only):
    module = __import__(module_name)
    names = sorted(n for n in dir(module) if n.startswith("case_"))
    for name in names:
        if only and name not in only:
            continue
        error = ""
        try:
            getattr(module, name)()
        except Exception as exc:
            buf = io.StringIO()
            sys.print_exception(exc, buf)
            error = buf.getvalue()
        print(json.dumps({"case": name, "ok": not error, "error": error}))


main(sys.argv[1], sys.argv[2:])
