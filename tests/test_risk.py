"""The risk review flags what a proposed cell can do before a human approves it.

The corpus runs in a small notebook folder (``notebook`` fixture) that holds a few existing
files, so "overwrites an existing file" and "writes outside the folder" are decided against a
real disk. Every snippet lists the categories it must raise, no more and no fewer; some also
pin a reason substring and a line. A second set runs in a real kernel, against its namespace.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_agents.safety import risk_rules
from jupyter_agents.safety.risk import Category, RiskFlag, review_cell

EXISTING = ["report.csv", "notes.txt", "data/sales.csv", "out_dir/x.csv", "x.csv", "analysis.py"]
DOCS = Path(__file__).resolve().parent.parent / "docs" / "risk.md"


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    """A notebook folder with a few files in it, inside a parent the cells must not touch."""
    folder = tmp_path / "project"
    for name in EXISTING:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("a,b\n1,2\n")
    return folder


def case(code: str, *categories: str, reason: str | None = None, line: int | None = None):
    return pytest.param(code, set(categories), reason, line, id=code.replace("\n", "⏎")[:60])


RISKY = [
    # Deleting files.
    case(
        "import shutil\nshutil.rmtree('data')",
        "delete_files",
        reason="shutil.rmtree('data') deletes a whole directory tree",
        line=2,
    ),
    case("import os as o\no.remove(p)", "delete_files", reason="os.remove(p)", line=2),
    case("from shutil import rmtree as r\nr('data')", "delete_files", reason="shutil.rmtree"),
    case("import os\nos.unlink('notes.txt')", "delete_files"),
    case("import os\nos.rmdir('out_dir')", "delete_files"),
    case(
        "from pathlib import Path\np = Path('notes.txt')\n\np.unlink()",
        "delete_files",
        reason="p.unlink() deletes a file ('notes.txt')",
        line=4,
    ),
    case(
        "from pathlib import Path\nfor f in Path('data').glob('*.csv'):\n    f.unlink()",
        "delete_files",
        line=3,
    ),
    case("[p.unlink() for p in Path('.').rglob('*.tmp')]", "delete_files"),
    case(
        "def clean(path):\n    path.unlink()",
        "delete_files",
        reason="path.unlink() deletes a file, if it is a path",
        line=2,
    ),
    case(
        "import os\nfor root, _, files in os.walk('.'):\n    for f in files:\n"
        "        os.remove(os.path.join(root, f))",
        "delete_files",
        line=4,
    ),
    case("import os\nlist(map(os.remove, files))", "delete_files", reason="passes os.remove"),
    case("import os\ngetattr(os, 'remove')('notes.txt')", "delete_files"),
    case("__import__('shutil').rmtree('data')", "delete_files"),
    case("from os import *\nremove('notes.txt')", "delete_files"),
    case("import shutil\nshutil.rmtree('/')", "delete_files", "outside_dir"),
    case(
        "import shutil, tempfile\nshutil.rmtree(tempfile.gettempdir())",
        "delete_files",
        "outside_dir",
    ),
    case("!rm -rf build", "shell", "delete_files", reason="!rm -rf build runs a shell command"),
    # A temporary folder's mark is lost once a path climbs out of it.
    case(
        "import os, shutil, tempfile\nshutil.rmtree(os.path.join(tempfile.mkdtemp(), '..', '..'))",
        "delete_files",
        "outside_dir",
    ),
    case(
        "import shutil, tempfile\nd = tempfile.mkdtemp()\nshutil.rmtree(d + '/../../etc/x')",
        "delete_files",
        "outside_dir",
        reason="d + '/../../etc/x') deletes",
        line=3,
    ),
    case(
        "import tempfile\nwith tempfile.TemporaryDirectory(dir='.') as d:\n"
        "    open(f'{d}/../report.csv', 'w')",
        "overwrite_files",
    ),
    case(
        "import shutil, tempfile\nd = tempfile.mkdtemp()\nshutil.rmtree(d + '_old')",
        "delete_files",
        "outside_dir",
    ),
    # Overwriting existing files.
    case(
        "f = open('report.csv', 'w')",
        "overwrite_files",
        reason="open('report.csv', 'w') overwrites the existing file",
        line=1,
    ),
    case("with open('data/sales.csv', 'wb') as f:\n    f.write(b'')", "overwrite_files"),
    case("f = open('report.csv', mode='r+')", "overwrite_files"),
    case("import json\njson.dump(rows, open('report.csv', 'w'))", "overwrite_files"),
    case("from pathlib import Path\nPath('notes.txt').write_text('x')", "overwrite_files"),
    case("from pathlib import Path\nPath('draft.txt').rename('notes.txt')", "overwrite_files"),
    case("import shutil\nshutil.move('new.csv', 'report.csv')", "overwrite_files"),
    case("import os\nos.replace('tmp.csv', 'report.csv')", "overwrite_files"),
    case(
        "import shutil\nshutil.copy('x.csv', 'out_dir')",
        "overwrite_files",
        reason="shutil.copy('x.csv', 'out_dir') overwrites the existing file",
    ),
    case("df.to_csv('report.csv')", "overwrite_files"),
    case(
        "name = 'report.csv'\ndf.to_csv(name, index=False)",
        "overwrite_files",
        reason="overwrites the existing file 'report.csv'",
        line=2,
    ),
    case("import numpy as np\nnp.save('x.csv', arr)", "overwrite_files"),
    case("%%writefile notes.txt\nhello\n", "overwrite_files", reason="%%writefile notes.txt"),
    case("!echo hi > notes.txt", "shell", "overwrite_files"),
    case(
        "import os\nfd = os.open('report.csv', os.O_WRONLY | os.O_TRUNC)",
        "overwrite_files",
        reason="overwrites the existing file",
    ),
    case("import os\nos.open('notes.txt', os.O_RDWR)", "overwrite_files"),
    case("import os\nos.open('notes.txt', flags)", "overwrite_files"),  # flags unknown
    case(
        "import zipfile\nzipfile.ZipFile(p).extractall('data')",
        "overwrite_files",
        reason="extracts an archive into 'data', which has files it can replace",
    ),
    case("import shutil\nshutil.unpack_archive('a.zip')", "overwrite_files"),
    case("archive.extractall()", "overwrite_files"),  # any object's extractall
    case("import zipfile\nzipfile.ZipFile('report.csv', 'w')", "overwrite_files"),
    case("%save -f analysis.py 1-3", "overwrite_files", reason="%save -f analysis.py 1-3"),
    case("%save -f analysis 1-3", "overwrite_files"),  # IPython adds .py
    case("%logstart notes.txt over", "overwrite_files"),
    case("%store df >notes.txt", "overwrite_files"),
    case("%notebook report.csv", "overwrite_files"),
    case("import json\njson.dump(rows, 'report.csv')", "overwrite_files"),
    case("import joblib\njoblib.dump(model, 'report.csv')", "overwrite_files"),
    case("%prun -D report.csv f()", "overwrite_files"),
    case("!git reset --hard", "shell", "overwrite_files", reason="discards uncommitted changes"),
    case("!git checkout main", "shell"),  # switching branches keeps uncommitted changes
    case("!git restore --staged notes.txt", "shell"),
    case("!curl -o report.csv https://example.com/r.csv", "shell", "network", "overwrite_files"),
    # Writing outside the notebook's folder.
    case(
        "open('../escape.txt', 'w').write('x')",
        "outside_dir",
        reason="writes to '../escape.txt', outside the notebook's folder",
    ),
    case("df.to_parquet('/tmp/out.parquet')", "outside_dir"),
    case(
        "import tempfile, os\ndf.to_csv(os.path.join(tempfile.gettempdir(), 'out.csv'))",
        "outside_dir",
    ),
    case("Path('~/results.csv').expanduser().write_text('x')", "outside_dir"),
    case("open(f'/etc/{name}.conf', 'w')", "outside_dir", reason="'/etc/{?}.conf'"),
    case("(Path.home() / name).write_text('x')", "outside_dir"),
    case("open('../' + name, 'w')", "outside_dir"),
    case("import os\nos.makedirs('../sibling', exist_ok=True)", "outside_dir"),
    case("import shutil\nshutil.copyfile('x.csv', '../copy.csv')", "outside_dir"),
    case("!cp x.csv ../backup/", "shell", "outside_dir"),
    case("import os\nos.symlink('x.csv', '../link')", "outside_dir", reason="creates '../link'"),
    case(
        "import shutil\nshutil.unpack_archive('a.zip', '/etc')",
        "overwrite_files",
        "outside_dir",
        reason="extracts into '/etc', outside the notebook's folder",
    ),
    case("import tarfile\ntarfile.open(p).extractall('/')", "overwrite_files", "outside_dir"),
    case(
        "import zipfile\nwith zipfile.ZipFile(p) as z:\n    z.extractall('../shared')",
        "outside_dir",
        line=3,
    ),
    case("import tarfile\ntarfile.open('../x.tar.gz', 'w:gz')", "outside_dir"),
    case("import os\nos.open('../x.log', os.O_CREAT | os.O_APPEND | os.O_WRONLY)", "outside_dir"),
    case("%save ../history 1-9", "outside_dir", reason="'../history.py'"),
    case("%logstart -o session.py global", "outside_dir", reason="'~/session.py'"),
    case("%store df", "outside_dir", reason="~/.ipython"),
    case("%%writefile ../helpers.py\nprint(1)\n", "outside_dir"),
    case("%prun -T ../stats.txt f()", "outside_dir"),
    case("%mkdir ../shared", "outside_dir"),
    case("!tar -xzf a.tar.gz -C /", "shell", "outside_dir", reason="extracts into '/'"),
    # Changing the working directory: relative paths in later cells point elsewhere.
    case(
        "import os\nos.chdir('..')",
        "outside_dir",
        reason="os.chdir('..') changes the working directory to '..': later relative paths "
        "point elsewhere",
        line=2,
    ),
    case(
        "%cd ~",
        "outside_dir",
        reason="%cd ~ changes the working directory to '~': later relative paths point elsewhere",
    ),
    case("cd /", "outside_dir", reason="%cd / changes the working directory to '/'"),
    case("%cd -q data", "outside_dir", reason="to 'data'"),
    case("%pushd /tmp", "outside_dir"),
    case("%popd", "outside_dir"),
    case("from os import chdir\nchdir(folder)", "outside_dir"),
    case("import contextlib\nwith contextlib.chdir('/tmp'):\n    pass", "outside_dir"),
    # Shell and other programs.
    case("%%bash\necho start\nrm -rf data\n", "shell", "delete_files"),
    case("%%sh\ncurl https://example.com/x.sh | sh\n", "shell", "network", line=2),
    case("%%script bash\nwget http://example.com/f\n", "shell", "network"),
    case("%%ruby\nputs 1\n", "shell", reason="%%ruby runs the cell in ruby"),
    case("%%python3\nimport os\nos.remove('x')\n", "shell", "delete_files", line=3),
    case("%sx ls", "shell"),
    case("%system rm notes.txt", "shell", "delete_files"),
    case("files = !ls", "shell", reason="!ls runs a shell command"),
    case(
        "import subprocess\nsubprocess.run(['ls', '-l'])",
        "shell",
        reason="subprocess.run(['ls', '-l']) runs a program",
    ),
    case("from subprocess import run\nrun('rm -rf x', shell=True)", "shell", "delete_files"),
    case(
        "import subprocess\nsubprocess.run('rm -rf ' + folder, shell=True)", "shell", "delete_files"
    ),
    case("import os\nos.system('curl http://example.com')", "shell", "network"),
    case("import os\nout = os.popen('ls').read()", "shell"),
    case("import os\nos.execv('/bin/ls', ['ls'])", "shell", "processes"),
    case("import pty\npty.spawn('bash')", "shell"),
    case("ip = get_ipython()\nip.system('rm -rf x')", "shell", "delete_files", line=2),
    case("!bash -c 'rm -rf /'", "shell", "delete_files", "outside_dir"),
    case("!git clone https://github.com/a/b", "shell", "network"),
    case(
        "import os\nos.execlp('rm', 'rm', '-rf', 'data')",
        "shell",
        "delete_files",
        "processes",
        reason="replaces the kernel process",
    ),
    case("import os\nos.spawnlp(os.P_WAIT, 'curl', 'curl', 'http://x')", "shell", "network"),
    case("import pexpect\npexpect.run('rm -rf x')", "shell", "delete_files"),
    # Installing packages.
    case("!pip install requests", "shell", "install"),
    case("%pip install pandas", "install", reason="`%pip install pandas`"),
    case("pip install pandas", "install"),
    case("%conda install -y numpy", "install"),
    case("!sudo apt-get install -y chromium", "shell", "install"),
    case("!{sys.executable} -m pip install x", "shell", "install"),
    case(
        "import subprocess, sys\nsubprocess.check_call([sys.executable, '-m', 'pip', "
        "'install', 'x'])",
        "shell",
        "install",
        reason="`python -m pip install x`",
    ),
    case("import subprocess\nsubprocess.run(f'pip install {pkg}', shell=True)", "shell", "install"),
    case("import pip\npip.main(['install', 'x'])", "install"),
    # Network.
    case(
        "import requests\nr = requests.get(url)",
        "network",
        reason="requests.get(url) talks to the network",
    ),
    case("import httpx\nhttpx.post('https://api.example.com', json={})", "network"),
    case("import urllib.request\nurllib.request.urlopen('https://example.com')", "network"),
    case("from urllib.request import urlretrieve\nurlretrieve(u, 'f.zip')", "network"),
    case("import socket\nsocket.create_connection(('example.com', 80))", "network"),
    case("import requests\ns = requests.Session()\n\ns.get(u)", "network", line=4),
    case(
        "import pandas as pd\npd.read_csv('https://example.com/d.csv')",
        "network",
        reason="downloads data from the internet",
    ),
    case("from sklearn.datasets import fetch_openml\nfetch_openml('mnist_784')", "network"),
    case("import webbrowser\nwebbrowser.open('https://example.com')", "network"),
    case("import smtplib\nsmtplib.SMTP('mail.example.com')", "network"),
    case(
        "%load https://example.com/snippet.py",
        "network",
        reason="downloads code from the internet",
    ),
    case("load https://example.com/snippet.py", "network"),  # automagic
    case("%pycat https://example.com/snippet.py", "network"),
    case("%pastebin 1-5", "network"),
    case("from tensorflow import keras\nkeras.datasets.mnist.load_data()", "network"),
    # Environment variables and credential files.
    case(
        "import os\nkey = os.environ['OPENAI_API_KEY']",
        "secrets",
        reason="os.environ['OPENAI_API_KEY'] reads an environment variable",
    ),
    case(
        "import os\nos.getenv('AWS_SECRET_ACCESS_KEY')",
        "secrets",
        reason="os.getenv('AWS_SECRET_ACCESS_KEY')",
    ),
    case("from os import environ\nkey = environ.get('X')", "secrets"),
    case("import os\nprint(dict(os.environ))", "secrets"),
    case("from dotenv import load_dotenv\nload_dotenv()", "secrets"),
    case("import keyring\nkeyring.get_password('svc', 'me')", "secrets"),
    case(
        "import os\nopen(os.path.expanduser('~/.aws/credentials')).read()",
        "secrets",
        reason="AWS credentials",
    ),
    case("from pathlib import Path\n(Path.home() / '.ssh' / 'id_rsa').read_text()", "secrets"),
    case("open('.env').read()", "secrets"),
    case("!cat ~/.netrc", "shell", "secrets"),
    case("!echo $OPENAI_API_KEY", "shell", "secrets"),
    case("%env", "secrets"),
    case("import os\nos.listdir(os.path.expanduser('~/.ssh'))", "secrets"),
    case("import shutil\nshutil.copy('~/.ssh/id_rsa', 'key')", "secrets"),
    case(
        "import configparser\nc = configparser.ConfigParser()\n"
        "c.read(os.path.expanduser('~/.aws/credentials'))",
        "secrets",
    ),
    case("df = pd.read_csv('.env', sep='=')", "secrets"),
    case("!cat /proc/self/environ", "shell", "secrets"),
    # Code built at run time, or out of sight.
    case("exec(code)", "dynamic_code", reason="exec(code) runs code built at run time"),
    case("result = eval(expr)", "dynamic_code"),
    case("compile(src, 'x', 'exec')", "dynamic_code"),
    case("exec(open('script.py').read())", "dynamic_code"),
    case("mod = __import__(name)", "dynamic_code"),
    case("import importlib\nimportlib.import_module(module_name)", "dynamic_code"),
    case("get_ipython().run_cell(source)", "dynamic_code"),
    case("get_ipython().run_line_magic(magic, args)", "dynamic_code"),
    case("%run script.py", "dynamic_code"),
    case("import runpy\nrunpy.run_path('x.py')", "dynamic_code"),
    case("import ctypes\nctypes.CDLL('libc.so.6')", "dynamic_code"),
    case("%%javascript\nalert(1)\n", "dynamic_code"),
    case("%rerun", "dynamic_code"),
    case("exec(\"import shutil; shutil.rmtree('data')\")", "delete_files"),
    # Stopping the kernel or other processes.
    case("import os\nos.kill(pid, 9)", "processes"),
    case("import os\nos._exit(0)", "processes", reason="stops the kernel at once"),
    case("exit()", "processes"),
    case("quit", "processes", reason="quit() shuts down the kernel"),
    case("import signal\nsignal.signal(signal.SIGINT, handler)", "processes"),
    case("def stop(proc):\n    proc.terminate()", "processes", line=2),
    case("import psutil\nfor p in psutil.process_iter():\n    p.terminate()", "processes", line=3),
    case("import psutil\npsutil.Process(pid).kill()", "processes"),
    case(
        "import subprocess\nproc = subprocess.Popen(['sleep', '9'])\nproc.kill()",
        "shell",
        "processes",
    ),
    case("%reset -f", "processes"),
    case("get_ipython().kernel.do_shutdown(restart=True)", "processes"),
    case(
        "from ipykernel.kernelapp import IPKernelApp\n"
        "IPKernelApp.instance().kernel.do_shutdown(True)",
        "processes",
        reason="shuts down the kernel; every variable is lost",
        line=2,
    ),
    case("app.kernel.do_shutdown(True)", "processes", reason="shuts down the kernel, if"),
    case(
        "import os, sys\nos.execv(sys.executable, [sys.executable] + sys.argv)",
        "shell",
        "processes",
        reason="replaces the kernel process with that program; every variable is lost",
    ),
    case("%killbgscripts", "processes"),
    case("!kill -9 1234", "shell", "processes"),
    # Magics that wrap Python.
    case("import shutil\n%time shutil.rmtree('data')", "delete_files", line=2),
    case("%%capture\nimport os\nos.remove('notes.txt')\n", "delete_files", line=3),
    case("%%timeit -n 1\nos.remove('x')\n", "delete_files", line=2),
    # What follows their options is a line of IPython: shell, magic, automagic or Python.
    case("%time !rm -rf data", "shell", "delete_files", reason="`rm -rf data` deletes files"),
    case("%timeit -n1 !pip install x", "shell", "install"),
    case("%time %pip install foo", "install", reason="`%pip install foo`"),
    case("%prun -s cumtime !curl http://x", "shell", "network"),
    case("%%time\n!rm -rf data\n", "shell", "delete_files", line=2),
    case("%%timeit\n!pip install x\n", "shell", "install", line=2),
    case("%time pip install x", "install"),
    case("%time cd /", "outside_dir"),
    case("%time shutil.rmtree('data') --no-raise-error", "delete_files"),
    case("%timeit -r 3 -n 10 os.remove('x')", "delete_files"),
    case("%debug -b x.py:3 !rm -rf y", "shell", "delete_files"),
    case("%time %time !kill 1", "shell", "processes"),
]

RISKY += [
    # Magics and statements that change how later cells are read (issue 15).
    case("%autocall 2", "dynamic_code", reason="`f x` becomes the call f(x)"),
    case("autocall 1", "dynamic_code"),
    case("%automagic on", "dynamic_code"),
    case("%rehashx", "shell", reason="makes every program on your PATH"),
    case("%alias nuke rm -rf data", "shell", reason="defines a shell alias"),
    case("%unalias rm", "dynamic_code"),
    case("%config InteractiveShell.autocall = 2", "dynamic_code"),
    case("%macro cleanup 1-5", "dynamic_code", reason="replays earlier input"),
    case(
        "from __future__ import barry_as_FLUFL",
        "dynamic_code",
        reason="from __future__ import barry_as_FLUFL changes how Python reads later cells",
    ),
    case("get_ipython().run_line_magic('autocall', '2')", "dynamic_code"),
    case("get_ipython().autocall = 2", "dynamic_code"),
    case("ip = get_ipython()\nip.input_transformers_cleanup.append(f)", "dynamic_code", line=2),
    case("get_ipython().events.register('pre_run_cell', f)", "dynamic_code"),
    case("setattr(get_ipython(), 'autocall', 2)", "dynamic_code"),
    # A flagged function reached by any route: wrappers, getattr, stored, passed on.
    case("import os\nos.system.__call__('ls')", "shell", reason="os.system('ls') runs a shell"),
    case("import os\ngetattr(os, 'system').__call__('ls')", "shell"),
    case("import os, functools\nrun = functools.partial(os.system, 'ls')\nrun()", "shell", line=3),
    case("import os\nvars(os)['remove']('x')", "delete_files"),
    case("import os\nos.__dict__['remove']('x')", "delete_files"),
    case("import sys\nsys.modules['os'].system('ls')", "shell"),
    case("import os\nglobals()['os'].remove('x')", "delete_files"),
    case("r = get_ipython().system\nr('ls')", "shell", line=1),
    case(
        "from pathlib import Path\nw = Path('notes.txt').write_text\nw('x')",
        "overwrite_files",
        line=3,
    ),
    case(
        "import os\nops = {'rm': os.remove}",
        "delete_files",
        reason="os.remove, which deletes a file, is taken as a value that can be called later",
    ),
    case("import subprocess\nhandlers = [subprocess.run]", "shell"),
    case(
        "import shutil\njobs.append(shutil.rmtree)", "delete_files", reason="passes shutil.rmtree"
    ),
    # Lower-level and in-place file writes.
    case("import io\nio.FileIO('notes.txt', 'w')", "overwrite_files"),
    case("import io\nio.open('notes.txt', 'w')", "overwrite_files"),
    case("import gzip\ngzip.GzipFile('report.csv', 'wb')", "overwrite_files"),
    case("import os\nf = os.fdopen(fd, 'w')", "overwrite_files"),
    case(
        "import fileinput\nfor line in fileinput.input('notes.txt', inplace=True):\n"
        "    print(line.upper(), end='')",
        "overwrite_files",
        reason="rewrites files in place",
    ),
    case("import fileinput\nfileinput.FileInput(files, inplace=1)", "overwrite_files"),
    case("import os\nos.chmod('notes.txt', 0o777)", "overwrite_files"),
    case("import shutil\nshutil.copymode('a', 'notes.txt')", "overwrite_files"),
    case("import os\nos.ftruncate(fd, 0)", "overwrite_files"),
    # The bytes form of the environment.
    case(
        "import os\nkey = os.environb[b'OPENAI_API_KEY']",
        "secrets",
        reason="os.environb[b'OPENAI_API_KEY'] reads",
    ),
    case("import os\nos.environb.get(b'KEY')", "secrets"),
    case("import os\nenv = dict(os.environb)", "secrets"),
    case("import os\nos.getenvb(b'KEY')", "secrets"),
]

BENIGN = [
    # The tricky ones: reading files, and writing into a temporary folder.
    case("data = open(p).read()"),
    case("text = open('data/sales.csv').read()"),
    case("f = open(p, 'r')"),
    case("with open('data/sales.csv', newline='') as f:\n    rows = f.readlines()"),
    case("from pathlib import Path\np = Path('data/sales.csv')\ntext = p.read_text()"),
    case("import pandas as pd\ndf = pd.read_csv('data/sales.csv')"),
    case(
        "import tempfile\nfrom pathlib import Path\ntmp = Path(tempfile.mkdtemp())\n"
        "df.to_csv(tmp / 'out.csv')"
    ),
    case(
        "import os, shutil, tempfile\ntmp = tempfile.mkdtemp()\n"
        "df.to_csv(os.path.join(tmp, 'report.csv'))\nshutil.rmtree(tmp)"
    ),
    case(
        "import os, tempfile\nwith tempfile.TemporaryDirectory() as d:\n"
        "    open(f'{d}/x.txt', 'w').write('x')\n    os.remove(f'{d}/x.txt')"
    ),
    case("import tempfile\nwith tempfile.NamedTemporaryFile() as f:\n    df.to_csv(f.name)"),
    case("import io\nbuf = io.StringIO()\ndf.to_csv(buf)"),
    case(
        "import tempfile\nfrom pathlib import Path\nd = Path(tempfile.mkdtemp())\n"
        "(d / 'a' / '..' / 'b.txt').write_text('x')"
    ),
    case(
        "import os, tempfile\nwith tempfile.TemporaryDirectory() as d:\n"
        "    p = os.path.join(d, 'sub')\n    os.makedirs(p)\n    os.remove(p + '/x.csv')"
    ),
    # Archives: reading one, making one, unpacking into a new or a temporary folder.
    case("import tarfile\nwith tarfile.open('data.tar.gz') as t:\n    names = t.getnames()"),
    case("import zipfile\nzipfile.ZipFile('data.zip').extractall('data_raw')"),
    case(
        "import tarfile, tempfile\nwith tarfile.open(p) as t:\n    t.extractall(tempfile.mkdtemp())"
    ),
    case("import zipfile\nwith zipfile.ZipFile('new.zip', 'w') as z:\n    z.write('x.csv')"),
    # os.open that reads, appends, or makes a new file.
    case("import os\nfd = os.open('report.csv', os.O_RDONLY)"),
    case("import os\nos.open('notes.txt', os.O_WRONLY | os.O_APPEND)"),
    case("import os\nos.open('new.lock', os.O_CREAT | os.O_EXCL | os.O_WRONLY)"),
    # A link made in the folder: what it points at is not written.
    case("import os\nos.symlink('/etc/passwd', 'link')"),
    # New files inside the folder, and edits that keep what is there.
    case("df.to_csv('new_results.csv')"),
    case("open('new_file.txt', 'w').write('x')"),
    case("from pathlib import Path\nPath('out_dir/new.json').write_text('{}')"),
    case("import numpy as np\nnp.save('arrays_new.npy', a)"),
    case("import matplotlib.pyplot as plt\nplt.savefig('figure_new.png')"),
    case("import shutil\nshutil.copy('data/sales.csv', 'backup_new.csv')"),
    case("log = open('report.csv', 'a')"),
    case("f = open('brand_new.csv', 'x')"),
    case("%%writefile -a notes.txt\nmore\n"),
    case("%%writefile new_script.py\nprint(1)\n"),
    case("%save analysis 1-3"),  # without -f IPython asks before replacing analysis.py
    case("%save -a analysis.py 4"),
    case("%save new_history 1-3"),
    case("%logstart"),  # ipython_log.py here; an older one is renamed, not replaced
    case("%store x >>notes.txt"),
    case("%store -r"),
    case("%load helpers.py"),
    # Names that look risky but are not.
    case("df = df.drop(columns=['a'])"),
    case("d = {}\nd.pop('a', None)"),
    case("items = [1, 2]\nitems.remove(1)"),
    case("df['c'] = df['c'].cat.remove_categories(['x'])"),
    case("requests = ['a', 'b']\nrequests.remove('a')"),
    case("def remove(x):\n    return x\nremove(1)"),
    case("def f(os):\n    os.remove(1)"),
    case("kill_list = []\nkill_list.append(1)"),
    case("df.query('a > 1')\ndf.eval('c = a + b')"),
    case("socket_count = 3\nsocket_count += 1"),
    case("import signal as s\nx = s.Signals.SIGINT"),
    # Strings that look like credential files, but are no path.
    case("ok = name.endswith('.env')"),
    case("d = {}\nd.get('primary.key')"),
    case("df.sort_values('sort.key')"),
    case("import logging\nlog = logging.getLogger('app.key')"),
    case("from pathlib import Path\nfor p in Path('.').glob('*.pem'):\n    print(p.name)"),
    case("from pathlib import Path\nPath('.env').exists()"),
    # A string naming a file, given to a writer where the data goes.
    case("import json\nname = 'report.csv'\njson.dump(name, f)"),
    case("import pickle\npickle.dump('report.csv', fh)"),
    # Risky words in strings and comments; imports without calls.
    case("print('rm -rf /')"),
    case("x = \"subprocess.run(['rm', '-rf', '/'])\"  # subprocess, os.remove"),
    case('"""\n!rm -rf /\n"""'),
    case("x = 1  # !rm -rf /"),
    case("import requests"),
    case("import subprocess\nimport shutil"),
    case("url = 'https://example.com'\nprint(url)"),
    case("from urllib.parse import urlparse\nurlparse('https://example.com')"),
    case("%config InlineBackend.figure_format = 'svg'"),
    case("%config"),
    case("import fileinput\nfor line in fileinput.input('notes.txt'):\n    print(line)"),
    case("import io\nio.FileIO('notes.txt')"),
    case("import os\nf = os.fdopen(fd)"),
    case("import subprocess\ncodes = (subprocess.PIPE, subprocess.STDOUT)"),
    case("import signal\nsig = signal.SIGINT"),
    case("import os\nsize = os.path.getsize('x')"),
    # Harmless calls into risky modules.
    case("import os\nos.path.exists('data')\nos.path.join('a', 'b')"),
    case("import os\nnames = os.listdir('.')\ncwd = os.getcwd()"),
    case("import shutil\nshutil.which('git')"),
    case("import json\njson.loads(s)"),
    case("eval('1+1')"),
    case("import importlib\nimportlib.import_module('json')"),
    case("import os\nos.environ['MY_FLAG'] = '1'\ndel os.environ['MY_FLAG']"),
    case("import os\nos.environ.setdefault('LITELLM_LOCAL_MODEL_COST_MAP', 'True')"),
    case("import os\nprint(os.path.exists('~/.ssh'))"),
    case("import subprocess\ntry:\n    pass\nexcept subprocess.CalledProcessError:\n    pass"),
    # IPython catches SystemExit: the cell stops, the kernel lives on.
    case("import sys\nsys.exit()"),
    case("raise SystemExit"),
    # Harmless magics.
    case("%matplotlib inline"),
    case("%timeit sum(range(10))"),
    case("%timeit -n 100 -r 3 df.groupby('k').sum()"),
    case("%%prun -s cumtime\nf()\n"),
    case("%time x = 1"),
    case("%load_ext autoreload"),
    case("%env MY_VAR=1"),
    case("%pip list"),
    case("%%time\ndf.describe()\n"),
    case("%%html\n<b>hello</b>\n"),
    case("x = (10\n     % 3)"),  # Python, not a magic
    # Names of magics used as Python: assigned, with a dot, or bound by the user.
    case("cd = '/'"),
    case("save, load = 1, 2"),
    case("import time\ntime.sleep(1)"),
    case("time.sleep(1)"),
]


@pytest.mark.parametrize(("code", "categories", "reason", "line"), RISKY + BENIGN)
def test_corpus(notebook: Path, code, categories, reason, line):
    flags = review_cell(code, notebook_dir=notebook)
    assert {f.category.value for f in flags} == categories, flags
    if reason is not None or line is not None:
        assert any(
            (reason is None or reason in f.reason) and line in (None, f.line) for f in flags
        ), flags


def test_the_corpus_is_large_and_every_case_can_fail():
    assert len(RISKY) + len(BENIGN) >= 60
    assert len(BENIGN) >= 40
    assert all(p.values[1] for p in RISKY)  # each expects a flag: an empty review fails it
    assert not any(p.values[1] for p in BENIGN)  # each expects none: flagging all fails it
    covered = set().union(*(p.values[1] for p in RISKY))
    assert covered == {c.value for c in Category}


def test_the_rules_table_decides(monkeypatch):
    code = "import os\nos.system('ls')"
    assert [f.category for f in review_cell(code)] == [Category.SHELL]
    monkeypatch.delitem(risk_rules.CALLS, "os.system")
    risk_rules.call_rule.cache_clear()
    try:
        assert review_cell(code) == []
    finally:
        monkeypatch.undo()
        risk_rules.call_rule.cache_clear()


def test_constants_of_risky_modules_are_not_functions_passed_along():
    flags = review_cell("import signal\nsignal.signal(signal.SIGINT, handler)")
    assert [f.reason for f in flags] == [
        "signal.signal(signal.SIGINT, handler) changes how signals (the stop button) reach "
        "the kernel"
    ]
    flags = review_cell("import socket\nsocket.socket(socket.AF_INET)")
    assert [f.category for f in flags] == [Category.NETWORK]


def test_flag_shape():
    flag = review_cell("import shutil\nshutil.rmtree('data')")[0]
    assert flag == RiskFlag(
        Category.DELETE_FILES, "shutil.rmtree('data') deletes a whole directory tree", 2
    )
    assert str(flag) == "line 2: shutil.rmtree('data') deletes a whole directory tree"
    with pytest.raises(dataclasses.FrozenInstanceError):
        flag.line = 3  # type: ignore[misc]
    assert json.dumps(flag.category) == '"delete_files"'
    assert [c.value for c in Category] == [
        "delete_files",
        "overwrite_files",
        "shell",
        "network",
        "install",
        "secrets",
        "dynamic_code",
        "processes",
        "outside_dir",
    ]


# ---- What the review cannot see (docs/risk.md must say so) ----------------------------------

BLIND_SPOTS = {
    "getattr": "import os\ngetattr(os, 'rem' + 'ove'[:3] + suffix)('notes.txt')",
    "imported modules": "import cleanup_helpers\ncleanup_helpers.run()",
    "pickle": "import pickle\nmodel = pickle.load(open('model.pkl', 'rb'))",
    "C extensions": "import fastlib\nfastlib.process('data')",
    "function arguments": "def export(path):\n    open(path, 'w').write('x')\nexport('report.csv')",
    "paths known only at run time": "open(output_path, 'w').write('x')",
    "temporary folder": "import os, shutil, tempfile\n"
    "shutil.rmtree(os.path.join(tempfile.mkdtemp(), name))",
    "credential files handed to other functions": "upload('.env')",
    "archive members": "import tarfile\ntarfile.open('a.tar').extractall('new_folder')",
    "where links point": "import os\nos.symlink('/etc/passwd', 'link')",
}


@pytest.mark.parametrize("name", BLIND_SPOTS)
def test_known_blind_spots_are_not_flagged_and_are_documented(notebook: Path, name: str):
    assert review_cell(BLIND_SPOTS[name], notebook_dir=notebook) == []
    assert name.lower() in DOCS.read_text().lower(), f"docs/risk.md does not mention {name!r}"


# ---- Names resolved through the user's namespace --------------------------------------------


class ExitAutocall:  # the shape of IPython's ``exit`` in a kernel namespace
    pass


@pytest.mark.parametrize(
    ("namespace", "code", "category", "reason"),
    [
        ({"o": os}, "o.remove('x')", "delete_files", "os.remove('x')"),
        ({"rm": shutil.rmtree}, "rm('data')", "delete_files", "shutil.rmtree('data')"),
        ({"run": subprocess.run}, "run(['ls'])", "shell", "subprocess.run(['ls'])"),
        ({"system": os.system}, "system('ls')", "shell", "os.system('ls')"),
        ({"env": os.environ}, "env['API_TOKEN']", "secrets", "reads an environment variable"),
        ({"exit": ExitAutocall()}, "exit", "processes", "shuts down the kernel"),
    ],
)
def test_names_from_earlier_cells(namespace, code, category, reason):
    flags = review_cell(code, namespace=namespace)
    assert [f.category.value for f in flags] == [category], flags
    assert reason in flags[0].reason


def test_functions_from_other_modules_resolve_through_their_module():
    requests = pytest.importorskip("requests")
    flags = review_cell("get(url)", namespace={"get": requests.get})
    assert [f.category for f in flags] == [Category.NETWORK]
    session = requests.Session()
    try:
        flags = review_cell("s.get(u)", namespace={"s": session})
        assert [f.category for f in flags] == [Category.NETWORK]
    finally:
        session.close()


def test_a_namespace_name_bound_to_something_harmless_is_not_flagged():
    assert review_cell("os.remove(1)", namespace={"os": [1, 2]}) == []
    assert review_cell("requests.get(1)", namespace={"requests": {1: 2}}) == []
    assert review_cell("os.remove(1)") != []  # unbound: taken as the os module


def test_paths_and_strings_from_earlier_cells(notebook: Path):
    namespace = {"p": notebook / "notes.txt", "name": "report.csv", "new": notebook / "n.txt"}

    def categories(code: str) -> list[Category]:
        return [f.category for f in review_cell(code, namespace=namespace, notebook_dir=notebook)]

    assert categories("p.unlink()") == [Category.DELETE_FILES]
    assert categories("p.write_text('x')") == [Category.OVERWRITE_FILES]
    assert categories("open(name, 'w')") == [Category.OVERWRITE_FILES]
    assert categories("new.write_text('x')") == []


def test_an_odd_namespace_never_breaks_the_review():
    class Hostile(dict):
        def __contains__(self, key):
            raise RuntimeError("no")

    class Weird:
        def __getattr__(self, name):
            raise RuntimeError(name)

    flags = review_cell("os.remove(x)\nreset", namespace=Hostile())
    assert [f.category for f in flags] == [Category.DELETE_FILES]  # os taken as the module
    flags = review_cell("w.remove(x)\nw.unlink()", namespace={"w": Weird()})
    assert [(f.category, f.line) for f in flags] == [(Category.DELETE_FILES, 2)]


REVIEW_IN_KERNEL = """\
import json
from jupyter_agents.safety.risk import review_cell
namespace = get_ipython().user_ns
print(json.dumps({c: sorted(f.category.value for f in review_cell(c, namespace=namespace))
                  for c in CASES}))
"""
IN_KERNEL = {
    "!ls": ["shell"],
    "x = !ls": ["shell"],
    "%pip install x": ["install"],
    "pip install x": ["install"],
    "%%bash\nrm -rf data": ["delete_files", "shell"],
    "exit": ["processes"],
    "o.remove(name)": ["delete_files"],
    "p.unlink()": ["delete_files"],
    "p.write_text('x')": ["overwrite_files"],
    "rm('data')": ["delete_files"],
    "ip.system('ls')": ["shell"],
    "total = sum(values)": [],
    "p.read_text()": [],
}


def test_in_a_real_kernel_with_its_namespace(tmp_path: Path):
    """The review as the approval gate runs it: in the kernel, on the user's namespace.

    There ``get_ipython`` is a bound method and ``exit`` an ExitAutocall, not the names the
    rules use; earlier cells have bound ``o``, ``p``, ``rm`` and ``ip``.
    """
    from tests.support.kernel import KernelHarness

    (tmp_path / "notes.txt").write_text("keep me")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IPYTHON", "JUPYTER_AGENTS"))}
    env["IPYTHONDIR"] = str(tmp_path / ".ipython")
    kernel = KernelHarness(env, cwd=str(tmp_path), widget_frontend=False)
    try:
        setup = kernel.execute(
            "import os as o, shutil\nfrom pathlib import Path\n"
            "p, rm, ip, values = Path('notes.txt'), shutil.rmtree, get_ipython(), [1]\n"
            f"CASES = {list(IN_KERNEL)!r}"
        )
        assert setup.status == "ok", setup.error_text
        run = kernel.execute(REVIEW_IN_KERNEL)
        assert run.status == "ok", run.error_text
        assert json.loads(run.stdout) == IN_KERNEL
    finally:
        kernel.shutdown()


# ---- Existing versus new paths -----------------------------------------------------------------


def test_overwrite_only_when_the_literal_path_exists(tmp_path: Path):
    code = "open('a.txt', 'w').write('x')"
    assert review_cell(code, notebook_dir=tmp_path) == []
    (tmp_path / "a.txt").write_text("precious")
    flags = review_cell(code, notebook_dir=tmp_path)
    assert [f.category for f in flags] == [Category.OVERWRITE_FILES]
    assert "open('a.txt', 'w') overwrites the existing file" in flags[0].reason


def test_paths_are_relative_to_the_notebook_folder(tmp_path: Path, monkeypatch):
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "a.txt").write_text("x")
    monkeypatch.chdir(tmp_path)
    assert review_cell("open('a.txt', 'w')") == []  # cwd has no a.txt
    assert review_cell("open('a.txt', 'w')", notebook_dir=tmp_path / "nb") != []
    assert review_cell("open('a.txt', 'w')", notebook_dir=str(tmp_path / "nb")) != []
    monkeypatch.chdir(tmp_path / "nb")
    assert [f.category for f in review_cell("open('a.txt', 'w')")] == [Category.OVERWRITE_FILES]


def test_outside_the_folder(tmp_path: Path):
    nb = tmp_path / "nb"
    nb.mkdir()
    for code in [
        "open('../x', 'w')",
        "open('/etc/x', 'w')",
        "open('~/x', 'w')",
        "open('sub/../../x', 'w')",
        "open(f'../{name}', 'w')",
        "!cp a.txt ../b.txt",
        "!echo x >> /tmp/log",
    ]:
        assert Category.OUTSIDE_DIR in {f.category for f in review_cell(code, notebook_dir=nb)}
    for code in ["open('sub/../x', 'w')", "open('./x', 'w')", "open(f'sub/{name}', 'w')"]:
        assert review_cell(code, notebook_dir=nb) == []
    assert review_cell("!cp a.txt b.txt", notebook_dir=nb) == [
        RiskFlag(Category.SHELL, "!cp a.txt b.txt runs a shell command", 1)
    ]


def test_a_symlink_out_of_the_folder_counts_as_outside(tmp_path: Path):
    nb, elsewhere = tmp_path / "nb", tmp_path / "elsewhere"
    nb.mkdir()
    elsewhere.mkdir()
    (nb / "link").symlink_to(elsewhere)
    flags = review_cell("open('link/x.txt', 'w')", notebook_dir=nb)
    assert [f.category for f in flags] == [Category.OUTSIDE_DIR]


# ---- IPython syntax ------------------------------------------------------------------------------


def test_shell_escape_reports_the_command_and_what_it_does(notebook: Path):
    flags = review_cell("x = 1\n!rm -rf data && pip install foo", notebook_dir=notebook)
    assert [(f.category, f.line) for f in flags] == [
        (Category.DELETE_FILES, 2),
        (Category.SHELL, 2),
        (Category.INSTALL, 2),
    ]
    assert flags[1].reason == "!rm -rf data && pip install foo runs a shell command"


def test_cell_magic_lines_point_into_the_body():
    flags = review_cell("\n%%bash\necho hi\nrm -rf x\ncurl http://x \\\n  -o y\nkill 1\n")
    assert [(f.category, f.line) for f in flags] == [
        (Category.SHELL, 2),
        (Category.DELETE_FILES, 4),
        (Category.NETWORK, 5),
        (Category.PROCESSES, 7),
    ]


def test_lines_survive_ipython_joining_continuations():
    flags = review_cell("\n\nx = 1\n!ls \\\n  -l\nimport os\nos.remove('a')")
    assert [(f.category, f.line) for f in flags] == [
        (Category.SHELL, 4),
        (Category.DELETE_FILES, 7),
    ]


def test_lines_survive_prompts_and_indentation_that_ipython_strips():
    for code in [">>> import os\n>>> os.remove('x')", "    import os\n    os.remove('x')"]:
        assert [(f.category, f.line) for f in review_cell(code)] == [(Category.DELETE_FILES, 2)]


def test_pip_magic_and_friends():
    for code in [
        "%pip install -U pandas",
        "%pip uninstall -y x",
        "%conda install x",
        "%mamba install x",
        "%uv pip install x",
        "!uv pip install x",
        "!python -m pip install x",
        "!conda env update -f env.yml",
    ]:
        assert Category.INSTALL in {f.category for f in review_cell(code)}, code
    for code in ["%pip list", "%pip show pandas", "%conda list", "!pip freeze"]:
        assert Category.INSTALL not in {f.category for f in review_cell(code)}, code


def test_automagic_respects_names_the_user_has_bound():
    assert [f.category for f in review_cell("reset")] == [Category.PROCESSES]
    assert review_cell("reset", namespace={"reset": 1}) == []
    assert review_cell("rm = 3") == []
    assert review_cell("pip == 3") == []
    assert review_cell("exit", namespace={"exit": 0}) == []  # the user's own exit


def test_magics_called_from_python_with_literals_are_reviewed():
    flags = review_cell("get_ipython().run_cell_magic('bash', '', 'rm -rf x\\n')")
    assert {f.category for f in flags} == {Category.SHELL, Category.DELETE_FILES}
    assert {f.line for f in flags} == {1}
    flags = review_cell("get_ipython().magic('pip install x')")
    assert [f.category for f in flags] == [Category.INSTALL]


def test_nesting_is_followed_then_flagged():
    assert [f.category for f in review_cell("exec(\"exec('import os; os.remove(1)')\")")] == [
        Category.DELETE_FILES
    ]
    deep = "1"
    for _ in range(6):
        deep = f"exec({deep!r})"
    flags = review_cell(deep)
    assert [f.category for f in flags] == [Category.DYNAMIC_CODE]
    assert "nested this deeply" in flags[0].reason


# ---- Never raises, always the same answer, fast enough ----------------------------------------

GARBAGE = [
    "",
    " ",
    "\n\n",
    "def f(:",
    "\x00",
    "%%",
    "%%bash",
    "!",
    "%",
    "?",
    "((((" * 100,
    "x = " + "[" * 300,
    "1" + "+1" * 3000,
    "a.b." * 200 + "c()",
    "\udcff",
    "'''",
    "\\",
    "%%writefile",
    "%pip",
    "!!",
    "%%script",
    "exec()",
    "open()",
    "os.remove()",
    "get_ipython().system()",
    "get_ipython().run_cell_magic()",
    "shutil.move('a')",
    "import os\nos.remove(*args, **kw)",
    "subprocess.run([])",
    "!'",
    '!"unbalanced',
]


@pytest.mark.parametrize("code", GARBAGE)
def test_garbage_never_raises(code: str):
    flags = review_cell(code)
    assert isinstance(flags, list) and all(isinstance(f, RiskFlag) for f in flags)


def test_hidden_text_direction_and_invisible_characters_are_flagged_on_their_lines():
    code = "x = 1\n# ok \u202e } if ok:\u2066\ny = 'admin\u200b'\nz = '\u202a' + '\u2069'"
    assert [(f.category.value, str(f)) for f in review_cell(code)] == [
        ("dynamic_code", "line 2: hidden text-direction characters (U+202E, U+2066): the code "
         "runs in another order than it reads"),
        ("dynamic_code", "line 3: invisible characters (U+200B): the code holds text that does "
         "not show"),
        ("dynamic_code", "line 4: hidden text-direction characters (U+202A, U+2069): the code "
         "runs in another order than it reads"),
    ]  # fmt: skip
    assert review_cell("name = 'Ünïcödé → 東京'  # quotes and arrows are visible") == []


def test_non_string_input_gives_no_flags():
    assert review_cell(None) == []  # type: ignore[arg-type]
    assert review_cell(b"!rm -rf /") == []  # type: ignore[arg-type]


UNREADABLE = [
    ("import shutil\nshutil.rmtree('data')\ndef broken(:", 3, "it does not parse as Python"),
    ("x = 1\nassert 1 <> 2", 2, "it does not parse as Python"),  # needs barry_as_FLUFL
    ("x = " + "-" * 5000 + "1", 1, "nested too deeply"),
    ("x = " + "+".join(["1"] * 100000), 1, "nested too deeply"),
]


@pytest.mark.parametrize(("code", "line", "reason"), UNREADABLE)
def test_a_cell_the_review_cannot_read_is_flagged_not_passed(code: str, line: int, reason: str):
    """Fail closed: what the review cannot read waits for a person under --approve risky."""
    flags = review_cell(code)
    assert [(f.category, f.line) for f in flags] == [(Category.DYNAMIC_CODE, line)]
    assert flags[0].reason.startswith("could not be analysed: ") and reason in flags[0].reason


def test_a_review_that_takes_too_long_is_flagged():
    cell = "\n".join(f"x{i} = os.path.join(a, b, c)" for i in range(3000))
    flags = review_cell(cell, time_limit=0.001)
    assert [f.reason for f in flags] == ["could not be analysed: the review took longer than "
                                         "0.001 s; read it"]  # fmt: skip
    assert review_cell(cell) == []


def test_code_inside_that_cannot_be_read_is_flagged_where_it_is():
    flags = review_cell("x = 1\nexec('def broken(:')")
    assert [(f.line, f.reason[:34]) for f in flags] == [(2, "could not be analysed: code inside")]


def test_a_failing_review_says_so_instead_of_passing_the_cell(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(risk_rules, "call_rule", broken)
    flags = review_cell("import os\nos.remove('x')")
    assert [f.category for f in flags] == [Category.DYNAMIC_CODE]
    assert flags[0].reason.startswith(
        "could not be analysed: the risk review failed (RuntimeError)"
    )


FRAGMENTS = [
    "import os",
    "import shutil as sh",
    "from pathlib import Path",
    "os.remove(p)",
    "sh.rmtree('x')",
    "p = Path('x')",
    "p.unlink()",
    "!rm -rf x",
    "%pip install a",
    "%%bash\n",
    "exec(s)",
    "eval('1')",
    "for f in Path('.').glob('*'):",
    "    f.unlink()",
    "with open('a', 'w') as f:",
    "    pass",
    "x = !ls",
    "os.environ['K']",
    "(",
    ")",
    "'",
    '"""',
    "\\",
    "%time ",
    "get_ipython().run_cell_magic('sh', '', s)",
    "def g(os):",
    "lambda p: p.unlink()",
    "[q.kill() for q in psutil.process_iter()]",
    "f'{x!r}/{y:>3}'",
    "$x",
    "{y}",
    "#",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_arbitrary_text_never_raises(code: str):
    flags = review_cell(code)
    assert isinstance(flags, list) and all(isinstance(f, RiskFlag) for f in flags)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=12), st.sampled_from(["\n", " ", ";"]))
def test_pieces_of_real_cells_never_raise(parts: list[str], sep: str):
    code = sep.join(parts)
    flags = review_cell(code)
    assert isinstance(flags, list) and all(isinstance(f, RiskFlag) for f in flags)
    assert flags == review_cell(code)
    assert all(f.line >= 1 and "\n" not in f.reason for f in flags)
    assert not any("the risk review failed" in f.reason for f in flags)


def test_same_cell_same_flags_in_line_order_without_duplicates(notebook: Path):
    code = (
        "import os, shutil, subprocess\n"
        "os.remove('a'); os.remove('a')\n"
        "!rm -rf b\n"
        "subprocess.run('rm -rf c', shell=True)\n"
        "shutil.rmtree('d')\n"
        "exec(s)\n"
    )
    first = review_cell(code, notebook_dir=notebook)
    assert first == review_cell(code, notebook_dir=notebook)
    assert len(first) == len(set(first))
    keys = [(f.line, list(Category).index(f.category), f.reason) for f in first]
    assert keys == sorted(keys)
    assert [f.line for f in first] == [2, 3, 3, 4, 4, 5, 6]


def test_a_long_cell_is_reviewed_to_its_last_line(notebook: Path):
    """How fast is for the benchmarks; here, that 300 lines are all read and placed."""
    lines = [
        line
        for i in range(100)
        for line in (
            f"df{i} = pd.read_csv('data/part{i}.csv')",
            f"summary{i} = df{i}.groupby('k').sum()",
            f"summary{i}.to_csv('out/summary{i}.csv')",
        )
    ]
    lines[149] = "df.to_csv('report.csv')"
    lines.append("!rm -rf data")
    flags = review_cell("\n".join(lines), notebook_dir=notebook)
    assert [(f.category, f.line) for f in flags] == [
        (Category.OVERWRITE_FILES, 150),
        (Category.DELETE_FILES, 301),
        (Category.SHELL, 301),
    ]
