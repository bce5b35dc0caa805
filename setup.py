"""Builds the sanad extension module (_sanad) with CMake for `pip install .`.

The version is project(VERSION) from CMakeLists.txt, so the wheel, the C++
library and sanad.__version__ agree. The CMake build goes to build/pip (or
$SANAD_PIP_BUILD_DIR) with tests, benchmarks and fuzzers off; everything it
needs is a Debian package (scripts/install-deps.sh), nothing is downloaded.
"""

import os
import pathlib
import re
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent


def project_version() -> str:
    text = (ROOT / "CMakeLists.txt").read_text()
    m = re.search(r"project\(sanad VERSION ([0-9.]+)", text)
    if not m:
        raise RuntimeError("CMakeLists.txt: no `project(sanad VERSION x.y.z)`")
    return m.group(1)


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = pathlib.Path(os.environ.get("SANAD_PIP_BUILD_DIR", ROOT / "build" / "pip"))
        build_dir.mkdir(parents=True, exist_ok=True)
        jobs = str(os.cpu_count() or 2)
        subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
                        f"-DPython3_EXECUTABLE={sys.executable}", "-DSANAD_BUILD_TESTS=OFF",
                        "-DSANAD_BUILD_BENCH=OFF", "-DSANAD_BUILD_PYTHON=ON"], check=True)
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "_sanad", "-j", jobs], check=True)
        built = sorted((build_dir / "python" / "sanad").glob("_sanad*.so"))
        if len(built) != 1:
            raise RuntimeError(f"expected one _sanad module in {build_dir}/python/sanad, found {built}")
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        self.copy_file(str(built[0]), str(target))


setup(version=project_version(), ext_modules=[CMakeExtension("sanad._sanad")], cmdclass={"build_ext": CMakeBuild})
