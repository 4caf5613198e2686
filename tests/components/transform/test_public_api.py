"""The package's public names resolve, and building a pipeline does not load TensorFlow."""

import subprocess
import sys

import components.transform as transform


def test_every_public_name_resolves():
    for name in transform.__all__:
        assert getattr(transform, name) is not None, name


def test_importing_the_package_and_the_component_stays_light():
    code = ("import sys, components.transform, components.transform.component; "
            "print(sorted(m for m in ('tensorflow', 'tensorflow_transform') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "[]"
