"""What the risk review knows: which calls and magics do what.

Why a separate module: :mod:`.risk` is the mechanism (read a cell the way IPython
runs it, follow names through the AST, check paths on disk); this module is the knowledge. As
tables, each risky function or magic is one line that a reviewer can read, dispute or extend
without touching the walk. Shell programs (``rm``, ``curl``, ``pip``) are in
:mod:`.risk_shell`, with the reading of command lines they serve.

Names are dotted names as Python resolves them (``shutil.rmtree``, ``pathlib.Path.unlink``),
after aliases are looked through; a ``*`` makes a :mod:`fnmatch` pattern. Methods of objects the
review follows are named after the object: ``shell`` is ``get_ipython()``, ``kernel`` is its
kernel, ``psutil.Process`` is an object made by a call listed in :data:`CONSTRUCTORS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache

from ..core.risk_flags import Category

DELETE, OVERWRITE, SHELL, NETWORK, INSTALL, SECRETS, DYNAMIC, PROCESSES, OUTSIDE = Category


@dataclass(frozen=True)
class CallRule:
    """What calling a name does, and how its arguments are read.

    ``check`` picks the visitor's ``_check_<check>`` method: ``plain`` flags every call;
    ``delete``, ``write``, ``create``, ``link``, ``move``, ``copy``, ``open``, ``osopen``,
    ``extract``, ``archive`` and ``inplace`` read the path arguments (an existing file, a
    folder outside the notebook's); ``fdopen`` flags a mode that writes; ``chdir`` names the
    new working directory; ``command`` reads the shell
    command, ``exec`` too and says the kernel is replaced; ``code`` and ``import`` flag only
    what is built at run time; ``magic`` reviews the magic.
    """

    category: Category
    effect: str
    check: str = "plain"


def _table(rows: list[tuple[Category, str, str, str]]) -> dict[str, CallRule]:
    """Rows of (category, check, effect, space-separated names) as one rule per name."""
    return {
        n: CallRule(c, effect, check) for c, check, effect, names in rows for n in names.split()
    }


_DOWNLOADS = "downloads data from the internet"

#: Exact names win; patterns are tried in order, after :data:`NOT_RISKY`.
CALLS = _table([
    (DELETE, "delete", "deletes a whole directory tree", "shutil.rmtree"),
    (DELETE, "delete", "deletes a file", "os.remove os.unlink pathlib.Path.unlink"),
    (DELETE, "delete", "deletes a directory", "os.rmdir os.removedirs pathlib.Path.rmdir"),
    (OVERWRITE, "write", "replaces the file's contents",
     "pathlib.Path.write_text pathlib.Path.write_bytes os.truncate"),
    (OVERWRITE, "open", "opens a file", "open codecs.open pathlib.Path.open gzip.open bz2.open "
     "lzma.open FileIO gzip.GzipFile bz2.BZ2File lzma.LZMAFile numpy.memmap shelve.open "
     "dbm.open dbm.*.open"),
    (OVERWRITE, "fdopen", "writes to a file opened elsewhere", "os.fdopen"),
    (OVERWRITE, "inplace", "rewrites files in place", "fileinput.input fileinput.FileInput"),
    (OVERWRITE, "plain", "changes a file's permissions, owner or times", "os.chmod os.lchmod "
     "os.fchmod os.chown os.lchown os.fchown os.utime os.chflags shutil.chown shutil.copymode "
     "shutil.copystat pathlib.Path.chmod pathlib.Path.lchmod"),
    (OVERWRITE, "plain", "cuts or rewrites an open file", "os.ftruncate os.pwrite os.pwritev "
     "os.sendfile os.copy_file_range os.posix_fallocate mmap.mmap"),
    (OVERWRITE, "open", "opens an archive", "zipfile.ZipFile tarfile.open tarfile.TarFile "
     "tarfile.TarFile.open"),
    (OVERWRITE, "open", "opens a data file", "h5py.File pandas.HDFStore netCDF4.Dataset"),
    (OVERWRITE, "osopen", "opens a file", "os.open"),
    (OVERWRITE, "extract", "extracts an archive", "shutil.unpack_archive "
     "zipfile.ZipFile.extract zipfile.ZipFile.extractall tarfile.TarFile.extract "
     "tarfile.TarFile.extractall"),
    (OVERWRITE, "archive", "makes an archive", "shutil.make_archive"),
    (OVERWRITE, "move", "moves a file", "shutil.move os.rename os.renames os.replace "
     "pathlib.Path.rename pathlib.Path.replace"),
    (OVERWRITE, "copy", "copies files", "shutil.copy shutil.copy2 shutil.copyfile shutil.copytree"),
    (OUTSIDE, "create", "creates files or folders", "os.mkdir os.makedirs os.mkfifo os.mknod "
     "pathlib.Path.mkdir pathlib.Path.touch pathlib.Path.symlink_to pathlib.Path.hardlink_to"),
    (OUTSIDE, "link", "creates a link", "os.symlink os.link"),  # (src, dst): dst is made
    (OUTSIDE, "chdir", "changes the working directory", "os.chdir os.fchdir contextlib.chdir"),
    (SHELL, "command", "runs a shell command", "os.system os.popen shell.system "
     "shell.system_raw shell.system_piped shell.getoutput asyncio.create_subprocess_shell"),
    (SHELL, "command", "runs a program", "subprocess.* os.spawn* os.posix_spawn* "
     "pty.spawn asyncio.create_subprocess_exec pexpect.spawn pexpect.run"),
    (SHELL, "command", "runs a shell command", "IPython.utils.process.system "
     "IPython.utils.process.getoutput IPython.utils.process.getoutputerror"),
    (SHELL, "exec", "runs a program", "os.exec*"),
    (SHELL, "plain", "starts a copy of the kernel process", "os.fork os.forkpty"),
    (INSTALL, "plain", "installs packages from inside Python",
     "pip.main pip._internal*main ensurepip.* conda.cli.* spacy.cli.download micropip.install"),
    (SECRETS, "plain", "reads an environment variable", "os.getenv os.getenvb os.environ.get "
     "os.environ.pop os.environ.copy os.environ.items os.environ.values os.environ.keys "
     "os.environb.get os.environb.pop os.environb.copy os.environb.items os.environb.values "
     "os.environb.keys os.environ.__getitem__ os.environb.__getitem__"),
    (SECRETS, "plain", "loads secrets from a .env file", "dotenv.*"),
    (SECRETS, "plain", "reads saved passwords from the system keyring", "keyring.*"),
    (SECRETS, "plain", "reads saved logins (~/.netrc)", "netrc.*"),
    (SECRETS, "plain", "reads cloud credentials", "google.auth.default"),
    (DYNAMIC, "code", "runs code", "exec eval compile shell.run_cell shell.run_cell_async "
     "shell.ex shell.ev shell.run_code shell.run_ast_nodes"),
    (DYNAMIC, "import", "imports a module", "__import__ importlib.import_module"),
    (DYNAMIC, "plain", "runs a Python file or module this review does not read",
     "runpy.* shell.safe_execfile shell.safe_execfile_ipy shell.safe_run_module"),
    (DYNAMIC, "plain", "calls C code this review cannot see",
     "ctypes.CDLL ctypes.PyDLL ctypes.cdll.* ctypes.pydll.* ctypes.pythonapi.*"),
    (DYNAMIC, "plain", "runs JavaScript in your browser, which can reach the Jupyter server",
     "IPython*.display.Javascript"),
    (DYNAMIC, "magic", "runs a magic", "shell.run_line_magic shell.run_cell_magic shell.magic"),
    (PROCESSES, "plain", "sends a signal to a process, usually to stop it",
     "os.kill os.killpg psutil.Process.send_signal subprocess.Popen.send_signal"),
    (PROCESSES, "plain", "stops a process", "psutil.Process.kill psutil.Process.terminate "
     "psutil.Process.suspend subprocess.Popen.kill subprocess.Popen.terminate "
     "multiprocessing*.Process.kill multiprocessing*.Process.terminate"),
    (PROCESSES, "plain", "stops the kernel at once; every variable is lost", "os._exit os.abort"),
    (PROCESSES, "plain", "shuts down the kernel; every variable is lost",
     "exit quit shell.ask_exit kernel.do_shutdown"),
    (PROCESSES, "plain", "deletes every variable in the kernel", "shell.reset"),
    (PROCESSES, "plain", "changes how signals (the stop button) reach the kernel", "signal.*"),
    (NETWORK, "plain", "opens a web page in a browser", "webbrowser.*"),
    (NETWORK, "plain", "can send email", "smtplib.*"),
    (NETWORK, "plain", _DOWNLOADS, "sklearn.datasets*.fetch_* seaborn*.load_dataset "
     "nltk.download *.utils.get_file torch.hub.* huggingface_hub.* datasets.load_dataset "
     "keras.datasets.*.load_data tensorflow.keras.datasets.*.load_data "
     "tensorflow_datasets.load gdown.* wget.download"),
    (NETWORK, "plain", "serves on the network", "http.server.* socketserver.*"),
    (NETWORK, "plain", "talks to the network", "requests.* httpx.* urllib.request.* urllib3.* "
     "http.client.* socket.* aiohttp.* ftplib.* poplib.* imaplib.* telnetlib.* paramiko.* "
     "xmlrpc.client.* websocket.* websockets.* pycurl.* boto3.* openai.* anthropic.* "
     "litellm.*"),
])  # fmt: skip

#: Names under a risky pattern that are harmless: exceptions, helpers, waiting on a child.
NOT_RISKY = (
    "requests.exceptions.* requests.utils.* requests.structures.* requests.models.* httpx.URL "
    "httpx._models.* socket.gethostname socket.inet_* socket.hton* socket.ntoh* "
    "subprocess.CalledProcessError subprocess.TimeoutExpired subprocess.list2cmdline "
    "subprocess.Popen.* subprocess.CompletedProcess.* signal.getsignal signal.Signals "
    "signal.strsignal urllib.request.pathname2url urllib.request.url2pathname"
).split()


@lru_cache(maxsize=4096)
def call_rule(name: str) -> CallRule | None:
    """The rule for a resolved dotted name, or None when calling it is not flagged."""
    if name in CALLS:
        return CALLS[name]
    if any(fnmatchcase(name, pattern) for pattern in NOT_RISKY):
        return None
    return next((r for p, r in CALLS.items() if "*" in p and fnmatchcase(name, p)), None)


#: Methods specific enough to flag on any object, even one the review cannot follow (a
#: function's parameter, an object from a library): ``path.unlink()``, ``proc.kill()``.
METHODS = {
    "unlink": CallRule(DELETE, "deletes a file, if it is a path", "delete"),
    "rmtree": CallRule(DELETE, "deletes a whole directory tree", "delete"),
    "kill": CallRule(PROCESSES, "stops a process, if it is one"),
    "terminate": CallRule(PROCESSES, "stops a process, if it is one"),
    "send_signal": CallRule(PROCESSES, "sends a signal to a process"),
    "do_shutdown": CallRule(PROCESSES, "shuts down the kernel, if it is one"),
    "shutdown_kernel": CallRule(PROCESSES, "shuts down a kernel, if it is a kernel manager"),
    "restart_kernel": CallRule(PROCESSES, "restarts a kernel, if it is a kernel manager"),
    "extractall": CallRule(OVERWRITE, "extracts an archive, if it is one", "extract"),
}

#: The mode of an ``open``-like call that is given none, where it is not "r".
DEFAULT_MODES = {"shelve.open": "c", "os.fdopen": "r"}
#: Mode letters that write: files' ``w a x +``, and dbm's ``c`` (create) and ``n`` (new).
WRITE_MODE_LETTERS = set("waxcn+")

#: Calls whose result the review follows, so that their methods match rules above.
CONSTRUCTORS = set(
    "psutil.Process psutil.process_iter subprocess.Popen multiprocessing.Process "
    "requests.Session httpx.Client httpx.AsyncClient aiohttp.ClientSession socket.socket "
    "socket.create_connection ftplib.FTP smtplib.SMTP smtplib.SMTP_SSL paramiko.SSHClient "
    "http.client.HTTPConnection http.client.HTTPSConnection urllib3.PoolManager "
    "zipfile.ZipFile tarfile.TarFile".split()
)
#: Calls whose result the review follows as an object of another kind.
RETURNS = {
    "tarfile.open": "tarfile.TarFile",
    "tarfile.TarFile.open": "tarfile.TarFile",
    "ipykernel.kernelapp.IPKernelApp.instance": "ipykernel.kernelapp.IPKernelApp",
}
#: Attributes of followed objects that are followed objects too: (kind, attribute) -> kind.
ATTRIBUTES = {
    ("shell", "kernel"): "kernel",
    ("ipykernel.kernelapp.IPKernelApp", "kernel"): "kernel",
    ("ipykernel.kernelapp.IPKernelApp", "shell"): "shell",
}
#: What a name means when neither the cell nor the namespace binds it: the usual imports.
USUAL_NAMES = {"Path": "pathlib.Path", "pd": "pandas", "np": "numpy"}
#: Modules as ``__module__`` names them, mapped to the name users import ("" for builtins).
MODULE_ALIASES = {
    "posix": "os", "nt": "os", "posixpath": "os.path", "ntpath": "os.path",
    "genericpath": "os.path", "_socket": "socket", "io": "", "_io": "", "builtins": "",
    "_codecs": "codecs", "_bz2": "bz2", "_lzma": "lzma", "_gzip": "gzip",
    "__builtins__": "", "pathlib._local": "pathlib", "IPython.core.getipython": "",
}  # fmt: skip
#: Names normalised to the one the rules use (the class whose methods the rules name).
NAME_ALIASES = {
    "pathlib.PosixPath": "pathlib.Path", "pathlib.WindowsPath": "pathlib.Path",
    "pathlib.PurePath": "pathlib.Path", "pathlib.PurePosixPath": "pathlib.Path",
    "IPython.get_ipython": "get_ipython", "ipykernel.ipkernel.IPythonKernel": "kernel",
    "ipykernel.kernelbase.Kernel": "kernel",
}  # fmt: skip


#: Attributes that are the function itself, called another way (``os.system.__call__``).
SAME_FUNCTION = (".__call__", ".__func__", ".__wrapped__")


@lru_cache(maxsize=4096)
def normal(name: str) -> str:
    """The name the rules use for a dotted name (``posix.remove`` -> ``os.remove``)."""
    while name.endswith(SAME_FUNCTION):  # a method-wrapper calls the function it wraps
        name = name.rpartition(".")[0]
    for module, alias in MODULE_ALIASES.items():
        if name.startswith(module + "."):
            name = f"{alias}.{name[len(module) + 1 :]}".lstrip(".")
            break
    for old, new in NAME_ALIASES.items():
        if name == old or name.startswith(old + "."):
            return new + name[len(old) :]
    return name


#: Methods and functions, by their last name, that write the file their path argument names.
WRITERS = set(
    "to_csv to_excel to_parquet to_json to_pickle to_feather to_hdf to_stata to_orc to_xml "
    "to_html to_latex to_markdown to_netcdf to_zarr to_file savefig write_image write_html "
    "save savez savez_compressed savetxt dump imwrite imsave".split()
)
#: Where a writer takes its file when it is not first, by dotted name or by last name:
#: ``json.dump(obj, fp)``, ``joblib.dump(model, "m.pkl")``, ``torch.save(obj, f)``.
WRITER_FILE_INDEX = {"dump": 1, "torch.save": 1, "plotly.io.write_image": 1,
                     "plotly.io.write_html": 1}  # fmt: skip


def writer_file_index(name: str, function: bool) -> int:
    """Which argument of a writer names its file; ``function``: not a method of an object."""
    if name in WRITER_FILE_INDEX:
        return WRITER_FILE_INDEX[name]
    return WRITER_FILE_INDEX.get(name.rpartition(".")[2], 0) if function else 0


#: Keywords under which writers and readers take their path.
PATH_KEYWORDS = set(
    "path_or_buf path excel_writer fname file filename filepath_or_buffer io url f uri".split()
)
#: Functions whose every string argument is a path (a credential file given to them is
#: flagged); elsewhere only the path arguments of file calls, readers and writers count, and
#: the path a ``Path`` method is called on, so that ``name.endswith(".env")`` or
#: ``d.get("primary.key")`` are no flag.
PATH_FUNCTIONS = "os.* shutil.* glob.* tarfile.* zipfile.*".split()
#: Readers that accept a URL (``pd.read_csv("https://...")``), by their last name.
READER_NAME = re.compile(r"^(read(_\w+)?|load\w*|open_\w+|imread|genfromtxt|urlopen)$")
URL = re.compile(r"^(https?|ftp|s3|gs|gcs|az|abfss?|hf)://", re.I)

#: Well-known files that hold credentials, matched against the path with ``/`` separators.
CREDENTIAL_PATHS = [
    (re.compile(pattern), what)
    for pattern, what in [
        (r"(^|/)\.ssh(/|$)", "SSH keys"),
        (r"(^|/)id_(rsa|dsa|ecdsa|ed25519)$", "an SSH private key"),
        (r"(^|/)\.aws/(credentials|config)$", "AWS credentials"),
        (r"(^|/)\.netrc$", "saved logins"),
        (r"(^|/)\.env(\.[\w-]+)?$", "environment secrets"),
        (r"(^|/)\.kube/config$", "Kubernetes credentials"),
        (r"(^|/)\.docker/config\.json$", "Docker registry logins"),
        (r"(^|/)\.git-credentials$", "Git credentials"),
        (r"(^|/)\.pypirc$", "PyPI upload tokens"),
        (r"(^|/)\.pgpass$", "database passwords"),
        (r"(^|/)\.gnupg(/|$)", "GPG keys"),
        (r"(^|/)\.config/gcloud(/|$)", "Google Cloud credentials"),
        (r"(^|/)\.azure(/|$)", "Azure credentials"),
        (r"(^|/)\.kaggle/kaggle\.json$", "a Kaggle API key"),
        (r"(^|/)huggingface/token$", "a Hugging Face token"),
        (r"(^|/)\.config/gh/hosts\.yml$", "GitHub CLI tokens"),
        (r"(^|/)\.npmrc$", "npm tokens"),
        (r"^/proc/[^/]+/environ$", "a process's environment variables"),
        (r"^/etc/(shadow|gshadow|sudoers)$", "system password data"),
        (r"\.(pem|p12|pfx|key)$", "a private key or certificate"),
    ]
]
#: Calls that build, print or test a path without opening it: a credential path given to them
#: is flagged where it is finally read instead.
ONLY_LOOKS = (
    "print os.path.* os.fspath os.fsencode os.fsdecode pathlib.Path pathlib.Path.exists "
    "pathlib.Path.is_* pathlib.Path.with_* pathlib.Path.joinpath pathlib.Path.relative_to "
    "pathlib.Path.match pathlib.Path.full_match pathlib.Path.as_* pathlib.Path.resolve "
    "pathlib.Path.absolute pathlib.Path.expanduser"
).split()


_ANY_CREDENTIAL = re.compile("|".join(pattern.pattern for pattern, _ in CREDENTIAL_PATHS))


@lru_cache(maxsize=4096)
def only_looks(name: str) -> bool:
    return any(fnmatchcase(name, pattern) for pattern in ONLY_LOOKS)


@lru_cache(maxsize=4096)
def takes_paths(name: str) -> bool:
    """Whether every string given to ``name`` is a path (and it does more than look at it)."""
    return any(fnmatchcase(name, p) for p in PATH_FUNCTIONS) and not only_looks(name)


def credential_kind(path: str) -> str | None:
    """What secret ``path`` holds, if it names a well-known credential file."""
    text = path.replace("\\", "/").rstrip("/")
    if not _ANY_CREDENTIAL.search(text):  # the usual case, in one search instead of many
        return None
    return next((what for pattern, what in CREDENTIAL_PATHS if pattern.search(text)), None)


# ---- Magics -------------------------------------------------------------------------------

#: Cell magics whose body runs as shell commands, or in another program (``%%script ruby``).
SHELL_CELL_MAGICS = {"bash", "sh", "sx", "system"}
SCRIPT_CELL_MAGICS = {"script", "python", "python2", "python3", "pypy", "perl", "ruby"}
#: Cell magics whose body runs as Python in this kernel; as line magics, their argument does.
CODE_MAGICS = {"capture", "time", "timeit", "prun", "debug"}
#: How IPython reads the options in front of the code of those magics: getopt letters (a ":"
#: takes a value), or argparse options with whether they take a value. What follows is
#: reviewed as a line of IPython (``%time !rm -rf x``, ``%timeit -n1 %pip install y``).
CODE_MAGIC_OPTIONS: dict[str, str | list[tuple[tuple[str, ...], bool]]] = {
    "timeit": "n:r:tcp:qov:",
    "prun": "D:l:rs:T:q",
    "time": [(("--no-raise-error",), False)],
    "debug": [(("--breakpoint", "-b"), True)],
}
#: Options of ``%prun`` that name a file it writes.
PRUN_FILE_OPTIONS = {"-D", "-T"}
WRITE_CELL_MAGICS = {"writefile", "file"}
#: Line magics that run their argument in a shell.
SHELL_LINE_MAGICS = {"sx", "system"}
#: Line magics that are a package manager or one of IPython's shell aliases: their command line
#: is reviewed like a shell command (``%pip install x``, ``%rm -r data``).
COMMAND_LINE_MAGICS = set("pip conda mamba micromamba uv rm rmdir mv cp cat mkdir".split())
#: Line magics that change the kernel's working directory.
CHDIR_MAGICS = {"cd", "pushd", "popd"}
#: Line magics that write a file, each read its own way in ``risk._Review.magic``.
FILE_LINE_MAGICS = {"save", "logstart", "notebook", "store"}
#: Line magics that download their source when it is a URL (``%load https://...``).
URL_LINE_MAGICS = {"load", "pycat"}
#: Other line magics that are flagged whatever their argument.
LINE_MAGICS = {
    "reset": (PROCESSES, "deletes variables from the kernel"),
    "reset_selective": (PROCESSES, "deletes variables from the kernel"),
    "rerun": (DYNAMIC, "runs earlier input again, which this review does not read"),
    "killbgscripts": (PROCESSES, "stops the scripts that %%script --bg started"),
    "run": (DYNAMIC, "runs a file this review does not read"),
    "pastebin": (NETWORK, "uploads code to dpaste.com, a public website"),
    # Magics that change how IPython reads later cells: a cell that reads harmless after
    # them can run something else (``%autocall 2``, then ``os.system "rm -rf data"``).
    "autocall": (DYNAMIC, "changes how IPython reads later cells: `f x` becomes the call f(x)"),
    "automagic": (DYNAMIC, "changes how IPython reads later cells: bare words become magics"),
    "rehashx": (SHELL, "makes every program on your PATH a bare word that later cells can run"),
    "alias": (SHELL, "defines a shell alias: a bare word in a later cell runs a program"),
    "unalias": (DYNAMIC, "changes how IPython reads later cells (removes a shell alias)"),
    "macro": (
        DYNAMIC,
        "defines a macro that replays earlier input, which this review does not read",
    ),
}
#: Other cell magics that are flagged whatever their body.
CELL_MAGICS = {
    "javascript": (DYNAMIC, "runs JavaScript in your browser, which can reach the Jupyter server"),
    "js": (DYNAMIC, "runs JavaScript in your browser, which can reach the Jupyter server"),
}
#: Names IPython's automagic turns into magics in a one-line cell (``pip install x``).
AUTOMAGIC_NAMES = (
    SHELL_LINE_MAGICS | COMMAND_LINE_MAGICS | CODE_MAGICS | CHDIR_MAGICS | FILE_LINE_MAGICS
) | {*URL_LINE_MAGICS, *LINE_MAGICS, "env", "config"}
#: Attributes of the IPython shell that decide how later cells are read or what runs around
#: them: changing them (``get_ipython().autocall = 2``, ``.input_transformers_cleanup.append``,
#: ``.events.register``) makes later cells run otherwise than they read.
SHELL_READING = set(
    "autocall automagic alias_manager prefilter_manager input_transformer_manager "
    "input_transformers_cleanup input_transformers_post ast_transformers compile "
    "magics_manager register_magic_function register_magics define_macro events set_hook "
    "set_custom_exc".split()
)
