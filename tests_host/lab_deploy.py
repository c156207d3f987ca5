"""Deploy onto a board's pty the way a rack does: the pty exported by a real
labgrid exporter (ser2net, RFC 2217) as a place, the place reserved and
acquired, and PicostimStrategy's deploy over the exported port. Run with the
lab venv's Python (labgrid): prints what the deploy printed; exit status 1 if
it failed.

    .venv-lab/bin/python tests_host/lab_deploy.py PTY KEY_FILE
"""

import os
import sys
import tempfile
from pathlib import Path

from picostim.lab.farm import LocalFarm

ENV = """targets:
  main:
    resources:
      RemotePlace:
        name: !template $LG_PLACE
    drivers:
      PicostimStrategy:
        deploy: true
        key: {key}
imports:
  - picostim.lab.strategy
"""


def main(pty: str, key: str) -> int:
    env_file = Path(tempfile.mkdtemp(prefix="lab-deploy-")) / "env.yaml"
    env_file.write_text(ENV.format(key=key))
    with LocalFarm(ports=[pty]) as farm:
        print(farm.describe(), flush=True)
        token = farm.client.reserve({"board": "pico"}, timeout=60)
        try:
            farm.client.acquire(token)
            os.environ.update(LG_PLACE="+", LG_TOKEN=token, LG_COORDINATOR=farm.client.coordinator)
            from labgrid import Environment

            strategy = Environment(str(env_file)).get_target("main").get_driver("PicostimStrategy")
            print(f"deploying through {strategy.url}", flush=True)
            try:
                strategy.transition("deployed")
            finally:
                print(strategy.deploy_output, flush=True)
        finally:
            farm.client.release(token)
            farm.client.cancel(token)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
